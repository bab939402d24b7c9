// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#ifndef OCPX_BASE_BYTE_LIMITER_H_
#define OCPX_BASE_BYTE_LIMITER_H_

/// \file
/// A thread-safe limit on the bytes in flight (Orbax's `LimitInFlightBytes`,
/// used for `write_concurrent_bytes` / `read_concurrent_bytes`), and an RAII
/// reservation.
///
/// Differences from Orbax's asyncio limiter:
///  * A request fits when `in_use() + n <= max_bytes` (Orbax: strictly `<`).
///  * A request larger than the limit is not an error: it waits until nothing
///    else is reserved and then proceeds alone (so `in_use()` may exceed the
///    limit, but only by that one request).
///  * Waiters are admitted in FIFO order: a blocked large request blocks the
///    smaller ones that arrive after it, so it cannot be starved by them.
///
/// Deadlock warning: a thread that holds a reservation must not block on a
/// second reservation from the same limiter (directly, or through work it
/// waits for) - with FIFO admission that second request can wait forever.
/// Use one limiter per level of nesting.

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace ocpx {
namespace internal {

/// Limits the total of concurrent reservations to `max_bytes`.  With no limit
/// (`std::nullopt`), reservations never wait but are still counted, so
/// `in_use()` and `peak()` report what a save or load really had in flight.
/// Thread-safe.
class ByteLimiter {
 public:
  /// `max_bytes == std::nullopt` means unlimited.  A limit of 0 behaves like
  /// a limit of 1 byte: every non-empty request runs alone.
  explicit ByteLimiter(std::optional<uint64_t> max_bytes);
  ByteLimiter(const ByteLimiter&) = delete;
  ByteLimiter& operator=(const ByteLimiter&) = delete;

  std::optional<uint64_t> max_bytes() const { return max_bytes_; }

  /// Blocks until `n` bytes fit (see the file comment), then reserves them.
  /// `n == 0` returns at once.
  void Reserve(uint64_t n);

  /// Like `Reserve`, but gives up at `deadline` with `DeadlineExceeded`
  /// (reserving nothing).  If `interrupt` is given it is called every
  /// `interrupt_interval` while waiting, without the limiter's lock held; a
  /// non-OK status from it stops the wait and is returned (e.g. to let a
  /// Python caller react to Ctrl-C).  A waiter keeps its FIFO place across
  /// these checks.
  absl::Status ReserveUntil(
      uint64_t n, absl::Time deadline,
      const std::function<absl::Status()>& interrupt = nullptr,
      absl::Duration interrupt_interval = absl::Milliseconds(100));

  /// `ReserveUntil(n, absl::Now() + timeout)`.
  absl::Status ReserveFor(uint64_t n, absl::Duration timeout);

  /// Reserves `n` bytes only if that is possible at once (no earlier waiter
  /// and `n` fits); returns whether it did.
  bool TryReserve(uint64_t n);

  /// Returns `n` reserved bytes.  FailedPrecondition (and no change) if more
  /// than `in_use()` would be released.
  absl::Status Release(uint64_t n);

  /// Bytes currently reserved.
  uint64_t in_use() const;
  /// Highest `in_use()` since construction or the last `ResetPeak()`.
  uint64_t peak() const;
  /// Number of threads currently waiting in `Reserve*`.
  size_t num_waiting() const;
  /// Sets `peak()` to the current `in_use()`.
  void ResetPeak();

 private:
  bool FitsLocked(uint64_t n) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TakeLocked(uint64_t n) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RemoveTicketLocked(uint64_t ticket) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::optional<uint64_t> max_bytes_;
  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  uint64_t in_use_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t peak_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_ticket_ ABSL_GUARDED_BY(mu_) = 0;
  /// Tickets of the waiting requests, in arrival order; only the front one
  /// may be admitted.
  std::deque<uint64_t> waiting_ ABSL_GUARDED_BY(mu_);
};

/// Holds `bytes()` bytes of a `ByteLimiter` and releases them when destroyed
/// (or on `Release()`).  Movable, not copyable.  An empty reservation (default
/// constructed, or with a null limiter) holds nothing.
class ByteReservation {
 public:
  ByteReservation() = default;
  /// Blocks until `bytes` are reserved from `limiter` (nothing if null).
  ByteReservation(ByteLimiter* limiter, uint64_t bytes);
  ~ByteReservation() { Release(); }
  ByteReservation(ByteReservation&& other) noexcept;
  ByteReservation& operator=(ByteReservation&& other) noexcept;
  ByteReservation(const ByteReservation&) = delete;
  ByteReservation& operator=(const ByteReservation&) = delete;

  /// Adopts `bytes` already reserved from `limiter` (e.g. by `ReserveUntil`).
  static ByteReservation Adopt(ByteLimiter* limiter, uint64_t bytes);

  uint64_t bytes() const { return bytes_; }
  /// Releases the bytes now (idempotent).
  void Release();

 private:
  ByteLimiter* limiter_ = nullptr;
  uint64_t bytes_ = 0;
};

}  // namespace internal
}  // namespace ocpx

#endif  // OCPX_BASE_BYTE_LIMITER_H_
