// shardkv::op::IdentityRecord — the Raft identities of one shard's pods,
// as kept in the data of its ConfigMap "<set>-identity" (scheme in
// kube_infrastructure.h). Keys:
//   replica-<ordinal>  Raft id of the pod with that ordinal
//   fresh              space-separated ids that may start on an empty disk
//   incarnation        token of this shard's creation
//   wipe-<ordinal>     a replacement that has yet to delete the old disk
//                      and pod of that ordinal (the new id)
//
// Thread-safety: a plain value; the functions are pure.
#ifndef SHARDKV_OPERATOR_BACKEND_IDENTITY_RECORD_H_
#define SHARDKV_OPERATOR_BACKEND_IDENTITY_RECORD_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "common/status.h"
#include "operator/shardedkv.h"

namespace shardkv::op {

struct IdentityRecord {
  std::map<int, uint64_t> ids;  // ordinal -> Raft id
  std::set<uint64_t> fresh;
  std::string incarnation;
  std::map<int, uint64_t> wipes;  // ordinal -> the new id

  // The initial record of a shard of `replicas` pods: ids ordinal + 1, all
  // fresh.
  static IdentityRecord Initial(int replicas, std::string incarnation);

  std::optional<int> OrdinalOf(uint64_t id) const;
  // ConfigMap "data".
  Json ToData() const;
};

// Reads a ConfigMap's "data"; INVALID_ARGUMENT naming the bad key.
StatusOr<IdentityRecord> ParseIdentityRecord(const Json& data);

}  // namespace shardkv::op

#endif  // SHARDKV_OPERATOR_BACKEND_IDENTITY_RECORD_H_
