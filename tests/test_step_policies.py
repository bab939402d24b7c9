# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""ocpx's save and preservation policies decide exactly as Orbax 0.12.8's.

Orbax's own policy classes are the oracle: both are fed the same random
sequences of checkpoints (steps, times, metrics) and must return the same
decisions.
"""

import dataclasses
import datetime
import random

import pytest

from ocpx import checkpoint_managers as ours
from ocpx.v1.training import preservation_policies as v1_pp
from ocpx.v1.training import save_decision_policies as v1_sdp

theirs = pytest.importorskip("orbax.checkpoint.checkpoint_managers")
orbax_options = pytest.importorskip("orbax.checkpoint.options")

UTC = datetime.timezone.utc


@dataclasses.dataclass
class Info:
  step: int
  time: datetime.datetime
  metrics: dict | None


def _random_infos(rng: random.Random, now: datetime.datetime):
  n = rng.randint(0, 14)
  steps = sorted(rng.sample(range(0, 60), n))
  t = now - datetime.timedelta(seconds=rng.randint(0, 500))
  out = []
  for s in steps:
    t += datetime.timedelta(seconds=rng.choice([0, 1, 5, 10, 30, 61]))
    metrics = None if rng.random() < 0.25 else {
        "loss": rng.choice([0.5, 1.0, 2.0, rng.random()])}
    out.append(Info(s, t, metrics))
  return out


def _preservation_pairs(rng: random.Random):
  """(ocpx policy, Orbax policy) built from the same random parameters."""
  n = rng.choice([None, 0, 1, 2, 3, 5])
  k = rng.choice([1, 2, 3, 7, 10])
  secs = rng.choice([1, 10, 30, 100])
  cap = rng.choice([None, 0, 1, 2, 4])
  exact = rng.random() < 0.5
  rev = rng.random() < 0.5
  keep_none = rng.random() < 0.5
  steps = rng.sample(range(60), rng.randint(0, 6))
  dur = datetime.timedelta(seconds=rng.choice([5, 60, 300, 10_000]))
  fn = lambda m: m["loss"]  # noqa: E731

  def make(mod):
    return [
        mod.LatestN(n),
        mod.EveryNSeconds(secs),
        mod.EveryNSteps(k, exact_interval=exact, max_to_keep=cap),
        mod.EveryNStepsClosest(k, max_to_keep=cap),
        mod.CustomSteps(steps),
        mod.BestN(get_metric_fn=fn, reverse=rev, n=n,
                  keep_checkpoints_without_metrics=keep_none),
        mod.LatestDuration(dur),
    ]
  a, b = make(ours), make(theirs)
  pairs = list(zip(a, b))
  i, j = rng.sample(range(len(a)), 2)
  pairs.append((ours.AnyPreservationPolicy([a[i], a[j]]),
                theirs.AnyPreservationPolicy([b[i], b[j]])))
  return pairs


def test_preservation_policies_match_orbax_on_random_sequences():
  rng = random.Random(1234)
  now = datetime.datetime.now(tz=UTC)
  checked = 0
  for _ in range(600):
    infos = _random_infos(rng, now)
    for mine, oracle in _preservation_pairs(rng):
      want = list(oracle.should_preserve(
          infos, context=theirs.PreservationContext()))
      got = list(mine.should_preserve(
          infos, context=ours.PreservationContext()))
      assert got == want, (mine, [(i.step, i.metrics) for i in infos])
      checked += 1
  assert checked == 600 * 8


def test_preserve_all_keeps_everything():
  infos = _random_infos(random.Random(3), datetime.datetime.now(tz=UTC))
  assert v1_pp.PreserveAll().should_preserve(
      infos, context=v1_pp.PreservationContext()) == [True] * len(infos)


def test_every_n_steps_rejects_zero_interval():
  with pytest.raises(ValueError, match="interval_steps"):
    ours.EveryNSteps(0).should_preserve([], context=ours.PreservationContext())


def test_save_decision_policies_match_orbax_on_random_sequences():
  rng = random.Random(99)
  now = datetime.datetime.now(tz=UTC)
  mp_theirs = orbax_options.MultiprocessingOptions()
  for _ in range(800):
    infos = _random_infos(rng, now - datetime.timedelta(seconds=400))
    step = Info(rng.randint(0, 80), now, None)
    in_progress = rng.random() < 0.3
    preempted = rng.random() < 0.2
    interval = rng.choice([1, 2, 5, 7])
    specific = set(rng.sample(range(80), 5))
    min_secs = rng.choice([None, 1, 60, 1000])

    def make(mod):
      return [
          mod.FixedIntervalPolicy(interval),
          mod.SpecificStepsPolicy(specific),
          mod.ContinuousCheckpointingPolicy(minimum_interval_secs=min_secs),
          mod.PreemptionCheckpointingPolicy(),
          mod.InitialSavePolicy(),
      ]
    a, b = make(ours), make(theirs)
    a.append(ours.AnySavePolicy([a[0], a[3], a[4]]))
    b.append(theirs.AnySavePolicy([b[0], b[3], b[4]]))
    ctx_a = ours.DecisionContext(is_saving_in_progress=in_progress,
                                 reached_preemption=preempted)
    ctx_b = theirs.DecisionContext(is_saving_in_progress=in_progress,
                                   reached_preemption=preempted,
                                   multiprocessing_options=mp_theirs)
    for mine, oracle in zip(a, b):
      want = oracle.should_save(step, infos, context=ctx_b)
      got = mine.should_save(step, infos, context=ctx_a)
      assert got == want, (mine, step, in_progress, preempted)


def test_v1_policy_modules_share_the_v0_classes():
  assert v1_sdp.FixedIntervalPolicy is ours.FixedIntervalPolicy
  assert v1_pp.BestN is ours.BestN
  assert isinstance(ours.LatestN(1), ours.PreservationPolicy)
  assert isinstance(ours.InitialSavePolicy(), v1_sdp.SaveDecisionPolicy)
