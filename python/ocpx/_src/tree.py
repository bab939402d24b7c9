# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""PyTree flattening, param names and the `_METADATA` file."""

from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Any, Optional, Sequence

import jax
import numpy as np

from ocpx._src import json_util

PLACEHOLDER = ...

SEQUENCE_KEY = 1
DICT_KEY = 2

# value_type strings of `_METADATA`.
JAX_ARRAY = "jax.Array"
NP_ARRAY = "np.ndarray"
SCALAR = "scalar"
STRING = "string"
EMPTY_TYPES = ("None", "Dict", "List", "Tuple", "NamedTuple")


# Types that are always leaves / always containers, answered without asking
# JAX's registry (this runs once per node of every tree saved).
_LEAF_TYPES = (jax.Array, np.ndarray, np.generic)
_SCALAR_TYPES = frozenset((int, float, bool, complex, str, bytes))
_CONTAINER_TYPES = frozenset((dict, list, tuple))


def _is_empty_or_leaf(x: Any) -> bool:
  t = type(x)
  if t in _CONTAINER_TYPES:
    return not x
  if t in _SCALAR_TYPES or isinstance(x, _LEAF_TYPES):
    return True
  children, _ = jax.tree_util.tree_flatten(
      x, is_leaf=lambda y: y is not x)
  if len(children) == 1 and children[0] is x:
    return True  # cannot be flattened: a leaf
  return not children


def _is_empty_node(x: Any) -> bool:
  if x is None:
    return True
  if type(x) in _SCALAR_TYPES or isinstance(x, _LEAF_TYPES):
    return False  # a leaf (asked once per leaf of every tree saved)
  children, _ = jax.tree_util.tree_flatten(x, is_leaf=lambda y: y is not x)
  if len(children) == 1 and children[0] is x:
    return False
  return not children


def empty_typestr(x: Any) -> str:
  if x is None:
    return "None"
  if isinstance(x, dict):
    return "Dict"
  if isinstance(x, list):
    return "List"
  if isinstance(x, tuple) and not hasattr(x, "_fields"):
    return "Tuple"
  return "None"  # Unregistered empty nodes, as Orbax records them.


def empty_value(typestr: str) -> Any:
  return {"None": None, "Dict": {}, "List": [], "Tuple": ()}.get(typestr)


def key_name_and_type(key: Any) -> tuple[str, int]:
  if isinstance(key, jax.tree_util.SequenceKey):
    return str(key.idx), SEQUENCE_KEY
  if isinstance(key, jax.tree_util.DictKey):
    return str(key.key), DICT_KEY
  if isinstance(key, jax.tree_util.GetAttrKey):
    return str(key.name), DICT_KEY
  if isinstance(key, jax.tree_util.FlattenedIndexKey):
    return str(key.key), SEQUENCE_KEY
  raise TypeError(f"Unsupported PyTree key type {type(key).__name__}: {key}")


@dataclasses.dataclass
class FlatLeaf:
  keypath: tuple  # jax key objects
  names: tuple[str, ...]
  key_types: tuple[int, ...]
  value: Any

  @property
  def param_name(self) -> str:
    return ".".join(self.names)

  @property
  def tuple_key(self) -> str:
    return str(tuple(self.names))


def _unsortable_dict(tree: Any) -> Optional[tuple[tuple, list]]:
  """(key path, keys) of a dict in `tree` whose keys cannot be sorted."""
  stack: list[tuple[tuple[Any, ...], Any]] = [((), tree)]
  while stack:
    path, node = stack.pop()
    if isinstance(node, dict):
      try:
        sorted(node)
      except TypeError:
        return path, list(node)
      stack.extend((path + (jax.tree_util.DictKey(k),), v)
                   for k, v in node.items())
    elif isinstance(node, (list, tuple)):
      stack.extend((path + (jax.tree_util.SequenceKey(i),), v)
                   for i, v in enumerate(node))
    elif node is not None:
      try:
        pairs, _ = jax.tree_util.tree_flatten_with_path(
            node, is_leaf=lambda y, node=node: y is not node)
      except Exception:  # pylint: disable=broad-except
        continue
      if not (len(pairs) == 1 and pairs[0][1] is node):
        stack.extend((path + tuple(kp), v) for kp, v in pairs)
  return None


