#!/usr/bin/env bash
# scour beside the tools people would pick instead, on the same slice of a
# JSONL dump, in one run: wall time, MB/s of input, peak RSS.
#
# usage: bench/peers.sh DUMP.jsonl [MIB]
#   DUMP.jsonl  records {"id", "text", ...}, e.g. from bench/gen_dump.py
#   MIB         MiB taken from the head of DUMP, cut after the last whole
#               line (default 64), so the Python tools finish in reasonable
#               time. The same DUMP and MIB give the same slice every time.
#
# env: SCOUR (default target/release/scour, not rebuilt here),
#      SCOUR_PEERS_VENV (default /tmp/scour-peers-venv: ftfy, sacremoses and
#      datatrove; dolma in its own venv $SCOUR_PEERS_VENV/dolma-venv, since its
#      pins clash with datatrove's). Venvs are made and filled from PyPI on
#      first use, with pinned versions.
# needs: bash 5, python3 (with venv), /usr/bin/time, b3sum (else that line
# fails). Wall time is bash's $EPOCHREALTIME around the command (ms
# resolution; includes Python start-up and imports), peak RSS is GNU time's.
#
# What each line does differs, so read ratios with the last column:
#   scour, plain pass   segment + exact paragraph dedup (blake3) + punctuation/
#                       Unicode normalization + names capitals + write JSONL
#   scour, defaults     the same plus near-duplicate search (MinHash) and the
#                       reports (summary.json, report.html, diffs)
#   ftfy                ftfy.fix_text per record (Unicode/mojibake fixes only)
#   sacremoses          Moses punctuation normalization per record only
#   datatrove           sentence-dedup recipe with one line (paragraph) per
#                       "sentence": exact paragraph dedup only (3 steps: hash,
#                       find, filter + write)
#   dolma dedupe        bloom-filter paragraph dedup: writes attribute files
#                       marking duplicate spans, does not rewrite the text
# Peak RSS is that of the largest single process (GNU time), not a sum over
# the worker processes of datatrove or dolma. Preparing datatrove's and
# dolma's inputs (2 shards; dolma's as .jsonl.gz in its document layout) is
# not timed; dolma's time includes gunzipping its input.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dump=${1:?usage: bench/peers.sh DUMP.jsonl [MIB]}
mib=${2:-64}
scour=${SCOUR:-$here/../target/release/scour}
venv=${SCOUR_PEERS_VENV:-/tmp/scour-peers-venv}
dvenv=$venv/dolma-venv
helper=$here/peers.py
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

slice=$work/slice.jsonl
python3 "$helper" slice "$dump" "$slice" "$mib"
bytes=$(stat -c %s "$slice")
records=$(wc -l <"$slice")

# Python peers, installed once (pinned so reruns measure the same code).
py_ok=1 dolma_ok=1
py_why="" dolma_why=""
if ! "$venv/bin/python" -c 'import ftfy, sacremoses, datatrove, orjson, xxhash, tokenizers' 2>/dev/null; then
  echo "installing ftfy, sacremoses, datatrove into $venv ..."
  if ! { [ -x "$venv/bin/python" ] || python3 -m venv "$venv"; } >"$work/pip.log" 2>&1 ||
    ! "$venv/bin/pip" install -q --upgrade pip >>"$work/pip.log" 2>&1 ||
    ! "$venv/bin/pip" install -q ftfy==6.3.1 sacremoses==0.2.0 datatrove==0.10.1 orjson 'xxhash<4' tokenizers >>"$work/pip.log" 2>&1; then
    py_ok=0 py_why="pip install failed: $(tail -n 1 "$work/pip.log")"
  fi
fi
if ! "$dvenv/bin/dolma" --help >/dev/null 2>&1; then
  echo "installing dolma into $dvenv ..."
  if ! { [ -x "$dvenv/bin/python" ] || python3 -m venv "$dvenv"; } >"$work/pip.log" 2>&1 ||
    ! "$dvenv/bin/pip" install -q --upgrade pip >>"$work/pip.log" 2>&1 ||
    ! "$dvenv/bin/pip" install -q dolma==1.2.1 >>"$work/pip.log" 2>&1; then
    dolma_ok=0 dolma_why="pip install failed: $(tail -n 1 "$work/pip.log")"
  fi
fi

# Inputs for the tools that want their own layout (not timed).
printf '' >"$work/defaults.toml"
printf '[output]\nreports = false\n[[stages]]\nkind = "segment"\n[[stages]]\nkind = "dedup"\nnear-threshold = 0\nnear-document-threshold = 0\n[[stages]]\nkind = "punctuation"\n[[stages]]\nkind = "names"\n' >"$work/plain.toml"
python3 "$helper" shard "$slice" "$work/dt-in" 2
python3 "$helper" shard "$slice" "$work/dolma/documents" 2 --gz --dolma
paragraphs=$(python3 "$helper" count-paragraphs "$slice")

