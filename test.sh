#!/usr/bin/env bash
# Runs every ocpx test: the lint stage (ruff, mypy, clang-format; fast, first),
# the C++ tests under CMake/ctest, the Python suite
# (pytest, including the compatibility tests against TensorStore and
# orbax-checkpoint, and the slow ones), and `bazel test //...`.
# Run ./setup.sh first.
set -euo pipefail
cd "$(dirname "$0")"
export JOBS="${JOBS:-$(nproc)}"

echo "== lint: ruff, mypy, clang-format (configs: pyproject.toml, .clang-format)"
.venv/bin/ruff check python tests bench tools
.venv/bin/mypy
tools/check_format

echo "== pip: rebuild ocpx from the current sources"
.venv/bin/python -m pip install -q --no-build-isolation --no-deps .

echo "== CMake + ctest"
if [[ ! -f build/cmake/build.ninja ]]; then
  cmake -S . -B build/cmake -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DOCPX_BUILD_TESTS=ON -DOCPX_BUILD_PYTHON=OFF >/dev/null
fi
cmake --build build/cmake -j"$JOBS"
ctest --test-dir build/cmake --output-on-failure -j"$JOBS"

echo "== pytest"
# The C++ serving example test installs this CMake tree and builds against
# it with find_package(ocpx).  Exit code 5 (no tests collected) fails here
# like any other.
OCPX_CMAKE_BUILD_DIR="$PWD/build/cmake" .venv/bin/python -m pytest -q tests

echo "== bazel test //..."
bazel test //...
