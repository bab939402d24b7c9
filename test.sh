#!/usr/bin/env bash
# Runs every ocpx test: the Python suite (pytest, including the cross-library
# compatibility tests against TensorStore and orbax-checkpoint), the C++ tests
# under CMake/ctest, and `bazel test //...`.  Run ./setup.sh first.
set -euo pipefail
cd "$(dirname "$0")"
export JOBS="${JOBS:-$(nproc)}"

echo "== pip: rebuild ocpx from the current sources"
.venv/bin/python -m pip install -q --no-build-isolation --no-deps .

echo "== pytest"
# Exit code 5 (no tests collected) is a failure here, like any other.
.venv/bin/python -m pytest -q tests

echo "== CMake + ctest"
if [[ ! -f build/cmake/build.ninja ]]; then
  cmake -S . -B build/cmake -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DOCPX_BUILD_TESTS=ON -DOCPX_BUILD_PYTHON=OFF >/dev/null
fi
cmake --build build/cmake -j"$JOBS"
ctest --test-dir build/cmake --output-on-failure -j"$JOBS"

echo "== bazel test //..."
bazel test //...
