// Records core/v1 Events about objects (what `kubectl describe` shows), like
// client-go's recorder: a repeat of the same (object, type, reason, message)
// bumps the count of the existing Event instead of creating another.
//
// Thread-safety: Record may be called from any thread. Recording is best
// effort for the caller's logic, but failures are returned so tests and
// logs can see them.
#ifndef SHARDKV_OPERATOR_KUBE_EVENTS_H_
#define SHARDKV_OPERATOR_KUBE_EVENTS_H_

#include <map>
#include <mutex>
#include <string>

#include "operator/kube/client.h"

namespace shardkv::kube {

class EventRecorder {
 public:
  // `component` names the reporter ("shardkv-operator"), `instance` this
  // replica (its pod name).
  EventRecorder(KubeClient* client, std::string component,
                std::string instance);

  // `object` needs apiVersion, kind and metadata (name, namespace, uid).
  // `type` is "Normal" or "Warning"; `reason` is UpperCamelCase.
  Status Record(const Json& object, const std::string& type,
                const std::string& reason, const std::string& message);

 private:
  struct Seen {
    std::string ns;
    std::string name;
    int count = 0;
  };

  KubeClient* const client_;
  const std::string component_;
  const std::string instance_;
  std::mutex mu_;
  std::map<std::string, Seen> seen_;  // GUARDED_BY(mu_); bounded below
};

}  // namespace shardkv::kube

#endif  // SHARDKV_OPERATOR_KUBE_EVENTS_H_
