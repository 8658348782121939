#include "client/retrying_call.h"

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "client/error_detail.h"

namespace shardkv::client {
namespace {

enum class Next {
  kDone,         // return this status
  kRedirect,     // go to the hinted leader now
  kNextReplica,  // try another replica
  kBackoffSame,  // wait, then the same replica again
};

Next Classify(const grpc::Status& s, const std::optional<v1::ErrorDetail>& d,
              const RetryScope& scope) {
  v1::ErrorReason reason = d ? d->reason() : v1::ERROR_REASON_UNSPECIFIED;
  if (reason == v1::NOT_LEADER) {
    return d->leader_address().empty() ? Next::kNextReplica : Next::kRedirect;
  }
  if (reason == v1::SLOT_MIGRATING) {
    return scope.return_slot_migrating ? Next::kDone : Next::kBackoffSame;
  }
  if (reason == v1::MEMBERSHIP_CHANGE_IN_PROGRESS ||
      reason == v1::TOO_MANY_REQUESTS) {
    return Next::kBackoffSame;
  }
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Next::kNextReplica;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return Next::kBackoffSame;
    default:
      return Next::kDone;
  }
}

// True when the error was produced by a replica deciding about the request,
// not by the transport or a timeout.
bool IsDefinite(const grpc::Status& s,
                const std::optional<v1::ErrorDetail>& detail) {
  if (detail) return true;
  switch (s.error_code()) {
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::INTERNAL:
      return false;
    default:
      return true;
  }
}

std::mt19937_64& ThreadRng() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return rng;
}

void SleepUntilAtMost(std::chrono::milliseconds delay,
                      Clock::time_point deadline) {
  Clock::time_point wake = std::min(Clock::now() + delay, deadline);
  std::this_thread::sleep_until(wake);
}

Status GaveUp(const Status& last, int attempts) {
  std::string m = "gave up after " + std::to_string(attempts) +
                  " attempt(s) at the deadline; last error: " + last.ToString();
  Code code = last.code() == Code::kUnavailable ? Code::kUnavailable
                                                : Code::kDeadlineExceeded;
  return Status(code, std::move(m));
}

}  // namespace

void SetDeadline(grpc::ClientContext* context, Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::microseconds>(
      deadline - Clock::now());
  context->set_deadline(std::chrono::system_clock::now() + left);
}

std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int retry) {
  int64_t d = policy.initial_backoff.count();
  for (int i = 0; i < retry && d < policy.max_backoff.count(); ++i) d *= 2;
  d = std::max<int64_t>(1, std::min(d, policy.max_backoff.count()));
  std::uniform_int_distribution<int64_t> jitter(d / 2, d);
  return std::chrono::milliseconds(jitter(ThreadRng()));
}

CallOutcome CallWithRetry(EndpointSet& endpoints, Route route, size_t first,
                          const RetryPolicy& policy, Clock::time_point deadline,
                          const Attempt& attempt, const RetryScope& scope) {
  size_t index = route == Route::kLeader ? endpoints.leader() : first;
  int attempts = 0;
  int backoffs = 0;
  int fruitless_rounds = 0;
  size_t tried_since_backoff = 0;
  CallOutcome outcome;
  outcome.status = Status(Code::kDeadlineExceeded, "deadline already passed");
  // The last answer a replica gave (not our own attempt timing out): it
  // says why we gave up better than the final attempt cut by the deadline.
  std::optional<Status> last_answer;
  while (Clock::now() < deadline) {
    Endpoint& endpoint = endpoints.at(index);
    grpc::ClientContext context;
    SetDeadline(&context,
                std::min(deadline, Clock::now() + policy.attempt_timeout));
    grpc::Status s = attempt(endpoint, &context);
    ++attempts;
    if (s.ok()) {
      if (route == Route::kLeader) endpoints.set_leader(index);
      outcome.status = Status::Ok();
      outcome.definite = true;
      outcome.detail.reset();
      return outcome;
    }
    std::optional<v1::ErrorDetail> detail = DecodeErrorDetail(s);
    Status st = FromGrpc(s);
    outcome.status = Status(st.code(), endpoint.address + ": " + st.message());
    outcome.definite = IsDefinite(s, detail);
    outcome.any_in_doubt |= !outcome.definite;
    outcome.detail = detail;
    if (st.code() != Code::kDeadlineExceeded) last_answer = outcome.status;
    Next next = Classify(s, detail, scope);
    switch (next) {
      case Next::kDone:
        outcome.status = st;
        return outcome;
      case Next::kRedirect:
        index = endpoints.IndexOf(detail->leader_address());
        endpoints.set_leader(index);
        // A hint is followed at once; ping-pong between two confused
        // replicas is bounded by backing off after a full round.
        if (++tried_since_backoff < endpoints.size()) continue;
        break;
      case Next::kNextReplica:
        index = (index + 1) % endpoints.size();
        if (route == Route::kLeader) endpoints.set_leader(index);
        if (++tried_since_backoff < endpoints.size()) continue;
        break;
      case Next::kBackoffSame:
        break;
    }
    tried_since_backoff = 0;
    if (next != Next::kBackoffSame && scope.max_rounds > 0 &&
        ++fruitless_rounds >= scope.max_rounds) {
      return outcome;
    }
    SleepUntilAtMost(BackoffDelay(policy, backoffs++), deadline);
  }
  if (attempts == 0) return outcome;
  outcome.status = GaveUp(last_answer.value_or(outcome.status), attempts);
  return outcome;
}

}  // namespace shardkv::client
