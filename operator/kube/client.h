// A small Kubernetes REST client: JSON in, JSON out, errors as Status.
//
// Objects are nlohmann::json ("typed enough": callers read the fields they
// need); URLs come from ResourcePath. cpprestsdk does the HTTP and TLS; its
// exceptions never leave this class.
//
// Thread-safety: every method may be called from any thread concurrently.
// Watch blocks its caller until the stream ends, the handler stops it, or a
// WatchCanceller fires from another thread.
//
// Errors: HTTP status and the API's Status object map to codes as
//   404 NOT_FOUND, 409 AlreadyExists ALREADY_EXISTS, 409 Conflict ABORTED
//   (stale resourceVersion: re-read and retry), 410 Gone OUT_OF_RANGE (the
//   watch's resourceVersion is compacted away: relist), 400/422
//   INVALID_ARGUMENT, 401 and 403 PERMISSION_DENIED, 429
//   RESOURCE_EXHAUSTED, 5xx and transport failures UNAVAILABLE, timeouts
//   DEADLINE_EXCEEDED. The message keeps the API server's own text.
#ifndef SHARDKV_OPERATOR_KUBE_CLIENT_H_
#define SHARDKV_OPERATOR_KUBE_CLIENT_H_

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"
#include "operator/kube/config.h"

namespace shardkv::kube {

using Json = nlohmann::json;

// One kind of resource: "" group for the core API.
struct Resource {
  std::string group;    // "apps", "" for core
  std::string version;  // "v1"
  std::string plural;   // "statefulsets"
  bool namespaced = true;
};

// The URL path of a collection (name empty) or of one object, optionally of
// its subresource ("status", "scale"). Namespace is ignored for cluster-
// scoped resources; an empty namespace of a namespaced resource means all
// namespaces (collections only).
std::string ResourcePath(const Resource& resource, const std::string& ns,
                         const std::string& name = "",
                         const std::string& subresource = "");

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  int limit = 0;  // 0: no paging
  std::string continue_token;
};

struct WatchOptions {
  std::string resource_version;  // start after this version
  std::string label_selector;
  bool allow_bookmarks = true;
  // The server ends the watch after this long; the caller starts a new one
  // from the last resourceVersion seen.
  std::chrono::seconds timeout{60};
};

struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK
  Json object;
};

// Lets another thread end a running Watch promptly (closes its connection).
class WatchCanceller {
 public:
  WatchCanceller();
  void Cancel();
  bool cancelled() const;

 private:
  friend class KubeClient;
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

class KubeClient {
 public:
  // Fails on an unusable config (no server, unreadable token file).
  static StatusOr<std::unique_ptr<KubeClient>> Create(KubeConfig config);
  ~KubeClient();
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  const KubeConfig& config() const;

  StatusOr<Json> Get(const std::string& path);
  // The whole list object: items and metadata.resourceVersion/continue.
  StatusOr<Json> List(const std::string& collection_path,
                      const ListOptions& options = {});
  // All pages of a list, items concatenated; the list's resourceVersion is
  // that of the first page (what a watch must start from).
  StatusOr<Json> ListAll(const std::string& collection_path,
                         ListOptions options = {});
  StatusOr<Json> Create(const std::string& collection_path, const Json& object);
  // PUT: replaces the object; ABORTED when its resourceVersion is stale. On a
  // ".../status" path this is the status subresource update.
  StatusOr<Json> Replace(const std::string& path, const Json& object);
  // Server-side apply of `object` (a full intent: apiVersion, kind, name)
  // owned by `field_manager`; `force` takes over fields other managers own.
  StatusOr<Json> Apply(const std::string& path, const Json& object,
                       const std::string& field_manager, bool force = true);
  StatusOr<Json> MergePatch(const std::string& path, const Json& patch);
  // Foreground or Background propagation; NOT_FOUND if already gone.
  Status Delete(const std::string& path,
                const std::string& propagation = "Background");

  // Streams events of `collection_path` to `on_event` until the server ends
  // the watch (OK), `on_event` returns false (OK), `canceller` fires
  // (CANCELLED), or an error: OUT_OF_RANGE when the resourceVersion is too
  // old (410, as the HTTP status or an ERROR event), others as above.
  Status Watch(const std::string& collection_path, const WatchOptions& options,
               const std::function<bool(const WatchEvent&)>& on_event,
               const WatchCanceller* canceller = nullptr);

 private:
  struct Impl;
  explicit KubeClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Code of an API error from its HTTP status and Status.reason.
Code CodeForHttpStatus(int http_status, const std::string& reason);

}  // namespace shardkv::kube

#endif  // SHARDKV_OPERATOR_KUBE_CLIENT_H_
