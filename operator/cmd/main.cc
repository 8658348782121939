// shardkv-operator: the Kubernetes operator of shardkv (operator/operator.h)
// as a process: flags, kube config, optional health endpoints, and a clean
// stop on SIGTERM/SIGINT (workflows pause at their next step, the Lease is
// released, a standby takes over at once).
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/log.h"
#include "operator/backend/pod_addresses.h"
#include "operator/cmd/health_server.h"
#include "operator/cmd/operator_flags.h"
#include "operator/kube/config.h"
#include "operator/kube_cluster_backend.h"
#include "operator/operator.h"

namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

std::string Hostname() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "";
  return name;
}

int Fail(const std::string& message, int code) {
  std::fprintf(stderr, "shardkv-operator: %s\n", message.c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace shardkv;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto flags = op::ParseOperatorFlags(
      args, {Env("POD_NAME"), Env("POD_NAMESPACE"), Hostname()});
  if (!flags.ok()) {
    if (flags.status().code() == Code::kNotFound) {
      std::fputs(flags.status().message().c_str(), stdout);
      return 0;
    }
    return Fail(flags.status().message(), 2);
  }
  auto config = flags->kubeconfig.empty()
                    ? kube::LoadDefaultConfig()
                    : kube::LoadKubeconfig(flags->kubeconfig);
  if (!config.ok()) {
    return Fail("kube config: " + config.status().ToString(), 2);
  }

  // SIGTERM/SIGINT are taken synchronously by the main thread; every
  // thread started below inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  // The workflows' own client (StatefulSets, identities, status.workflow).
  auto backend_client = kube::KubeClient::Create(*config);
  if (!backend_client.ok()) {
    return Fail("kube client: " + backend_client.status().ToString(), 2);
  }
  op::DnsPodAddresses addresses;

  op::OperatorOptions options;
  options.backend_factory = op::KubeClusterBackendFactory(
      backend_client->get(), &addresses, flags->default_image);
  options.kube_config = *config;
  options.watch_namespace = flags->watch_namespace;
  options.default_image = flags->default_image;
  options.identity = flags->identity;
  options.leader_elect = flags->leader_elect;
  options.lease_name = flags->lease_name;
  options.lease_namespace = flags->lease_namespace;
  auto created = op::Operator::Create(options);
  if (!created.ok()) return Fail(created.status().ToString(), 2);
  std::unique_ptr<op::Operator> the_operator = std::move(*created);

  op::HealthServer health([&] { return the_operator->synced(); });
  if (!flags->health_addr.empty()) {
    Status serving = health.Start(flags->health_addr);
    if (!serving.ok()) return Fail(serving.ToString(), 1);
  }
  SHARDKV_LOG(kInfo) << "shardkv-operator " << flags->identity << " watching "
                     << (flags->watch_namespace.empty()
                             ? std::string("all namespaces")
                             : "namespace " + flags->watch_namespace)
                     << (flags->leader_elect ? ", leader election on" : "");
  Status started = the_operator->Start();
  if (!started.ok()) return Fail(started.ToString(), 1);

  int sig = 0;
  sigwait(&signals, &sig);
  SHARDKV_LOG(kInfo) << "received " << (sig == SIGTERM ? "SIGTERM" : "SIGINT")
                     << "; stopping";
  the_operator->Stop();
  health.Stop();
  SHARDKV_LOG(kInfo) << "stopped cleanly";
  return 0;
}
