#include "operator/desired_objects.h"

namespace shardkv::op {
namespace {

constexpr char kControllerRole[] = "controller";
constexpr char kShardRole[] = "shard";

Json Labels(const ShardedKV& kv, const std::string& role, int shard) {
  Json labels = {{"app.kubernetes.io/name", "shardkv"},
                 {"app.kubernetes.io/instance", kv.name},
                 {"app.kubernetes.io/managed-by", kFieldManager},
                 {kClusterLabel, kv.name},
                 {kRoleLabel, role}};
  if (shard >= 0) labels[kShardLabel] = std::to_string(shard);
  return labels;
}

// Labels that pick exactly one set's pods (a subset of Labels()).
Json SelectorLabels(const ShardedKV& kv, const std::string& role, int shard) {
  Json labels = {{kClusterLabel, kv.name}, {kRoleLabel, role}};
  if (shard >= 0) labels[kShardLabel] = std::to_string(shard);
  return labels;
}

Json Metadata(const ShardedKV& kv, const std::string& name,
              const Json& labels) {
  return {{"name", name},
          {"namespace", kv.ns},
          {"labels", labels},
          {"ownerReferences", Json::array({OwnerReference(kv)})}};
}

std::string PeerList(const ShardedKV& kv, const std::string& set_name,
                     int replicas) {
  std::string peers;
  for (int i = 0; i < replicas; ++i) {
    if (!peers.empty()) peers += ",";
    peers += std::to_string(i + 1) + "=" + PodAddress(kv, set_name, i);
  }
  return peers;
}

std::string ControllerAddresses(const ShardedKV& kv) {
  std::string addresses;
  for (int i = 0; i < kv.controller_replicas; ++i) {
    if (!addresses.empty()) addresses += ",";
    addresses += PodAddress(kv, ControllerSetName(kv), i);
  }
  return addresses;
}

// The node's command line. The Raft id comes from the pod's ordinal, known
// only inside the pod, hence the shell.
std::string NodeScript(const ShardedKV& kv, const std::string& set_name,
                       const std::string& role_flags, int replicas) {
  const std::string port = std::to_string(kNodePort);
  return "set -e\nordinal=\"${POD_NAME##*-}\"\nexec shardkv-node"
         " --id \"$((ordinal + 1))\" " +
         role_flags + " --listen 0.0.0.0:" + port +
         " --advertise \"${POD_NAME}." + set_name + "." + kv.ns +
         ".svc:" + port + "\" --peers '" + PeerList(kv, set_name, replicas) +
         "' --data-dir " + kDataPath + "/data --cluster-id '" + kv.ns + "." +
         kv.name + "'\n";
}

Json NodeContainer(const ShardedKV& kv, const std::string& image,
                   const std::string& script) {
  Json env = Json::array(
      {{{"name", "POD_NAME"},
        {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.name"}}}}}}});
  for (const Json& extra : kv.pod_template.value("env", Json::array())) {
    env.push_back(extra);
  }
  Json container = {
      {"name", "node"},
      {"image", kv.image.empty() ? image : kv.image},
      {"command", {"/bin/sh", "-c", script}},
      {"env", env},
      {"ports", {{{"name", "grpc"}, {"containerPort", kNodePort}}}},
      {"volumeMounts", {{{"name", kDataVolume}, {"mountPath", kDataPath}}}},
      // Ready = serving (the node answers gRPC health once it is in a group
      // with a leader and caught up); alive = the port is open.
      {"readinessProbe",
       {{"grpc", {{"port", kNodePort}}}, {"periodSeconds", 5}}},
      {"livenessProbe",
       {{"tcpSocket", {{"port", kNodePort}}},
        {"periodSeconds", 10},
        {"failureThreshold", 6}}},
      {"securityContext",
       {{"allowPrivilegeEscalation", false},
        {"capabilities", {{"drop", {"ALL"}}}}}}};
  if (!kv.image_pull_policy.empty()) {
    container["imagePullPolicy"] = kv.image_pull_policy;
  }
  if (!kv.resources.empty()) container["resources"] = kv.resources;
  return container;
}

Json PodTemplate(const ShardedKV& kv, const Json& labels, Json container) {
  const Json overrides = kv.pod_template;
  Json meta = overrides.value("metadata", Json::object());
  Json pod_labels = meta.value("labels", Json::object());
  pod_labels.update(labels);  // ours win: selectors depend on them
  Json metadata = {{"labels", pod_labels}};
  if (meta.contains("annotations"))
    metadata["annotations"] = meta["annotations"];
  Json spec = {{"containers", Json::array({std::move(container)})},
               {"securityContext",
                {{"runAsNonRoot", true},
                 {"runAsUser", 65532},
                 {"fsGroup", 65532},
                 {"seccompProfile", {{"type", "RuntimeDefault"}}}}}};
  for (const char* key :
       {"nodeSelector", "tolerations", "affinity", "topologySpreadConstraints",
        "priorityClassName", "serviceAccountName"}) {
    if (overrides.contains(key)) spec[key] = overrides[key];
  }
  return {{"metadata", metadata}, {"spec", spec}};
}

Json StatefulSet(const ShardedKV& kv, const std::string& name,
                 const std::string& role, int shard, int replicas,
                 Json container) {
  Json claim_spec = {
      {"accessModes", {"ReadWriteOnce"}},
      {"resources", {{"requests", {{"storage", kv.storage_size}}}}}};
  if (!kv.storage_class.empty()) {
    claim_spec["storageClassName"] = kv.storage_class;
  }
  const Json labels = Labels(kv, role, shard);
  return {{"apiVersion", "apps/v1"},
          {"kind", "StatefulSet"},
          {"metadata", Metadata(kv, name, labels)},
          {"spec",
           {{"serviceName", name},
            {"replicas", replicas},
            {"podManagementPolicy", "Parallel"},
            {"updateStrategy", {{"type", "OnDelete"}}},
            {"persistentVolumeClaimRetentionPolicy",
             {{"whenDeleted", "Retain"}, {"whenScaled", "Retain"}}},
            {"selector", {{"matchLabels", SelectorLabels(kv, role, shard)}}},
            {"template", PodTemplate(kv, labels, std::move(container))},
            {"volumeClaimTemplates",
             {{{"metadata", {{"name", kDataVolume}, {"labels", labels}}},
               {"spec", claim_spec}}}}}}};
}

Json HeadlessService(const ShardedKV& kv, const std::string& name,
                     const std::string& role, int shard) {
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", Metadata(kv, name, Labels(kv, role, shard))},
          {"spec",
           {{"clusterIP", "None"},
            {"publishNotReadyAddresses", true},
            {"selector", SelectorLabels(kv, role, shard)},
            {"ports",
             {{{"name", "grpc"},
               {"port", kNodePort},
               {"targetPort", kNodePort}}}}}}};
}

}  // namespace

std::string ControllerSetName(const ShardedKV& kv) {
  return kv.name + "-controller";
}

std::string ShardSetName(const ShardedKV& kv, int shard) {
  return kv.name + "-shard-" + std::to_string(shard);
}

std::string ClientServiceName(const ShardedKV& kv) {
  return kv.name + "-client";
}

std::string PodAddress(const ShardedKV& kv, const std::string& set_name,
                       int ordinal) {
  return set_name + "-" + std::to_string(ordinal) + "." + set_name + "." +
         kv.ns + ".svc:" + std::to_string(kNodePort);
}

std::string NodeSelector(const ShardedKV& kv) {
  return std::string(kClusterLabel) + "=" + kv.name;
}

Json OwnerReference(const ShardedKV& kv) {
  return {{"apiVersion", kApiVersion}, {"kind", kKind},
          {"name", kv.name},           {"uid", kv.uid},
          {"controller", true},        {"blockOwnerDeletion", true}};
}

Json ControllerStatefulSet(const ShardedKV& kv,
                           const std::string& default_image) {
  const std::string name = ControllerSetName(kv);
  const std::string flags =
      "--role controller --slot-count " + std::to_string(kv.slot_count);
  return StatefulSet(
      kv, name, kControllerRole, -1, kv.controller_replicas,
      NodeContainer(kv, default_image,
                    NodeScript(kv, name, flags, kv.controller_replicas)));
}

Json ControllerService(const ShardedKV& kv) {
  return HeadlessService(kv, ControllerSetName(kv), kControllerRole, -1);
}

Json ShardStatefulSet(const ShardedKV& kv, int shard,
                      const std::string& default_image) {
  const std::string name = ShardSetName(kv, shard);
  const std::string flags = "--role shard --shard-id " + std::to_string(shard) +
                            " --controller " + ControllerAddresses(kv);
  return StatefulSet(
      kv, name, kShardRole, shard, kv.replicas_per_shard,
      NodeContainer(kv, default_image,
                    NodeScript(kv, name, flags, kv.replicas_per_shard)));
}

Json ShardService(const ShardedKV& kv, int shard) {
  return HeadlessService(kv, ShardSetName(kv, shard), kShardRole, shard);
}

Json ShardDisruptionBudget(const ShardedKV& kv, int shard) {
  const std::string name = ShardSetName(kv, shard);
  return {{"apiVersion", "policy/v1"},
          {"kind", "PodDisruptionBudget"},
          {"metadata", Metadata(kv, name, Labels(kv, kShardRole, shard))},
          {"spec",
           {{"maxUnavailable", 1},
            {"selector",
             {{"matchLabels", SelectorLabels(kv, kShardRole, shard)}}}}}};
}

Json ClientService(const ShardedKV& kv) {
  const std::string name = ClientServiceName(kv);
  // Any node answers the first call (it redirects to the owner of a key or
  // to the controller for the slot map).
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", Metadata(kv, name, Labels(kv, "client", -1))},
          {"spec",
           {{"type", "ClusterIP"},
            {"selector", {{kClusterLabel, kv.name}}},
            {"ports",
             {{{"name", "grpc"},
               {"port", kNodePort},
               {"targetPort", kNodePort}}}}}}};
}

std::vector<Json> DesiredObjects(const ShardedKV& kv,
                                 const std::string& default_image) {
  std::vector<Json> objects = {ControllerService(kv),
                               ControllerStatefulSet(kv, default_image),
                               ClientService(kv)};
  for (int shard = 0; shard < kv.shards; ++shard) {
    objects.push_back(ShardService(kv, shard));
    objects.push_back(ShardStatefulSet(kv, shard, default_image));
    objects.push_back(ShardDisruptionBudget(kv, shard));
  }
  return objects;
}

}  // namespace shardkv::op
