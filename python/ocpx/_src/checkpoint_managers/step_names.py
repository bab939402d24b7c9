# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Step directory names: `NameFormat`, listing committed steps, tmp dirs.

A step lives in `<root>/<name_format.build_name(step)>`.  The standard format
writes `23`, `0023`, `step_23` or `step_0023` and reads names that match the
same rule as Orbax's (exactly `n` digits, or more without a leading zero).

Listing is one `os.scandir` of the root plus a regex per entry: no per-step
`stat` or metadata read (except in commit-file mode, where the commit marker
must be checked).  An in-flight save is `<name>.orbax-checkpoint-tmp` and is
never listed.

Example:
  >>> fmt = standard_name_format(step_prefix="step", step_format_fixed_length=4)
  >>> fmt.build_name(23)
  'step_0023'
  >>> [m.step for m in fmt.find_all("/ckpts")]
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import os
import pathlib
import re
from typing import Any, Generic, Iterator, List, Optional, Protocol, Sequence, TypeVar

from ocpx._src import checkpoint_metadata as cm
from ocpx._src import path as path_lib

TMP_DIR_SUFFIX = path_lib.TMP_SUFFIX
COMMIT_SUCCESS_FILE = path_lib.COMMIT_SUCCESS_FILE
ALLOWED_STEP_NAME_PATTERN = r"(.+)_(\d+)"
TMP_DIR_STEP_PATTERN = r".*?_*?(\d+)\.orbax-checkpoint-tmp"

MetadataT = TypeVar("MetadataT", covariant=True)


def _as_path(p) -> pathlib.Path:
  return path_lib.as_path(p)


@dataclasses.dataclass(frozen=True)
class Metadata:
  """A step found on disk: its number and directory.

  The timestamps come from the step's `_CHECKPOINT_METADATA`, read on first
  use; `commit_timestamp` falls back to the directory's mtime.
  """

  step: int
  path: pathlib.Path

  @functools.cached_property
  def _checkpoint_metadata(self) -> Optional[cm.StepMetadata]:
    try:
      path = self.path
      return cm.read_step_metadata(
          path if hasattr(path, "read_bytes") else pathlib.Path(path))
    except (OSError, ValueError):
      return None

  @property
  def init_timestamp_nsecs(self) -> Optional[int]:
    m = self._checkpoint_metadata
    return None if m is None else m.init_timestamp_nsecs

  @property
  def commit_timestamp_nsecs(self) -> Optional[int]:
    m = self._checkpoint_metadata
    return None if m is None else m.commit_timestamp_nsecs

  @property
  def commit_timestamp(self) -> datetime.datetime:
    ns = self.commit_timestamp_nsecs
    secs = ns / 1e9 if ns is not None else os.stat(self.path).st_mtime
    return datetime.datetime.fromtimestamp(secs, tz=datetime.timezone.utc)


class NameFormat(Protocol, Generic[MetadataT]):
  """Names step directories and finds them again."""

  def build_name(self, step: int) -> str:
    """The directory name of `step`."""
    ...

  def find_all(self, base_path) -> Iterator[MetadataT]:
    """Every committed step under `base_path` (any order)."""
    ...

  def find_step(self, base_path, step: int) -> MetadataT:
    """The committed `step`, or ValueError."""
    ...


def step_prefix_with_underscore(step_prefix: Optional[str]) -> str:
  return "" if step_prefix is None else f"{step_prefix}_"


def _commit_file_mode(atomicity_options, temporary_path_cls) -> bool:
  """Whether committed steps are those holding `commit_success.txt`."""
  if temporary_path_cls is not None:
    name = getattr(temporary_path_cls, "__name__", "")
    return "CommitFile" in name
  if atomicity_options is None:
    return False
  mode = getattr(atomicity_options, "mode", None)
  mode = getattr(mode, "name", mode)
  return str(mode).upper() in ("COMMIT_FILE", "ATOMICITYMODE.COMMIT_FILE")


def _allow_legacy(atomicity_options) -> bool:
  return bool(getattr(atomicity_options, "allow_legacy_atomic_rename", False))


