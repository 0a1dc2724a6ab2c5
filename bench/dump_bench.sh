#!/usr/bin/env bash
# The dump benchmark: a deterministic JSONL dump (bench/gen_dump.py, ~1 GiB
# by default) through scour's default pipeline with 1 and 2 threads, beside
# `cat` (the read floor) and `b3sum` (the hashing floor) of the same file,
# and the same dump as .jsonl.zst. Wall time, MB/s of input, peak RSS.
# Near duplicates on (the default) and off, side by side, then the recall
# and precision of the near-duplicate search on the pairs the generator
# planted (bench/near_quality.py).
#
# usage: bench/dump_bench.sh [MIB]      (MIB defaults to 1024)
# needs: python3, /usr/bin/time, zstd; b3sum is installed with cargo if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-1024}
cache=${SCOUR_BENCH_DIR:-/tmp/scour-bench}
mkdir -p "$cache"
dump="$cache/dump-$mib.jsonl"
[ -f "$dump.planted.jsonl" ] || python3 bench/gen_dump.py "$dump" --mib "$mib"
[ "$dump.zst" -nt "$dump" ] || zstd -f -q -3 -T0 "$dump" -o "$dump.zst"
command -v b3sum >/dev/null || cargo install b3sum --locked -q
cargo build --release -q
scour=target/release/scour
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
: >"$work/defaults.toml"
printf '[output]\nreports = false\n' >"$work/no-reports.toml"
near_off='[[stages]]\nkind = "segment"\n[[stages]]\nkind = "dedup"\nnear-threshold = 0\nnear-document-threshold = 0\n[[stages]]\nkind = "punctuation"\n[[stages]]\nkind = "names"\n'
printf "$near_off" >"$work/near-off.toml"
printf "[output]\nreports = false\n$near_off" >"$work/near-off-no-reports.toml"
bytes=$(stat -c %s "$dump")
echo "dump: $dump, $((bytes / 1048576)) MiB; $(nproc) cores; $(date -u +%F)"

measure() { # name, command...: one timed run
  local name=$1
  shift
  rm -rf "$work/out"
  /usr/bin/time -f '%e %M' -o "$work/t" "$@" >/dev/null 2>&1 || true
  read -r s kb < <(tail -n 1 "$work/t")
  awk -v n="$name" -v s="$s" -v kb="$kb" -v bytes="$bytes" \
    'BEGIN {printf "%-56s %7.2f s %7.1f MB/s  peak RSS %6.0f MiB\n", n, s, bytes / 1e6 / (s > 0 ? s : 0.001), kb / 1024}'
}
measure "cat (read floor)" cat "$dump"
measure "b3sum --num-threads 1 (hash floor)" b3sum --num-threads 1 "$dump"
measure "b3sum (hash floor, all cores)" b3sum "$dump"
for jobs in 1 2; do
  measure "scour run, defaults, --jobs $jobs" $scour run "$dump" -o "$work/out" --jobs "$jobs" --quiet --config "$work/defaults.toml"
done
cp "$work/out/summary.json" "$work/summary.json"
measure "scour run, near off, --jobs 2" $scour run "$dump" -o "$work/out" --jobs 2 --quiet --config "$work/near-off.toml"
measure "scour run, no reports, --jobs 2" $scour run "$dump" -o "$work/out" --jobs 2 --quiet --config "$work/no-reports.toml"
# The spec's plain pass: segment + exact dedup + punctuation + names + write.
for jobs in 1 2; do
  measure "scour run, plain pass (no reports, near off), --jobs $jobs" $scour run "$dump" -o "$work/out" --jobs "$jobs" --quiet --config "$work/near-off-no-reports.toml"
done
measure "scour run .jsonl.zst, no reports, --jobs 2" $scour run "$dump.zst" -o "$work/out" --jobs 2 --quiet --config "$work/no-reports.toml"
echo
python3 bench/near_quality.py "$dump" "$work/summary.json"
