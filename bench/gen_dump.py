#!/usr/bin/env python3
"""Generate a deterministic JSONL dump for scour benchmarks.

Records look like a web/news crawl: {"id", "url", "text", "meta"}. Texts are
paragraphs separated by blank lines, drawn so that the dump has realistic
duplication: boilerplate paragraphs repeated across many documents,
paragraphs repeated inside a document, lightly edited copies (a word
changed), curly quotes, no-break spaces, surnames in capitals after titles.

Same seed, same bytes. usage: gen_dump.py OUT.jsonl [--mib 1024]
"""
import argparse
import json
import random

WORDS = (
    "the of and to in a is that for it as was with be by on not he this are or his from at which but "
    "have an they you were her she there been one all we their has would when if so what can more will "
    "about out up into them some could time these two may then do first any my now such like our over "
    "ministers trade agreement partnership cooperation economic regional international security policy "
    "government council committee report market growth energy climate health education research data "
    "city country people year week officials company companies investment support development"
).split()
SURNAMES = ["TANAKA", "MOTEGI", "SATO", "SUZUKI", "GARCIA", "MULLER", "DUBOIS", "ROSSI", "KOWALSKI"]
TITLES = ["Minister", "Secretary", "President", "Mr.", "Dr.", "Ambassador"]


def sentence(rng):
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 24))]
    if rng.random() < 0.15:
        i = rng.randrange(len(words))
        words[i:i] = [rng.choice(TITLES), rng.choice(SURNAMES)]
    if rng.random() < 0.1:
        i = rng.randrange(len(words))
        words[i] = "\u201c" + words[i] + "\u201d"
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice([".", ".", ".", "?"])


def paragraph(rng):
    text = " ".join(sentence(rng) for _ in range(rng.randint(2, 6)))
    if rng.random() < 0.05:
        text = text.replace(" ", "\u00a0", 1)
    if rng.random() < 0.05:
        text = text.replace(" of ", " of  ", 1)
    return text


def edited(rng, text):
    words = text.split(" ")
    words[rng.randrange(len(words))] = rng.choice(WORDS)
    return " ".join(words)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--mib", type=float, default=1024)
    args = parser.parse_args()
    rng = random.Random(1128)
    boilerplate = [paragraph(rng) for _ in range(400)]
    recent = []
    target = int(args.mib * 1024 * 1024)
    written = 0
    n = 0
    with open(args.out, "w", encoding="utf-8") as out:
        while written < target:
            paras = []
            for _ in range(rng.randint(3, 12)):
                roll = rng.random()
                if roll < 0.12:
                    paras.append(rng.choice(boilerplate))
                elif roll < 0.18 and recent:
                    paras.append(rng.choice(recent))
                elif roll < 0.21 and recent:
                    paras.append(edited(rng, rng.choice(recent)))
                else:
                    p = paragraph(rng)
                    paras.append(p)
                    recent.append(p)
                    if len(recent) > 5000:
                        recent.pop(rng.randrange(len(recent)))
            if rng.random() < 0.05 and paras:
                paras.append(paras[0])
            record = {
                "id": f"doc-{n:08d}",
                "url": f"https://news.example.org/{n % 977}/{n}",
                "text": "\n\n".join(paras),
                "meta": {"lang": "en", "crawl": "2026-11", "score": round(rng.random(), 3)},
            }
            line = json.dumps(record, ensure_ascii=False) + "\n"
            out.write(line)
            written += len(line.encode("utf-8"))
            n += 1


if __name__ == "__main__":
    main()