def _flatten_with_path(tree: Any, is_leaf=None):
  try:
    return jax.tree_util.tree_flatten_with_path(tree, is_leaf=is_leaf)
  except (ValueError, TypeError) as e:
    bad = _unsortable_dict(tree)
    if bad is None:
      raise
    path, keys = bad
    raise ValueError(
        f"PyTree dict at {jax.tree_util.keystr(path) or 'the root'} has keys "
        f"{keys!r} of mixed types that cannot be sorted (e.g. 1 and '1'); "
        "use keys of one type.") from e


def flatten(tree: Any) -> tuple[list[FlatLeaf], Any]:
  """Flattens with empty nodes kept as leaves (as Orbax records them)."""
  pairs, treedef = _flatten_with_path(tree, is_leaf=_is_empty_or_leaf)
  return _flat_leaves(pairs), treedef


def leaf_values(tree: Any) -> list:
  """The leaves `flatten` finds (empty nodes included), without key paths."""
  try:
    return jax.tree_util.tree_leaves(tree, is_leaf=_is_empty_or_leaf)
  except (ValueError, TypeError):
    return [l.value for l in flatten(tree)[0]]  # raises, naming the node


def _flat_leaves(pairs) -> list[FlatLeaf]:
  """FlatLeaf of each (key path, value); a key shared by several paths (a
  parent node's) is named once."""
  named: dict[int, tuple[str, int]] = {}  # id(key) -> name, type
  out = []
  for path, value in pairs:
    nt = []
    for k in path:
      got = named.get(id(k))
      if got is None:
        got = named[id(k)] = key_name_and_type(k)
      nt.append(got)
    out.append(FlatLeaf(tuple(path), tuple(n for n, _ in nt),
                        tuple(t for _, t in nt), value))
  return out


def flatten_abstract(tree: Any) -> tuple[list[FlatLeaf], Any]:
  """Flattens an abstract tree; None and empty containers stay structure."""
  pairs, treedef = _flatten_with_path(tree)
  return _flat_leaves(pairs), treedef


def check_abstract(tree: Any) -> None:
  """Raises what `flatten_abstract` would, without building its leaves."""
  pairs, _ = _flatten_with_path(tree)
  seen: set[type] = set()
  for path, _ in pairs:
    for k in path:
      if type(k) not in seen:
        key_name_and_type(k)  # raises for an unsupported key type
        seen.add(type(k))


def is_empty_leaf(x: Any) -> bool:
  return _is_empty_node(x)


def check_param_names(leaves: Sequence[FlatLeaf], directory) -> None:
  """Rejects names Orbax would silently collide or mis-store."""
  seen: dict[str, Any] = {}
  for leaf in leaves:
    for n in leaf.names:
      if n == "" or n in (".", "..") or "\x00" in n:
        raise ValueError(
            f"{directory}: PyTree key {leaf.names!r} has a component {n!r} "
            "that cannot be stored.")
      try:
        n.encode("utf-8")
      except UnicodeEncodeError as e:
        raise ValueError(
            f"{directory}: PyTree key {leaf.names!r} has a component {n!r} "
            f"that is not valid Unicode and cannot be stored: {e}") from e
    p = leaf.param_name
    if p in seen and not is_empty_leaf(leaf.value):
      raise ValueError(
          f"{directory}: PyTree keys {seen[p]!r} and {leaf.names!r} map to the "
          f"same stored name {p!r}; rename one of them.")
    seen[p] = leaf.names


# ---------------------------------------------------------------------------
# _METADATA

METADATA_FILE = "_METADATA"


@dataclasses.dataclass(frozen=True)
class ExternalLeaf:
  """A leaf written by a v0 TypeHandler of its own: the engine records it in
  `_METADATA` under `typestr` and stores nothing for it."""

  typestr: str
  skip_deserialize: bool = False


@dataclasses.dataclass
class LeafMetadata:
  names: tuple[str, ...]
  key_types: tuple[int, ...]
  value_type: str
  skip_deserialize: bool = False
  write_shape: Optional[list[int]] = None

  @property
  def param_name(self) -> str:
    return ".".join(self.names)


