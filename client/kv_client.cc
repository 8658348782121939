#include "client/kv_client.h"

#include <utility>

#include "client/kv_requests.h"

namespace shardkv::client {

StatusOr<std::unique_ptr<Client>> Client::Create(ClientOptions options) {
  if (options.endpoints.empty()) {
    return InvalidArgument("no endpoints given (host:port,...)");
  }
  for (const std::string& e : options.endpoints) {
    if (e.empty() || e.find(':') == std::string::npos) {
      return InvalidArgument("endpoint '" + e + "' is not host:port");
    }
  }
  if (options.timeout.count() <= 0) {
    return InvalidArgument("timeout must be positive");
  }
  return std::unique_ptr<Client>(new Client(std::move(options)));
}

Client::Client(ClientOptions options)
    : options_(std::move(options)), endpoints_(options_.endpoints) {}

Clock::time_point Client::DeadlineFor(
    std::optional<std::chrono::milliseconds> timeout) const {
  return Clock::now() + timeout.value_or(options_.timeout);
}

std::string Client::leader_address() {
  return endpoints_.at(endpoints_.leader()).address;
}

StatusOr<GetResult> Client::Get(
    std::string_view key, Consistency consistency,
    std::optional<std::chrono::milliseconds> timeout) {
  v1::GetRequest request = MakeGetRequest(key, consistency);
  bool stale = consistency == Consistency::kStale;
  v1::GetResponse response;
  Route route = stale ? Route::kAnyReplica : Route::kLeader;
  size_t first = endpoints_.NextReplica(options_.spread_stale_reads);
  CallOutcome outcome = CallWithRetry(
      endpoints_, route, first, options_.retry, DeadlineFor(timeout),
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

Status Client::RunWrite(std::optional<std::chrono::milliseconds> timeout,
                        const std::function<void(uint64_t, uint64_t)>& tag,
                        const Attempt& attempt) {
  Session session = sessions_.Acquire();
  ++session.last_sequence;
  tag(session.client_id, session.last_sequence);
  CallOutcome outcome =
      CallWithRetry(endpoints_, Route::kLeader, 0, options_.retry,
                    DeadlineFor(timeout), attempt);
  if (outcome.status.ok() || outcome.definite) sessions_.Release(session);
  return outcome.status;
}

StatusOr<SetResult> Client::Set(std::string_view key, std::string_view value,
                                const SetOptions& options) {
  if (options.if_absent && options.if_version) {
    return InvalidArgument("if_absent and if_version are exclusive");
  }
  if (options.ttl.count() < 0) return InvalidArgument("negative ttl");
  v1::SetRequest request = MakeSetRequest(key, value, options);
  v1::SetResponse response;
  Status st = RunWrite(options.timeout, RequestIdTagger(&request),
                       [&](Endpoint& e, grpc::ClientContext* context) {
                         response.Clear();
                         return e.kv->Set(context, request, &response);
                       });
  if (!st.ok()) return st;
  return SetResult{response.version()};
}

StatusOr<DeleteResult> Client::Delete(std::string_view key,
                                      const DeleteOptions& options) {
  v1::DeleteRequest request = MakeDeleteRequest(key, options);
  v1::DeleteResponse response;
  Status st = RunWrite(options.timeout, RequestIdTagger(&request),
                       [&](Endpoint& e, grpc::ClientContext* context) {
                         response.Clear();
                         return e.kv->Delete(context, request, &response);
                       });
  if (!st.ok()) return st;
  return DeleteResult{response.deleted()};
}

}  // namespace shardkv::client
