# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Tree transformations applied when restoring into a different structure
(mirrors `orbax.checkpoint.transform_utils`)."""

from __future__ import annotations

import dataclasses
import functools
import logging
import operator
import re
from typing import Any, Callable, Dict, Optional, Tuple, Union

import jax

from ocpx._src import tree as tree_lib

PyTree = Any


@dataclasses.dataclass
class Transform:
  r"""How one key of the new tree is obtained from the original tree.

  Keys of the transformations tree are regular expressions over
  '/'-joined key paths of the new tree.

  Attributes:
    original_key: The key in the original tree (backreferences like `\1`
      refer to groups of the matching regex).  Defaults to the same key.
    use_fallback: Take the value from the fallback tree (`new_tree` when
      `default_to_original`, else the original tree).
    value_fn: `fn(original_value) -> new_value`.
    multi_value_fn: `fn(key, original_tree) -> new_value`.

  Example:
    ocp.apply_transformations(
        {'a': 1}, {'b': ocp.Transform(original_key='a')}, {'b': 0})
    # {'b': 1}
  """

  original_key: Optional[Union[str, Tuple[str]]] = None
  use_fallback: bool = False
  # `...`: RestoreTransform's functions take one more argument.
  value_fn: Optional[Callable[..., Any]] = None
  multi_value_fn: Optional[Callable[..., Any]] = None

  def __post_init__(self):
    given = [self.original_key is not None, self.use_fallback,
             self.multi_value_fn is not None]
    if self.use_fallback and (any(given[::2]) or self.value_fn is not None):
      raise ValueError("use_fallback excludes every other Transform field.")
    if self.multi_value_fn is not None and (
        self.original_key is not None or self.value_fn is not None):
      raise ValueError("multi_value_fn excludes original_key and value_fn.")


@dataclasses.dataclass
class RestoreTransform(Transform):
  """A Transform whose functions also receive the key's RestoreArgs.

  Attributes:
    value_fn: `fn(value, restore_args) -> new_value`.
    multi_value_fn: `fn(key, original_tree, restore_args) -> new_value`.
    multi_value_fn_input_args: {original key: RestoreArgs} the function needs.
  """

  value_fn: Optional[Callable[[Any, Any], Any]] = None
  multi_value_fn: Optional[Callable[[str, PyTree, Any], Any]] = None
  multi_value_fn_input_args: Optional[Dict[str, Any]] = None


def to_flat_dict(tree: PyTree, sep: str = "/") -> dict:
  """{'a/b': leaf} of a tree's leaves (empty nodes such as {} or
  optax.EmptyState() have no values and are left out)."""
  leaves, _ = tree_lib.flatten(tree)
  return {sep.join(l.names): l.value for l in leaves
          if not (tree_lib.is_empty_leaf(l.value) and l.value is not None)}


def from_flat_dict(flat: dict, target: Optional[PyTree] = None,
                   sep: str = "/") -> PyTree:
  """Rebuilds a tree from `to_flat_dict` output, shaped like `target`."""
  if target is None:
    out: dict = {}
    for key, value in flat.items():
      node = out
      parts = key.split(sep)
      for p in parts[:-1]:
        node = node.setdefault(p, {})
      node[parts[-1]] = value
    return out
  leaves, treedef = tree_lib.flatten(target)
  return jax.tree_util.tree_unflatten(
      treedef, [flat.get(sep.join(l.names), l.value) for l in leaves])


def apply_transformations(original_tree: PyTree, transformations: PyTree,
                          new_tree: PyTree,
                          default_to_original: Optional[bool] = True,
                          restore_args: Optional[PyTree] = None) -> PyTree:
  """Builds a tree shaped like `new_tree` from `original_tree`.

  For each key of `new_tree`, the first matching rule of `transformations`
  decides its value; keys without a rule come from `original_tree` when
  `default_to_original` (else they keep `new_tree`'s value).

  Example:
    apply_transformations({'a': 1, 'b': 2},
                          {'c': Transform(original_key='a')},
                          {'c': 0, 'b': 0})   # {'c': 1, 'b': 2}
  """
  if not jax.tree_util.tree_leaves(new_tree) and not new_tree:
    return {}
  original = to_flat_dict(original_tree)
  new = to_flat_dict(new_tree)
  rules = _flat_rules(transformations)
  args = to_flat_dict(restore_args) if restore_args is not None else {}
  not_loaded = []
  for key in list(new):
    matched = False
    for pattern, rule in rules:
      m = re.fullmatch(pattern, key)
      if not m:
        continue
      matched = True
      if rule.use_fallback:
        if not default_to_original:
          if key not in original:
            raise ValueError(
                f"{key} not found in the original tree (use_fallback).")
          new[key] = original[key]
        break
      if rule.multi_value_fn is not None:
        if isinstance(rule, RestoreTransform):
          new[key] = rule.multi_value_fn(key, original_tree, args.get(key))
        else:
          new[key] = rule.multi_value_fn(key, original_tree)
        break
      src = key if rule.original_key is None else m.expand(rule.original_key)
      if src not in original:
        raise ValueError(
            f'Transformation key "{src}" not found in the original tree.')
      value = original[src]
      if rule.value_fn is not None:
        value = (rule.value_fn(value, args.get(key))
                 if isinstance(rule, RestoreTransform) else rule.value_fn(value))
      new[key] = value
      break
    if not matched:
      if key in original:
        if default_to_original:
          new[key] = original[key]
      else:
        not_loaded.append(key)
  if not_loaded:
    logging.info("Keys not loaded from the original tree: %s",
                 ", ".join(not_loaded))
  return from_flat_dict(new, target=new_tree)


def flat_rules(transformations) -> list:
  """[(regex over '/'-joined keys, Transform)] in the tree's order."""
  return _flat_rules(transformations)


def _flat_rules(transformations) -> list:
  pairs, _ = jax.tree_util.tree_flatten_with_path(
      transformations, is_leaf=lambda x: isinstance(x, Transform))
  out = []
  for path, rule in pairs:
    if isinstance(rule, Transform):
      out.append(("/".join(tree_lib.key_name_and_type(k)[0] for k in path),
                  rule))
  return out


def merge_trees(*trees: PyTree, target: Optional[PyTree] = None) -> PyTree:
  """One tree with every key of `trees`; later trees win on overlaps."""
  flats = [to_flat_dict(t) for t in trees]
  merged: dict[Any, Any] = functools.reduce(operator.ior, flats, {})
  return from_flat_dict(merged, target=target)


def intersect_trees(*trees: PyTree, target: Optional[PyTree] = None) -> PyTree:
  """Only the keys present in every tree; the last tree's values win."""
  flats = [to_flat_dict(t) for t in trees]
  keys = set.intersection(*[set(f) for f in flats])
  return from_flat_dict({k: flats[-1][k] for k in keys}, target=target)
