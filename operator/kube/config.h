// Where the Kubernetes API server is and how to authenticate to it: from the
// pod's service account (in-cluster) or from a kubeconfig file.
//
// Thread-safety: KubeConfig is a plain value; the loaders are stateless.
// Invariants of a loaded config: `server` is an https:// (or http://) URL
// without a trailing slash; credentials are PEM text, never file names, so a
// config stays valid if the files move (token files excepted: service-account
// tokens rotate, so the client re-reads `token_file` on every request).
#ifndef SHARDKV_OPERATOR_KUBE_CONFIG_H_
#define SHARDKV_OPERATOR_KUBE_CONFIG_H_

#include <string>

#include "common/status.h"

namespace shardkv::kube {

struct KubeConfig {
  std::string server;  // "https://10.0.0.1:443"
  std::string ca_pem;  // empty: the system trust store
  bool insecure_skip_verify = false;
  std::string client_cert_pem;  // client certificate authentication
  std::string client_key_pem;
  std::string token;       // bearer token given inline
  std::string token_file;  // bearer token re-read per request (rotation)
  std::string default_namespace = "default";
};

// The service-account files and environment a pod sees; tests point these
// at a temporary directory.
struct InClusterSource {
  std::string host;  // $KUBERNETES_SERVICE_HOST
  std::string port;  // $KUBERNETES_SERVICE_PORT
  std::string secrets_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
};

// InClusterSource from the process environment.
InClusterSource InClusterFromEnvironment();

// Token, CA and namespace from the service-account directory. Fails with
// FAILED_PRECONDITION when not running in a pod (no host/port).
StatusOr<KubeConfig> LoadInClusterConfig(const InClusterSource& source);

// The current context (or `context` when not empty) of a kubeconfig file.
// Supports certificate-authority(-data), client-certificate(-data),
// client-key(-data), token, tokenFile and insecure-skip-tls-verify; exec and
// auth-provider plugins are refused with UNIMPLEMENTED. Relative file paths
// are taken relative to the kubeconfig's directory, as kubectl does.
StatusOr<KubeConfig> LoadKubeconfig(const std::string& path,
                                    const std::string& context = "");

// In-cluster when running in a pod, else $KUBECONFIG, else ~/.kube/config.
StatusOr<KubeConfig> LoadDefaultConfig();

// The bearer token to send now ("" for none): `token`, or the current
// content of `token_file`.
StatusOr<std::string> CurrentToken(const KubeConfig& config);

}  // namespace shardkv::kube

#endif  // SHARDKV_OPERATOR_KUBE_CONFIG_H_
