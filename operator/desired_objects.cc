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

// "1=host:port,2=...": the initial members, Raft id = ordinal + 1.
std::string PeerList(const ShardedKV& kv, const std::string& set_name,
                     int replicas, const PodAddresses& addresses) {
  std::string peers;
  for (int i = 0; i < replicas; ++i) {
    if (!peers.empty()) peers += ",";
    peers += std::to_string(i + 1) + "=" + addresses.Address(kv, set_name, i);
  }
  return peers;
}

std::string ControllerAddresses(const ShardedKV& kv,
                                const PodAddresses& addresses) {
  std::string list;
  for (int i = 0; i < kv.controller_replicas; ++i) {
    if (!list.empty()) list += ",";
    list += addresses.Address(kv, ControllerSetName(kv), i);
  }
  return list;
}

// Sets $ordinal and $address; the ordinal is known only inside the pod.
std::string AddressCase(const ShardedKV& kv, const std::string& set_name,
                        int replicas, const PodAddresses& addresses) {
  std::string script =
      "ordinal=\"${POD_NAME##*-}\"\n"
      "case \"$ordinal\" in\n";
  for (int i = 0; i < replicas; ++i) {
    script += std::to_string(i) + ") address='" +
              addresses.Address(kv, set_name, i) + "' ;;\n";
  }
  return script + "*) echo \"pod $POD_NAME: ordinal $ordinal is not in 0.." +
         std::to_string(replicas - 1) + "\" >&2; exit 1 ;;\nesac\n";
}

std::string ExecNode(const ShardedKV& kv, const std::string& id,
                     const std::string& flags) {
  return "exec shardkv-node --id " + id + " " + flags +
         " --listen \"${SHARDKV_LISTEN:-0.0.0.0:" + std::to_string(kNodePort) +
         "}\" --advertise \"$address\" --data-dir " + kDataPath +
         "/data --cluster-id '" + kv.ns + "." + kv.name + "'";
}

// A replica's command line: its identity from the group's identity record,
// checked against the one its data dir holds (see desired_objects.h).
// `adopt_unmarked`: a disk with data but no identity file, at an ordinal
// still running its initial id (ordinal + 1), is taken as that id's own
// (controller disks written before controller identity records existed;
// a replaced ordinal has another id and its old disk was deleted).
std::string IdentityScript(const ShardedKV& kv, const std::string& set_name,
                           int n, const std::string& role_flags,
                           const PodAddresses& addresses, bool adopt_unmarked) {
  const std::string identity = kIdentityPath;
  const std::string data = kDataPath;
  const std::string refuse = "echo \"refusing to start pod $POD_NAME: ";
  const std::string mark = "  mkdir -p " + data +
                           "\n"
                           "  echo \"$me\" > " +
                           data +
                           "/identity.new\n"
                           "  mv " +
                           data + "/identity.new " + data + "/identity\n";
  std::string unmarked = "  " + refuse +
                         "its disk has data but no identity file\" >&2\n"
                         "  exit 78\n";
  if (adopt_unmarked) {
    unmarked = "  if [ \"$id\" != \"$((ordinal + 1))\" ]; then\n  " + unmarked +
               "  fi\n" + mark;
  }
  return "set -e\n" + AddressCase(kv, set_name, n, addresses) +
         "record=" + identity + "\n" +
         "if [ ! -s \"$record/replica-$ordinal\" ] || "
         "[ ! -s \"$record/incarnation\" ]; then\n"
         "  echo \"pod $POD_NAME: no Raft identity for ordinal $ordinal in "
         "ConfigMap " +
         set_name +
         "-identity\" >&2; exit 1\nfi\n"
         "id=\"$(cat \"$record/replica-$ordinal\")\"\n"
         "me=\"$(cat \"$record/incarnation\") $id\"\n"
         "fresh=\" $(cat \"$record/fresh\" 2>/dev/null || true) \"\n"
         "if [ -f " +
         data +
         "/identity ]; then\n"
         "  held=\"$(cat " +
         data +
         "/identity)\"\n"
         "  if [ \"$held\" != \"$me\" ]; then\n"
         "    " +
         refuse +
         "its disk holds Raft identity '$held' but the pod "
         "is '$me'; a disk never comes back under another identity\" >&2\n"
         "    exit 78\n  fi\n"
         "elif [ -e " +
         data + "/data ]; then\n" + unmarked +
         "else\n"
         "  case \"$fresh\" in *\" $id \"*) ;; *)\n"
         "    " +
         refuse +
         "its disk is empty but Raft id $id has run before "
         "(the disk was lost); the replica must be replaced under a new "
         "id\" >&2\n"
         "    exit 78 ;;\n  esac\n" +
         mark +
         "fi\n"
         // Initial ids bootstrap the group while it forms; any other start
         // joins (or restarts from) what the disk holds.
         "case \"$fresh\" in *\" $id \"*) bootstrap=$((id <= " +
         std::to_string(n) +
         ")) ;; *) bootstrap=0 ;; esac\n"
         "if [ \"$bootstrap\" = 1 ]; then\n"
         "  members='--peers " +
         PeerList(kv, set_name, n, addresses) +
         "'\nelse\n  members=--join\nfi\n" +
         ExecNode(kv, "\"$id\"", role_flags + " $members") + "\n";
}

