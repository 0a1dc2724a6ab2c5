#!/usr/bin/env python3
"""Helpers for bench/peers.sh: the input slice, the shards and the Python
peers (ftfy, sacremoses, datatrove) that scour is measured against.

  peers.py slice IN OUT MIB          first MIB MiB of IN, cut after the last whole line
  peers.py shard IN DIR N [--gz] [--dolma]
                                     IN as N consecutive parts DIR/part-000K.jsonl[.gz]
                                     (--dolma: records as dolma wants them)
  peers.py count-paragraphs IN       number of non-empty lines inside the texts
  peers.py ftfy IN OUT               ftfy.fix_text on each record's text
  peers.py sacremoses IN OUT         MosesPunctNormalizer().normalize on each text
  peers.py scour-found SUMMARY | datatrove-found STATS | dolma-found ATTRDIR
                                     duplicates each tool found (for the report)
  peers.py datatrove INDIR WORK OUT N
                                     datatrove's three-step sentence dedup, one line
                                     (= one paragraph) per "sentence", N tasks/workers

Each peer reads JSONL, changes "text", and writes JSONL with the other fields
as they were, the way scour does.
"""
import gzip
import json
import os
import sys


def cmd_slice(src, out, mib):
    limit = int(float(mib) * 1048576)
    with open(src, "rb") as f:
        data = f.read(limit)
        if len(data) == limit and f.read(1):
            cut = data.rfind(b"\n")
            if cut < 0:
                sys.exit(f"no whole line in the first {mib} MiB of {src}")
            data = data[: cut + 1]
    with open(out, "wb") as f:
        f.write(data)


def cmd_shard(src, folder, n, *flags):
    n = int(n)
    with open(src, "rb") as f:
        lines = f.readlines()
    os.makedirs(folder, exist_ok=True)
    per = -(-len(lines) // n)
    for k in range(n):
        part = lines[k * per : (k + 1) * per]
        if "--dolma" in flags:
            part = [dolma_record(line, k * per + i) for i, line in enumerate(part)]
        name = os.path.join(folder, f"part-{k:04d}.jsonl")
        if "--gz" in flags:
            with gzip.open(name + ".gz", "wb", compresslevel=1) as f:
                f.writelines(part)
        else:
            with open(name, "wb") as f:
                f.writelines(part)


def dolma_record(line, i):
    rec = json.loads(line)
    out = {
        "id": str(rec.get("id", i)),
        "text": rec["text"],
        "source": "scour-bench",
        "added": "2024-01-01T00:00:00.000Z",
        "created": "2024-01-01T00:00:00.000Z",
        "metadata": {k: v for k, v in rec.items() if k not in ("id", "text")},
    }
    return (json.dumps(out, ensure_ascii=False) + "\n").encode()


def cmd_count_paragraphs(src):
    n = 0
    with open(src, encoding="utf-8") as f:
        for line in f:
            n += sum(1 for p in json.loads(line)["text"].split("\n") if p.strip())
    print(n)


def cmd_scour_found(summary):
    s = json.load(open(summary, encoding="utf-8"))
    entries = s["dropped"] + s["marked"]
    exact = sum(1 for e in entries if e["rule"] == "dedup.exact")
    print(f"{exact} blocks dropped or marked as exact copies, {len(s['near_duplicates'])} near-duplicate clusters")


def cmd_datatrove_found(stats):
    for step in json.load(open(stats, encoding="utf-8")):
        removed = step["stats"].get("removed_sentences")
        if removed is not None:
            print(removed["total"] if isinstance(removed, dict) else removed)
            return
    print(0)


def cmd_dolma_found(folder):
    n = 0
    for name in sorted(os.listdir(folder)):
        with gzip.open(os.path.join(folder, name), "rt", encoding="utf-8") as f:
            for line in f:
                for spans in json.loads(line)["attributes"].values():
                    n += len(spans)
    print(n)


def map_texts(src, out, fix):
    loads, dumps = json.loads, json.dumps
    with open(src, encoding="utf-8") as fin, open(out, "w", encoding="utf-8") as fout:
        for line in fin:
            rec = loads(line)
            rec["text"] = fix(rec["text"])
            fout.write(dumps(rec, ensure_ascii=False))
            fout.write("\n")


def cmd_ftfy(src, out):
    import ftfy

    map_texts(src, out, ftfy.fix_text)


def cmd_sacremoses(src, out):
    from sacremoses import MosesPunctNormalizer

    map_texts(src, out, MosesPunctNormalizer(lang="en").normalize)


def cmd_datatrove(indir, work, out, n):
    # The recipe of datatrove's examples/sentence_deduplication.py, with one
    # line (a paragraph in these dumps) per "sentence" and n_sentences = 1:
    # exact paragraph dedup after datatrove's text simplification. No
    # tokenizer is needed that way, so a stub stands in for the spaCy one
    # (which would need spaCy and its model).
    from datatrove.executor.local import LocalPipelineExecutor
    from datatrove.pipeline.dedup.sentence_dedup import (
        SentDedupConfig,
        SentenceDedupFilter,
        SentenceDedupSignature,
        SentenceFindDedups,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    n = int(n)
    config = SentDedupConfig(n_sentences=1, split_sentences=False, min_doc_words=0, min_num_sentences=0)
    tok = LinesTokenizer()
    reader = lambda: JsonlReader(indir, glob_pattern="*.jsonl", id_key="id", text_key="text")
    common = dict(skip_completed=False, tasks=n, workers=n)
    step1 = LocalPipelineExecutor(
        pipeline=[reader(), SentenceDedupSignature(f"{work}/sigs", finder_workers=n, config=config, language=tok)],
        logging_dir=f"{work}/logs/1",
        **common,
    )
    step2 = LocalPipelineExecutor(
        pipeline=[SentenceFindDedups(f"{work}/sigs", f"{work}/dups", config=config)],
        logging_dir=f"{work}/logs/2",
        depends=step1,
        **common,
    )
    step3 = LocalPipelineExecutor(
        pipeline=[
            reader(),
            SentenceDedupFilter(f"{work}/dups", config=config, language=tok),
            JsonlWriter(out, compression=None),
        ],
        logging_dir=f"{work}/logs/3",
        depends=step2,
        **common,
    )
    step3.run()


try:
    from datatrove.utils.word_tokenizers import WordTokenizer

    class LinesTokenizer(WordTokenizer):
        """Never called with split_sentences=False and no word minimums."""

        def word_tokenize(self, text):
            return text.split()

        def sent_tokenize(self, text):
            return text.splitlines()

        def span_tokenize(self, text):
            raise NotImplementedError

except ImportError:
    pass


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd = sys.argv[1].replace("-", "_")
    globals()["cmd_" + cmd](*sys.argv[2:])


if __name__ == "__main__":
    main()
