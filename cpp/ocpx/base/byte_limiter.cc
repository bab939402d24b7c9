// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/base/byte_limiter.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ocpx {
namespace internal {

ByteLimiter::ByteLimiter(std::optional<uint64_t> max_bytes)
    : max_bytes_(max_bytes) {}

bool ByteLimiter::FitsLocked(uint64_t n) const {
  if (!max_bytes_.has_value() || in_use_ == 0) return true;
  return in_use_ <= *max_bytes_ && n <= *max_bytes_ - in_use_;
}

void ByteLimiter::TakeLocked(uint64_t n) {
  in_use_ += n;
  peak_ = std::max(peak_, in_use_);
}

void ByteLimiter::RemoveTicketLocked(uint64_t ticket) {
  auto it = std::find(waiting_.begin(), waiting_.end(), ticket);
  if (it != waiting_.end()) waiting_.erase(it);
}

void ByteLimiter::Reserve(uint64_t n) {
  ReserveUntil(n, absl::InfiniteFuture()).IgnoreError();
}

absl::Status ByteLimiter::ReserveFor(uint64_t n, absl::Duration timeout) {
  return ReserveUntil(n, absl::Now() + timeout);
}

absl::Status ByteLimiter::ReserveUntil(
    uint64_t n, absl::Time deadline,
    const std::function<absl::Status()>& interrupt,
    absl::Duration interrupt_interval) {
  if (n == 0) return absl::OkStatus();
  mu_.Lock();
  if (waiting_.empty() && FitsLocked(n)) {
    TakeLocked(n);
    mu_.Unlock();
    return absl::OkStatus();
  }
  const uint64_t ticket = next_ticket_++;
  waiting_.push_back(ticket);
  absl::Time next_check = absl::Now() + interrupt_interval;
  while (waiting_.front() != ticket || !FitsLocked(n)) {
    absl::Time now = absl::Now();
    if (now >= deadline) {
      RemoveTicketLocked(ticket);
      cv_.SignalAll();  // the next waiter may be at the front now
      absl::Status s = absl::DeadlineExceededError(
          absl::StrCat("timed out waiting to reserve ", n, " bytes (", in_use_,
                       " of ", max_bytes_.value_or(0), " in use)"));
      mu_.Unlock();
      return s;
    }
    if (interrupt && now >= next_check) {
      mu_.Unlock();
      absl::Status s = interrupt();
      mu_.Lock();
      if (!s.ok()) {
        RemoveTicketLocked(ticket);
        cv_.SignalAll();
        mu_.Unlock();
        return s;
      }
      next_check = absl::Now() + interrupt_interval;
      continue;  // re-check the predicate after dropping the lock
    }
    cv_.WaitWithDeadline(&mu_,
                         interrupt ? std::min(deadline, next_check) : deadline);
  }
  waiting_.pop_front();
  TakeLocked(n);
  // The new front waiter may fit as well.
  if (!waiting_.empty()) cv_.SignalAll();
  mu_.Unlock();
  return absl::OkStatus();
}

bool ByteLimiter::TryReserve(uint64_t n) {
  if (n == 0) return true;
  absl::MutexLock lock(&mu_);
  if (!waiting_.empty() || !FitsLocked(n)) return false;
  TakeLocked(n);
  return true;
}

absl::Status ByteLimiter::Release(uint64_t n) {
  absl::MutexLock lock(&mu_);
  if (n > in_use_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "releasing ", n, " bytes but only ", in_use_, " are reserved"));
  }
  in_use_ -= n;
  if (!waiting_.empty()) cv_.SignalAll();
  return absl::OkStatus();
}

uint64_t ByteLimiter::in_use() const {
  absl::MutexLock lock(&mu_);
  return in_use_;
}

uint64_t ByteLimiter::peak() const {
  absl::MutexLock lock(&mu_);
  return peak_;
}

size_t ByteLimiter::num_waiting() const {
  absl::MutexLock lock(&mu_);
  return waiting_.size();
}

void ByteLimiter::ResetPeak() {
  absl::MutexLock lock(&mu_);
  peak_ = in_use_;
}

ByteReservation::ByteReservation(ByteLimiter* limiter, uint64_t bytes)
    : limiter_(limiter), bytes_(limiter != nullptr ? bytes : 0) {
  if (limiter_ != nullptr) limiter_->Reserve(bytes_);
}

ByteReservation ByteReservation::Adopt(ByteLimiter* limiter, uint64_t bytes) {
  ByteReservation r;
  r.limiter_ = limiter;
  r.bytes_ = limiter != nullptr ? bytes : 0;
  return r;
}

ByteReservation::ByteReservation(ByteReservation&& other) noexcept
    : limiter_(std::exchange(other.limiter_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)) {}

ByteReservation& ByteReservation::operator=(ByteReservation&& other) noexcept {
  if (this != &other) {
    Release();
    limiter_ = std::exchange(other.limiter_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void ByteReservation::Release() {
  if (limiter_ != nullptr && bytes_ > 0) {
    limiter_->Release(bytes_).IgnoreError();
  }
  limiter_ = nullptr;
  bytes_ = 0;
}

}  // namespace internal
}  // namespace ocpx