// Mounts the identity record `record` (a ConfigMap) into the set's pods.
void MountIdentity(Json& set, const std::string& record) {
  Json& pod = set["spec"]["template"]["spec"];
  pod["containers"][0]["volumeMounts"].push_back({{"name", kIdentityVolume},
                                                  {"mountPath", kIdentityPath},
                                                  {"readOnly", true}});
  pod["volumes"] = Json::array(
      {{{"name", kIdentityVolume}, {"configMap", {{"name", record}}}}});
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

std::string ShardIdentityName(const ShardedKV& kv, int shard) {
  return ShardSetName(kv, shard) + "-identity";
}

std::string ControllerIdentityName(const ShardedKV& kv) {
  return ControllerSetName(kv) + "-identity";
}

std::string PodAddress(const ShardedKV& kv, const std::string& set_name,
                       int ordinal) {
  return set_name + "-" + std::to_string(ordinal) + "." + set_name + "." +
         kv.ns + ".svc:" + std::to_string(kNodePort);
}

// Defined here rather than in operator/backend: desired objects need it.
std::string DnsPodAddresses::Address(const ShardedKV& kv,
                                     const std::string& set_name,
                                     int ordinal) const {
  return PodAddress(kv, set_name, ordinal);
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
  return ControllerStatefulSet(kv, default_image, DnsPodAddresses());
}

Json ControllerStatefulSet(const ShardedKV& kv,
                           const std::string& default_image,
                           const PodAddresses& addresses) {
  const std::string name = ControllerSetName(kv);
  const std::string flags =
      "--role controller --slot-count " + std::to_string(kv.slot_count);
  Json set = StatefulSet(
      kv, name, kControllerRole, -1, kv.controller_replicas,
      NodeContainer(kv, default_image,
                    IdentityScript(kv, name, kv.controller_replicas, flags,
                                   addresses, /*adopt_unmarked=*/true)));
  MountIdentity(set, ControllerIdentityName(kv));
  return set;
}

Json ControllerService(const ShardedKV& kv) {
  return HeadlessService(kv, ControllerSetName(kv), kControllerRole, -1);
}

Json ShardStatefulSet(const ShardedKV& kv, int shard,
                      const std::string& default_image) {
  return ShardStatefulSet(kv, shard, default_image, DnsPodAddresses());
}

Json ShardStatefulSet(const ShardedKV& kv, int shard,
                      const std::string& default_image,
                      const PodAddresses& addresses) {
  const std::string name = ShardSetName(kv, shard);
  const std::string flags = "--role shard --shard-id " + std::to_string(shard) +
                            " --controller " +
                            ControllerAddresses(kv, addresses);
  Json set = StatefulSet(
      kv, name, kShardRole, shard, kv.replicas_per_shard,
      NodeContainer(kv, default_image,
                    IdentityScript(kv, name, kv.replicas_per_shard, flags,
                                   addresses, /*adopt_unmarked=*/false)));
  MountIdentity(set, ShardIdentityName(kv, shard));
  return set;
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
  return DesiredObjects(kv, default_image, DnsPodAddresses());
}

std::vector<Json> DesiredObjects(const ShardedKV& kv,
                                 const std::string& default_image,
                                 const PodAddresses& addresses) {
  std::vector<Json> objects = {
      ControllerService(kv),
      ControllerStatefulSet(kv, default_image, addresses), ClientService(kv)};
  for (int shard = 1; shard <= kv.shards; ++shard) {
    objects.push_back(ShardService(kv, shard));
    objects.push_back(ShardStatefulSet(kv, shard, default_image, addresses));
    objects.push_back(ShardDisruptionBudget(kv, shard));
  }
  return objects;
}

}  // namespace shardkv::op
