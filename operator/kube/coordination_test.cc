// Informer, Lease leader election and Events against a real kube-apiserver.
#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "operator/kube/api_server_env.h"
#include "operator/kube/client.h"
#include "operator/kube/events.h"
#include "operator/kube/informer.h"
#include "operator/kube/leader_election.h"

namespace shardkv::kube {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const Resource kConfigMaps{"", "v1", "configmaps", true};

std::unique_ptr<KubeClient> AdminClient() {
  return KubeClient::Create(
             LoadKubeconfig(ApiServerEnvironment::kubeconfig()).value())
      .value();
}

Json ConfigMap(const std::string& ns, const std::string& name) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", ns}}}};
}

void CreateNamespace(KubeClient* client, const std::string& name) {
  Json ns = {{"apiVersion", "v1"},
             {"kind", "Namespace"},
             {"metadata", {{"name", name}}}};
  StatusOr<Json> created =
      client->Create(ResourcePath({"", "v1", "namespaces", false}, ""), ns);
  ASSERT_TRUE(created.ok()) << created.status().message();
}

template <typename Pred>
bool Eventually(Pred pred, milliseconds timeout = milliseconds(10000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return pred();
}

TEST(InformerTest, CachesAndFollowsChanges) {
  auto client = AdminClient();
  CreateNamespace(client.get(), "informer");
  const std::string collection = ResourcePath(kConfigMaps, "informer");
  ASSERT_TRUE(client->Create(collection, ConfigMap("informer", "a")).ok());
  ASSERT_TRUE(client->Create(collection, ConfigMap("informer", "b")).ok());

  std::mutex mu;
  std::set<std::string> upserts, deletes;
  InformerHandlers handlers;
  handlers.on_upsert = [&](const Json& o) {
    std::lock_guard<std::mutex> lock(mu);
    upserts.insert(ObjectKey(o));
  };
  handlers.on_delete = [&](const Json& o) {
    std::lock_guard<std::mutex> lock(mu);
    deletes.insert(ObjectKey(o));
  };
  InformerOptions options;
  options.watch_timeout = seconds(1);  // re-watch often
  options.page_size = 1;               // exercise paging
  Informer informer(client.get(), collection, handlers, options);
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(milliseconds(10000)));
  EXPECT_EQ(informer.List().size(), 2u);
  EXPECT_EQ(informer.lists(), 1);

  ASSERT_TRUE(client->Create(collection, ConfigMap("informer", "c")).ok());
  ASSERT_TRUE(client->Delete(ResourcePath(kConfigMaps, "informer", "a")).ok());
  EXPECT_TRUE(Eventually([&] {
    return informer.Get("informer/c").has_value() &&
           !informer.Get("informer/a").has_value();
  }));
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(deletes.count("informer/a"), 1u);
    EXPECT_EQ(upserts.count("informer/c"), 1u);
  }
  // Survives the server ending watches (1 s timeout) without relisting.
  std::this_thread::sleep_for(milliseconds(2500));
  EXPECT_EQ(informer.lists(), 1);

  informer.Stop();
}

