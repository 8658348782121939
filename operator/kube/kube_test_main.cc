// main of the kube integration tests: one API server for all of them.
#include <gtest/gtest.h>

#include "operator/kube/api_server_env.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new shardkv::kube::ApiServerEnvironment);
  return RUN_ALL_TESTS();
}
