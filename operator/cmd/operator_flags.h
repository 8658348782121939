// The shardkv-operator command line: flags -> OperatorOptions (plus where
// to serve health). Pure: the environment (POD_NAME, POD_NAMESPACE,
// hostname) comes in as arguments, so every rule is unit-tested.
//
// Thread-safety: pure functions.
#ifndef SHARDKV_OPERATOR_CMD_OPERATOR_FLAGS_H_
#define SHARDKV_OPERATOR_CMD_OPERATOR_FLAGS_H_

#include <string>
#include <vector>

#include "common/status.h"

namespace shardkv::op {

struct OperatorFlags {
  std::string kubeconfig;       // empty: in-cluster, else $KUBECONFIG/~/.kube
  std::string watch_namespace;  // empty: every namespace
  std::string default_image = "shardkv:dev";
  bool leader_elect = false;
  std::string lease_name = "shardkv-operator";
  std::string lease_namespace;
  std::string identity;
  std::string health_addr;  // "host:port"; empty: no health server
};

struct OperatorEnvironment {
  std::string pod_name;       // $POD_NAME
  std::string pod_namespace;  // $POD_NAMESPACE
  std::string hostname;
};

extern const char kOperatorUsage[];

// NOT_FOUND carrying the usage text for --help (print it, exit 0);
// INVALID_ARGUMENT with a clear message for bad flags.
StatusOr<OperatorFlags> ParseOperatorFlags(const std::vector<std::string>& args,
                                           const OperatorEnvironment& env);

}  // namespace shardkv::op

#endif  // SHARDKV_OPERATOR_CMD_OPERATOR_FLAGS_H_
