#!/usr/bin/env bash
# The pre-commit integration, with the real pre-commit tool: a temporary git
# repository with a dirty Markdown file; scour-check fails on it, scour-fix
# rewrites it, then scour-check passes. pre-commit builds scour from this
# checkout's HEAD with cargo (language: rust), once for both hooks: commit
# before running this locally.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet pre-commit
export PRE_COMMIT_HOME="$work/cache" PATH="$work/venv/bin:$PATH"

cd "$work"
git init -q project
cd project
git config user.email ci@example.org
git config user.name ci
cat > .pre-commit-config.yaml <<YAML
repos:
  - repo: $repo
    rev: $(git -C "$repo" rev-parse HEAD)
    hooks:
      - id: scour-check
      - id: scour-fix
        stages: [manual]
YAML
printf 'Minister MOTEGI said \xe2\x80\x9cyes\xe2\x80\x9d .\n' > notes.md
git add notes.md .pre-commit-config.yaml

if pre-commit run scour-check --files notes.md; then
  echo "scour-check passed on a dirty file" >&2
  exit 1
fi
# scour-fix modifies the file, so pre-commit itself reports failure.
pre-commit run --hook-stage manual scour-fix --files notes.md || true
grep -q 'Minister Motegi said "yes".' notes.md
pre-commit run scour-check --files notes.md
echo "pre-commit integration: ok"
