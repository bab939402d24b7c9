# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Step names: ocpx builds and finds the same step directories as Orbax."""

import os

import pytest

from ocpx import step as ostep

ocp_orbax = pytest.importorskip("orbax.checkpoint")
orbax_step = ocp_orbax.step
orbax_options = ocp_orbax.options

NAMES = ["0", "00", "007", "23", "0023", "12345", "step_23", "step_0023",
         "step_7", "ppo_networks_5", "my_step_0010", "metadata",
         "x.orbax-checkpoint-tmp", "9.orbax-checkpoint-tmp",
         "step_4.orbax-checkpoint-tmp", "8.orbax-checkpoint-tmp-1700000000",
         ".ocpx-trash", "step_", "-1", "1e3"]
FORMATS = [dict(), dict(step_format_fixed_length=4),
           dict(step_prefix="step"),
           dict(step_prefix="step", step_format_fixed_length=4),
           dict(step_prefix="ppo_networks"), dict(step_prefix="my_step",
                                                  step_format_fixed_length=4)]


@pytest.fixture
def root(tmp_path):
  for n in NAMES:
    (tmp_path / n).mkdir()
  (tmp_path / "3").write_text("a file named like a step")
  (tmp_path / "41").mkdir()  # an empty dir counts as committed (rename mode)
  return tmp_path


@pytest.mark.parametrize("kwargs", FORMATS)
def test_find_all_matches_orbax(root, kwargs):
  mine = sorted((m.step, m.path.name)
                for m in ostep.standard_name_format(**kwargs).find_all(root))
  theirs = sorted((m.step, m.path.name) for m in
                  orbax_step.standard_name_format(**kwargs).find_all(root))
  assert mine == theirs


@pytest.mark.parametrize("kwargs", FORMATS)
@pytest.mark.parametrize("step", [0, 7, 23, 1234, 123456])
def test_build_name_matches_orbax(kwargs, step):
  assert (ostep.standard_name_format(**kwargs).build_name(step)
          == orbax_step.standard_name_format(**kwargs).build_name(step))


def test_commit_file_mode_needs_the_marker(root):
  (root / "23" / "commit_success.txt").write_text("ok")
  opts = orbax_options.AtomicityOptions(
      mode=orbax_options.AtomicityMode.COMMIT_FILE)
  mine = sorted(m.step for m in ostep.standard_name_format(
      atomicity_options=opts).find_all(root))
  theirs = sorted(m.step for m in orbax_step.standard_name_format(
      atomicity_options=opts).find_all(root))
  assert mine == theirs == [23]


def test_composite_format_reads_both_and_writes_one(root):
  new = ostep.standard_name_format(step_prefix="step")
  old = ostep.standard_name_format()
  fmt = ostep.composite_name_format(new, [new, old])
  assert fmt.build_name(5) == "step_5"
  # Deduplicated by path, as in Orbax: `step_23` and `23` are both found.
  assert sorted(m.step for m in fmt.find_all(root)) == [0, 7, 23, 23, 41,
                                                        12345]
  assert fmt.find_step(root, 23).path.name == "step_23"
  with pytest.raises(ValueError):
    fmt.find_step(root, 99)
  with pytest.raises(ValueError, match="must be present"):
    ostep.composite_name_format(new, [old])


def test_helpers_match_orbax(root):
  for name in ["23", "step_23", "ppo_networks_5", "step_4.orbax-checkpoint-tmp",
               "9.orbax-checkpoint-tmp"]:
    assert (ostep.step_from_checkpoint_name(name)
            == orbax_step.step_from_checkpoint_name(name))
  with pytest.raises(ValueError):
    ostep.step_from_checkpoint_name("metadata")
  assert ostep.checkpoint_steps(root) == sorted(
      orbax_step.checkpoint_steps(root))
  fmt = ostep.standard_name_format()
  assert ostep.find_step_path(root, fmt, step=9, include_uncommitted=True
                              ).name == "9.orbax-checkpoint-tmp"
  with pytest.raises(ValueError):
    ostep.find_step_path(root, fmt, step=9)
  assert ostep.latest_step_metadata(root, fmt).step == 12345
  assert str(ostep.get_save_directory(3, root, "state", step_prefix="s")
             ) == str(orbax_step.get_save_directory(3, root, "state",
                                                    step_prefix="s"))


def test_listing_reads_no_step_metadata(tmp_path, monkeypatch):
  for s in range(300):
    (tmp_path / str(s)).mkdir()
  opened = []
  real_open = open

  def spy(f, *a, **k):
    opened.append(f)
    return real_open(f, *a, **k)
  monkeypatch.setattr("builtins.open", spy)
  steps = [m.step for m in ostep.standard_name_format().find_all(tmp_path)]
  assert sorted(steps) == list(range(300))
  assert not opened
  assert os.path.isdir(tmp_path / "299")
