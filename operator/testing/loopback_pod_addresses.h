// shardkv::op::testing::LoopbackPodAddresses — PodAddresses for tests that
// run every pod as a local process: each (namespace, set, ordinal) gets
// its own loopback address 127.0.<set index>.<ordinal + 1>:<port>, with
// one port chosen free at construction. Addresses are handed out on first
// use and never change.
//
// Thread-safety: thread-safe (a mutex guards the set indexes).
#ifndef SHARDKV_OPERATOR_TESTING_LOOPBACK_POD_ADDRESSES_H_
#define SHARDKV_OPERATOR_TESTING_LOOPBACK_POD_ADDRESSES_H_

#include <map>
#include <mutex>
#include <string>

#include "operator/backend/pod_addresses.h"

namespace shardkv::op::testing {

class LoopbackPodAddresses final : public PodAddresses {
 public:
  LoopbackPodAddresses();
  std::string Address(const ShardedKV& kv, const std::string& set_name,
                      int ordinal) const override;
  // The same for a pod named "<set>-<ordinal>" of namespace `ns`.
  std::string PodAddress(const std::string& ns,
                         const std::string& pod_name) const;
  int port() const { return port_; }

 private:
  std::string AddressOf(const std::string& ns, const std::string& set_name,
                        int ordinal) const;

  int port_;
  mutable std::mutex mu_;
  mutable std::map<std::string, int> set_index_;  // GUARDED_BY(mu_)
};

}  // namespace shardkv::op::testing

#endif  // SHARDKV_OPERATOR_TESTING_LOOPBACK_POD_ADDRESSES_H_
