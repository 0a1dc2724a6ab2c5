#!/usr/bin/env bash
# `scour check` on a generated docs tree (1,000 Markdown/text files, 20 MiB,
# one file in twenty needing changes), beside `cat` of the same files as the
# floor of reading them. Best of three runs each; wall time, MB/s, peak RSS.
#
# usage: bench/docs_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 bench/gen_docs_tree.py "$work/docs"
bytes=$(find "$work/docs" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
echo "tree: $(find "$work/docs" -type f | wc -l) files, $((bytes / 1048576)) MiB; $(nproc) cores"

best() { # best wall seconds and its peak RSS (KiB) of three runs of "$@"
  local best_s=999999 best_kb=0
  for _ in 1 2 3; do
    /usr/bin/time -f '%e %M' -o "$work/t" "$@" >/dev/null 2>&1 || true
    read -r s kb < <(tail -n 1 "$work/t")
    if awk -v a="$s" -v b="$best_s" 'BEGIN {exit !(a < b)}'; then best_s=$s best_kb=$kb; fi
  done
  echo "$best_s $best_kb"
}
report() {
  read -r s kb <<<"$2"
  awk -v n="$1" -v s="$s" -v kb="$kb" -v bytes="$bytes" \
    'BEGIN {printf "%-28s %6.2f s %8.0f MB/s  peak RSS %5.0f MiB\n", n, s, bytes / 1e6 / (s > 0 ? s : 0.001), kb / 1024}'
}
report "cat (read floor)" "$(best sh -c "find '$work/docs' -type f -exec cat {} + >/dev/null")"
report "scour check --jobs 1" "$(best target/release/scour check "$work/docs" --jobs 1 --quiet --no-ignore)"
report "scour check --jobs 2" "$(best target/release/scour check "$work/docs" --jobs 2 --quiet --no-ignore)"
