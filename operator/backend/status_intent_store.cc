#include "operator/backend/status_intent_store.h"

#include "operator/shardedkv.h"

namespace shardkv::op {
namespace {

const kube::Resource kShardedKVs{"shardkv.io", "v1alpha1", "shardedkvs", true};

}  // namespace

StatusIntentStore::StatusIntentStore(kube::KubeClient& client, std::string ns,
                                     std::string name)
    : client_(client), ns_(std::move(ns)), name_(std::move(name)) {}

StatusOr<std::optional<orchestration::Intent>> StatusIntentStore::Load() {
  auto object = client_.Get(kube::ResourcePath(kShardedKVs, ns_, name_));
  if (!object.ok()) return object.status();
  const Json* status =
      object->contains("status") ? &(*object)["status"] : nullptr;
  if (status == nullptr || !status->is_object() ||
      !status->contains("workflow") || !(*status)["workflow"].is_string()) {
    return std::optional<orchestration::Intent>();
  }
  const std::string text = (*status)["workflow"].get<std::string>();
  if (text.empty()) return std::optional<orchestration::Intent>();
  auto intent = orchestration::DecodeIntent(text);
  if (!intent.ok()) {
    return InvalidArgument("status.workflow of ShardedKV " + ns_ + "/" + name_ +
                           " is not an intent: " + intent.status().message());
  }
  return std::optional<orchestration::Intent>(std::move(*intent));
}

Status StatusIntentStore::Save(const orchestration::Intent& intent) {
  return ApplyWorkflow(orchestration::EncodeIntent(intent));
}

// An empty string, not a status without the field: when this manager's
// apply drops its only field and no other manager has written status yet,
// status itself goes away and the API server rejects the object ("null ...
// must be of type object").
Status StatusIntentStore::Clear() { return ApplyWorkflow(""); }

Status StatusIntentStore::ApplyWorkflow(
    const std::optional<std::string>& text) {
  Json status = Json::object();
  if (text.has_value()) status["workflow"] = *text;
  Json object = {{"apiVersion", kApiVersion},
                 {"kind", kKind},
                 {"metadata", {{"name", name_}, {"namespace", ns_}}},
                 {"status", status}};
  // Force: this manager is the only writer of status.workflow; force only
  // settles a conflict with a writer that took it by mistake.
  return client_
      .Apply(kube::ResourcePath(kShardedKVs, ns_, name_, "status"), object,
             kWorkflowFieldManager, /*force=*/true)
      .status();
}

}  // namespace shardkv::op
