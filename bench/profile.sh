#!/usr/bin/env bash
# Profiles one benchmark measurement with py-spy (Python + native frames) and
# prints the top frames as text.
#
#   bench/profile.sh STAGE LIB WORKLOAD OP [OUTDIR]
#   e.g. bench/profile.sh "$(bench/stage_rev.sh)" ocpx many load /tmp/prof
#
# py-spy comes from PyPI (`pip install --target /tmp/pyspy-inst py-spy`);
# set PYSPY to its binary if it is not on PATH.  OP is a bench/worker.py op;
# for load ops a checkpoint is saved first (not profiled).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
stage="$1" lib="$2" workload="$3" op="$4" out="${5:-/tmp/ocpx-prof}"
pyspy="${PYSPY:-$(command -v py-spy || echo /tmp/pyspy-inst/bin/py-spy)}"
py="$root/.venv/bin/python"
mkdir -p "$out"
tmp="$(mktemp -d /tmp/ocpx-prof-XXXX)"
trap 'rm -rf "$tmp"' EXIT
export PYTHONPATH="$stage:$here" JAX_PLATFORMS=cpu
if [[ "$workload" == sharded ]]; then
  export XLA_FLAGS="--xla_force_host_platform_device_count=8"
fi
ckpt="$tmp/ckpt"
args=(--lib "$lib" --workload "$workload" --scratch "$tmp")
if [[ "$op" == load* ]]; then
  "$py" "$here/worker.py" "${args[@]}" --op save --path "$ckpt" >/dev/null
else
  ckpt="$tmp/out"
fi
name="$lib-$workload-$op"
"$pyspy" record --native --threads --rate 250 --format raw \
  -o "$out/$name.txt" -- "$py" "$here/worker.py" "${args[@]}" --op "$op" \
  --path "$ckpt" | tail -1
"$py" "$here/top_frames.py" "$out/$name.txt" --focus "<lambda> (worker.py"