@dataclasses.dataclass(frozen=True)
class _StandardNameFormat:
  """`[<prefix>_]<step, optionally zero-padded>`."""

  step_prefix: Optional[str] = None
  step_format_fixed_length: Optional[int] = None
  single_host_load_and_broadcast: bool = False
  temporary_path_cls: Any = None
  atomicity_options: Any = None

  def __str__(self):
    return f'StandardNameFormat("{self.build_name(1234)}")'

  def build_name(self, step: int) -> str:
    n = self.step_format_fixed_length
    digits = f"{step:0{n}d}" if n is not None else f"{step}"
    return f"{step_prefix_with_underscore(self.step_prefix)}{digits}"

  @functools.cached_property
  def _regex(self) -> re.Pattern:
    n = self.step_format_fixed_length
    if n and n > 0:
      group = rf"(0\d{{{n - 1}}}|[1-9]\d{{{n - 1}}}\d*)"
    else:
      group = r"(0|[1-9]\d*)"
    prefix = re.escape(step_prefix_with_underscore(self.step_prefix))
    return re.compile(f"^{prefix}{group}$")

  def parse(self, name: str) -> Optional[int]:
    """The step that directory name `name` stands for, else None."""
    m = self._regex.match(name)
    return int(m.group(1)) if m else None

  def _committed(self, path: pathlib.Path) -> bool:
    if path_lib.uses_commit_file(path):
      return (path / COMMIT_SUCCESS_FILE).is_file()
    if not _commit_file_mode(self.atomicity_options, self.temporary_path_cls):
      return True
    if (path / COMMIT_SUCCESS_FILE).exists():
      return True
    return _allow_legacy(self.atomicity_options)

  def find_all(self, base_path) -> Iterator[Metadata]:
    base = _as_path(base_path)
    prefix = step_prefix_with_underscore(self.step_prefix)
    if path_lib.uses_commit_file(base):
      return iter(self._find_all_remote(base, prefix))
    try:
      it = os.scandir(base)
    except (FileNotFoundError, NotADirectoryError):
      return iter([])
    found = []
    with it:
      for e in it:
        if not e.name.startswith(prefix):
          continue
        step = self.parse(e.name)
        if step is None:
          continue
        try:
          if not e.is_dir():
            continue
        except OSError:
          continue
        p = base / e.name
        if self._committed(p):
          found.append(Metadata(step=step, path=p))
    return iter(found)

  def _find_all_remote(self, base, prefix: str) -> list[Metadata]:
    """Object stores: one paginated listing of the root; a step counts once
    its `commit_success.txt` exists (no rename marks it committed)."""
    root = base.key + "/" if base.key else ""
    committed = set()
    for key in base.store.list(root):
      name, sep, rest = key[len(root):].partition("/")
      if sep and rest == COMMIT_SUCCESS_FILE:
        committed.add(name)
    found = []
    for name in sorted(committed):
      if not name.startswith(prefix) or TMP_DIR_SUFFIX in name:
        continue
      step = self.parse(name)
      if step is not None:
        found.append(Metadata(step=step, path=base / name))
    return found

  def find_step(self, base_path, step: int) -> Metadata:
    base = _as_path(base_path)
    if not base.is_dir():
      raise ValueError(
          f"Invalid base_path: {base_path} does not exist or is not a "
          "directory.")
    p = base / self.build_name(step)
    if p.is_dir() and TMP_DIR_SUFFIX not in p.name and self._committed(p):
      return Metadata(step=step, path=p)
    raise ValueError(
        f"No step path found with name={self.build_name(step)}, "
        f"NameFormat={self} for step={step} under {base_path}.")


