# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""`CheckpointArgs` and the args-class <-> handler-class registry."""

from __future__ import annotations

import inspect
from typing import Type, TypeVar, Union

_SAVE: dict[type, type] = {}
_RESTORE: dict[type, type] = {}


class CheckpointArgs:
  """Base class of the dataclasses that tell a handler what to save/restore.

  Every CheckpointHandler has a save and a restore args class, registered
  with `register_with_handler`, so that a `Composite` of args finds its
  handlers:

    @ocp.args.register_with_handler(MyHandler, for_save=True)
    @dataclasses.dataclass
    class MySave(ocp.args.CheckpointArgs):
      item: Any

    ckptr.save(path, args=ocp.args.Composite(mine=MySave(item)))
  """


_ArgsT = TypeVar("_ArgsT", bound=type)


def register_with_handler(handler_cls: type, for_save: bool = False,
                          for_restore: bool = False):
  """Decorator registering a CheckpointArgs subclass for `handler_cls`.

  Args:
    handler_cls: The CheckpointHandler class that takes these args.
    for_save: The class is the handler's save args.
    for_restore: The class is the handler's restore args.

  Returns:
    A class decorator.
  """
  if not for_save and not for_restore:
    raise ValueError("`for_save` and `for_restore` cannot both be False.")

  def decorator(cls: _ArgsT) -> _ArgsT:
    if not (inspect.isclass(cls) and issubclass(cls, CheckpointArgs)):
      raise TypeError(
          f"{cls} must subclass `CheckpointArgs` in order to be registered.")
    if for_save:
      _SAVE[cls] = handler_cls
    if for_restore:
      _RESTORE[cls] = handler_cls
    from ocpx._src.v0.handlers import typestrs  # pylint: disable=g-import-not-at-top
    typestrs.register_handler_type(handler_cls)
    return cls

  return decorator


def get_registered_handler_cls(
    arg: Union[Type[CheckpointArgs], CheckpointArgs]) -> type:
  """The handler class registered for an args class or instance."""
  if not inspect.isclass(arg):
    arg = type(arg)
  if not issubclass(arg, CheckpointArgs):
    raise TypeError(f"{arg} must be a subclass of `CheckpointArgs`.")
  if arg in _SAVE:
    return _SAVE[arg]
  if arg in _RESTORE:
    return _RESTORE[arg]
  raise ValueError(
      f"Unable to find registered `CheckpointHandler` for {arg}. Use "
      "`register_with_handler`.")


def get_registered_args_cls(handler) -> tuple[type, type]:
  """(save args class, restore args class) of a handler class or instance."""
  if not inspect.isclass(handler):
    handler = type(handler)
  save = restore = None
  for a, h in _SAVE.items():
    if h is handler:
      save = a
  for a, h in _RESTORE.items():
    if h is handler:
      restore = a
  if save is None or restore is None:
    raise ValueError(
        f"No registered save or restore args for {handler}. Use "
        "`register_with_handler` on its CheckpointArgs classes.")
  return save, restore


def has_registered_args(handler) -> bool:
  """True if both save and restore args are registered for the handler."""
  try:
    get_registered_args_cls(handler)
    return True
  except ValueError:
    return False