Json PodTemplate(const std::string& name) {
  return {
      {"apiVersion", "v1"},
      {"kind", "PodTemplate"},
      {"metadata", {{"name", name}, {"namespace", "gone"}}},
      {"template",
       {{"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}}}};
}

TEST(InformerTest, RelistsAfterGoneAndReportsWhatVanishedMeanwhile) {
  auto client = AdminClient();
  CreateNamespace(client.get(), "gone");
  // PodTemplates bypass the fixture's watch cache, and etcd is compacted
  // every 5 s: old resourceVersions really are gone.
  const std::string collection =
      ResourcePath({"", "v1", "podtemplates", true}, "gone");
  ASSERT_TRUE(client->Create(collection, PodTemplate("keep")).ok());
  ASSERT_TRUE(client->Create(collection, PodTemplate("vanish")).ok());
  std::mutex mu;
  std::set<std::string> deletes;
  InformerHandlers handlers;
  handlers.on_delete = [&](const Json& o) {
    std::lock_guard<std::mutex> lock(mu);
    deletes.insert(ObjectKey(o));
  };
  InformerOptions options;
  options.watch_timeout = seconds(1);
  Informer informer(client.get(), collection, handlers, options);
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(milliseconds(10000)));
  ASSERT_EQ(informer.List().size(), 2u);
  const int lists_before = informer.lists();

  // As if the informer had been cut off for a long time: its next watch
  // starts from a compacted version, the server answers 410, and only a
  // relist can bring the cache back.
  informer.SetResourceVersionForTest("1");
  EXPECT_TRUE(Eventually([&] { return informer.lists() > lists_before; }))
      << "no relist after 410 Gone";
  ASSERT_TRUE(client
                  ->Delete(ResourcePath({"", "v1", "podtemplates", true},
                                        "gone", "vanish"))
                  .ok());
  EXPECT_TRUE(Eventually([&] { return informer.List().size() == 1; }));
  EXPECT_TRUE(informer.Get("gone/keep").has_value());
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(deletes.count("gone/vanish"), 1u);
  }
  informer.Stop();
}

LeaderElectionConfig LeaseConfig(const std::string& identity) {
  LeaderElectionConfig config;
  config.lease_namespace = "default";
  config.lease_name = "shardkv-operator-test";
  config.identity = identity;
  config.lease_duration = seconds(3);
  config.renew_deadline = seconds(2);
  config.retry_period = milliseconds(200);
  return config;
}

TEST(LeaderElectionTest, OneHolderAndTakeOverOnlyAfterExpiry) {
  auto client = AdminClient();
  LeaderElectionConfig a_config = LeaseConfig("a");
  a_config.lease_name = "rounds";
  LeaderElectionConfig b_config = LeaseConfig("b");
  b_config.lease_name = "rounds";
  LeaderElector a(client.get(), a_config);
  LeaderElector b(client.get(), b_config);
  const auto t0 = LeaderElector::Clock::now();

  StatusOr<bool> a_won = a.TryAcquireOrRenew(t0);
  ASSERT_TRUE(a_won.ok()) << a_won.status().message();
  EXPECT_TRUE(*a_won);
  EXPECT_FALSE(*b.TryAcquireOrRenew(t0));
  // a renews at t0+2s: b sees a new record and must wait again.
  EXPECT_TRUE(*a.TryAcquireOrRenew(t0 + seconds(2)));
  EXPECT_FALSE(*b.TryAcquireOrRenew(t0 + seconds(2)));
  EXPECT_FALSE(*b.TryAcquireOrRenew(t0 + seconds(4)));
  // a stops renewing; 3 s after b last saw a change, b takes over.
  EXPECT_TRUE(*b.TryAcquireOrRenew(t0 + seconds(5)));
  EXPECT_FALSE(*a.TryAcquireOrRenew(t0 + seconds(5)));
  Json lease = *client->Get(ResourcePath(
      {"coordination.k8s.io", "v1", "leases", true}, "default", "rounds"));
  EXPECT_EQ(lease["spec"]["holderIdentity"], "b");
  EXPECT_EQ(lease["spec"]["leaseTransitions"], 1);
}

TEST(LeaderElectionTest, TwoRunningElectorsHaveOneLeaderAndHandOver) {
  auto client = AdminClient();
  std::atomic<int> a_started{0}, b_started{0};
  LeaderElectionConfig a_config = LeaseConfig("op-a");
  a_config.on_started_leading = [&] { a_started++; };
  LeaderElectionConfig b_config = LeaseConfig("op-b");
  b_config.on_started_leading = [&] { b_started++; };
  auto a = std::make_unique<LeaderElector>(client.get(), a_config);
  LeaderElector b(client.get(), b_config);
  a->Start();
  ASSERT_TRUE(Eventually([&] { return a->IsLeader(); }));
  b.Start();
  for (int i = 0; i < 10; ++i) {  // 2 s: b never leads while a renews
    std::this_thread::sleep_for(milliseconds(200));
    EXPECT_FALSE(b.IsLeader());
  }
  a->Stop();  // releases the lease
  EXPECT_FALSE(a->IsLeader());
  const auto released = std::chrono::steady_clock::now();
  ASSERT_TRUE(Eventually([&] { return b.IsLeader(); }));
  EXPECT_LT(std::chrono::steady_clock::now() - released, seconds(2))
      << "a released lease should not wait for expiry";
  EXPECT_EQ(a_started.load(), 1);
  EXPECT_EQ(b_started.load(), 1);
  b.Stop();
}

TEST(EventRecorderTest, RepeatsAreCountedNotDuplicated) {
  auto client = AdminClient();
  CreateNamespace(client.get(), "events");
  StatusOr<Json> target = client->Create(ResourcePath(kConfigMaps, "events"),
                                         ConfigMap("events", "subject"));
  ASSERT_TRUE(target.ok());
  EventRecorder recorder(client.get(), "shardkv-operator", "op-0");
  ASSERT_TRUE(recorder.Record(*target, "Normal", "ScaledOut", "3 -> 5").ok());
  ASSERT_TRUE(recorder.Record(*target, "Normal", "ScaledOut", "3 -> 5").ok());
  ASSERT_TRUE(
      recorder.Record(*target, "Warning", "ReplicaLost", "pod gone").ok());
  EXPECT_EQ(recorder.Record(Json::object(), "Normal", "X", "y").code(),
            Code::kInvalidArgument);
  StatusOr<Json> events =
      client->List(ResourcePath({"", "v1", "events", true}, "events"));
  ASSERT_TRUE(events.ok());
  ASSERT_EQ((*events)["items"].size(), 2u) << events->dump();
  for (const Json& event : (*events)["items"]) {
    EXPECT_EQ(event["involvedObject"]["uid"], (*target)["metadata"]["uid"]);
    EXPECT_EQ(event["count"], event["reason"] == "ScaledOut" ? 2 : 1);
  }
}

}  // namespace
}  // namespace shardkv::kube
