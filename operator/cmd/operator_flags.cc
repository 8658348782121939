#include "operator/cmd/operator_flags.h"

#include "client/cli/flags.h"

namespace shardkv::op {

const char kOperatorUsage[] =
    "Usage: shardkv-operator [flags]\n"
    "\n"
    "Runs the shardkv Kubernetes operator: reconciles ShardedKV resources\n"
    "(shardkv.io/v1alpha1) into StatefulSets, Services and\n"
    "PodDisruptionBudgets and runs their scaling, replacement and upgrade\n"
    "workflows. SIGTERM or SIGINT stops it cleanly: a running workflow stops\n"
    "at its next step and the next leader resumes it.\n"
    "\n"
    "Flags:\n"
    "  --kubeconfig PATH       kubeconfig file; default: the pod's service\n"
    "                          account when in a cluster, else $KUBECONFIG,\n"
    "                          else ~/.kube/config\n"
    "  --namespace NS          watch only namespace NS (default: all)\n"
    "  --image IMAGE           node image of clusters whose spec.image is\n"
    "                          empty (default shardkv:dev); alias\n"
    "                          --default-image\n"
    "  --leader-elect          elect one leader among operator replicas\n"
    "                          through a coordination.k8s.io Lease\n"
    "  --lease-name NAME       the Lease's name (default shardkv-operator)\n"
    "  --lease-namespace NS    the Lease's namespace (default: "
    "$POD_NAMESPACE,\n"
    "                          else default)\n"
    "  --identity ID           this replica's name in the Lease and in Events\n"
    "                          (default: $POD_NAME, else the hostname)\n"
    "  --health-addr HOST:PORT serve /healthz and /readyz over HTTP\n"
    "  --help                  show this text\n";

StatusOr<OperatorFlags> ParseOperatorFlags(const std::vector<std::string>& args,
                                           const OperatorEnvironment& env) {
  const std::vector<cli::FlagSpec> specs = {{"kubeconfig"},
                                            {"namespace"},
                                            {"image"},
                                            {"default-image"},
                                            {"leader-elect", false},
                                            {"lease-name"},
                                            {"lease-namespace"},
                                            {"identity"},
                                            {"health-addr"},
                                            {"help", false, 'h'}};
  auto parsed = cli::ParseFlags(args, specs);
  if (!parsed.ok()) {
    return InvalidArgument(parsed.status().message() +
                           " (see shardkv-operator --help)");
  }
  if (parsed->Has("help")) return NotFound(kOperatorUsage);
  if (!parsed->positional.empty()) {
    return InvalidArgument("unexpected argument '" + parsed->positional[0] +
                           "' (see shardkv-operator --help)");
  }
  if (parsed->Has("image") && parsed->Has("default-image")) {
    return InvalidArgument("give --image or --default-image, not both");
  }
  OperatorFlags flags;
  flags.kubeconfig = parsed->Get("kubeconfig").value_or("");
  flags.watch_namespace = parsed->Get("namespace").value_or("");
  flags.default_image = parsed->Get("image").value_or(
      parsed->Get("default-image").value_or(flags.default_image));
  if (flags.default_image.empty()) {
    return InvalidArgument("--image must not be empty");
  }
  flags.leader_elect = parsed->Has("leader-elect");
  flags.lease_name = parsed->Get("lease-name").value_or(flags.lease_name);
  flags.lease_namespace =
      parsed->Get("lease-namespace")
          .value_or(env.pod_namespace.empty() ? "default" : env.pod_namespace);
  if (flags.leader_elect &&
      (flags.lease_name.empty() || flags.lease_namespace.empty())) {
    return InvalidArgument(
        "--leader-elect needs a non-empty --lease-name "
        "and --lease-namespace");
  }
  flags.identity =
      parsed->Get("identity")
          .value_or(env.pod_name.empty() ? env.hostname : env.pod_name);
  if (flags.identity.empty()) {
    return InvalidArgument("no --identity given and no hostname known");
  }
  flags.health_addr = parsed->Get("health-addr").value_or("");
  if (!flags.health_addr.empty() &&
      flags.health_addr.rfind(':') == std::string::npos) {
    return InvalidArgument("--health-addr '" + flags.health_addr +
                           "' is not HOST:PORT");
  }
  return flags;
}

}  // namespace shardkv::op
