#include "operator/kube/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "operator/kube/client.h"

namespace shardkv::kube {
namespace {

namespace fs = std::filesystem;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/kubeconfig-test-XXXXXX";
    dir_ = mkdtemp(pattern);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << text;
    return path;
  }

  std::string dir_;
};

std::string Base64(const std::string& text) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < text.size(); i += 3) {
    uint32_t chunk = static_cast<uint8_t>(text[i]) << 16;
    if (i + 1 < text.size()) chunk |= static_cast<uint8_t>(text[i + 1]) << 8;
    if (i + 2 < text.size()) chunk |= static_cast<uint8_t>(text[i + 2]);
    out += kAlphabet[(chunk >> 18) & 63];
    out += kAlphabet[(chunk >> 12) & 63];
    out += i + 1 < text.size() ? kAlphabet[(chunk >> 6) & 63] : '=';
    out += i + 2 < text.size() ? kAlphabet[chunk & 63] : '=';
  }
  return out;
}

TEST_F(ConfigTest, InlineDataAndCurrentContext) {
  const std::string path = Write("config", R"(apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: dev
  cluster: {server: "https://dev:6443"}
- name: prod
  cluster:
    server: https://prod.example:6443/
    certificate-authority-data: )" + Base64("CA PEM") +
                                               R"(
users:
- name: admin
  user:
    client-certificate-data: )" + Base64("CERT PEM") +
                                               R"(
    client-key-data: )" + Base64("KEY PEM") + R"(
contexts:
- name: dev
  context: {cluster: dev, user: admin}
- name: prod
  context: {cluster: prod, user: admin, namespace: shop}
)");
  StatusOr<KubeConfig> config = LoadKubeconfig(path);
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->server, "https://prod.example:6443");
  EXPECT_EQ(config->ca_pem, "CA PEM");
  EXPECT_EQ(config->client_cert_pem, "CERT PEM");
  EXPECT_EQ(config->client_key_pem, "KEY PEM");
  EXPECT_EQ(config->default_namespace, "shop");

  StatusOr<KubeConfig> dev = LoadKubeconfig(path, "dev");
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ(dev->server, "https://dev:6443");
  EXPECT_EQ(dev->default_namespace, "default");
  EXPECT_EQ(LoadKubeconfig(path, "staging").status().code(), Code::kNotFound);
}

TEST_F(ConfigTest, FilePathsAreRelativeToTheKubeconfig) {
  Write("pki/ca.crt", "CA FROM FILE");
  Write("tok", "secret-token\n");
  const std::string path = Write("config", R"(current-context: c
clusters:
- name: k
  cluster: {server: "https://127.0.0.1:1", certificate-authority: pki/ca.crt}
users:
- name: u
  user: {tokenFile: tok}
contexts:
- name: c
  context: {cluster: k, user: u}
)");
  StatusOr<KubeConfig> config = LoadKubeconfig(path);
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->ca_pem, "CA FROM FILE");
  EXPECT_EQ(*CurrentToken(*config), "secret-token");
  // Rotated tokens are picked up: the file is read per request.
  Write("tok", "rotated\n");
  EXPECT_EQ(*CurrentToken(*config), "rotated");
}

TEST_F(ConfigTest, BadKubeconfigsGetClearErrors) {
  EXPECT_EQ(LoadKubeconfig(dir_ + "/missing").status().code(), Code::kNotFound);
  EXPECT_EQ(LoadKubeconfig(Write("bad", "clusters: [oops")).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(LoadKubeconfig(Write("list", "- a\n- b\n")).status().code(),
            Code::kInvalidArgument);
  const std::string exec = Write("exec", R"(current-context: c
clusters: [{name: k, cluster: {server: "https://x"}}]
users: [{name: u, user: {exec: {command: gcloud}}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)");
  StatusOr<KubeConfig> refused = LoadKubeconfig(exec);
  EXPECT_EQ(refused.status().code(), Code::kUnimplemented);
  EXPECT_NE(refused.status().message().find("exec"), std::string::npos);
  const std::string half = Write("half", R"(current-context: c
clusters: [{name: k, cluster: {server: "https://x"}}]
users: [{name: u, user: {client-certificate-data: )" +
                                             Base64("C") + R"(}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)");
  EXPECT_EQ(LoadKubeconfig(half).status().code(), Code::kInvalidArgument);
  const std::string no_server = Write("noserver", R"(current-context: c
clusters: [{name: k, cluster: {}}]
contexts: [{name: c, context: {cluster: k}}]
)");
  EXPECT_EQ(LoadKubeconfig(no_server).status().code(), Code::kInvalidArgument);
}

TEST_F(ConfigTest, InClusterReadsTheServiceAccountFiles) {
  InClusterSource source;
  EXPECT_EQ(LoadInClusterConfig(source).status().code(),
            Code::kFailedPrecondition);
  source.host = "fd00::1";
  source.port = "443";
  source.secrets_dir = dir_ + "/sa";
  EXPECT_EQ(LoadInClusterConfig(source).status().code(), Code::kNotFound);
  Write("sa/token", "pod-token\n");
  Write("sa/ca.crt", "CLUSTER CA");
  Write("sa/namespace", "shardkv-system\n");
  StatusOr<KubeConfig> config = LoadInClusterConfig(source);
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->server, "https://[fd00::1]:443");
  EXPECT_EQ(config->ca_pem, "CLUSTER CA");
  EXPECT_EQ(config->default_namespace, "shardkv-system");
  EXPECT_EQ(*CurrentToken(*config), "pod-token");
}

TEST(ResourcePathTest, CoreGroupsNamespacesAndSubresources) {
  const Resource pods{"", "v1", "pods", true};
  const Resource skv{"shardkv.io", "v1alpha1", "shardedkvs", true};
  const Resource nodes{"", "v1", "nodes", false};
  EXPECT_EQ(ResourcePath(pods, "ns"), "/api/v1/namespaces/ns/pods");
  EXPECT_EQ(ResourcePath(pods, ""), "/api/v1/pods");
  EXPECT_EQ(ResourcePath(skv, "a", "demo", "status"),
            "/apis/shardkv.io/v1alpha1/namespaces/a/shardedkvs/demo/status");
  EXPECT_EQ(ResourcePath(nodes, "ignored", "n1"), "/api/v1/nodes/n1");
}

TEST(ResourcePathTest, HttpErrorsMapToCodes) {
  EXPECT_EQ(CodeForHttpStatus(409, "AlreadyExists"), Code::kAlreadyExists);
  EXPECT_EQ(CodeForHttpStatus(409, "Conflict"), Code::kAborted);
  EXPECT_EQ(CodeForHttpStatus(410, "Expired"), Code::kOutOfRange);
  EXPECT_EQ(CodeForHttpStatus(422, "Invalid"), Code::kInvalidArgument);
  EXPECT_EQ(CodeForHttpStatus(403, "Forbidden"), Code::kPermissionDenied);
  EXPECT_EQ(CodeForHttpStatus(503, ""), Code::kUnavailable);
}

TEST(KubeClientCreateTest, RefusesAServerThatIsNotAUrl) {
  KubeConfig config;
  config.server = "127.0.0.1:6443";
  EXPECT_EQ(KubeClient::Create(config).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace shardkv::kube
