# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""`Composite`: an immutable mapping of named items, usable by attribute."""

from __future__ import annotations

from collections.abc import Iterator, KeysView, Mapping, ValuesView
from typing import Any


class Composite(Mapping):
  """Named items, read as `c.name`, `c['name']`, `'name' in c`.

  Example:
    c = Composite(state=train_state, config={'lr': 0.1})
    c.state is c['state']
  """

  def __init__(self, **items: Any):
    object.__setattr__(self, "_items", dict(items))
    reserved = set(dir(type(self)))
    for key in items:
      if key.startswith("__"):
        raise ValueError(f'Composite keys cannot start with "__". Got: {key}')
    object.__setattr__(self, "_reserved", reserved)

  def __getitem__(self, key: str) -> Any:
    if key not in self._items:
      raise KeyError(f"Unknown key: {key}. Available keys: "
                     f"{list(self._items)}")
    return self._items[key]

  def __getattr__(self, key: str) -> Any:
    if key.startswith("_"):
      raise AttributeError(key)
    try:
      return self.__getitem__(key)
    except KeyError as e:
      raise AttributeError(str(e)) from e

  def __setattr__(self, key, value):
    raise ValueError("Composite is immutable after initialization.")

  def __iter__(self) -> Iterator[str]:
    return iter(self._items)

  def __len__(self) -> int:
    return len(self._items)

  def __contains__(self, key) -> bool:
    return key in self._items

  def get(self, key: str, default=None) -> Any:
    return self._items.get(key, default)

  def keys(self) -> KeysView[str]:
    return self._items.keys()

  def values(self) -> ValuesView[Any]:
    return self._items.values()

  def items(self):
    return self._items.items()

  def __and__(self, other) -> "Composite":
    other = other if isinstance(other, Composite) else Composite(**other)
    return type(self)(**{k: self._items[k] for k in self._items
                         if k in other})

  def __or__(self, other) -> "Composite":
    other = other if isinstance(other, Composite) else Composite(**other)
    return type(self)(**{**self._items, **dict(other.items())})

  def __eq__(self, other) -> bool:
    if isinstance(other, Composite):
      return dict(self._items) == dict(other.items())
    return NotImplemented

  def __hash__(self):
    return id(self)

  def __repr__(self):
    return f"Composite({self._items!r})"
