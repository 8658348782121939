// Keeps a local cache of one collection current with list + watch, the shape
// of client-go's reflector: list (paged) to get a resourceVersion, watch from
// it with bookmarks, follow the resourceVersion of every event and bookmark,
// re-watch when the server ends a watch, and relist when the version has been
// compacted away (410 Gone). Handlers see every change; a relist reports
// objects that vanished meanwhile as deletions.
//
// Thread-safety: Start/Stop from the owner; the cache accessors and
// WaitForSync from any thread. Handlers run on the informer's own thread
// ("informer"), one at a time, without the cache lock held; they must not
// block for long (enqueue a key and return).
#ifndef SHARDKV_OPERATOR_KUBE_INFORMER_H_
#define SHARDKV_OPERATOR_KUBE_INFORMER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "operator/kube/client.h"

namespace shardkv::kube {

struct InformerHandlers {
  std::function<void(const Json& object)> on_upsert;  // added or changed
  std::function<void(const Json& object)> on_delete;
};

struct InformerOptions {
  std::string label_selector;
  std::chrono::seconds watch_timeout{60};
  int page_size = 500;
  // Backoff between failed list/watch attempts: doubles up to the max.
  std::chrono::milliseconds min_backoff{200};
  std::chrono::milliseconds max_backoff{std::chrono::seconds(30)};
};

// "namespace/name", or "name" for cluster-scoped objects.
std::string ObjectKey(const Json& object);

class Informer {
 public:
  Informer(KubeClient* client, std::string collection_path,
           InformerHandlers handlers, InformerOptions options = {});
  ~Informer();  // stops
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  void Start();
  void Stop();
  // True once the first list has been delivered; false on timeout.
  bool WaitForSync(std::chrono::milliseconds timeout);

  std::optional<Json> Get(const std::string& key) const;
  std::vector<Json> List() const;
  // resourceVersion the next watch starts from.
  std::string resource_version() const;
  // Lists done (1 after sync; more after each 410 or failed watch).
  int lists() const { return lists_.load(); }
  // Makes the next watch start from `version` (tests: a compacted version
  // that the server answers with 410 Gone).
  void SetResourceVersionForTest(const std::string& version);

 private:
  void Run();
  Status ListAndReplace();
  Status WatchOnce();
  void Apply(const std::string& type, const Json& object);
  void SleepBackoff(std::chrono::milliseconds delay);

  KubeClient* const client_;
  const std::string path_;
  const InformerHandlers handlers_;
  const InformerOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Json> cache_;  // GUARDED_BY(mu_)
  std::string resource_version_;       // GUARDED_BY(mu_)
  bool synced_ = false;                // GUARDED_BY(mu_)
  bool stopping_ = false;              // GUARDED_BY(mu_)

  std::atomic<int> lists_{0};
  WatchCanceller canceller_;
  std::thread thread_;
};

}  // namespace shardkv::kube

#endif  // SHARDKV_OPERATOR_KUBE_INFORMER_H_