@dataclasses.dataclass
class TreeMetadata:
  leaves: list[LeafMetadata]
  use_ocdbt: bool = True
  use_zarr3: Optional[bool] = True  # None: unknown (tree rebuilt from data)
  store_array_data_equal_to_fill_value: bool = True
  custom_metadata: Any = None
  value_metadata_tree: Optional[str] = None

  def to_json(self) -> str:
    """The `_METADATA` text: what `json.dumps` gives for the whole document,
    made entry by entry (no dict of every leaf's metadata is held at once;
    for thousands of leaves that dict is ten times the text)."""
    encode = json.JSONEncoder().encode  # json.dumps' defaults
    entries: dict[str, str] = {}  # as a dict would, a repeated key keeps its
    for leaf in self.leaves:     # first place and its last value
      vm = {"value_type": leaf.value_type,
            "skip_deserialize": leaf.skip_deserialize}
      if leaf.write_shape is not None:
        vm["write_shape"] = list(leaf.write_shape)
      entries[str(tuple(leaf.names))] = encode({
          "key_metadata": [{"key": n, "key_type": t}
                           for n, t in zip(leaf.names, leaf.key_types)],
          "value_metadata": vm,
      })
    head = ['{"tree_metadata": {',
            ", ".join(f"{encode(k)}: {v}" for k, v in entries.items()), "}"]
    if self.value_metadata_tree is not None:
      head.append(
          f', "value_metadata_tree": {encode(self.value_metadata_tree)}')
    rest = encode({
        "use_ocdbt": self.use_ocdbt,
        "use_zarr3": self.use_zarr3,
        "store_array_data_equal_to_fill_value":
            self.store_array_data_equal_to_fill_value,
        "custom_metadata": self.custom_metadata,
    })
    return "".join(head) + ", " + rest[1:]


def tree_metadata_from_native(d: dict) -> TreeMetadata:
  """A TreeMetadata from the dict `ocpx._core.parse_tree_metadata` (or
  `infer_tree_metadata`) returns: its leaves are tuples (names, key_types,
  value_type, skip_deserialize, write_shape or None)."""
  leaves = [
      LeafMetadata(names=names, key_types=key_types, value_type=value_type,
                   skip_deserialize=skip,
                   write_shape=list(ws) if ws is not None else None)
      for names, key_types, value_type, skip, ws in d["leaves"]]
  return TreeMetadata(
      leaves=leaves, use_ocdbt=d["use_ocdbt"], use_zarr3=d["use_zarr3"],
      store_array_data_equal_to_fill_value=d[
          "store_array_data_equal_to_fill_value"],
      custom_metadata=d["custom_metadata"],
      value_metadata_tree=d["value_metadata_tree"])


def read_tree_metadata(directory: pathlib.Path) -> TreeMetadata:
  """Reads `<directory>/_METADATA`, parsed by the C++ reader
  (`ocpx._core.parse_tree_metadata`, the one implementation of its rules).

  Example:
    >>> [l.param_name for l in read_tree_metadata(ckpt / "state").leaves]
    ['a', 'b.c']  # doctest: +SKIP

  Raises:
    FileNotFoundError: there is no `_METADATA`.
    ValueError: it is malformed (the message names the file and entry).
  """
  f = directory / METADATA_FILE
  if not f.exists():
    raise FileNotFoundError(
        f"{f}: PyTree metadata file not found; {directory} is not a PyTree "
        "checkpointable.")
  from ocpx import _core  # pylint: disable=g-import-not-at-top
  return tree_metadata_from_native(_core.parse_tree_metadata(
      f.read_bytes(), str(f), (directory / "manifest.ocdbt").exists()))


def build_tree(leaves: Sequence[LeafMetadata], values: dict) -> Any:
  """Nested dicts/lists from saved key paths, with `values[names]`."""
  root: Any = None

  def container(kind):
    return [] if kind == SEQUENCE_KEY else {}

  if len(leaves) == 1 and not leaves[0].names:
    return values[()]
  root = container(leaves[0].key_types[0])
  for leaf in leaves:
    node = root
    for i, (name, kind) in enumerate(zip(leaf.names, leaf.key_types)):
      last = i == len(leaf.names) - 1
      key: Any = int(name) if isinstance(node, list) else name
      if isinstance(node, list):
        while len(node) <= key:
          node.append(None)
      if last:
        node[key] = values[leaf.names]
      else:
        child = node[key] if (isinstance(node, dict) and key in node) or (
            isinstance(node, list) and node[key] is not None) else None
        if child is None:
          child = container(leaf.key_types[i + 1])
          node[key] = child
        node = child
  return root