def standard_name_format(
    *,
    step_prefix: Optional[str] = None,
    step_format_fixed_length: Optional[int] = None,
    single_host_load_and_broadcast: bool = False,
    temporary_path_cls: Any = None,
    atomicity_options: Any = None,
) -> NameFormat[Metadata]:
  """The usual step names: `23`, `0023`, `step_23`, `step_0023`.

  Args:
    step_prefix: Put before the step, joined by an underscore.
    step_format_fixed_length: Zero-pad the step to this many digits.
    single_host_load_and_broadcast: Process 0 lists, the others receive the
      list (only matters with several processes).
    temporary_path_cls: Orbax's temporary path class, used only to tell
      whether commit-file mode is in force.
    atomicity_options: With `mode=COMMIT_FILE`, only directories holding
      `commit_success.txt` count as committed.

  Example:
    >>> standard_name_format(step_prefix="ckpt").build_name(7)
    'ckpt_7'
  """
  return _StandardNameFormat(
      step_prefix=step_prefix,
      step_format_fixed_length=step_format_fixed_length,
      single_host_load_and_broadcast=single_host_load_and_broadcast,
      temporary_path_cls=temporary_path_cls,
      atomicity_options=atomicity_options)


@dataclasses.dataclass(frozen=True)
class _CompositeNameFormat:
  """Writes with one format; reads with several, the first match winning."""

  write_name_format: Any
  read_name_formats: Sequence[Any]

  def __post_init__(self):
    if self.write_name_format not in self.read_name_formats:
      raise ValueError(
          f"write_name_format: {self.write_name_format} must be present in "
          f"read_name_formats: [{','.join(map(str, self.read_name_formats))}].")

  def __str__(self):
    return f"Composite([{','.join(map(str, self.read_name_formats))}])"

  def build_name(self, step: int) -> str:
    return self.write_name_format.build_name(step)

  def find_all(self, base_path) -> Iterator[Metadata]:
    seen = set()
    for f in self.read_name_formats:
      for m in f.find_all(base_path):
        if m.path not in seen:
          seen.add(m.path)
          yield m

  def find_step(self, base_path, step: int) -> Metadata:
    errors = []
    for f in self.read_name_formats:
      try:
        return f.find_step(base_path, step)
      except Exception as e:  # pylint: disable=broad-except
        errors.append(str(e))
    raise ValueError("\n".join(errors))


def composite_name_format(write_name_format, read_name_formats):
  """A format that writes one way and reads several (migrations).

  Example:
    >>> old = standard_name_format()
    >>> new = standard_name_format(step_prefix="step")
    >>> fmt = composite_name_format(new, [new, old])
  """
  return _CompositeNameFormat(write_name_format, tuple(read_name_formats))


def is_standard_name_format(name_format) -> bool:
  return isinstance(name_format, _StandardNameFormat)


def single_host_load_and_broadcast_name_format(name_format):
  if is_standard_name_format(name_format):
    return dataclasses.replace(name_format,
                               single_host_load_and_broadcast=True)
  raise ValueError(
      "single_host_load_and_broadcast is only supported for standard name "
      f"formats. Got {name_format}.")


def build_step_path(base_path, name_format, step: int) -> pathlib.Path:
  return _as_path(base_path) / name_format.build_name(step)


def is_path_temporary(path) -> bool:
  p = _as_path(path)
  return TMP_DIR_SUFFIX in p.name and p.is_dir() and not p.is_symlink()


def is_path_finalized(path, *, temporary_path_cls=None,
                      atomicity_options=None) -> bool:
  p = _as_path(path)
  if not p.is_dir():
    return False
  if _commit_file_mode(atomicity_options, temporary_path_cls):
    return ((p / COMMIT_SUCCESS_FILE).exists()
            or _allow_legacy(atomicity_options))
  return TMP_DIR_SUFFIX not in p.name


is_checkpoint_finalized = is_path_finalized
is_tmp_checkpoint = is_path_temporary


def _subdirs(d) -> list[tuple[str, bool]]:
  """(name, committed) of the directories directly under `d`.

  Local disk: one `os.scandir`; a directory counts as committed unless its
  name carries the tmp suffix.  Object stores: one listing of the prefix; a
  sub-prefix counts as committed once its `commit_success.txt` exists, as
  there is no rename to mark it.
  """
  if path_lib.uses_commit_file(d):
    root = d.key + "/" if d.key else ""
    names: dict[str, bool] = {}
    for key in d.store.list(root):
      name, sep, rest = key[len(root):].partition("/")
      if sep and name:
        names[name] = names.get(name, False) or rest == COMMIT_SUCCESS_FILE
    return list(names.items())
  if not d.is_dir():
    return []
  with os.scandir(d) as it:
    return [(e.name, TMP_DIR_SUFFIX not in e.name) for e in it
            if e.is_dir(follow_symlinks=False)]


