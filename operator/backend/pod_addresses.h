// shardkv::op::PodAddresses — where one pod of a StatefulSet is reached
// (host:port), as its peers, the controller and the operator dial it.
//
// In a cluster this is the pod's stable DNS name behind the set's headless
// Service (DnsPodAddresses). Tests that play the kubelet on one machine
// inject an implementation that gives every pod its own loopback address
// (operator/testing/loopback_pod_addresses.h); the same object must be
// given to everything that computes or dials addresses (desired objects,
// KubeInfrastructure, the kubelet simulator).
//
// Thread-safety: implementations must be callable from any thread; an
// address never changes for a given (cluster, set, ordinal).
#ifndef SHARDKV_OPERATOR_BACKEND_POD_ADDRESSES_H_
#define SHARDKV_OPERATOR_BACKEND_POD_ADDRESSES_H_

#include <string>

#include "operator/shardedkv.h"

namespace shardkv::op {

class PodAddresses {
 public:
  virtual ~PodAddresses() = default;
  // "host:port" of pod `ordinal` of StatefulSet `set_name` of `kv`.
  virtual std::string Address(const ShardedKV& kv, const std::string& set_name,
                              int ordinal) const = 0;
};

// "<set>-<ordinal>.<set>.<namespace>.svc:7001" (PodAddress() of
// desired_objects.h): what a real cluster uses.
class DnsPodAddresses final : public PodAddresses {
 public:
  std::string Address(const ShardedKV& kv, const std::string& set_name,
                      int ordinal) const override;
};

}  // namespace shardkv::op

#endif  // SHARDKV_OPERATOR_BACKEND_POD_ADDRESSES_H_