def to_tuple_key(names: Sequence[str]) -> tuple[str, ...]:
  return tuple(str(n) for n in names)


def np_dtype_of_scalar(v: Any) -> np.dtype:
  return np.asarray(v).dtype


# ---------------------------------------------------------------------------
# Rich types (`PyTreeMetadataOptions(support_rich_types=True)`): the
# `value_metadata_tree` JSON string of `_METADATA`, which keeps tuples and
# namedtuples so they load back as such without an abstract tree.

def _is_namedtuple(x) -> bool:
  return isinstance(x, tuple) and hasattr(x, "_fields")


def rich_tree_json(tree: Any, leaves: dict) -> str:
  """`leaves`: key-name tuple -> LeafMetadata of every (empty or not) leaf."""

  def entry(path):
    l = leaves[path]
    data = {"value_type": l.value_type, "skip_deserialize": l.skip_deserialize}
    if l.write_shape is not None:
      data["write_shape"] = list(l.write_shape)
    return {"category": "custom", "clazz": "ValueMetadataEntry", "data": data}

  def rec(node, path):
    if path in leaves and _is_empty_or_leaf(node):
      return entry(path)
    if _is_namedtuple(node):
      cls = type(node)
      return {"category": "namedtuple", "module": cls.__module__,
              "clazz": cls.__qualname__,
              "entries": [{"key": k, "value": rec(v, path + (k,))}
                          for k, v in zip(node._fields, node)]}
    if isinstance(node, tuple):
      return {"category": "custom", "clazz": "tuple",
              "entries": [rec(v, path + (str(i),))
                          for i, v in enumerate(node)]}
    if isinstance(node, dict):
      return {str(k): rec(v, path + (str(k),)) for k, v in node.items()}
    if isinstance(node, list):
      return [rec(v, path + (str(i),)) for i, v in enumerate(node)]
    pairs, _ = jax.tree_util.tree_flatten_with_path(
        node, is_leaf=lambda y: y is not node)
    return {key_name_and_type(kp[0])[0]: rec(v, path + (
        key_name_and_type(kp[0])[0],)) for kp, v in pairs}

  return json.dumps(rec(tree, ()))


def _namedtuple_class(module: str, qualname: str, fields: Sequence[str]):
  import collections  # pylint: disable=g-import-not-at-top
  import importlib  # pylint: disable=g-import-not-at-top
  try:
    obj = importlib.import_module(module)
    for part in qualname.split("."):
      obj = getattr(obj, part)
    if isinstance(obj, type) and tuple(getattr(obj, "_fields", ())) == tuple(
        fields):
      return obj
  except Exception:  # pylint: disable=broad-except
    pass
  name = "".join(c if c.isalnum() else "_" for c in qualname) or "NamedTuple"
  return collections.namedtuple(name, list(fields))


def build_rich_tree(text: str, values: dict) -> Any:
  """Rebuilds the saved structure (tuples, namedtuples) from
  `value_metadata_tree`, taking leaf values from `values[key-name tuple]`."""
  doc = json_util.loads(text, "value_metadata_tree")

  def rec(obj, path):
    if isinstance(obj, list):
      return [rec(v, path + (str(i),)) for i, v in enumerate(obj)]
    if not isinstance(obj, dict):
      raise ValueError(f"value_metadata_tree: unexpected {obj!r}")
    cat = obj.get("category")
    if cat == "custom" and obj.get("clazz") == "ValueMetadataEntry":
      return values[path]
    if cat == "custom" and obj.get("clazz") == "tuple":
      return tuple(rec(v, path + (str(i),))
                   for i, v in enumerate(obj["entries"]))
    if cat == "namedtuple":
      keys = [e["key"] for e in obj["entries"]]
      cls = _namedtuple_class(obj["module"], obj["clazz"], keys)
      return cls(*[rec(e["value"], path + (e["key"],))
                   for e in obj["entries"]])
    return {k: rec(v, path + (k,)) for k, v in obj.items()}

  return rec(doc, ())
