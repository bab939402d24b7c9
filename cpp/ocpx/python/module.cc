// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

// The `ocpx._core` extension module: thin nanobind bindings over ocpx_core.

#include <nanobind/nanobind.h>

#include "cpp/ocpx/python/bindings.h"

NB_MODULE(_core, m) {
  m.doc() = "ocpx native core (OCDBT, zarr3, layout, memory regulation)";
  ocpx_python::RegisterStatus(m);
  ocpx_python::RegisterBase(m);
  ocpx_python::RegisterKvstore(m);
  ocpx_python::RegisterArray(m);
  ocpx_python::RegisterMemory(m);
  ocpx_python::RegisterCheckpoint(m);
  ocpx_python::RegisterReader(m);
}
