# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""The `_sharding` file: sharding descriptions keyed by base64 param name."""

from __future__ import annotations

import base64
import json
import logging
import pathlib
from typing import Any, Optional

import jax
import numpy as np

from ocpx._src import json_util

SHARDING_FILE = "_sharding"


def _axis_type_str(t) -> str:
  return str(t)


def sharding_to_json(sharding: Any) -> Optional[str]:
  """Orbax's JSON string for a NamedSharding / SingleDeviceSharding."""
  if isinstance(sharding, jax.sharding.NamedSharding):
    mesh = sharding.mesh
    d = {
        "sharding_type": "NamedSharding",
        "shape": list(np.asarray(mesh.devices).shape),
        "axis_names": list(mesh.axis_names),
    }
    axis_types = getattr(mesh, "axis_types", None)
    if axis_types is not None:
      d["axis_types"] = [_axis_type_str(t) for t in axis_types]
    spec = []
    for p in sharding.spec:
      spec.append(list(p) if isinstance(p, tuple) else p)
    d["partition_spec"] = spec
    devs = np.vectorize(lambda dv: {"id": int(dv.id)}, otypes=[object])(
        np.asarray(mesh.devices))
    d["device_mesh"] = {"mesh": devs.tolist()}
    return json.dumps(d)
  if isinstance(sharding, jax.sharding.SingleDeviceSharding):
    dev = next(iter(sharding.device_set))
    return json.dumps({"sharding_type": "SingleDeviceSharding",
                       "device_str": str(dev)})
  return None


def _axis_type(s: str):
  name = s.split(".")[-1]
  return getattr(jax.sharding.AxisType, name)


def sharding_from_json(text: str) -> jax.sharding.Sharding:
  """Rebuilds a sharding; raises ValueError if its devices are not here."""
  d = json_util.loads(text, "sharding")
  if not isinstance(d, dict):
    raise ValueError(f"sharding: expected a JSON object, got {d!r:.80}")
  kind = d.get("sharding_type")
  if kind == "NamedSharding":
    by_id = {dv.id: dv for dv in jax.devices()}
    shape = tuple(d["shape"])
    if "device_mesh" in d and d["device_mesh"]:
      ids = np.asarray(
          jax.tree_util.tree_map(lambda m: m["id"], d["device_mesh"]["mesh"],
                                 is_leaf=lambda x: isinstance(x, dict)))
      missing = [int(i) for i in ids.ravel() if int(i) not in by_id]
      if missing:
        raise ValueError(
            f"The saved sharding uses devices {missing} that are not "
            f"available ({len(by_id)} devices here); pass a target sharding.")
      devices = np.vectorize(lambda i: by_id[int(i)], otypes=[object])(ids)
    else:
      n = int(np.prod(shape))
      if n > len(by_id):
        raise ValueError(f"The saved mesh needs {n} devices; have {len(by_id)}")
      devices = np.asarray(jax.devices()[:n], dtype=object)
    devices = devices.reshape(shape)
    kwargs = {}
    if d.get("axis_types"):
      kwargs["axis_types"] = tuple(_axis_type(s) for s in d["axis_types"])
    mesh = jax.sharding.Mesh(devices, tuple(d["axis_names"]), **kwargs)
    spec = [tuple(p) if isinstance(p, list) else p
            for p in d["partition_spec"]]
    return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec(*spec))
  if kind == "SingleDeviceSharding":
    want = d["device_str"].replace("TFRT_CPU_", "cpu:")
    for dv in jax.local_devices():
      if str(dv).replace("TFRT_CPU_", "cpu:") == want:
        return jax.sharding.SingleDeviceSharding(dv)
    raise ValueError(f"Device {d['device_str']} is not among the local devices")
  raise ValueError(f"Unsupported sharding type {kind!r}")


def encode_name(param_name: str) -> str:
  return base64.urlsafe_b64encode(param_name.encode("utf-8")).decode("ascii")


def write_sharding_file(directory: pathlib.Path, entries: dict[str, str],
                        write) -> None:
  """entries: param name -> sharding JSON string.  `write(path, text)`."""
  if not entries:
    return
  doc = {encode_name(k): v for k, v in entries.items()}
  write(directory / SHARDING_FILE,
        json.dumps(doc, sort_keys=True, separators=(",", ":"),
                   ensure_ascii=False))


def read_sharding_file(directory: pathlib.Path) -> dict[str, str]:
  f = directory / SHARDING_FILE
  if not f.exists():
    return {}
  try:
    doc = json_util.read_json(f)
  except ValueError as e:
    logging.warning("%s; ignoring the sharding file", e)
    return {}
  if not isinstance(doc, dict):
    raise ValueError(f"{f}: expected a JSON object of param -> sharding, got "
                     f"{type(doc).__name__}")
  out = {}
  for k, v in doc.items():
    if not isinstance(v, str):
      raise ValueError(f"{f}: the sharding of {k!r} is a "
                       f"{type(v).__name__}, not a JSON string")
    try:
      out[base64.urlsafe_b64decode(k.encode()).decode("utf-8")] = v
    except ValueError:
      logging.warning("%s: bad key %r; ignoring it", f, k)
  return out
