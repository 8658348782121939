#include "operator/kube/config.h"

#include <cpprest/asyncrt_utils.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace shardkv::kube {
namespace {

namespace fs = std::filesystem;

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string TrimTrailingSpace(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' ||
                        s.back() == ' ' || s.back() == '\t')) {
    s.pop_back();
  }
  return s;
}

StatusOr<std::string> DecodeBase64(const std::string& field,
                                   const std::string& text) {
  try {
    std::vector<unsigned char> bytes = utility::conversions::from_base64(text);
    return std::string(bytes.begin(), bytes.end());
  } catch (const std::exception& e) {
    return InvalidArgument("kubeconfig: " + field +
                           " is not base64: " + e.what());
  }
}

// The value of `data_key` (base64) or the file named by `file_key`.
StatusOr<std::string> InlineOrFile(const YAML::Node& node,
                                   const std::string& data_key,
                                   const std::string& file_key,
                                   const fs::path& base_dir) {
  if (node[data_key]) {
    return DecodeBase64(data_key, node[data_key].as<std::string>());
  }
  if (node[file_key]) {
    fs::path file = node[file_key].as<std::string>();
    if (file.is_relative()) file = base_dir / file;
    return ReadFile(file.string());
  }
  return std::string();
}

// The entry of list `list` (clusters, users, contexts) named `name`.
StatusOr<YAML::Node> Named(const YAML::Node& root, const std::string& list,
                           const std::string& field, const std::string& name) {
  for (const YAML::Node& entry : root[list]) {
    if (entry["name"] && entry["name"].as<std::string>() == name) {
      if (!entry[field]) return YAML::Node(YAML::NodeType::Map);
      return entry[field];
    }
  }
  return NotFound("kubeconfig: no " + field + " named '" + name + "'");
}

StatusOr<KubeConfig> FromKubeconfigYaml(const YAML::Node& root,
                                        const std::string& wanted_context,
                                        const fs::path& base_dir) {
  std::string context_name = wanted_context;
  if (context_name.empty() && root["current-context"]) {
    context_name = root["current-context"].as<std::string>();
  }
  if (context_name.empty()) {
    return InvalidArgument("kubeconfig: no current-context and none given");
  }
  StatusOr<YAML::Node> context =
      Named(root, "contexts", "context", context_name);
  if (!context.ok()) return context.status();
  KubeConfig config;
  if ((*context)["namespace"]) {
    config.default_namespace = (*context)["namespace"].as<std::string>();
  }
  const std::string cluster_name = (*context)["cluster"].as<std::string>("");
  StatusOr<YAML::Node> cluster =
      Named(root, "clusters", "cluster", cluster_name);
  if (!cluster.ok()) return cluster.status();
  config.server = (*cluster)["server"].as<std::string>("");
  while (!config.server.empty() && config.server.back() == '/') {
    config.server.pop_back();
  }
  if (config.server.empty()) {
    return InvalidArgument("kubeconfig: cluster '" + cluster_name +
                           "' has no server");
  }
  config.insecure_skip_verify =
      (*cluster)["insecure-skip-tls-verify"].as<bool>(false);
  StatusOr<std::string> ca =
      InlineOrFile(*cluster, "certificate-authority-data",
                   "certificate-authority", base_dir);
  if (!ca.ok()) return ca.status();
  config.ca_pem = *ca;

  const std::string user_name = (*context)["user"].as<std::string>("");
  if (user_name.empty()) return config;
  StatusOr<YAML::Node> user = Named(root, "users", "user", user_name);
  if (!user.ok()) return user.status();
  if ((*user)["exec"] || (*user)["auth-provider"]) {
    return Status(Code::kUnimplemented,
                  "kubeconfig: user '" + user_name +
                      "' uses an exec or auth-provider plugin; give a "
                      "token or client certificate instead");
  }
  StatusOr<std::string> cert = InlineOrFile(*user, "client-certificate-data",
                                            "client-certificate", base_dir);
  if (!cert.ok()) return cert.status();
  StatusOr<std::string> key =
      InlineOrFile(*user, "client-key-data", "client-key", base_dir);
  if (!key.ok()) return key.status();
  if (cert->empty() != key->empty()) {
    return InvalidArgument("kubeconfig: user '" + user_name +
                           "' has a client certificate or key, not both");
  }
  config.client_cert_pem = *cert;
  config.client_key_pem = *key;
  config.token = (*user)["token"].as<std::string>("");
  if ((*user)["tokenFile"]) {
    fs::path file = (*user)["tokenFile"].as<std::string>();
    if (file.is_relative()) file = base_dir / file;
    config.token_file = file.string();
  }
  return config;
}

std::string GetEnv(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

}  // namespace

InClusterSource InClusterFromEnvironment() {
  InClusterSource source;
  source.host = GetEnv("KUBERNETES_SERVICE_HOST");
  source.port = GetEnv("KUBERNETES_SERVICE_PORT");
  return source;
}

StatusOr<KubeConfig> LoadInClusterConfig(const InClusterSource& source) {
  if (source.host.empty() || source.port.empty()) {
    return FailedPrecondition(
        "not in a pod: KUBERNETES_SERVICE_HOST/PORT are not set");
  }
  KubeConfig config;
  // An IPv6 service address needs brackets in a URL.
  const bool ipv6 = source.host.find(':') != std::string::npos;
  config.server = "https://" + (ipv6 ? "[" + source.host + "]" : source.host) +
                  ":" + source.port;
  config.token_file = source.secrets_dir + "/token";
  StatusOr<std::string> token = ReadFile(config.token_file);
  if (!token.ok()) return token.status();
  StatusOr<std::string> ca = ReadFile(source.secrets_dir + "/ca.crt");
  if (!ca.ok()) return ca.status();
  config.ca_pem = *ca;
  StatusOr<std::string> ns = ReadFile(source.secrets_dir + "/namespace");
  if (ns.ok() && !TrimTrailingSpace(*ns).empty()) {
    config.default_namespace = TrimTrailingSpace(*ns);
  }
  return config;
}

StatusOr<KubeConfig> LoadKubeconfig(const std::string& path,
                                    const std::string& context) {
  StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  try {
    YAML::Node root = YAML::Load(*text);
    if (!root.IsMap()) {
      return InvalidArgument("kubeconfig " + path + " is not a YAML mapping");
    }
    return FromKubeconfigYaml(root, context, fs::absolute(path).parent_path());
  } catch (const YAML::Exception& e) {
    return InvalidArgument("kubeconfig " + path + ": " + e.what());
  }
}

StatusOr<KubeConfig> LoadDefaultConfig() {
  InClusterSource in_cluster = InClusterFromEnvironment();
  if (!in_cluster.host.empty()) return LoadInClusterConfig(in_cluster);
  std::string path = GetEnv("KUBECONFIG");
  // Like kubectl, the first file of a KUBECONFIG list.
  if (size_t colon = path.find(':'); colon != std::string::npos) {
    path = path.substr(0, colon);
  }
  if (path.empty()) path = GetEnv("HOME") + "/.kube/config";
  return LoadKubeconfig(path);
}

StatusOr<std::string> CurrentToken(const KubeConfig& config) {
  if (!config.token.empty() || config.token_file.empty()) return config.token;
  StatusOr<std::string> token = ReadFile(config.token_file);
  if (!token.ok()) return token.status();
  return TrimTrailingSpace(*token);
}

}  // namespace shardkv::kube
