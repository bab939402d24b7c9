# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Merging PyTrees (`ocpx.v1.tree.merge`)."""

from __future__ import annotations

import collections.abc
import functools
from typing import Any, Callable, Optional

import jax


def _is_leaf_or_none(x: Any) -> bool:
  return x is None or jax.tree_util.all_leaves([x])


def _is_namedtuple(x: Any) -> bool:
  return isinstance(x, tuple) and hasattr(x, "_fields")


def _key_name(key: Any) -> str:
  for attr in ("key", "idx", "name"):
    if hasattr(key, attr):
      return str(getattr(key, attr))
  return str(key)


def _flat_keys(tree: Any, is_leaf: Callable[[Any], bool]) -> set:
  flat, _ = jax.tree_util.tree_flatten_with_path(tree, is_leaf=is_leaf)
  return {tuple(_key_name(k) for k in path) for path, _ in flat}


def _children(node: Any) -> tuple[dict, Any]:
  """One level of a registered PyTree node: {key string: child}, treedef."""
  keyed, treedef = jax.tree_util.tree_flatten_with_path(
      node, is_leaf=lambda x: x is not node)
  return {jax.tree_util.keystr(k): v for k, v in keyed}, treedef


def _merge_two(new: Any, old: Any, overwrite: bool,
               is_leaf: Callable[[Any], bool]) -> Any:
  """Merges `new` into `old`; `new` wins where both hold a leaf."""
  if type(new) is not type(old) and not overwrite:
    raise ValueError(f"Types do not match: {type(new)} and {type(old)}")
  if is_leaf(new) or is_leaf(old):
    return new if new is not None else old
  node_type = type(new)
  if isinstance(new, collections.abc.Mapping) or _is_namedtuple(new):
    new_d = new._asdict() if _is_namedtuple(new) else new
    old_d = old._asdict() if _is_namedtuple(old) else old
    merged: Any = dict(old_d)
    for k, v in new_d.items():
      merged[k] = (_merge_two(v, old_d[k], overwrite, is_leaf)
                   if k in old_d else v)
    try:
      return node_type(**merged) if _is_namedtuple(new) else node_type(merged)
    except (TypeError, ValueError):
      return merged
  if isinstance(new, collections.abc.Sequence) and not isinstance(new, str):
    if len(new) != len(old):
      raise ValueError(
          f"Sequence lengths do not match: {len(new)} and {len(old)}")
    merged = [_merge_two(a, b, overwrite, is_leaf) for a, b in zip(new, old)]
    try:
      return node_type(merged)
    except (TypeError, ValueError):
      return merged
  new_children, treedef = _children(new)
  old_children, _ = _children(old)
  merged = _merge_two(new_children, old_children, overwrite, is_leaf)
  return jax.tree_util.tree_unflatten(
      treedef, [merged[k] for k in new_children])


def merge_trees(*trees: Any, overwrite: bool = False,
                is_leaf: Optional[Callable[[Any], bool]] = None) -> Any:
  """Merges PyTrees into one.

  Mappings and namedtuples merge by key, sequences element-wise (lengths must
  match), other registered nodes by child key.  Where several trees hold a
  leaf at the same key path, the later tree wins if `overwrite`; otherwise
  that is an error, as is a node whose type differs between trees.

  Example:

    merge({"a": 1, "b": {"c": 2}}, {"d": 3, "b": {"e": 4}})
    # {"a": 1, "b": {"c": 2, "e": 4}, "d": 3}
    merge({"a": 1}, {"a": 100}, overwrite=True)   # {"a": 100}

  Args:
    *trees: The trees, earliest first.
    overwrite: Let later trees replace leaves of earlier ones.
    is_leaf: Optional predicate marking leaves (default: JAX leaves and None).

  Returns:
    The merged tree ({} for no trees).

  Raises:
    ValueError: Common leaf key paths or mismatched node types without
      `overwrite`; sequences of different lengths.
  """
  is_leaf = is_leaf or _is_leaf_or_none
  if not trees:
    return {}
  if not overwrite:
    seen: set = set()
    for tree in trees:
      keys = _flat_keys(tree, is_leaf)
      common = seen & keys
      if common:
        raise ValueError(
            "Found common key paths when overwrite is False: "
            f"{sorted(common)}")
      seen |= keys
  return functools.reduce(
      lambda acc, t: _merge_two(t, acc, overwrite, is_leaf), trees)
