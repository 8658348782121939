#include "client/bench/shardkv_target.h"

#include <algorithm>
#include <utility>

#include "client/error_detail.h"
#include "client/retrying_call.h"
#include "client/slot_map_cache.h"

namespace shardkv::bench {
namespace {

using client::Clock;

// Unsharded: attempts after the first, as the pre-routing target had.
constexpr int kMaxRetries = 4;
// A freeze lasts milliseconds: poll for its end at most this far apart.
constexpr std::chrono::milliseconds kMaxMigratingBackoff{50};
// Bound of one map refresh made for retries (the cached map keeps serving
// when the controller does not answer in time).
constexpr std::chrono::milliseconds kRefreshTimeout{1000};

}  // namespace

struct ShardkvTarget::Call {
  OpType type;
  int client;
  Done done;
  Clock::time_point deadline;   // sharded: of the whole request
  Clock::time_point issued_at;  // of the last attempt
  int retries = 0;              // unsharded: attempts after the first
  int backoffs = 0;             // sharded: backoffs so far
  int migrating_backoffs = 0;
  size_t failed_in_row = 0;  // replicas of the shard that did not answer
  size_t hint_hops = 0;      // NOT_LEADER hints followed in a row
  uint64_t map_epoch = 0;    // of the map the last attempt was routed by
  grpc::Status last_error;   // reported if the deadline passes
  std::shared_ptr<client::EndpointSet> replicas;  // of the last attempt
  size_t endpoint = 0;                            // index in `replicas`
  std::unique_ptr<grpc::ClientContext> context;
  v1::GetRequest get_request;
  v1::GetResponse get_response;
  v1::SetRequest set_request;
  v1::SetResponse set_response;

