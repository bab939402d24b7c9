"""Benchmark workloads: deterministic PyTrees of jax.Arrays (fixed seeds).

Every leaf is generated from its own seed, so a worker can rebuild any leaf
to verify a load without keeping a second copy of the whole tree.

  big      2 GiB float32, 16 leaves of 128 MiB, one device
  many     256 MiB in 4096 leaves: a transformer-like nested dict
           (params f32, Adam mu bf16, nu f32, a few scalars, an int step)
  sharded  1 GiB on 8 CPU devices, mesh (4, 2): leaves sharded on both axes,
           on one axis, and replicated
  tiny     one 4 KiB leaf
"""

from __future__ import annotations

import numpy as np

MiB = 1 << 20
SEED = 20260101

WORKLOADS = ("tiny", "many", "big", "sharded")
# Devices each workload needs (XLA_FLAGS=--xla_force_host_platform_device_count).
DEVICES = {"tiny": 1, "many": 1, "big": 1, "sharded": 8}
# Scaling variants of `big` (bench/run.py --workloads big_0.5g,...).
SCALING = ("big_0.5g", "big_1g", "big_2g", "big_4g", "big_8g")


def _data(i: int, shape, dtype) -> np.ndarray:
  """Leaf i: standard-normal values (weights compress poorly, as in life)."""
  rng = np.random.default_rng(SEED + i)
  n = int(np.prod(shape, dtype=np.int64))
  a = rng.standard_normal(n, dtype=np.float32).reshape(shape)
  if np.dtype(dtype) != np.float32:
    a = a.astype(dtype)
  return a


# ---------------------------------------------------------------------------
# Specs: a nested dict whose leaves are ("array", shape, dtype, spec_key) or
# ("scalar", python value).  spec_key names a sharding (see _shardings).

def _many_spec():
  import ml_dtypes
  bf16 = np.dtype(ml_dtypes.bfloat16)
  d, ff, layers = 128, 512, 85

  def layer(dtype):
    return {
        "attn": {
            **{f"{n}_kernel": ("array", (d, d), dtype, None) for n in "qkvo"},
            **{f"{n}_bias": ("array", (d,), dtype, None) for n in "qkvo"},
        },
        "mlp": {
            "wi_kernel": ("array", (d, ff), dtype, None),
            "wi_bias": ("array", (ff,), dtype, None),
            "wo_kernel": ("array", (ff, d), dtype, None),
            "wo_bias": ("array", (d,), dtype, None),
        },
        "ln1": {"scale": ("array", (d,), dtype, None),
                "bias": ("array", (d,), dtype, None)},
        "ln2": {"scale": ("array", (d,), dtype, None),
                "bias": ("array", (d,), dtype, None)},
    }

  # 85 layers x 16 leaves x 3 trees = 4080, + 3 embeddings + 6 final-ln
  # + 7 scalars/small = 4096 leaves.  The vocabulary sizes the total to
  # 256 MiB.
  per_layer_elems = 4 * d * d + 4 * d + 2 * d * ff + ff + d + 4 * d
  per_layer_bytes = per_layer_elems * (4 + 2 + 4)
  rest = 256 * MiB - layers * per_layer_bytes - 4 * d * (4 + 2 + 4) - 3 * 4 - 8
  vocab = rest // (d * (4 + 2 + 4))

  def model(dtype):
    return {
        "embed": ("array", (vocab, d), dtype, None),
        "layers": {f"layer_{i:02d}": layer(dtype) for i in range(layers)},
        "final_ln": {"scale": ("array", (d,), dtype, None),
                     "bias": ("array", (d,), dtype, None)},
    }

  return {
      "params": model(np.float32),
      "opt_state": {
          "mu": model(bf16),
          "nu": model(np.float32),
          "count": ("array", (), np.int32, None),
          "rng": ("array", (2,), np.uint32, None),
      },
      "step": ("scalar", 12345),
      "learning_rate": ("scalar", 3e-4),
      "loss_scale": ("scalar", 1024.0),
      "ema_decay": ("array", (), np.float32, None),
      "global_norm": ("array", (), np.float32, None),
  }