echo "slice: first $mib MiB of $dump: $bytes bytes, $records records, $paragraphs non-empty lines in texts"
echo "machine: $(nproc) cores; $(date -u +%F); scour $("$scour" --version 2>/dev/null | awk '{print $NF}')"
echo
printf '%-34s %8s %9s %9s  %s\n' "tool" "seconds" "MB/s" "RSS MiB" "what it does"

measure() { # name, what, command...: one timed run; a failure is reported and skipped
  local name=$1 what=$2
  shift 2
  rm -rf "$work/out" "$work/dt-work" "$work/dolma/attributes" "$work/bloom.bin"
  local t0=$EPOCHREALTIME t1 s kb
  if /usr/bin/time -f '%e %M' -o "$work/t" "$@" >"$work/stdout" 2>"$work/stderr"; then
    t1=$EPOCHREALTIME
    read -r _ kb < <(tail -n 1 "$work/t")
    s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
    awk -v n="$name" -v w="$what" -v s="$s" -v kb="$kb" -v bytes="$bytes" \
      'BEGIN {printf "%-34s %8.3f %9.1f %9.0f  %s\n", n, s, bytes / 1e6 / (s > 0 ? s : 0.001), kb / 1024, w}'
  else
    local why
    why=$(grep -v '^\s*$' "$work/stderr" | grep -v '^Command exited' | tail -n 1 | cut -c1-160)
    printf '%-34s failed: %s\n' "$name" "${why:-exit status $(tail -n 1 "$work/t")}"
    return 1
  fi
}
skip() { printf '%-34s failed: %s\n' "$1" "$2"; }
found=()

measure "cat (read floor)" "reads the slice" cat "$slice" || true
measure "b3sum --num-threads 1" "blake3 of the slice, 1 thread (hash floor)" b3sum --num-threads 1 "$slice" || true
measure "b3sum" "blake3 of the slice, all cores" b3sum "$slice" || true
for jobs in 1 2; do
  measure "scour run, plain pass, --jobs $jobs" "segment + exact dedup + punctuation + names + write" \
    "$scour" run "$slice" -o "$work/out" --jobs "$jobs" --quiet --config "$work/plain.toml" || true
done
if measure "scour run, defaults, --jobs 2" "plain pass + near dedup (MinHash) + reports" \
  "$scour" run "$slice" -o "$work/out" --jobs 2 --quiet --config "$work/defaults.toml"; then
  found+=("scour (defaults, exact): $(python3 "$helper" scour-found "$work/out/summary.json")")
fi
if [ $py_ok = 1 ]; then
  measure "ftfy 6.3.1, 1 process" "ftfy.fix_text per record (Unicode fixes only) + write" \
    "$venv/bin/python" "$helper" ftfy "$slice" "$work/out.jsonl" || true
  measure "sacremoses 0.2.0, 1 process" "MosesPunctNormalizer.normalize per record + write" \
    "$venv/bin/python" "$helper" sacremoses "$slice" "$work/out.jsonl" || true
  if measure "datatrove 0.10.1, 2 tasks/workers" "exact paragraph dedup (SentenceDedup, 3 steps) + write" \
    "$venv/bin/python" "$helper" datatrove "$work/dt-in" "$work/dt-work" "$work/out" 2; then
    found+=("datatrove: $(python3 "$helper" datatrove-found "$work/dt-work/logs/3/stats.json") lines removed")
  fi
else
  skip "ftfy" "$py_why"
  skip "sacremoses" "$py_why"
  skip "datatrove" "$py_why"
fi
if [ $dolma_ok = 1 ]; then
  if measure "dolma 1.2.1 dedupe, 2 processes" "bloom-filter paragraph dedup: marks spans only" \
    "$dvenv/bin/dolma" dedupe --documents "$work/dolma/documents/*.jsonl.gz" \
    --dedupe.name dups --dedupe.paragraphs.attribute_name dup_paragraphs --dedupe.skip_empty \
    --bloom_filter.file "$work/bloom.bin" --no-bloom_filter.read_only \
    --bloom_filter.estimated_doc_count "$paragraphs" --bloom_filter.desired_false_positive_rate 0.0001 \
    --processes 2; then
    found+=("dolma: $(python3 "$helper" dolma-found "$work/dolma/attributes/dups") paragraph spans marked")
  fi
else
  skip "dolma" "$dolma_why"
fi
echo
echo "duplicates found on this slice (a check that the dedup lines did comparable work):"
for f in "${found[@]}"; do echo "  $f"; done
