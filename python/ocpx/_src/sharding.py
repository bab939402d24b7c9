# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""The `_sharding` file: sharding descriptions keyed by base64 param name."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import logging
import pathlib
from typing import Any, Optional, Sequence, cast

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
    d: dict[str, Any] = {
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


def is_replicated(sharding: Any) -> bool:
  """Orbax's test for "holds replicated data" (replica-parallel separate
  folders): a single device, or a NamedSharding whose spec leaves some mesh
  axis unused or has a None entry."""
  if isinstance(sharding, jax.sharding.SingleDeviceSharding):
    return True
  if isinstance(sharding, jax.sharding.NamedSharding):
    spec = tuple(sharding.spec)
    return (len(sharding.mesh.axis_names) > len(spec) or not spec
            or any(p is None for p in spec))
  return False


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


def sharding_file_text(entries: dict[str, str]) -> Optional[str]:
  """The `_sharding` file's text for entries (param name -> sharding JSON
  string); None for no entries (no file is written)."""
  if not entries:
    return None
  doc = {encode_name(k): v for k, v in entries.items()}
  return json.dumps(doc, sort_keys=True, separators=(",", ":"),
                    ensure_ascii=False)


def read_sharding_file(directory: pathlib.Path) -> dict[str, str]:
  """`_sharding` of `directory` as {param name: sharding JSON text}; {} if
  absent.  Parsed by the C++ reader (`ocpx._core.parse_shardings`); what it
  skips (a file that is not JSON, a key that is not base64url) is logged.

  Raises:
    ValueError: the file is not an object of JSON strings.
  """
  f = directory / SHARDING_FILE
  if not f.exists():
    return {}
  from ocpx import _core  # pylint: disable=g-import-not-at-top
  by_name, warnings = _core.parse_shardings(f.read_bytes(), str(f))
  for w in warnings:
    logging.warning("%s", w)
  return by_name


# ---------------------------------------------------------------------------
# Sharding metadata: what `metadata()` reports for a saved jax.Array, without
# needing the saved devices to exist here.


@dataclasses.dataclass
class DeviceMetadata:
  """One device of a saved mesh, by id."""

  id: int

  @classmethod
  def from_dict(cls, data: dict) -> "DeviceMetadata":
    return cls(id=data["id"])

  @classmethod
  def from_jax_device(cls, device: Any) -> "DeviceMetadata":
    return cls(id=device.id)


@dataclasses.dataclass
class DeviceMetadataMesh:
  """The saved mesh's devices: a nested list of `DeviceMetadata`."""

  mesh: Sequence[Any]

  @classmethod
  def from_dict(cls, data: dict) -> "DeviceMetadataMesh":
    """From `{"mesh": nested lists of {"id": int}}` (the `_sharding` form)."""
    return cls(mesh=jax.tree_util.tree_map(
        DeviceMetadata.from_dict, data["mesh"],
        is_leaf=lambda x: isinstance(x, dict) and "id" in x))

  @classmethod
  def from_jax_mesh(cls, mesh: Any) -> "DeviceMetadataMesh":
    return cls(mesh=np.vectorize(DeviceMetadata.from_jax_device,
                                 otypes=[object])(
                                     np.asarray(mesh.devices)).tolist())

  def to_jax_device_mesh(self) -> np.ndarray:
    """The devices of this process with the saved ids (ValueError if absent)."""
    by_id = {d.id: d for d in jax.devices()}
    ids = np.asarray(jax.tree_util.tree_map(
        lambda m: m.id, self.mesh,
        is_leaf=lambda x: isinstance(x, DeviceMetadata)))
    missing = sorted({int(i) for i in ids.ravel()} - set(by_id))
    if missing:
      raise ValueError(
          f"The saved sharding uses devices {missing} that are not "
          f"available ({len(by_id)} devices here); pass a target sharding.")
    return np.vectorize(lambda i: by_id[int(i)], otypes=[object])(ids)


class ShardingMetadata:
  """Base of the saved-sharding descriptions returned by `metadata()`.

  Example:
    >>> md = ocp.metadata(path).metadata['w'].sharding_metadata
    >>> md.to_jax_sharding()   # the saved sharding on this host's devices
  """

  def to_jax_sharding(self) -> jax.sharding.Sharding:
    raise NotImplementedError

  def to_serialized_string(self) -> str:
    raise NotImplementedError

  @classmethod
  def from_deserialized_dict(cls, deserialized_dict: dict
                             ) -> "ShardingMetadata":
    """From the parsed JSON of a `_sharding` entry (ValueError if it does
    not describe this kind of sharding)."""
    kind = {"NamedShardingMetadata": "NamedSharding",
            "SingleDeviceShardingMetadata": "SingleDeviceSharding"}.get(
                cls.__name__)
    if isinstance(deserialized_dict, dict) and kind is not None:
      deserialized_dict = {"sharding_type": kind, **deserialized_dict}
    try:
      got = sharding_metadata_from_json(json.dumps(deserialized_dict))
    except (TypeError, ValueError) as e:
      raise ValueError(
          f"Sharding data not found in deserialized_dict: "
          f"{deserialized_dict}") from e
    if cls is not ShardingMetadata and not isinstance(got, cls):
      raise ValueError(f"{cls.__name__}: not this kind of sharding: "
                       f"{deserialized_dict}")
    return got


@dataclasses.dataclass(eq=False)
class NamedShardingMetadata(ShardingMetadata):
  """A saved `jax.sharding.NamedSharding`: mesh shape, axes, spec, devices."""

  shape: np.ndarray
  axis_names: list
  partition_spec: tuple
  axis_types: Optional[tuple] = None
  device_mesh: Optional[DeviceMetadataMesh] = None

  @classmethod
  def from_jax_sharding(cls, s: jax.sharding.NamedSharding
                        ) -> "NamedShardingMetadata":
    devices = np.asarray(s.mesh.devices)
    return cls(
        shape=np.asarray(devices.shape),
        axis_names=list(s.mesh.axis_names),
        partition_spec=tuple(s.spec),
        axis_types=tuple(getattr(s.mesh, "axis_types", ()) or ()) or None,
        device_mesh=DeviceMetadataMesh.from_jax_mesh(s.mesh))

  def to_jax_sharding(self) -> jax.sharding.NamedSharding:
    return cast(jax.sharding.NamedSharding,
                sharding_from_json(self.to_serialized_string()))

  def to_serialized_string(self) -> str:
    d: dict[str, Any] = {"sharding_type": "NamedSharding",
         "shape": [int(x) for x in np.asarray(self.shape).tolist()],
         "axis_names": list(self.axis_names)}
    if self.axis_types is not None:
      d["axis_types"] = [_axis_type_str(t) for t in self.axis_types]
    d["partition_spec"] = [list(p) if isinstance(p, tuple) else p
                           for p in self.partition_spec]
    if self.device_mesh is not None:
      d["device_mesh"] = {"mesh": jax.tree_util.tree_map(
          lambda m: {"id": int(m.id)}, self.device_mesh.mesh,
          is_leaf=lambda x: isinstance(x, DeviceMetadata))}
    return json.dumps(d)

  def __eq__(self, other):
    # Also equal to Orbax's NamedShardingMetadata for the same sharding.
    if type(other).__name__ != "NamedShardingMetadata":
      return NotImplemented
    return (np.array_equal(self.shape, other.shape)
            and list(self.axis_names) == list(other.axis_names)
            and tuple(self.axis_types or ()) == tuple(other.axis_types or ())
            and tuple(self.partition_spec) == tuple(other.partition_spec)
            and _mesh_ids(self.device_mesh) == _mesh_ids(other.device_mesh))

  def __repr__(self):
    return (f"NamedShardingMetadata(shape={self.shape}, axis_names="
            f"{self.axis_names}, axis_types={self.axis_types}, partition_spec="
            f"{self.partition_spec}) device_mesh={self.device_mesh}")


@dataclasses.dataclass(eq=False)
class SingleDeviceShardingMetadata(ShardingMetadata):
  """A saved `jax.sharding.SingleDeviceSharding`, by device name."""

  device_str: str

  @classmethod
  def from_jax_sharding(cls, s: jax.sharding.SingleDeviceSharding
                        ) -> "SingleDeviceShardingMetadata":
    return cls(device_str=str(next(iter(s.device_set))))

  def to_jax_sharding(self) -> jax.sharding.SingleDeviceSharding:
    return cast(jax.sharding.SingleDeviceSharding,
                sharding_from_json(self.to_serialized_string()))

  def to_serialized_string(self) -> str:
    return json.dumps({"sharding_type": "SingleDeviceSharding",
                       "device_str": self.device_str})

  def __eq__(self, other):
    if type(other).__name__ != "SingleDeviceShardingMetadata":
      return NotImplemented
    return _norm_device(self.device_str) == _norm_device(other.device_str)

  def __repr__(self):
    return f"SingleDeviceShardingMetadata(device_str={self.device_str})"


def _mesh_ids(device_mesh) -> Any:
  if device_mesh is None:
    return None
  return jax.tree_util.tree_map(
      lambda m: int(m.id), list(device_mesh.mesh),
      is_leaf=lambda x: hasattr(x, "id") and not isinstance(x, (list, dict)))


def _norm_device(s: str) -> str:
  return s.replace("TFRT_CPU_", "cpu:")


def sharding_metadata_from_json(text: str) -> ShardingMetadata:
  """Parses a `_sharding` entry into a ShardingMetadata (ValueError if bad)."""
  try:
    d = json.loads(text)
  except (TypeError, ValueError) as e:
    raise ValueError(f"invalid sharding description {text!r}: {e}") from e
  kind = d.get("sharding_type") if isinstance(d, dict) else None
  if kind == "NamedSharding":
    try:
      mesh = d.get("device_mesh")
      return NamedShardingMetadata(
          shape=np.asarray(d["shape"]),
          axis_names=list(d["axis_names"]),
          partition_spec=tuple(tuple(p) if isinstance(p, list) else p
                               for p in d["partition_spec"]),
          axis_types=(tuple(_axis_type(s) for s in d["axis_types"])
                      if d.get("axis_types") else None),
          device_mesh=DeviceMetadataMesh(jax.tree_util.tree_map(
              lambda m: DeviceMetadata(int(m["id"])), mesh["mesh"],
              is_leaf=lambda x: isinstance(x, dict))) if mesh else None)
    except (KeyError, TypeError, AttributeError) as e:
      raise ValueError(f"invalid NamedSharding description {text!r}") from e
  if kind == "SingleDeviceSharding" and d.get("device_str") is not None:
    return SingleDeviceShardingMetadata(device_str=str(d["device_str"]))
  raise ValueError(f"unsupported sharding description {text!r}")


def sharding_metadata_of(sharding: Any) -> Optional[ShardingMetadata]:
  """The ShardingMetadata of a jax sharding (None for other kinds)."""
  if isinstance(sharding, jax.sharding.NamedSharding):
    return NamedShardingMetadata.from_jax_sharding(sharding)
  if isinstance(sharding, jax.sharding.SingleDeviceSharding):
    return SingleDeviceShardingMetadata.from_jax_sharding(sharding)
  return None


# ---------------------------------------------------------------------------
# Target shardings given on an abstract mesh.


def active_global_mesh() -> Optional[jax.sharding.Mesh]:
  """The concrete mesh set by `jax.sharding.set_mesh` on this thread, if any.

  Loads run on worker threads, which do not see the caller's mesh; callers
  capture it with this function first.
  """
  get_mesh = getattr(jax.sharding, "get_mesh", None)
  if get_mesh is None:
    return None
  try:
    mesh = get_mesh()
  except Exception:  # pylint: disable=broad-except
    return None
  if isinstance(mesh, jax.sharding.Mesh) and not mesh.empty:
    return mesh
  return None


def _concrete_mesh_for(abstract_mesh, active=None) -> jax.sharding.Mesh:
  """The concrete mesh to bind an AbstractMesh to: the active global mesh
  (`jax.sharding.set_mesh`) if its shape and axes match, else one built from
  this process's devices in order."""
  shape = tuple(abstract_mesh.axis_sizes)
  names = tuple(abstract_mesh.axis_names)
  if active is None:
    active = active_global_mesh()
  if (active is not None and tuple(active.axis_names) == names
      and tuple(active.devices.shape) == shape):
    return active
  n = int(np.prod(shape, dtype=np.int64))
  devices = jax.devices()
  if n > len(devices):
    raise ValueError(
        f"The target sharding's abstract mesh {dict(zip(names, shape))} needs "
        f"{n} devices; only {len(devices)} are available.")
  kwargs = {}
  axis_types = getattr(abstract_mesh, "axis_types", None)
  if axis_types is not None:
    kwargs["axis_types"] = tuple(axis_types)
  return jax.sharding.Mesh(
      np.asarray(devices[:n], dtype=object).reshape(shape), names, **kwargs)


def bind_to_devices(sharding: Any, global_mesh=None) -> Any:
  """Returns `sharding` with an AbstractMesh replaced by a concrete mesh.

  A `NamedSharding` on a `jax.sharding.AbstractMesh` names no devices; to
  place loaded data it is bound to the active global mesh when that matches
  the abstract one (`global_mesh`, or the one active on this thread),
  otherwise to the first devices of `jax.devices()`.

  Example:
    >>> amesh = jax.sharding.AbstractMesh((2,), ('x',))
    >>> s = jax.sharding.NamedSharding(amesh, P('x'))
    >>> bind_to_devices(s).mesh.devices.shape
    (2,)
  """
  abstract_cls = getattr(jax.sharding, "AbstractMesh", None)
  if (abstract_cls is not None
      and isinstance(sharding, jax.sharding.NamedSharding)
      and isinstance(sharding.mesh, abstract_cls)):
    return jax.sharding.NamedSharding(
        _concrete_mesh_for(sharding.mesh, global_mesh), sharding.spec,
        memory_kind=sharding.memory_kind)
  return sharding


@contextlib.contextmanager
def without_global_mesh():
  """Runs the block with no global mesh (`jax.sharding.set_mesh`) active.

  Per-shard work (slicing a shard, placing a host buffer on one device) uses
  single-device arrays, which JAX refuses to mix with an active mesh of
  several devices.
  """
  set_mesh = getattr(jax, "set_mesh", None) or getattr(
      jax.sharding, "set_mesh", None)
  if set_mesh is None:
    yield
    return
  with set_mesh(None):
    yield
