# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Checkpointable handlers, their resolution, item metadata, completion
callbacks, and checkpoints written by older Orbax releases."""

import asyncio
import json
import pathlib
import threading

import jax
import numpy as np
import pytest

from ocpx import v1 as ocp
from ocpx._src import options as options_lib
from ocpx._src.handlers import json_handler
from ocpx._src.handlers import registration

orbax_v1 = pytest.importorskip("orbax.checkpoint.experimental.v1")

OLD = pathlib.Path(__file__).parent / "fixtures" / "old_orbax"
OLD_VERSIONS = sorted(p.name for p in OLD.iterdir()) if OLD.is_dir() else []


class _AwaitingCreation:
  """Like Orbax's test wrapper: a path object with `await_creation()`."""

  def __init__(self, path):
    self.path = path

  async def await_creation(self):
    return self.path


def _run(coro):
  return asyncio.run(coro)


@pytest.mark.parametrize("value", [
    {"a": 1, "b": [1, 2, {"c": None}]}, [1, "x", 2.5], "text", 7, 1.5, True,
    None], ids=repr)
def test_json_handler_takes_any_json_value(tmp_path, value):
  h = json_handler.JsonHandler()
  assert h.is_handleable(value)
  _run(_run(h.save(_AwaitingCreation(tmp_path), value)))
  assert json.loads((tmp_path / "data.json").read_text()) == value
  assert _run(_run(h.load(tmp_path))) == value
  assert _run(h.metadata(tmp_path)) is None


def test_json_handler_refuses_what_json_cannot_hold():
  h = json_handler.JsonHandler()
  assert not h.is_handleable({"a": np.arange(3)})
  assert not h.is_handleable({1j})
  assert h.is_abstract_handleable({"a": 1}) is None  # as Orbax: no opinion


def test_json_handler_file_names(tmp_path):
  h = json_handler.JsonHandler(filename="cfg.json")
  _run(_run(h.save(_AwaitingCreation(tmp_path), {"k": 1})))
  assert (tmp_path / "cfg.json").is_file()
  (tmp_path / "cfg.json").rename(tmp_path / "metadata")  # v0's file name
  assert _run(_run(h.load(tmp_path))) == {"k": 1}
  (tmp_path / "metadata").rename(tmp_path / "other.json")
  with pytest.raises(FileNotFoundError, match="recognized"):
    h.load_now(tmp_path)


class _Tagged:

  def __init__(self, value):
    self.value = value


class _TagHandler:
  """Saves `_Tagged` with a prefix given to the constructor."""

  def __init__(self, prefix):
    self.prefix = prefix

  def is_handleable(self, x):
    return isinstance(x, _Tagged)

  def is_abstract_handleable(self, x):
    return x is None or isinstance(x, _Tagged)

  async def save(self, directory, checkpointable):
    path = await directory.await_creation()
    text = f"{self.prefix}:{checkpointable.value}"

    async def done():
      (path / "tag.txt").write_text(text)
    return done()

  async def load(self, directory, abstract_checkpointable=None):
    async def done():
      prefix, value = (pathlib.Path(directory) / "tag.txt").read_text().split(
          ":")
      assert prefix == self.prefix
      return _Tagged(value)
    return done()

  async def metadata(self, directory):
    return None


def test_create_with_handlers_keeps_configured_instances(tmp_path):
  opts = options_lib.CheckpointablesOptions.create_with_handlers(
      _TagHandler("generic"), named=_TagHandler("named"))
  with ocp.Context(checkpointables_options=opts):
    ocp.save_checkpointables(tmp_path / "c", {
        "any": _Tagged("1"), "named": _Tagged("2")})
    got = ocp.load_checkpointables(tmp_path / "c")
  assert (tmp_path / "c/any/tag.txt").read_text() == "generic:1"
  assert (tmp_path / "c/named/tag.txt").read_text() == "named:2"
  assert got["any"].value == "1" and got["named"].value == "2"


def test_completion_callbacks_get_the_result(tmp_path):
  seen = []
  done = threading.Event()
  tree = {"x": np.arange(3)}
  r = ocp.save_async(tmp_path / "c", tree)
  r.on_complete(lambda value: seen.append(("save", value)))
  r.result()
  r = ocp.load_async(tmp_path / "c")

  def on_load(value):
    seen.append(("load", value))
    done.set()
  r.on_complete(on_load)
  loaded = r.result()
  assert done.wait(10)
  assert seen[0] == ("save", None)
  assert seen[1][0] == "load" and seen[1][1] is loaded
  # Registered after completion: called at once, with the result.
  r.on_complete(lambda value: seen.append(("late", value)))
  assert seen[2] == ("late", loaded)


