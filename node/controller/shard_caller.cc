#include "node/controller/shard_caller.h"

#include <algorithm>
#include <thread>

#include "common/log.h"
#include "shardkv/v1/kv.pb.h"

namespace shardkv::controller {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

bool Retryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE ||
         code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::RESOURCE_EXHAUSTED;
}

int MemberIndex(const v1::Shard& shard, const std::string& address) {
  for (int i = 0; i < shard.members_size(); ++i) {
    if (shard.members(i).address() == address) return i;
  }
  return -1;
}

}  // namespace

ShardStub* ShardCaller::StubFor(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = stubs_.find(address);
  if (it != stubs_.end()) return it->second.get();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  // Reconnect quickly after a shard's replica restarts.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  auto channel = grpc::CreateCustomChannel(
      address, grpc::InsecureChannelCredentials(), args);
  channels_[address] = channel;
  auto& stub = stubs_[address];
  stub = internal::ShardControl::NewStub(channel);
  return stub.get();
}

std::string ShardCaller::LeaderGuess(const v1::Shard& shard) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = leaders_.find(shard.id());
  if (it != leaders_.end() && MemberIndex(shard, it->second) >= 0) {
    return it->second;
  }
  return shard.members(0).address();
}

void ShardCaller::RememberLeader(uint32_t shard_id,
                                 const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  leaders_[shard_id] = address;
}

Status ShardCaller::Call(const v1::Shard& shard, const std::string& what,
                         const Attempt& attempt, milliseconds attempt_timeout) {
  if (shard.members().empty()) {
    return FailedPrecondition("shard " + std::to_string(shard.id()) +
                              " has no members in the map");
  }
  if (attempt_timeout.count() == 0) attempt_timeout = options_.attempt_timeout;
  const Clock::time_point deadline =
      Clock::now() + std::max(options_.call_timeout, attempt_timeout);
  std::string address = LeaderGuess(shard);
  milliseconds backoff(20);
  Status last = Unavailable(what + ": stopping");
  while (!stop_->load()) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + attempt_timeout);
    grpc::Status s = attempt(StubFor(address), &context);
    if (s.ok()) {
      RememberLeader(shard.id(), address);
      return Status::Ok();
    }
    last = Status(static_cast<Code>(s.error_code()),
                  what + " at shard " + std::to_string(shard.id()) + " (" +
                      address + "): " + s.error_message());
    if (!Retryable(s.error_code()) || Clock::now() >= deadline) return last;
    SHARDKV_LOG(kDebug) << "retrying: " << last.ToString();
    v1::ErrorDetail detail;
    bool hinted = detail.ParseFromString(s.error_details()) &&
                  detail.reason() == v1::NOT_LEADER &&
                  MemberIndex(shard, detail.leader_address()) >= 0 &&
                  detail.leader_address() != address;
    if (hinted) {
      address = detail.leader_address();
      continue;  // a fresh hint is worth trying at once
    }
    int next = (MemberIndex(shard, address) + 1) % shard.members_size();
    address = shard.members(next).address();
    for (auto until = Clock::now() + backoff;
         Clock::now() < until && !stop_->load();) {
      std::this_thread::sleep_for(milliseconds(10));
    }
    backoff = std::min(backoff * 2, milliseconds(500));
  }
  return last;
}

}  // namespace shardkv::controller