  const std::string& key() const {
    return type == OpType::kRead ? get_request.key() : set_request.key();
  }
};

ShardkvTarget::ShardkvTarget(const ShardkvTargetOptions& options)
    : options_(options),
      unsharded_(std::make_shared<client::EndpointSet>(options.endpoints)),
      sessions_(static_cast<size_t>(options.clients)),
      replicas_(ReplicaPoolOptions{options.batch_in_flight,
                                   options.batch_max_items, options.timeout}) {
  client::SessionPool ids;  // a source of random non-zero client ids
  for (client::Session& s : sessions_) s = ids.Acquire();
}

ShardkvTarget::~ShardkvTarget() = default;

Status ShardkvTarget::Connect() {
  client::RoutingClientOptions o;
  o.endpoints = options_.endpoints;
  o.timeout = options_.timeout;
  o.retry = options_.retry;
  o.spread_stale_reads = true;
  o.watch_map = true;  // keeps the cached map fresh between refreshes
  auto routing = client::RoutingClient::Create(o);
  if (!routing.ok()) {
    (void)FindLeader();
    return Unavailable("cannot discover the cluster (" +
                       routing.status().message() + ")");
  }
  if (!(*routing)->sharded()) return FindLeader();
  routing_ = std::move(routing).value();
  scheduler_ = std::make_unique<RetryScheduler>(
      [this] { (void)routing_->RefreshMap(kRefreshTimeout); });
  return Status::Ok();
}

Status ShardkvTarget::FindLeader() {
  client::EndpointSet& set = *unsharded_;
  for (size_t i = 0; i < set.size(); ++i) {
    client::Endpoint& e = set.at(i);
    grpc::ClientContext context;
    client::SetDeadline(&context, Clock::now() + options_.timeout);
    v1::StatusResponse s;
    if (!e.admin->Status(&context, v1::StatusRequest(), &s).ok()) continue;
    if (s.role() == v1::ROLE_LEADER) {
      set.set_leader(i);
      return Status::Ok();
    }
    if (!s.leader_address().empty()) {
      set.set_leader(set.IndexOf(s.leader_address()));
      return Status::Ok();
    }
  }
  return Unavailable("no replica knows a leader");
}

ShardkvRoutingStats ShardkvTarget::routing_stats() const {
  ShardkvRoutingStats s;
  s.wrong_shard = wrong_shard_.load();
  s.slot_migrating = slot_migrating_.load();
  s.not_leader = not_leader_.load();
  s.unreachable = unreachable_.load();
  s.replicas_used = replicas_.size();
  if (routing_) {
    auto map = routing_->slot_map();
    s.map_epoch = map->epoch();
    s.shards = static_cast<size_t>(map->shards_size());
    s.map_refreshes = scheduler_->refreshes();
  }
  return s;
}

void ShardkvTarget::Start(int client, OpType type, const std::string& key,
                          const std::string& value, Done done) {
  auto* call = new Call;
  call->type = type;
  call->client = client;
  call->done = std::move(done);
  call->deadline = Clock::now() + options_.timeout;
  if (type == OpType::kRead) {
    call->get_request.set_key(key);
    call->get_request.set_consistency(options_.stale_reads
                                          ? v1::CONSISTENCY_STALE
                                          : v1::CONSISTENCY_LINEARIZABLE);
  } else {
    client::Session& session = sessions_[static_cast<size_t>(client)];
    call->set_request.set_key(key);
    call->set_request.set_value(value);
    call->set_request.mutable_request_id()->set_client_id(session.client_id);
    call->set_request.mutable_request_id()->set_sequence(
        ++session.last_sequence);
  }
  Issue(call);
}

void ShardkvTarget::Issue(Call* call) {
  call->issued_at = Clock::now();
  if (routing_) {
    if (!call->last_error.ok() && call->issued_at >= call->deadline) {
      return Finish(call, call->last_error);
    }
    std::shared_ptr<const v1::SlotMap> map = routing_->slot_map();
    uint32_t owner = client::OwnerOfKey(*map, call->key());
    call->map_epoch = map->epoch();
    call->replicas = owner == 0 ? nullptr : shards_.For(*map, owner);
    if (!call->replicas) {
      // Unassigned slot or a shard without members: a newer map may say.
      call->last_error = grpc::Status(
          grpc::StatusCode::UNAVAILABLE,
          "the slot of key '" + call->key() + "' has no serving shard in map " +
              "epoch " + std::to_string(map->epoch()));
      return Park(
          call,
          Clock::now() + client::BackoffDelay(options_.retry, call->backoffs++),
          /*refresh_first=*/true);
    }
  } else {
    call->replicas = unsharded_;
  }
  bool stale_read = call->type == OpType::kRead && options_.stale_reads;
  call->endpoint = stale_read ? call->replicas->NextReplica(/*spread=*/true)
                              : call->replicas->leader();
  Send(call, replicas_.At(call->replicas->at(call->endpoint).address));
}

void ShardkvTarget::Send(Call* call, ReplicaPool::Replica& replica) {
  if (replica.batcher) {
    v1::BatchItem item;
    if (call->type == OpType::kRead) {
      *item.mutable_get() = call->get_request;
    } else {
      *item.mutable_set() = call->set_request;
    }
    replica.batcher->Submit(
        std::move(item), [this, call](const grpc::Status& call_status,
                                      const v1::BatchItemResult& result) {
          if (!call_status.ok()) return OnComplete(call, call_status);
          if (result.code() != 0) {
            return OnComplete(
                call, grpc::Status(static_cast<grpc::StatusCode>(result.code()),
                                   result.message(),
                                   result.detail().SerializeAsString()));
          }
          OnComplete(call, grpc::Status::OK);
        });
    return;
  }
  call->context = std::make_unique<grpc::ClientContext>();
  client::SetDeadline(
      call->context.get(),
      routing_ ? call->deadline : Clock::now() + options_.timeout);
  auto on_done = [this, call](grpc::Status s) { OnComplete(call, s); };
  if (call->type == OpType::kRead) {
    replica.kv->async()->Get(call->context.get(), &call->get_request,
                             &call->get_response, std::move(on_done));
  } else {
    replica.kv->async()->Set(call->context.get(), &call->set_request,
                             &call->set_response, std::move(on_done));
  }
}

void ShardkvTarget::OnComplete(Call* call, const grpc::Status& status) {
  if (!status.ok()) {
    bool retried =
        routing_ ? RetrySharded(call, status) : RetryUnsharded(call, status);
    if (retried) return;
  }
  Finish(call, status);
}

bool ShardkvTarget::RetryUnsharded(Call* call, const grpc::Status& status) {
  if (call->retries >= kMaxRetries) return false;
  client::EndpointSet& set = *call->replicas;
  auto detail = client::DecodeErrorDetail(status);
  bool not_leader = detail && detail->reason() == v1::NOT_LEADER;
  if (not_leader && !detail->leader_address().empty()) {
    set.set_leader(set.IndexOf(detail->leader_address()));
    ++call->retries;
    Issue(call);
    return true;
  }
  if (not_leader || status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    // Unreachable or leaderless: move the shared leader guess along once
    // (unless another call already did) and retry there.
    set.CompareAndSetLeader(call->endpoint, (call->endpoint + 1) % set.size());
    ++call->retries;
    Issue(call);
    return true;
  }
  return false;
}

bool ShardkvTarget::RetrySharded(Call* call, const grpc::Status& status) {
  Clock::time_point now = Clock::now();
  if (now >= call->deadline) return false;
  call->last_error = status;
  client::EndpointSet& set = *call->replicas;
  auto detail = client::DecodeErrorDetail(status);
  v1::ErrorReason reason =
      detail ? detail->reason() : v1::ERROR_REASON_UNSPECIFIED;
  auto backoff = [&] {
    return now + client::BackoffDelay(options_.retry, call->backoffs++);
  };
  switch (reason) {
    case v1::WRONG_SHARD:
      ++wrong_shard_;
      // A shard that knows a newer map than ours proves ours stale: fetch
      // it now. One that does not lags behind: give it a moment first.
      Park(call, detail->epoch() > call->map_epoch ? now : backoff(),
           /*refresh_first=*/true);
      return true;
    case v1::SLOT_MIGRATING: {
      ++slot_migrating_;
      client::RetryPolicy p = options_.retry;
      p.max_backoff = std::min(p.max_backoff, kMaxMigratingBackoff);
      p.initial_backoff = std::min(p.initial_backoff, p.max_backoff);
      // The watch stream brings the cut-over's map; Issue re-resolves.
      Park(call, now + client::BackoffDelay(p, call->migrating_backoffs++),
           /*refresh_first=*/false);
      return true;
    }
    case v1::NOT_LEADER:
      ++not_leader_;
      if (!detail->leader_address().empty() &&
          ++call->hint_hops <= 2 * set.size()) {
        set.set_leader(set.IndexOf(detail->leader_address()));
        Issue(call);
        return true;
      }
      call->hint_hops = 0;
      break;  // no usable hint: as an unreachable replica
    default:
      if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
        Park(call, backoff(), /*refresh_first=*/false);
        return true;
      }
      if (status.error_code() != grpc::StatusCode::UNAVAILABLE) return false;
      ++unreachable_;
      break;
  }
  // This replica cannot serve: try the next one; once every replica of
  // the shard failed, the map may name new members (refresh, back off).
  set.CompareAndSetLeader(call->endpoint, (call->endpoint + 1) % set.size());
  if (++call->failed_in_row < set.size()) {
    Issue(call);
    return true;
  }
  call->failed_in_row = 0;
  Park(call, backoff(), /*refresh_first=*/true);
  return true;
}

void ShardkvTarget::Park(Call* call, Clock::time_point when,
                         bool refresh_first) {
  when = std::min(when, call->deadline);
  auto resume = [this, call](bool cancelled) {
    if (cancelled) return Finish(call, call->last_error);
    Issue(call);
  };
  if (!refresh_first) return scheduler_->RunAt(when, std::move(resume));
  Clock::time_point observed_at = call->issued_at;
  scheduler_->RunAt(when, [this, observed_at, call,
                           resume = std::move(resume)](bool cancelled) {
    if (cancelled) return Finish(call, call->last_error);
    scheduler_->AfterRefresh(observed_at, resume);
  });
}

void ShardkvTarget::Finish(Call* call, const grpc::Status& status) {
  Status result = status.ok() ? Status::Ok() : client::FromGrpc(status);
  Done done = std::move(call->done);
  delete call;
  done(result);
}

}  // namespace shardkv::bench
