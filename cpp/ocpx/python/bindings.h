// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_PYTHON_BINDINGS_H_
#define OCPX_PYTHON_BINDINGS_H_

/// \file
/// Each area of the core registers its thin bindings into `ocpx._core` through
/// one function declared here and defined in `<area>_bindings.cc`.

#include <nanobind/nanobind.h>

namespace ocpx_python {

void RegisterStatus(nanobind::module_& m);
void RegisterBase(nanobind::module_& m);
void RegisterKvstore(nanobind::module_& m);
void RegisterArray(nanobind::module_& m);
void RegisterMemory(nanobind::module_& m);
void RegisterCheckpoint(nanobind::module_& m);
void RegisterReader(nanobind::module_& m);

}  // namespace ocpx_python

#endif  // OCPX_PYTHON_BINDINGS_H_
