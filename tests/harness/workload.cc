#include "tests/harness/workload.h"

#include <pthread.h>

#include <map>
#include <random>

#include "client/error_detail.h"

namespace shardkv::test {

using lincheck::Condition;

Workload::Workload(std::vector<std::string> endpoints, WorkloadOptions options,
                   lincheck::History* history)
    : endpoints_(std::move(endpoints)),
      options_(std::move(options)),
      history_(history) {}

Workload::~Workload() { Stop(); }

Status Workload::Start() {
  client::RoutingClientOptions co;
  co.endpoints = endpoints_;
  co.timeout = std::max(options_.op_timeout, std::chrono::milliseconds(5000));
  co.retry.attempt_timeout =
      std::min(options_.op_timeout, std::chrono::milliseconds(1000));
  co.spread_stale_reads = true;
  auto client = client::RoutingClient::Create(std::move(co));
  if (!client.ok()) return client.status();
  client_ = std::move(client).value();
  stop_ = false;
  for (int i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this, i] {
      std::string name = "workload-" + std::to_string(i);
      pthread_setname_np(pthread_self(), name.c_str());
      Run(i);
    });
  }
  return Status::Ok();
}

void Workload::Stop() {
  stop_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
}

std::vector<std::string> Workload::Keys() const {
  std::vector<std::string> keys;
  for (int i = 0; i < options_.hot_keys; ++i) {
    keys.push_back(options_.key_prefix + "-hot-" + std::to_string(i));
  }
  for (int i = 0; i < options_.cold_keys; ++i) {
    keys.push_back(options_.key_prefix + "-cold-" + std::to_string(i));
  }
  for (int i = 0; i < options_.ttl_keys; ++i) {
    keys.push_back(options_.key_prefix + "-ttl-" + std::to_string(i));
  }
  return keys;
}

WorkloadCounts Workload::Counts() const {
  return WorkloadCounts{ok_.load(), condition_failed_.load(), unknown_.load(),
                        unrecorded_.load()};
}

void Workload::Run(int thread_index) {
  std::mt19937_64 rng(options_.seed * 1000003 + thread_index);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const int client = thread_index + 1;
  std::map<std::string, uint64_t> known_version;
  uint64_t next_value = 0;
  while (!stop_) {
    if (options_.ttl_keys > 0 && unit(rng) < options_.ttl_fraction) {
      RunTtlOrStale(client, rng, /*ttl=*/true);
      continue;
    }
    if (unit(rng) < options_.read_fraction * options_.stale_read_fraction) {
      RunTtlOrStale(client, rng, /*ttl=*/false);
      continue;
    }
    std::string key;
    if (options_.cold_keys == 0 ||
        (options_.hot_keys > 0 && unit(rng) < options_.hot_fraction)) {
      key = options_.key_prefix + "-hot-" +
            std::to_string(rng() % options_.hot_keys);
    } else {
      key = options_.key_prefix + "-cold-" +
            std::to_string(rng() % options_.cold_keys);
    }
    std::string value =
        "c" + std::to_string(client) + "-" + std::to_string(next_value++);
    uint64_t& version = known_version[key];
    // A CAS on a stale version fails definitely; one on version 0 would be
    // rejected as invalid, so fall back to the first version.
    uint64_t expected = version == 0 ? 1 : version;
    double r = unit(rng);
    double w = options_.read_fraction;
    double rest = 1.0 - w;
    if (r < w) {
      version = RecordGet(client, key);
    } else if (r < w + rest * 0.45) {
      version = RecordSet(client, key, value, Condition::kNone, 0);
    } else if (r < w + rest * 0.70) {
      version = RecordSet(client, key, value, Condition::kIfVersion, expected);
    } else if (r < w + rest * 0.80) {
      version = RecordSet(client, key, value, Condition::kIfAbsent, 0);
    } else if (r < w + rest * 0.92) {
      version = RecordDelete(client, key, Condition::kNone, 0);
    } else {
      version = RecordDelete(client, key, Condition::kIfVersion, expected);
    }
  }
}

void Workload::RunTtlOrStale(int client, std::mt19937_64& rng, bool ttl) {
  ++unrecorded_;
  if (!ttl) {
    int n = options_.hot_keys + options_.cold_keys;
    if (n == 0) return;
    std::string key = Keys()[rng() % n];
    (void)client_->Get(key, client::Consistency::kStale);
    return;
  }
  std::string key =
      options_.key_prefix + "-ttl-" + std::to_string(rng() % options_.ttl_keys);
  client::SetOptions so;
  so.ttl = std::chrono::milliseconds(100 + rng() % 1900);
  // Recorded with has_ttl: the checker skips the key but the history shows
  // what happened to it.
  lincheck::OpInput input =
      lincheck::SetInput(key, "ttl-" + std::to_string(client));
  input.has_ttl = true;
  auto id = history_->BeginOp(client, input);
  auto r = client_->Set(key, input.value, so);
  history_->EndOp(
      id, r.ok() ? lincheck::SetOk(r->version) : lincheck::UnknownOutcome());
}

uint64_t Workload::RecordGet(int client, const std::string& key) {
  auto id = history_->BeginOp(client, lincheck::GetInput(key));
  auto r = client_->Get(key, client::Consistency::kLinearizable);
  if (r.ok()) {
    history_->EndOp(id, lincheck::GetFoundVersion(r->value, r->version));
    ++ok_;
    return r->version;
  }
  if (r.status().code() == Code::kNotFound) {
    history_->EndOp(id, lincheck::GetNotFound());
    ++ok_;
    return 0;
  }
  history_->EndOp(id, lincheck::UnknownOutcome());
  ++unknown_;
  return 0;
}

uint64_t Workload::RecordSet(int client, const std::string& key,
                             const std::string& value, Condition condition,
                             uint64_t version) {
  auto id = history_->BeginOp(
      client, lincheck::SetInput(key, value, condition, version));
  client::SetOptions so;
  so.if_absent = condition == Condition::kIfAbsent;
  if (condition == Condition::kIfVersion) so.if_version = version;
  auto r = client_->Set(key, value, so);
  if (r.ok()) {
    history_->EndOp(id, lincheck::SetOk(r->version));
    ++ok_;
    ++acked_writes_;
    return r->version;
  }
  if (r.status().code() == Code::kFailedPrecondition) {
    history_->EndOp(id, lincheck::ConditionFailed());
    ++condition_failed_;
    return client::ConditionFailedVersion(r.status()).value_or(0);
  }
  history_->EndOp(id, lincheck::UnknownOutcome());
  ++unknown_;
  return 0;
}

uint64_t Workload::RecordDelete(int client, const std::string& key,
                                Condition condition, uint64_t version) {
  auto id =
      history_->BeginOp(client, lincheck::DeleteInput(key, condition, version));
  client::DeleteOptions dopt;
  if (condition == Condition::kIfVersion) dopt.if_version = version;
  auto r = client_->Delete(key, dopt);
  if (r.ok()) {
    history_->EndOp(id, lincheck::DeleteOk(r->deleted));
    ++ok_;
    ++acked_writes_;
    return 0;
  }
  if (r.status().code() == Code::kFailedPrecondition) {
    history_->EndOp(id, lincheck::ConditionFailed());
    ++condition_failed_;
    return client::ConditionFailedVersion(r.status()).value_or(0);
  }
  history_->EndOp(id, lincheck::UnknownOutcome());
  ++unknown_;
  return 0;
}

}  // namespace shardkv::test