def _spec(workload: str):
  if workload == "tiny":
    return {"w": ("array", (1024,), np.float32, None)}
  if workload == "big":
    return {f"layer_{i:02d}": ("array", (4096, 8192), np.float32, None)
            for i in range(16)}
  if workload.startswith("big_") and workload.endswith("g"):
    # The scaling variants of `big`: big_0.5g ... big_8g, 16 leaves of
    # 1/16 of the size each (`big` is big_2g).
    gib = float(workload[4:-1])
    rows = int(gib * 2**30) // 16 // 4 // 8192
    return {f"layer_{i:02d}": ("array", (rows, 8192), np.float32, None)
            for i in range(16)}
  if workload == "many":
    return _many_spec()
  if workload == "sharded":
    t = {}
    for i in range(4):   # 4 x 192 MiB on both mesh axes
      t[f"w2d_{i}"] = ("array", (8192, 6144), np.float32, "both")
    for i in range(2):   # 2 x 64 MiB on the data axis, replicated over model
      t[f"w1d_{i}"] = ("array", (4096, 4096), np.float32, "data")
    for i in range(2):   # 2 x 64 MiB replicated
      t[f"rep_{i}"] = ("array", (4096, 4096), np.float32, "replicated")
    return t
  raise ValueError(workload)


def _leaves(spec, prefix=()):
  """[(path tuple, leaf spec)] in sorted-key order (deterministic)."""
  if isinstance(spec, dict):
    out = []
    for k in sorted(spec):
      out.extend(_leaves(spec[k], prefix + (k,)))
    return out
  return [(prefix, spec)]


def _set(tree, path, value):
  for k in path[:-1]:
    tree = tree.setdefault(k, {})
  tree[path[-1]] = value


def _shardings(workload: str, resharded: bool):
  import jax
  from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
  if workload != "sharded":
    dev = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    return {None: dev}
  devs = np.array(jax.devices()[:8])
  if not resharded:
    mesh = Mesh(devs.reshape(4, 2), ("data", "model"))
    return {"both": NamedSharding(mesh, P("data", "model")),
            "data": NamedSharding(mesh, P("data", None)),
            "replicated": NamedSharding(mesh, P())}
  # A different sharding for load: mesh (2, 4), axes swapped, and the
  # replicated leaves become fully sharded.
  mesh = Mesh(devs.reshape(2, 4), ("data", "model"))
  return {"both": NamedSharding(mesh, P("model", "data")),
          "data": NamedSharding(mesh, P(None, "data")),
          "replicated": NamedSharding(mesh, P("data", "model"))}


def build(workload: str):
  """The concrete tree (jax.Arrays, plus Python/numpy scalars)."""
  import jax
  sh = _shardings(workload, False)
  tree: dict = {}
  for i, (path, leaf) in enumerate(_leaves(_spec(workload))):
    if leaf[0] == "scalar":
      _set(tree, path, leaf[1])
      continue
    _, shape, dtype, key = leaf
    host = _data(i, shape, dtype)
    arr = jax.device_put(host, sh[key])
    arr.block_until_ready()
    del host
    _set(tree, path, arr)
  return tree


def abstract(workload: str, resharded: bool = False):
  """The abstract tree for load: ShapeDtypeStructs with shardings."""
  import jax
  sh = _shardings(workload, resharded)
  tree: dict = {}
  for path, leaf in _leaves(_spec(workload)):
    if leaf[0] == "scalar":
      _set(tree, path, leaf[1])
      continue
    _, shape, dtype, key = leaf
    _set(tree, path, jax.ShapeDtypeStruct(shape, np.dtype(dtype),
                                          sharding=sh[key]))
  return tree


def expected_leaves(workload: str):
  """[(path, expected numpy value or scalar)] for verification."""
  out = []
  for i, (path, leaf) in enumerate(_leaves(_spec(workload))):
    if leaf[0] == "scalar":
      out.append((path, leaf[1]))
    else:
      out.append((path, ("lazy", i, leaf[1], leaf[2])))
  return out


def get(tree, path):
  for k in path:
    tree = tree[k]
  return tree


def materialize(expected):
  if isinstance(expected, tuple) and expected and expected[0] == "lazy":
    _, i, shape, dtype = expected
    return _data(i, shape, dtype)
  return expected


def logical_bytes(workload: str) -> int:
  n = 0
  for _, leaf in _leaves(_spec(workload)):
    if leaf[0] == "array":
      n += int(np.prod(leaf[1], dtype=np.int64)) * np.dtype(leaf[2]).itemsize
    else:
      n += np.asarray(leaf[1]).dtype.itemsize
  return n


def num_leaves(workload: str) -> int:
  return len(_leaves(_spec(workload)))
