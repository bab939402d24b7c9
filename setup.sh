#!/usr/bin/env bash
# Sets up a fresh Debian 12 (bookworm) machine for ocpx and builds it:
#   1. Debian packages: compilers, CMake/Ninja, Bazel 4.2.3 and the C++
#      libraries ocpx links (abseil, zstd, ISA-L for CRC-32C, nlohmann-json,
#      GoogleTest);
#   2. a virtualenv in .venv with the pinned Python packages;
#   3. `pip install .` of ocpx itself (the wheel with ocpx._core).
# Idempotent: running it again only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(
  g++ cmake ninja-build pkg-config git
  python3 python3-venv python3-dev
  libabsl-dev libzstd-dev libisal-dev nlohmann-json3-dev zlib1g-dev
  libgtest-dev libgmock-dev googletest
  bazel-bootstrap bazel-rules-java
  clang-format
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PYTHON="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
  echo "setup: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements-dev.txt
echo "setup: building and installing ocpx"
.venv/bin/python -m pip install -q --no-build-isolation --no-deps .
.venv/bin/python -c "import ocpx, ocpx._core; print('setup: ocpx', ocpx.__version__, 'ready')"
