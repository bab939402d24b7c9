# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Bounded JSON reading for checkpoint files.

Every JSON file of a checkpoint comes from disk and may be corrupt or hostile.
`loads` checks the nesting depth before parsing (deep nesting would otherwise
exhaust the stack or end in a `RecursionError` far from the file), and every
failure is a `ValueError` naming the file.

Example:

  doc = json_util.read_json(directory / "_METADATA")
  # ValueError: /ckpt/state/_METADATA: JSON nested deeper than 512 levels
"""

from __future__ import annotations

import json
import pathlib
import re
from typing import Any, Union

# The deepest nesting accepted.  Orbax's own files are a few levels deep; a
# PyTree would need hundreds of levels of nesting to come near this.
MAX_JSON_DEPTH = 512

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def json_depth(text: str) -> int:
  """The deepest `[`/`{` nesting of `text`, ignoring brackets in strings."""
  brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
  depth = deepest = 0
  for c in brackets:
    if c in "[{":
      depth += 1
      if depth > deepest:
        deepest = depth
    elif depth:
      depth -= 1
  return deepest


def loads(text: Union[str, bytes], where: Any) -> Any:
  """`json.loads(text)` with a depth limit; errors are ValueErrors naming
  `where` (the file)."""
  if isinstance(text, (bytes, bytearray, memoryview)):
    try:
      text = bytes(text).decode("utf-8")
    except UnicodeDecodeError as e:
      raise ValueError(f"{where}: not valid UTF-8 JSON: {e}") from e
  if len(text) > MAX_JSON_DEPTH and json_depth(text) > MAX_JSON_DEPTH:
    raise ValueError(
        f"{where}: JSON nested deeper than {MAX_JSON_DEPTH} levels; the file "
        "is corrupt")
  try:
    return json.loads(text)
  except RecursionError as e:
    raise ValueError(f"{where}: JSON nested too deeply: {e}") from e
  except ValueError as e:
    raise ValueError(f"{where}: not valid JSON: {e}") from e


def read_json(path: pathlib.Path) -> Any:
  """Reads and parses the JSON file `path` (see `loads`).

  OSError (e.g. FileNotFoundError) passes through; bad content is a
  ValueError naming `path`.
  """
  if not hasattr(path, "read_bytes"):  # str; Path and RemotePath read as is
    path = pathlib.Path(path)
  return loads(path.read_bytes(), path)
