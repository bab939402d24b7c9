# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""The C++ reader from outside Python: the CMake-built serving example, and
the `ocpx` CLI (inspect / verify / export --to safetensors)."""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ocpx
from ocpx import _core
from ocpx._src import cli

REPO = pathlib.Path(__file__).resolve().parent.parent


def _tree():
  rng = np.random.default_rng(0)
  mesh = jax.sharding.Mesh(np.array(jax.devices()[:4]).reshape(2, 2),
                           ("x", "y"))
  w = jax.device_put(
      jnp.asarray(rng.standard_normal((64, 16), dtype=np.float32)),
      jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("x", "y")))
  return {
      "params": {
          "w": w,
          "b": np.arange(-5, 11, dtype=np.int32),
          "emb": rng.integers(0, 255, size=(40, 3, 5), dtype=np.uint8),
          "h": rng.standard_normal((7,)).astype(np.float16),
      },
      "layers": [{"k": np.linspace(0, 1, 12).reshape(3, 4)},
                 {"k": np.full((3, 4), 2.5)}],
      "step": 42,
      "lr": 0.125,
      "name": "run-7",
  }


def _flat(tree):
  """{dotted param name: numpy value} of the data leaves."""
  out = {}
  for path, v in jax.tree_util.tree_flatten_with_path(tree)[0]:
    names = []
    for k in path:
      names.append(str(getattr(k, "key", getattr(k, "idx", None))))
    out[".".join(names)] = v
  return out


def _expected_array(v):
  if isinstance(v, bool):
    return np.asarray(v)
  if isinstance(v, int):
    return np.asarray(v, dtype=np.int64)
  if isinstance(v, float):
    return np.asarray(v, dtype=np.float64)
  return np.asarray(v)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
  root = tmp_path_factory.mktemp("reader_cli")
  tree = _tree()
  import orbax.checkpoint.experimental.v1 as ocp_orbax  # pylint: disable=g-import-not-at-top
  ocp_orbax.save(root / "orbax", tree)
  ocpx.save(root / "ocpx", tree)
  return {"orbax": root / "orbax", "ocpx": root / "ocpx"}, tree


def _parse_serving(text):
  out = {}
  for line in text.splitlines():
    if not line or line.startswith("#"):
      continue
    name, kind, *rest = line.split("\t")
    fields = {"kind": kind}
    for f in rest:
      k, _, v = f.partition("=")
      fields[k] = v
    out[name] = fields
  return out


def _check_serving_output(text, tree):
  got = _parse_serving(text)
  flat = _flat(tree)
  assert set(got) == set(flat)
  for name, v in flat.items():
    f = got[name]
    if isinstance(v, str):
      assert f == {"kind": "string", "value": v}
      continue
    arr = _expected_array(v)
    assert f["shape"] == "[" + ",".join(map(str, arr.shape)) + "]", name
    assert f["dtype"] == arr.dtype.name, name
    np.testing.assert_allclose(float(f["sum"]), arr.astype(np.float64).sum(),
                               rtol=1e-9, atol=1e-9, err_msg=name)
    assert int(f["crc32c"], 16) == _core.crc32c(arr.tobytes()), name


def _build_serving_example(build: pathlib.Path) -> pathlib.Path:
  """Configures and builds examples/serving; returns the binary.

  With $OCPX_CMAKE_BUILD_DIR (a built ocpx CMake tree), it is installed into
  a prefix and consumed with find_package(ocpx); otherwise ocpx is built from
  source through add_subdirectory.
  """
  cmake = shutil.which("cmake")
  if cmake is None:
    pytest.skip("cmake not installed")
  gen = ["-G", "Ninja"] if shutil.which("ninja") else []
  args = [cmake, "-S", str(REPO / "examples" / "serving"), "-B",
          str(build / "serving"), *gen, "-DCMAKE_BUILD_TYPE=Release"]
  built = os.environ.get("OCPX_CMAKE_BUILD_DIR")
  if built:
    prefix = build / "prefix"
    subprocess.run([cmake, "--install", built, "--prefix", str(prefix)],
                   check=True, capture_output=True)
    assert (prefix / "lib" / "cmake" / "ocpx" / "ocpxConfig.cmake").exists() \
        or list(prefix.glob("lib*/cmake/ocpx/ocpxConfig.cmake"))
    # Only the public headers are installed, under include/ocpx/.
    headers = sorted(p.relative_to(prefix / "include").as_posix()
                     for p in (prefix / "include").rglob("*.h"))
    assert "ocpx/checkpoint_reader.h" in headers, headers
    assert all(h.startswith("ocpx/") and h.count("/") == 1
               for h in headers), headers
    args.append(f"-DCMAKE_PREFIX_PATH={prefix}")
  else:
    args.append(f"-DOCPX_SOURCE_DIR={REPO}")
  subprocess.run(args, check=True, capture_output=True)
  jobs = os.environ.get("JOBS", str(os.cpu_count() or 1))
  r = subprocess.run([cmake, "--build", str(build / "serving"), "-j", jobs],
                     capture_output=True, text=True)
  assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
  return build / "serving" / "serving"


@pytest.mark.slow
def test_cmake_serving_example_matches_numpy(checkpoints, tmp_path):
  paths, tree = checkpoints
  binary = _build_serving_example(tmp_path)
  for which in ("orbax", "ocpx"):
    r = subprocess.run([str(binary), str(paths[which])], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    assert "layout=v1 checkpointable=state" in r.stdout
    _check_serving_output(r.stdout, tree)
  r = subprocess.run([str(binary), str(tmp_path / "nope")], capture_output=True,
                     text=True)
  assert r.returncode == 1 and "nope" in r.stderr


@pytest.mark.parametrize("which", ["orbax", "ocpx"])
def test_inspect(checkpoints, which, capsys):
  paths, _ = checkpoints
  assert cli.main(["inspect", str(paths[which])]) == 0
  out = capsys.readouterr().out
  assert "v1 layout, checkpointable 'state'" in out
  assert "float32[64,16]" in out and "4.0 KiB" in out
  assert "NamedSharding(mesh[x=2,y=2], P(x,y))" in out
  assert "uint8[40,3,5]" in out and "int64[]" in out
  assert cli.main(["inspect", "--json", str(paths[which])]) == 0
  doc = json.loads(capsys.readouterr().out)
  leaves = {l["name"]: l for l in doc["leaves"]}
  assert leaves["params.w"]["shape"] == [64, 16]
  assert leaves["params.w"]["sharding"]["sharding_type"] == "NamedSharding"
  assert leaves["name"]["kind"] == "string"
  # ocpx's zarr3 chunks carry checksums (on by default); Orbax's do not.
  assert leaves["params.w"]["zarr_format"] == 3
  assert leaves["params.w"]["chunk_checksums"] is (which == "ocpx")
  assert leaves["layers.1.k"]["key_path"] == [["layers", 2], ["1", 1],
                                              ["k", 2]]
  assert doc["checkpoint_metadata"]["commit_timestamp_nsecs"] > 0


@pytest.mark.parametrize("which", ["orbax", "ocpx"])
def test_verify_and_export_safetensors(checkpoints, which, tmp_path, capsys):
  from safetensors.numpy import load_file  # pylint: disable=g-import-not-at-top
  paths, tree = checkpoints
  assert cli.main(["verify", str(paths[which])]) == 0
  assert "verify: OK" in capsys.readouterr().out
  out = tmp_path / "model.safetensors"
  # A tiny buffer forces many slab reads per array.
  assert cli.main(["export", str(paths[which]), "--to", "safetensors",
                   str(out), "--buffer-bytes", "100"]) == 0
  got = load_file(str(out))
  flat = {k: v for k, v in _flat(tree).items() if not isinstance(v, str)}
  assert set(got) == set(flat)
  for name, v in flat.items():
    want = _expected_array(v)
    assert got[name].dtype == want.dtype, name
    np.testing.assert_array_equal(got[name], want, err_msg=name)


def test_iter_boxes_cover_every_chunk_once():
  shape, chunk = (10, 7, 5), (3, 2, 5)
  for budget in (1, 40, 200, 10**9):
    seen = np.zeros(shape, dtype=np.int32)
    for origin, box in cli.iter_boxes(shape, chunk, 4, budget):
      for o, b, c in zip(origin, box, chunk):
        assert o % c == 0
      seen[tuple(slice(o, o + b) for o, b in zip(origin, box))] += 1
    assert (seen == 1).all(), budget
  assert list(cli.iter_boxes((), (), 8, 1)) == [((), ())]
  rows = list(cli.iter_row_slabs((10, 4), (3, 4), 4, 40))
  assert rows == [((0, 0), (3, 4)), ((3, 0), (3, 4)), ((6, 0), (3, 4)),
                  ((9, 0), (1, 4))]


def test_verify_names_the_corrupt_key(tmp_path):
  rng = np.random.default_rng(1)
  tree = {"good": rng.standard_normal((32, 32)).astype(np.float32),
          "bad": rng.standard_normal((32, 32)).astype(np.float32)}
  path = tmp_path / "ckpt"
  ocpx.save(path, tree)
  state = path / "state"
  value = _core.OcdbtReader(str(state)).get(b"bad/c/0/0")
  assert value is not None and len(value) > 1024  # stored in a data file
  hits = []
  for f in (state / "ocdbt.process_0" / "d").iterdir():
    data = f.read_bytes()
    pos = data.find(value)
    if pos >= 0:
      hits.append((f, pos))
  assert len(hits) == 1
  f, pos = hits[0]
  data = bytearray(f.read_bytes())
  # Flip bytes of the chunk's shard index (its last 20 bytes: offset, size,
  # CRC-32C), which the CRC covers.
  end = pos + len(value)
  for i in (end - 12, end - 3):
    data[i] ^= 0xFF
  os.chmod(f, 0o644)
  f.write_bytes(bytes(data))
  env = dict(os.environ)
  env["PYTHONPATH"] = os.pathsep.join(
      [str(pathlib.Path(ocpx.__file__).parent.parent)] +
      [p for p in [env.get("PYTHONPATH")] if p])
  r = subprocess.run([sys.executable, "-m", "ocpx.cli", "verify",
                      "--no-progress", str(path)],
                     capture_output=True, text=True, env=env)
  assert r.returncode == 1, r.stdout + r.stderr
  assert "CORRUPT bad:" in r.stderr
  assert "bad/c/0/0" in r.stderr
  assert "CORRUPT good" not in r.stderr
  assert "verify: FAILED: 1 bad leaves: bad" in r.stderr


_NO_JAX_PROBE = r"""
import sys
from ocpx import cli
codes = []
for argv in (["--help"], ["inspect", CKPT], ["verify", "--no-progress", CKPT],
             ["export", CKPT, "--to", "safetensors", OUT, "--no-progress"]):
  try:
    codes.append(cli.main(argv))
  except SystemExit as e:  # argparse's --help
    codes.append(e.code)
api = sorted(m for m in sys.modules
             if m == "jax" or m.startswith(("jax.", "jaxlib", "ocpx.v1",
                                            "ocpx.experimental"))
             or (m.startswith("ocpx._src.") and m != "ocpx._src.cli"))
print(codes, api, file=sys.stderr)
sys.exit(0 if codes == [0, 0, 0, 0] and not api else 1)
"""


def test_cli_imports_neither_jax_nor_the_api_layer(checkpoints, tmp_path):
  paths, _ = checkpoints
  env = dict(os.environ)
  env["PYTHONPATH"] = os.pathsep.join(
      [str(pathlib.Path(ocpx.__file__).parent.parent)] +
      [p for p in [env.get("PYTHONPATH")] if p])
  probe = (f"CKPT = {str(paths['ocpx'])!r}\n"
           f"OUT = {str(tmp_path / 'out.safetensors')!r}\n" + _NO_JAX_PROBE)
  r = subprocess.run([sys.executable, "-c", probe], capture_output=True,
                     text=True, env=env)
  assert r.returncode == 0, r.stderr[-3000:]
  assert (tmp_path / "out.safetensors").stat().st_size > 0
