# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""`python/ocpx/_core.pyi` describes the bindings that are built.

After changing the bindings, regenerate the stub (see CONTRIBUTING.md).
"""

import os
import pathlib
import subprocess
import sys

import pytest

import ocpx


def _body(text: str) -> str:
  """The stub without its leading comment (license header) lines."""
  lines = text.splitlines()
  while lines and (lines[0].startswith("#") or not lines[0].strip()):
    lines.pop(0)
  return "\n".join(lines).strip()


def test_core_stub_matches_the_bindings(tmp_path):
  pytest.importorskip("nanobind.stubgen")
  package = pathlib.Path(ocpx.__file__).parent
  env = dict(os.environ)
  env["PYTHONPATH"] = os.pathsep.join(
      [str(package.parent)] + [p for p in [env.get("PYTHONPATH")] if p])
  out = tmp_path / "_core.pyi"
  r = subprocess.run([sys.executable, "-m", "nanobind.stubgen", "-q", "-m",
                      "ocpx._core", "-o", str(out)],
                     capture_output=True, text=True, env=env)
  assert r.returncode == 0, r.stderr
  committed = (package / "_core.pyi").read_text()
  assert committed.startswith("# Copyright 2026 The ocpx Authors.")
  assert _body(committed) == _body(out.read_text()), (
      "python/ocpx/_core.pyi is stale; regenerate it (CONTRIBUTING.md)")


def test_typed_package_markers_are_present():
  package = pathlib.Path(ocpx.__file__).parent
  assert (package / "py.typed").is_file()
  assert (package / "_core.pyi").is_file()
