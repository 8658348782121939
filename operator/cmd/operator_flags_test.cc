// ParseOperatorFlags: defaults, environment fallbacks, bad input.
#include "operator/cmd/operator_flags.h"

#include <gtest/gtest.h>

namespace shardkv::op {
namespace {

const OperatorEnvironment kPod{"shardkv-operator-abc", "shardkv-system",
                               "host1"};

TEST(OperatorFlagsTest, Defaults) {
  auto flags = ParseOperatorFlags({}, {"", "", "host1"});
  ASSERT_TRUE(flags.ok()) << flags.status().ToString();
  EXPECT_EQ(flags->kubeconfig, "");
  EXPECT_EQ(flags->watch_namespace, "");
  EXPECT_EQ(flags->default_image, "shardkv:dev");
  EXPECT_FALSE(flags->leader_elect);
  EXPECT_EQ(flags->lease_name, "shardkv-operator");
  EXPECT_EQ(flags->lease_namespace, "default");
  EXPECT_EQ(flags->identity, "host1");
  EXPECT_EQ(flags->health_addr, "");
}

TEST(OperatorFlagsTest, PodEnvironmentFillsIdentityAndLeaseNamespace) {
  auto flags = ParseOperatorFlags({"--leader-elect"}, kPod);
  ASSERT_TRUE(flags.ok());
  EXPECT_TRUE(flags->leader_elect);
  EXPECT_EQ(flags->identity, "shardkv-operator-abc");
  EXPECT_EQ(flags->lease_namespace, "shardkv-system");
}

TEST(OperatorFlagsTest, EveryFlag) {
  auto flags = ParseOperatorFlags(
      {"--kubeconfig", "/k", "--namespace=apps", "--image", "reg/shardkv:1",
       "--leader-elect", "--lease-name", "l", "--lease-namespace", "ops",
       "--identity", "me", "--health-addr", "0.0.0.0:8081"},
      kPod);
  ASSERT_TRUE(flags.ok()) << flags.status().ToString();
  EXPECT_EQ(flags->kubeconfig, "/k");
  EXPECT_EQ(flags->watch_namespace, "apps");
  EXPECT_EQ(flags->default_image, "reg/shardkv:1");
  EXPECT_EQ(flags->lease_name, "l");
  EXPECT_EQ(flags->lease_namespace, "ops");
  EXPECT_EQ(flags->identity, "me");
  EXPECT_EQ(flags->health_addr, "0.0.0.0:8081");
}

TEST(OperatorFlagsTest, DefaultImageIsAnAlias) {
  auto flags = ParseOperatorFlags({"--default-image=shardkv:2"}, kPod);
  ASSERT_TRUE(flags.ok());
  EXPECT_EQ(flags->default_image, "shardkv:2");
  auto both = ParseOperatorFlags({"--image=a", "--default-image=b"}, kPod);
  EXPECT_EQ(both.status().code(), Code::kInvalidArgument);
}

TEST(OperatorFlagsTest, HelpCarriesTheUsage) {
  auto help = ParseOperatorFlags({"--help"}, kPod);
  ASSERT_EQ(help.status().code(), Code::kNotFound);
  EXPECT_NE(help.status().message().find("--leader-elect"), std::string::npos);
  EXPECT_EQ(ParseOperatorFlags({"-h"}, kPod).status().code(), Code::kNotFound);
}

TEST(OperatorFlagsTest, BadInputIsAClearError) {
  struct Case {
    std::vector<std::string> args;
    std::string mentions;
  };
  const Case cases[] = {
      {{"--bogus"}, "bogus"},
      {{"--namespace"}, "namespace"},
      {{"extra"}, "extra"},
      {{"--image="}, "--image"},
      {{"--health-addr", "8081"}, "HOST:PORT"},
      {{"--leader-elect", "--lease-name="}, "--lease-name"},
  };
  for (const Case& c : cases) {
    auto flags = ParseOperatorFlags(c.args, kPod);
    EXPECT_EQ(flags.status().code(), Code::kInvalidArgument) << c.args[0];
    EXPECT_NE(flags.status().message().find(c.mentions), std::string::npos)
        << flags.status().message();
  }
  auto nameless = ParseOperatorFlags({}, {"", "", ""});
  EXPECT_EQ(nameless.status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace shardkv::op
