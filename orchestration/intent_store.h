// shardkv::orchestration::Intent and IntentStore — what a workflow is about
// to do, recorded BEFORE it does it, so that a workflow interrupted at any
// point (crash, kill -9, Ctrl-C) resumes at the recorded step. One intent
// per cluster: a cluster runs one workflow at a time.
//
// EncodeIntent/DecodeIntent give one text form ("key value" lines) that
// every backend can store: FileIntentStore keeps it in a file (the
// playground's data dir); the operator keeps it in the custom resource's
// status. FileIntentStore is not thread-safe (one workflow runs at a time);
// it replaces the file atomically (write, fsync, rename).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "common/status.h"

namespace shardkv::orchestration {

struct Intent {
  std::string workflow;  // "scale-out", "scale-in", "replace-replica"
  std::string step;      // the step about to run
  // Everything the step needs to run again: shard ids, chosen replica ids,
  // progress baselines. Names and values: no whitespace-only value, no
  // newline; names without spaces.
  std::map<std::string, std::string> params;

  bool operator==(const Intent&) const = default;
};

std::string EncodeIntent(const Intent& intent);
StatusOr<Intent> DecodeIntent(const std::string& text);

class IntentStore {
 public:
  virtual ~IntentStore() = default;
  // The recorded intent, or nullopt when no workflow is in progress.
  virtual StatusOr<std::optional<Intent>> Load() = 0;
  // Durable before it returns.
  virtual Status Save(const Intent& intent) = 0;
  // The workflow finished (or was cancelled): nothing to resume.
  virtual Status Clear() = 0;
};

class FileIntentStore final : public IntentStore {
 public:
  explicit FileIntentStore(std::string path) : path_(std::move(path)) {}

  StatusOr<std::optional<Intent>> Load() override;
  Status Save(const Intent& intent) override;
  Status Clear() override;

 private:
  const std::string path_;
};

}  // namespace shardkv::orchestration
