#!/usr/bin/env python3
"""Recall and precision of scour's near-duplicate search on a generated dump.

usage: near_quality.py DUMP.jsonl SUMMARY.json [--threshold 0.7]

DUMP.jsonl.planted.jsonl (written by gen_dump.py) lists the planted pairs.
The similarity is recomputed here from the raw text, independently of scour:
Jaccard of the sets of word 3-grams, words being runs of letters and digits,
lower-cased.

- recall: of the planted pairs whose true similarity is at least the
  threshold, the share that scour put in one cluster (paragraphs are matched
  by their words, so an exact repeat of either side counts as itself);
- precision: of the (first member, member) pairs scour reported, the share
  whose true similarity is at least the threshold.
"""
import argparse
import collections
import json
import re

WORD = re.compile(r"[^\W_]+")


def words(text):
    return WORD.findall(text.lower())


def grams(text):
    w = words(text)
    return {tuple(w[i:i + 3]) for i in range(len(w) - 2)}


def jaccard(a, b):
    a, b = grams(a), grams(b)
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def paragraph_of(text, line):
    """The block starting at 1-based `line` of a record's text."""
    lines = text.split("\n")
    return lines[line - 1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dump")
    parser.add_argument("summary")
    parser.add_argument("--threshold", type=float, default=0.7)
    args = parser.parse_args()
    t = args.threshold

    planted = [json.loads(l) for l in open(args.dump + ".planted.jsonl", encoding="utf-8")]
    with open(args.summary, encoding="utf-8") as f:
        clusters = [c for c in json.load(f)["near_duplicates"] if c["level"] == "block"]

    def record_line(doc):  # "path:LINE" → LINE
        return int(doc.rsplit(":", 1)[1])

    needed = set()
    for c in clusters:
        for m in c["members"]:
            needed.add(record_line(m["doc"]))
    for p in planted:
        for side in ("orig", "copy"):
            needed.add(int(p[side][0].split("-")[1]) + 1)
    texts = {}
    with open(args.dump, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if n in needed:
                texts[n] = json.loads(line)["text"]

    def text_at(record, line):
        return paragraph_of(texts[record], line)

    def norm(text):
        return " ".join(words(text))

    cluster_of = collections.defaultdict(set)
    reported = 0
    correct = 0
    worst_gap = 0.0
    for i, c in enumerate(clusters):
        first = c["members"][0]
        first_text = text_at(record_line(first["doc"]), first["line"])
        cluster_of[norm(first_text)].add(i)
        for m in c["members"][1:]:
            text = text_at(record_line(m["doc"]), m["line"])
            cluster_of[norm(text)].add(i)
            true = jaccard(first_text, text)
            reported += 1
            correct += true >= t - 1e-9
            worst_gap = max(worst_gap, abs(true - m["similarity"]))

    by_kind = collections.defaultdict(lambda: [0, 0, 0])  # planted, above threshold, found
    for p in planted:
        orig = paragraph_of(texts[int(p["orig"][0].split("-")[1]) + 1], 2 * p["orig"][1] + 1)
        copy = paragraph_of(texts[int(p["copy"][0].split("-")[1]) + 1], 2 * p["copy"][1] + 1)
        stats = by_kind[p["kind"]]
        stats[0] += 1
        if jaccard(orig, copy) >= t:
            stats[1] += 1
            a, b = norm(orig), norm(copy)
            stats[2] += a == b or bool(cluster_of[a] & cluster_of[b])

    print(f"threshold {t}: {len(clusters)} block clusters, {reported} reported pairs")
    print(f"{'planted kind':<12} {'pairs':>7} {'>= t':>7} {'found':>7} {'recall':>8}")
    total = [0, 0, 0]
    for kind in sorted(by_kind, key=lambda k: (not k.startswith("words"), len(k), k)):
        n, above, found = by_kind[kind]
        total = [x + y for x, y in zip(total, (n, above, found))]
        recall = f"{100 * found / above:.2f}%" if above else "-"
        print(f"{kind:<12} {n:>7} {above:>7} {found:>7} {recall:>8}")
    n, above, found = total
    print(f"{'all':<12} {n:>7} {above:>7} {found:>7} {100 * found / max(above, 1):>7.2f}%")
    print(f"precision: {correct}/{reported} = {100 * correct / max(reported, 1):.2f}% "
          f"(largest gap between reported and recomputed similarity: {worst_gap:.4f})")


if __name__ == "__main__":
    main()
