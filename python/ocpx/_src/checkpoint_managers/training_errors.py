# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Errors of `ocpx.v1.training`."""


class StepAlreadyExistsError(FileExistsError):
  """A checkpoint for the step being saved exists already.

  Example:
    >>> try:
    ...   ckptr.save(100, state)
    ... except StepAlreadyExistsError:
    ...   ckptr.save(100, state, overwrite=True)
  """


class StepNotFoundError(FileNotFoundError):
  """No committed checkpoint exists for the requested step.

  Example:
    >>> try:
    ...   ckptr.load(200)
    ... except StepNotFoundError:
    ...   state = ckptr.load()   # the latest step
  """
