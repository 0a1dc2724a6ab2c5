#!/usr/bin/env python3
"""Generate a deterministic docs tree for `scour check` benchmarks.

1,000 Markdown and text files, about 20 MiB in all, mostly already clean
(hard-wrapped prose, lists, code fences, headings); one file in twenty has
defects (curly quotes, a no-break space, a doubled blank line, a name in
capitals). Same seed, same bytes.

usage: gen_docs_tree.py OUT_DIR [--files N] [--total-mib M]
"""
import argparse
import os
import random
import textwrap

WORDS = (
    "the of and to in a is that for it as was with be by on not he this are or his from at which but "
    "have an they you were her she there been one all we their has would when if so what can more will "
    "about out up into them some could time these two may then do first any my now such like our over "
    "man me even most made after also did many before must through back years where much your way well "
    "down should because each just those people how too little state good very make world still own "
    "see men work long get here between both life being under never day same another know while last "
    "might us great old year off come since against go came right used take three ministers trade "
    "agreement partnership cooperation economic regional international security policy release"
).split()


def sentence(rng):
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 22))]
    words[0] = words[0].capitalize()
    return " ".join(words) + rng.choice([".", ".", ".", "?", "!"])


def paragraph(rng):
    return " ".join(sentence(rng) for _ in range(rng.randint(2, 6)))


def document(rng, target, dirty):
    parts = [f"# {sentence(rng)[:-1]}"]
    while sum(len(p) + 2 for p in parts) < target:
        kind = rng.random()
        if kind < 0.65:
            parts.append(textwrap.fill(paragraph(rng), width=78))
        elif kind < 0.8:
            parts.append("\n".join(f"- {sentence(rng)}" for _ in range(rng.randint(2, 5))))
        elif kind < 0.9:
            body = "\n".join(f"let x{i} = {rng.randint(0, 999)};" for i in range(rng.randint(2, 8)))
            parts.append(f"```rust\n{body}\n```")
        else:
            parts.append(f"## {sentence(rng)[:-1]}")
    if dirty:
        i = rng.randrange(1, len(parts))
        parts[i] = parts[i].replace(" the ", " \u201cthe\u201d ", 1).replace(" of ", "\u00a0of ", 1)
        parts.insert(i, f"Minister TANAKA said {sentence(rng)}")
        parts.insert(i, "")
    return "\n\n".join(parts) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--total-mib", type=float, default=20)
    args = parser.parse_args()
    rng = random.Random(20261128)
    per_file = int(args.total_mib * 1024 * 1024 / args.files)
    for n in range(args.files):
        folder = os.path.join(args.out, f"section-{n % 20:02d}")
        os.makedirs(folder, exist_ok=True)
        ext = "md" if n % 3 else "txt"
        text = document(rng, per_file, dirty=(n % 20 == 7))
        with open(os.path.join(folder, f"page-{n:04d}.{ext}"), "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
