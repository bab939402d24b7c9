// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

// The `ocpx._core` extension module: thin nanobind bindings over ocpx_core.

#include <nanobind/nanobind.h>

#include <cstdlib>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "cpp/ocpx/python/bindings.h"

namespace {

// glibc raises its mmap threshold after large buffers are freed (up to
// 32 MiB), after which multi-megabyte chunk buffers come from per-thread
// heaps that are not returned to the OS, and peak RSS of a save grows with
// the number of I/O threads.  A fixed 4 MiB threshold keeps every large
// buffer mmapped and released on free, so memory stays bounded by the byte
// limiters.  Set OCPX_KEEP_MALLOC_SETTINGS=1 to leave malloc untouched.
void ConfigureMalloc() {
#if defined(__GLIBC__)
  if (std::getenv("OCPX_KEEP_MALLOC_SETTINGS") == nullptr &&
      std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) {
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
  }
#endif
}

}  // namespace

NB_MODULE(_core, m) {
  m.doc() = "ocpx native core (OCDBT, zarr3, layout, memory regulation)";
  ConfigureMalloc();
  ocpx_python::RegisterStatus(m);
  ocpx_python::RegisterBase(m);
  ocpx_python::RegisterKvstore(m);
  ocpx_python::RegisterArray(m);
  ocpx_python::RegisterMemory(m);
  ocpx_python::RegisterCheckpoint(m);
  ocpx_python::RegisterReader(m);
}