def _json_named(*names):
  registry = registration.local_registry()
  for n in names:
    registry.add(json_handler.JsonHandler, n)
  return ocp.Context(checkpointables_options=options_lib.CheckpointablesOptions(
      registry=registry))


def test_metadata_is_none_for_items_without_any(tmp_path):
  with _json_named("config"):
    ocp.save_checkpointables(tmp_path / "c", {
        "state": {"a": np.arange(3)}, "config": {"lr": 0.1}})
  md = ocp.checkpointables_metadata(tmp_path / "c").metadata
  assert md["config"] is None  # JsonHandler has no metadata (as in Orbax)
  assert md["state"]["a"].shape == (3,)


def test_unresolvable_items_raise_no_entry_error(tmp_path):
  with _json_named("config"):
    ocp.save_checkpointables(tmp_path / "c", {"config": {"lr": 0.1}})
  # Forget which handler saved it, and give a registry without a JSON handler
  # or a 'state' handler: nothing can load it.
  meta = tmp_path / "c/_CHECKPOINT_METADATA"
  doc = json.loads(meta.read_text())
  doc.pop("item_handlers", None)
  meta.write_text(json.dumps(doc))
  empty = registration.local_registry(include_global_registry=False)
  with ocp.Context(checkpointables_options=options_lib.CheckpointablesOptions(
      registry=empty)):
    with pytest.raises(registration.NoEntryError, match="config"):
      ocp.load_checkpointables(tmp_path / "c")
  # With the default registry the item is recognised from its content.
  assert ocp.load_checkpointables(tmp_path / "c") == {"config": {"lr": 0.1}}


def test_json_item_with_another_file_name_is_found_by_content(tmp_path):
  with _json_named("config"):
    ocp.save_checkpointables(tmp_path / "c", {"config": {"lr": 0.1}})
  (tmp_path / "c/config/data.json").rename(tmp_path / "c/config/cfg.json")
  meta = tmp_path / "c/_CHECKPOINT_METADATA"
  doc = json.loads(meta.read_text())
  doc["item_handlers"] = None
  meta.write_text(json.dumps(doc))
  assert ocp.load_checkpointables(tmp_path / "c") == {"config": {"lr": 0.1}}


@pytest.mark.parametrize("version", OLD_VERSIONS)
def test_checkpoints_of_older_orbax_releases_load(version):
  root = OLD / version
  expected = json.loads((root / "expected.json").read_text())

  def check_tree(got, with_string=True):
    want = dict(expected["tree"])
    if not with_string:
      want.pop("s")
    assert set(got) == set(want)
    np.testing.assert_array_equal(got["a"], want["a"])
    np.testing.assert_array_equal(got["b"]["c"], want["b"]["c"])
    assert got["b"]["i"] == 7 and got["b"]["f"] == 0.25
    assert isinstance(got["j"], jax.Array)
    np.testing.assert_array_equal(got["j"], want["j"])
    if with_string:
      assert got["s"] == "hello"

  check_tree(ocp.load(root / "pytree", checkpointable_name=None))
  check_tree(ocp.load(root / "standard", checkpointable_name=None), False)
  # CheckpointManager steps; 0.10.x recorded no handler types for the
  # legacy `checkpointers=` API, so the items are recognised by content.
  for step in ("manager/1", "manager/2", "manager_args/5"):
    got = ocp.load_checkpointables(root / step)
    check_tree(got["state"])
    assert got["meta"] == dict(expected["meta"],
                               step=int(step.rsplit("/", 1)[1]))
    check_tree(ocp.load(root / step))
    md = ocp.checkpointables_metadata(root / step).metadata
    assert md["meta"] is None and md["state"]["a"].shape == (8,)


def test_empty_trees_and_unsupported_leaves_raise_value_error(tmp_path):
  for empty in ((), {}, [], None):
    with pytest.raises(ValueError):
      ocp.save(tmp_path / "c", empty)
  with pytest.raises(ValueError, match="Found empty item"):
    ocp.save(tmp_path / "c", {})
  ocp.save(tmp_path / "nested_empty", {"a": {}})  # an empty node is kept
  assert ocp.load(tmp_path / "nested_empty") == {"a": {}}
  with pytest.raises(ValueError, match="complex"):
    ocp.save(tmp_path / "c", {"k": 2j})
  assert not (tmp_path / "c").exists()


def test_old_fixtures_are_present():
  # The fixtures are part of the repository; a missing directory would make
  # the parametrized test above silently empty.
  assert OLD_VERSIONS == ["0.10.3", "0.11.5"]