def tmp_checkpoints(checkpoint_dir) -> List[str]:
  """Names of the temporary (in-flight or crashed) entries under a dir; on
  object stores, the step prefixes not (yet) committed."""
  d = _as_path(checkpoint_dir)
  if path_lib.uses_commit_file(d):
    return [n for n, committed in _subdirs(d)
            if not committed and _looks_like_step(n)]
  return [n for n, _ in _subdirs(d) if TMP_DIR_SUFFIX in n]


def step_from_checkpoint_name(name: str) -> int:
  """The step of `23`, `step_23` or `step_23.orbax-checkpoint-tmp`."""
  if name.isdigit():
    return int(name)
  if m := re.fullmatch(ALLOWED_STEP_NAME_PATTERN, name):
    return int(m.group(2))
  if m := re.match(TMP_DIR_STEP_PATTERN, name):
    return int(m.group(1))
  raise ValueError(f"Unrecognized name format: {name}.")


def _looks_like_step(name: str) -> bool:
  base = name.split(TMP_DIR_SUFFIX, 1)[0]
  return base.isdigit() or base.split("_")[-1].isdigit()


def checkpoint_steps_paths(checkpoint_dir) -> List[pathlib.Path]:
  """Committed step dirs named `<digits>` or `<anything>_<digits>`."""
  d = _as_path(checkpoint_dir)
  return [d / n for n, committed in _subdirs(d)
          if committed and _looks_like_step(n)]


def checkpoint_steps(checkpoint_dir) -> List[int]:
  """Steps of `checkpoint_steps_paths`, sorted."""
  return sorted(step_from_checkpoint_name(p.name)
                for p in checkpoint_steps_paths(checkpoint_dir))


def any_checkpoint_step(checkpoint_dir) -> Optional[int]:
  """The step of some committed step dir under `checkpoint_dir`, or None."""
  paths = checkpoint_steps_paths(checkpoint_dir)
  return step_from_checkpoint_name(paths[0].name) if paths else None


def latest_step_metadata(root_path, name_format) -> Optional[Any]:
  return max(name_format.find_all(root_path), key=lambda m: m.step,
             default=None)


def maybe_find_step_metadata(base_path, name_format, *, step: int):
  try:
    return name_format.find_step(base_path, step)
  except ValueError:
    return None


def step_metadata_of_checkpoint_path(checkpoint_path, name_format):
  p = _as_path(checkpoint_path)
  found = list(name_format.find_all(p.parent))
  for m in found:
    if m.path.name == p.name:
      return m
  raise ValueError(
      f"Failed to resolve step metadata of checkpoint path {p} with "
      f"NameFormat={name_format}; available step names: "
      f"{[m.path.name for m in found]}.")


def find_step_path(base_path, name_format, *, step: int,
                   include_uncommitted: bool = False) -> pathlib.Path:
  """The directory of `step` (its tmp dir too when `include_uncommitted`)."""
  base = _as_path(base_path)
  if include_uncommitted:
    tmp = base / (name_format.build_name(step) + TMP_DIR_SUFFIX)
    if tmp.exists():
      return tmp
  return name_format.find_step(base, step).path


def get_save_directory(step: int, directory, name: Optional[str] = None,
                       step_prefix: Optional[str] = None,
                       override_directory=None,
                       step_format_fixed_length: Optional[int] = None,
                       step_name_format=None) -> pathlib.Path:
  """`<directory>/<step name>[/<name>]`, or `override_directory[/<name>]`."""
  if directory is None:
    raise ValueError("Directory cannot be None.")
  if override_directory is not None:
    result = _as_path(override_directory)
  else:
    fmt = step_name_format or standard_name_format(
        step_prefix=step_prefix,
        step_format_fixed_length=step_format_fixed_length)
    result = build_step_path(directory, fmt, step)
  return result / name if name is not None else result
