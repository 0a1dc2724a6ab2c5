#!/usr/bin/env python3
"""Generate a deterministic JSONL dump for scour benchmarks.

Records look like a web/news crawl: {"id", "url", "text", "meta"}. Texts are
paragraphs separated by blank lines, drawn so that the dump has realistic
duplication: boilerplate paragraphs repeated across many documents,
paragraphs repeated inside a document, lightly edited copies (a word
changed), curly quotes, no-break spaces, surnames in capitals after titles.

It also plants near duplicates with known edits: copies of an earlier
paragraph with 1, 3, 5, 10 or 20 % of its words changed, or a sentence
appended or removed. Each planted pair is written to OUT.planted.jsonl as
{"orig": [id, paragraph], "copy": [id, paragraph], "kind": ...} (paragraphs
counted from 0) for bench/near_quality.py.

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


NEAR_KINDS = ["words-1%", "words-3%", "words-5%", "words-10%", "words-20%", "append", "remove"]


def near_copy(rng, text, kind):
    """`text` with a known edit; None when the edit cannot apply."""
    if kind.startswith("words-"):
        words = text.split(" ")
        rate = int(kind[6:-1]) / 100
        for i in rng.sample(range(len(words)), max(1, round(rate * len(words)))):
            words[i] = rng.choice(WORDS)
        return " ".join(words)
    if kind == "append":
        return text + " " + sentence(rng)
    # remove: drop one sentence of at least three.
    sentences = [s for s in text.replace("? ", "?\n").replace(". ", ".\n").split("\n")]
    if len(sentences) < 3:
        return None
    del sentences[rng.randrange(len(sentences))]
    return " ".join(sentences)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--mib", type=float, default=1024)
    args = parser.parse_args()
    rng = random.Random(1128)
    boilerplate = [paragraph(rng) for _ in range(400)]
    recent = []
    # Where each paragraph of `recent` was first written: (record id, index).
    where = {}
    planted = open(args.out + ".planted.jsonl", "w", encoding="utf-8")
    target = int(args.mib * 1024 * 1024)
    written = 0
    n = 0
    with open(args.out, "w", encoding="utf-8") as out:
        while written < target:
            paras = []
            record_id = f"doc-{n:08d}"
            for _ in range(rng.randint(3, 12)):
                roll = rng.random()
                if roll < 0.12:
                    paras.append(rng.choice(boilerplate))
                elif roll < 0.18 and recent:
                    paras.append(rng.choice(recent))
                elif roll < 0.21 and recent:
                    paras.append(edited(rng, rng.choice(recent)))
                elif roll < 0.25 and recent:
                    orig = rng.choice(recent)
                    kind = rng.choice(NEAR_KINDS)
                    copy = near_copy(rng, orig, kind)
                    if copy is not None:
                        planted.write(json.dumps({
                            "orig": where[orig], "copy": [record_id, len(paras)], "kind": kind,
                        }) + "\n")
                        paras.append(copy)
                else:
                    p = paragraph(rng)
                    where.setdefault(p, [record_id, len(paras)])
                    paras.append(p)
                    recent.append(p)
                    if len(recent) > 5000:
                        where.pop(recent.pop(rng.randrange(len(recent))), None)
            if rng.random() < 0.05 and paras:
                paras.append(paras[0])
            record = {
                "id": record_id,
                "url": f"https://news.example.org/{n % 977}/{n}",
                "text": "\n\n".join(paras),
                "meta": {"lang": "en", "crawl": "2026-11", "score": round(rng.random(), 3)},
            }
            line = json.dumps(record, ensure_ascii=False) + "\n"
            out.write(line)
            written += len(line.encode("utf-8"))
            n += 1
    planted.close()


if __name__ == "__main__":
    main()
