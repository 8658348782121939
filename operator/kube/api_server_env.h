// Test support: one real kube-apiserver + etcd for a whole test binary,
// started with e2e/apiserver.sh (which builds the binaries on first use, slow
// once per machine) and stopped at exit. Not a fake: tests talk to the real
// API server over TLS.
//
// Thread-safety: set up once by gtest before any test runs; read-only after.
#ifndef SHARDKV_OPERATOR_KUBE_API_SERVER_ENV_H_
#define SHARDKV_OPERATOR_KUBE_API_SERVER_ENV_H_

#include <gtest/gtest.h>

#include <string>

namespace shardkv::kube {

class ApiServerEnvironment : public ::testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override;

  // Valid after SetUp.
  static const std::string& kubeconfig();
  static const std::string& kubectl();  // kubectl of the same version
  static const std::string& dir();      // fixture state (pki/, logs)
  static const std::string& source_dir();
};

// Runs a shell command, returning its exit code; output goes to `output`.
int RunCommand(const std::string& command, std::string* output);

}  // namespace shardkv::kube

#endif  // SHARDKV_OPERATOR_KUBE_API_SERVER_ENV_H_
