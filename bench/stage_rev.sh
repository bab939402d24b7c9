#!/usr/bin/env bash
# Stages a *committed* revision of ocpx for benchmarking, independent of
# uncommitted edits in the shared working tree:
#
#   bench/stage_rev.sh [REV]      # default HEAD; prints the stage directory
#   .venv/bin/python bench/run.py --pythonpath "$(bench/stage_rev.sh)" ...
#
# It exports REV with `git archive` to /tmp/ocpx-bench-src/<sha> and runs that
# copy's own `tools/devbuild bench` (Release CMake build + staged package).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rev="$(git -C "$root" rev-parse --short "${1:-HEAD}")"
src="/tmp/ocpx-bench-src/$rev"
if [[ ! -f "$src/.exported" ]]; then
  rm -rf "$src"
  mkdir -p "$src"
  git -C "$root" archive "$rev" | tar -x -C "$src"
  touch "$src/.exported"
fi
(cd "$src" && PYTHON="$root/.venv/bin/python" tools/devbuild bench >&2)
echo "$src/build/dev-bench/stage"
