#include "client/shard_router.h"

#include <algorithm>
#include <string>
#include <thread>

#include "client/kv_requests.h"
#include "common/slot.h"

namespace shardkv::client {
namespace {

v1::ErrorReason ReasonOf(const CallOutcome& o) {
  return o.detail ? o.detail->reason() : v1::ERROR_REASON_UNSPECIFIED;
}

bool Unreachable(const Status& s) {
  return s.code() == Code::kUnavailable || s.code() == Code::kDeadlineExceeded;
}

void SleepAtMost(std::chrono::milliseconds d, Clock::time_point deadline) {
  std::this_thread::sleep_until(std::min(Clock::now() + d, deadline));
}

// A freeze lasts milliseconds: polling for its end with the general
// backoff (up to a second) would add most of a second to the call.
RetryPolicy SlotMigratingPolicy(RetryPolicy policy) {
  policy.max_backoff =
      std::min(policy.max_backoff, std::chrono::milliseconds(50));
  policy.initial_backoff = std::min(policy.initial_backoff, policy.max_backoff);
  return policy;
}

Status GaveUpAtDeadline(const Status& last) {
  Code code = last.code() == Code::kUnavailable ? Code::kUnavailable
                                                : Code::kDeadlineExceeded;
  return Status(code,
                "gave up at the deadline; last error: " + last.ToString());
}

}  // namespace

ShardRouter::ShardRouter(const RoutingClientOptions& options,
                         std::unique_ptr<ControllerClient> controller,
                         const v1::SlotMap& initial)
    : options_(options), controller_(std::move(controller)) {
  if (cache_.Offer(initial) == SlotMapCache::Verdict::kAccepted) {
    ++maps_accepted_;
  }
  if (options_.watch_map) {
    watcher_ = std::make_unique<MapWatcher>(
        controller_->endpoints(), cache_, options_.retry,
        [this](const v1::SlotMap&) { ++maps_accepted_; });
  }
}

ShardRouter::~ShardRouter() {
  if (watcher_) watcher_->Stop();
}

RoutingStats ShardRouter::stats() const {
  RoutingStats s;
  s.map_fetches = map_fetches_.load();
  s.maps_accepted = maps_accepted_.load();
  s.maps_ignored = cache_.ignored();
  s.wrong_shard = wrong_shard_.load();
  s.slot_migrating = slot_migrating_.load();
  s.watch_connects = watcher_ ? watcher_->connects() : 0;
  return s;
}

Status ShardRouter::RefreshMap(Clock::time_point since,
                               Clock::time_point deadline) {
  std::unique_lock<std::timed_mutex> lock(refresh_mu_, std::defer_lock);
  if (!lock.try_lock_until(deadline)) {
    return Status(Code::kDeadlineExceeded, "deadline passed waiting for map");
  }
  if (last_fetch_done_ > since) return Status::Ok();
  // One round over the controller replicas: an unreachable controller must
  // not eat the caller's deadline, the cached map keeps serving.
  RetryScope one_round;
  one_round.max_rounds = 1;
  auto map = controller_->GetMap(
      std::min(deadline, Clock::now() + options_.retry.attempt_timeout),
      one_round);
  last_fetch_done_ = Clock::now();
  if (!map.ok()) return map.status();
  ++map_fetches_;
  if (cache_.Offer(*map) == SlotMapCache::Verdict::kAccepted) ++maps_accepted_;
  return Status::Ok();
}

CallOutcome ShardRouter::RouteCall(std::string_view key, Route route,
                                   Clock::time_point deadline,
                                   const Attempt& attempt) {
  CallOutcome outcome;
  outcome.status = Status(Code::kDeadlineExceeded, "deadline already passed");
  RetryScope scope;
  scope.return_slot_migrating = true;
  scope.max_rounds = 1;
  bool in_doubt = false;
  bool refreshed_unassigned = false;
  int backoffs = 0;
  int migrating_backoffs = 0;
  while (Clock::now() < deadline) {
    std::shared_ptr<const v1::SlotMap> map = cache_.Current();
    uint32_t slot = SlotOf(key, map->slot_count());
    uint32_t owner = map->slot_owner(static_cast<int>(slot));
    Clock::time_point tried_at = Clock::now();
    std::shared_ptr<EndpointSet> replicas =
        owner == 0 ? nullptr : shards_.For(*map, owner);
    if (owner == 0 || !replicas) {
      std::string why = owner == 0
                            ? "is not assigned to any shard yet (run "
                              "`shardkv rebalance`)"
                            : "is owned by shard " + std::to_string(owner) +
                                  ", which the map lists no member of";
      outcome.status =
          Unavailable("slot " + std::to_string(slot) + " " + why +
                      " (map epoch " + std::to_string(map->epoch()) + ")");
      outcome.definite = true;
      if (refreshed_unassigned) return outcome;
      refreshed_unassigned = true;
      (void)RefreshMap(tried_at, deadline);
      continue;
    }
    size_t first = route == Route::kAnyReplica
                       ? replicas->NextReplica(options_.spread_stale_reads)
                       : 0;
    outcome = CallWithRetry(*replicas, route, first, options_.retry, deadline,
                            attempt, scope);
    in_doubt |= outcome.any_in_doubt;
    outcome.any_in_doubt = in_doubt;
    if (outcome.status.ok()) return outcome;
    switch (ReasonOf(outcome)) {
      case v1::WRONG_SHARD:
        ++wrong_shard_;
        // A shard that knows a newer map than ours proves ours stale; one
        // that does not lags behind: give it a moment, then look again.
        if (outcome.detail->epoch() <= map->epoch()) {
          SleepAtMost(options_.lagging_shard_delay, deadline);
        }
        (void)RefreshMap(tried_at, deadline);
        // No newer map to be had (controller unreachable or behind): do not
        // spin between the shard and the controller.
        if (cache_.epoch() <= map->epoch()) {
          SleepAtMost(BackoffDelay(options_.retry, backoffs++), deadline);
        }
        continue;
      case v1::SLOT_MIGRATING:
        ++slot_migrating_;
        SleepAtMost(BackoffDelay(SlotMigratingPolicy(options_.retry),
                                 migrating_backoffs++),
                    deadline);
        // The cut-over may have switched the owner meanwhile.
        if (!watcher_) (void)RefreshMap(tried_at, deadline);
        continue;
      default:
        break;
    }
    if (!Unreachable(outcome.status)) return outcome;  // the shard's answer
    // Every replica of the owner failed: the map may name new members.
    (void)RefreshMap(tried_at, deadline);
    SleepAtMost(BackoffDelay(options_.retry, backoffs++), deadline);
  }
  // CallWithRetry already says so when the deadline passed inside it.
  if (!outcome.status.ok() &&
      outcome.status.message().rfind("gave up", 0) != 0) {
    outcome.status = GaveUpAtDeadline(outcome.status);
  }
  return outcome;
}

Status ShardRouter::RouteWrite(
    std::string_view key, Clock::time_point deadline,
    const std::function<void(uint64_t, uint64_t)>& tag,
    const Attempt& attempt) {
  Session session = sessions_.Acquire();
  ++session.last_sequence;
  tag(session.client_id, session.last_sequence);
  CallOutcome outcome = RouteCall(key, Route::kLeader, deadline, attempt);
  // A sequence whose write may still arrive somewhere must not be reused.
  if (outcome.status.ok() || (outcome.definite && !outcome.any_in_doubt)) {
    sessions_.Release(session);
  }
  return outcome.status;
}

StatusOr<GetResult> ShardRouter::Get(std::string_view key,
                                     Consistency consistency,
                                     Clock::time_point deadline) {
  v1::GetRequest request = MakeGetRequest(key, consistency);
  bool stale = consistency == Consistency::kStale;
  v1::GetResponse response;
  CallOutcome outcome =
      RouteCall(key, stale ? Route::kAnyReplica : Route::kLeader, deadline,
                [&](Endpoint& e, grpc::ClientContext* context) {
                  response.Clear();
                  return e.kv->Get(context, request, &response);
                });
  if (!outcome.status.ok()) return outcome.status;
  if (!response.found()) return NotFound("key not found");
  GetResult result;
  result.value = std::move(*response.mutable_value());
  result.version = response.version();
  result.ttl = std::chrono::milliseconds(response.ttl_ms());
  return result;
}

StatusOr<SetResult> ShardRouter::Set(std::string_view key,
                                     std::string_view value,
                                     const SetOptions& options,
                                     Clock::time_point deadline) {
  v1::SetRequest request = MakeSetRequest(key, value, options);
  v1::SetResponse response;
  Status st = RouteWrite(key, deadline, RequestIdTagger(&request),
                         [&](Endpoint& e, grpc::ClientContext* context) {
                           response.Clear();
                           return e.kv->Set(context, request, &response);
                         });
  if (!st.ok()) return st;
  return SetResult{response.version()};
}

StatusOr<DeleteResult> ShardRouter::Delete(std::string_view key,
                                           const DeleteOptions& options,
                                           Clock::time_point deadline) {
  v1::DeleteRequest request = MakeDeleteRequest(key, options);
  v1::DeleteResponse response;
  Status st = RouteWrite(key, deadline, RequestIdTagger(&request),
                         [&](Endpoint& e, grpc::ClientContext* context) {
                           response.Clear();
                           return e.kv->Delete(context, request, &response);
                         });
  if (!st.ok()) return st;
  return DeleteResult{response.deleted()};
}

}  // namespace shardkv::client
