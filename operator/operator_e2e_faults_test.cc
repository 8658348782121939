// The operator end to end under faults and upgrades, with the real
// kube-apiserver, the operator's real Kubernetes backend and REAL
// shardkv-node processes run by the kubelet simulator
// (operator_e2e_fixture.h). Every key written is verified after each step.
//  - a pod deleted comes back on its disk under its identity, and nothing
//    is replaced;
//  - a pod lost with its disk is refused by the pod script (its Raft id
//    has run before), then replaced after spec.replaceAfter under a new
//    Raft id (learner -> promoted -> old id removed); the unready time
//    survives an operator restart; two lost disks are replaced one at a
//    time; a shard that lost its quorum gets no replacement, and the
//    status and Events say why;
//  - an image change rolls every pod, one at a time, leadership moved off
//    each before it stops, while writes continue.
#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "operator/operator_e2e_fixture.h"

namespace shardkv::op {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

const Json kThreeReplicas = {{"replicasPerShard", 3},
                             {"controllerReplicas", 1},
                             {"slotCount", 64},
                             {"replaceAfter", "30s"}};

std::string Uid(const Json& object) {
  return object.value("metadata", Json::object()).value("uid", "");
}

bool Ready(const Json& pod) {
  for (const Json& c :
       pod.value("status", Json::object()).value("conditions", Json())) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

std::string Replacing(OperatorTestEnv& env) {
  return env.StatusOf("demo")
      .value("replacing", Json::object())
      .value("pod", "");
}

// The voters and learners of the shard, as its node at `address` sees them.
std::string Members(const StatusOr<v1::StatusResponse>& status) {
  if (!status.ok()) return status.status().ToString();
  std::set<std::string> members;
  for (const v1::Member& m : status->members()) {
    members.insert(std::to_string(m.id()) + (m.learner() ? "(learner)" : ""));
  }
  std::string out;
  for (const std::string& m : members) out += (out.empty() ? "" : " ") + m;
  return out;
}

TEST_F(OperatorE2eTest, DeletedPodRejoinsLostDisksAreReplacedOneAtATime) {
  OperatorTestEnv env("op-e2e-replace");
  StartSim(env);
  ASSERT_TRUE(env.CreateCluster("demo", 2, kThreeReplicas).ok());
  auto op = Start(env, "op-a");
  ASSERT_NE(op, nullptr);
  ASSERT_TRUE(Eventually([&] { return Settled(env, 2); }, seconds(240)))
      << env.StatusOf("demo").dump(1);
  auto kv = ParseShardedKV(env.Get("demo")).value();
  auto client = Client(kv);
  ASSERT_NE(client, nullptr);
  WriteKeys(*client, 0, 300);
  VerifyKeys(*client, "after bootstrap");

  // (a) A pod deleted: recreated on its disk, same Raft id, no replacement.
  const Json before = PodOf(env, "demo-shard-1-1");
  auto t = Clock::now();
  ASSERT_TRUE(sim_->LosePod("demo-shard-1-1").ok());
  ASSERT_TRUE(Eventually(
      [&] {
        Json pod = PodOf(env, "demo-shard-1-1");
        return Uid(pod) != Uid(before) && !Uid(pod).empty() && Ready(pod);
      },
      seconds(60)))
      << sim_->PodLog("demo-shard-1-1");
  std::printf("deleted pod ready again: %.1f s\n", SecondsSince(t));
  ASSERT_TRUE(Eventually([&] { return Settled(env, 2); }, seconds(60)));
  EXPECT_EQ(IdentityOf(env, 1).value("replica-1", ""), "2");
  EXPECT_TRUE(EventMessages(env, "WorkflowStarted").size() == 1)
      << "only the bootstrap may have started a workflow";
  VerifyKeys(*client, "after a pod was deleted");

  // (b) Two pods of two shards lost with their disks at once.
  t = Clock::now();
  ASSERT_TRUE(sim_->LosePodWithPvc("demo-shard-1-2").ok());
  ASSERT_TRUE(sim_->LosePodWithPvc("demo-shard-2-0").ok());
  // The pod script refuses to start an id that has run on an empty disk.
  EXPECT_TRUE(Eventually(
      [&] {
        return sim_->PodLog("demo-shard-1-2")
                   .find("Raft id 3 has run before (the disk was lost)") !=
               std::string::npos;
      },
      seconds(60)))
      << sim_->PodLog("demo-shard-1-2");
  VerifyKeys(*client, "with a disk lost in each shard");  // quorums serve

  // The operator restarts before replaceAfter: its successor counts the
  // unready time from the status, not from its own start.
  std::this_thread::sleep_for(seconds(20) - (Clock::now() - t));
  op->Stop();
  op = Start(env, "op-b");
  ASSERT_NE(op, nullptr);

  // One replacement at a time: when the second shard's identity record
  // first changes, the first shard's replacement is complete (its new id a
  // voter, the old one gone, no fresh id left).
  const std::map<int, std::pair<std::string, std::string>> lost = {
      {1, {"replica-2", "3"}}, {2, {"replica-0", "1"}}};
  auto complete = [&](int shard) {
    const std::string pod = shard == 1 ? "demo-shard-1-2" : "demo-shard-2-0";
    const std::string voters = shard == 1 ? "1 2 4" : "2 3 4";
    return IdentityOf(env, shard).value("fresh", "x").empty() &&
           Members(NodeStatus(addresses_.PodAddress(env.ns(), pod))) == voters;
  };
  std::vector<int> changed;  // shards in the order their records changed
  std::vector<std::string> replacing_seen;
  double first_replacement_at = -1;
  bool overlap = false;
  ASSERT_TRUE(Eventually(
      [&] {
        const std::string now = Replacing(env);
        if (!now.empty() && first_replacement_at < 0) {
          first_replacement_at = SecondsSince(t);
        }
        if (!now.empty() &&
            (replacing_seen.empty() || replacing_seen.back() != now)) {
          replacing_seen.push_back(now);
        }
        for (const auto& [shard, old] : lost) {
          if (std::count(changed.begin(), changed.end(), shard)) continue;
          if (IdentityOf(env, shard).value(old.first, "") == old.second) {
            continue;
          }
          if (!changed.empty() && !complete(changed.front())) overlap = true;
          changed.push_back(shard);
        }
        return changed.size() == 2 && complete(1) && complete(2) &&
               Settled(env, 2);
      },
      seconds(300)))
      << env.StatusOf("demo").dump(1) << "\n"
      << sim_->PodLog("demo-shard-1-2");
  std::printf(
      "two lost disks replaced: first after %.1f s, both done %.1f s "
      "after the loss\n",
      first_replacement_at, SecondsSince(t));
  // replaceAfter is 30 s from the loss; a restart that reset the clock
  // would have waited 20 + 30 s.
  EXPECT_GT(first_replacement_at, 25.0);
  EXPECT_LT(first_replacement_at, 45.0);
  ASSERT_EQ(replacing_seen.size(), 2u)
      << "replacements seen: " << ::testing::PrintToString(replacing_seen);
  EXPECT_FALSE(overlap) << "the second replacement began during the first";
  EXPECT_EQ(EventMessages(env, "WorkflowFailed").size(), 0u);
  EXPECT_EQ(IdentityOf(env, 1).value("replica-2", ""), "4");
  EXPECT_EQ(IdentityOf(env, 2).value("replica-0", ""), "4");
  VerifyKeys(*client, "after two replacements");
  WriteKeys(*client, 300, 400);

  // (c) Two of shard 1's three pods down: no quorum, no replacement, and
  // the status and an Event say why.
  t = Clock::now();
  ASSERT_TRUE(sim_->HoldDown("demo-shard-1-0").ok());
  ASSERT_TRUE(sim_->HoldDown("demo-shard-1-1").ok());
  EXPECT_TRUE(Eventually(
      [&] {
        const Json c = ConditionOf(env, "Progressing");
        return c.value("reason", "") == "Waiting" &&
               c.value("message", "").find("lost its quorum") !=
                   std::string::npos;
      },
      seconds(90)))
      << env.StatusOf("demo").dump(1);
  std::printf("quorum loss reported after %.1f s\n", SecondsSince(t));
  std::this_thread::sleep_for(seconds(45) - (Clock::now() - t));
  EXPECT_EQ(ConditionOf(env, "Available").value("status", ""), "False");
  EXPECT_EQ(ConditionOf(env, "Available").value("reason", ""),
            "ShardWithoutQuorum");
  EXPECT_FALSE(EventMessages(env, "ReplacementBlocked").empty());
  EXPECT_EQ(Replacing(env), "");
  const Json identity = IdentityOf(env, 1);
  EXPECT_EQ(identity.value("replica-0", ""), "1");
  EXPECT_EQ(identity.value("replica-1", ""), "2");
  EXPECT_EQ(identity.value("replica-2", ""), "4");

  // Back up: the shard recovers on its disks; still nothing replaced.
  sim_->Release("demo-shard-1-0");
  sim_->Release("demo-shard-1-1");
  ASSERT_TRUE(Eventually([&] { return Settled(env, 2); }, seconds(120)))
      << env.StatusOf("demo").dump(1);
  std::this_thread::sleep_for(seconds(5));
  EXPECT_EQ(IdentityOf(env, 1), identity);
  EXPECT_EQ(EventMessages(env, "WorkflowStarted").size(), 3u)
      << "bootstrap and two replacements only";
  VerifyKeys(*client, "after the quorum came back");
  op->Stop();
}

TEST_F(OperatorE2eTest, ImageChangeRollsOnePodAtATimeWhileServing) {
  OperatorTestEnv env("op-e2e-upgrade");
  // Before SIGTERM reaches a node, was it leading its shard? (Shared:
  // the simulator runs until TearDown.)
  struct Stops {
    std::mutex mu;
    std::vector<std::string> records;  // "<pod> leader|follower|?"
  };
  auto stops = std::make_shared<Stops>();
  StartSim(env, [stops](testing::KubeletSimOptions& options) {
    options.on_container_stopping = [stops](const std::string& pod,
                                            const std::string& address) {
      auto status = NodeStatus(address);
      std::string role = "?";
      if (status.ok()) {
        role = status->role() == v1::ROLE_LEADER ? "leader" : "follower";
      }
      std::lock_guard lock(stops->mu);
      stops->records.push_back(pod + " " + role);
    };
  });
  ASSERT_TRUE(env.CreateCluster("demo", 1, kThreeReplicas).ok());
  auto op = Start(env, "op-a");
  ASSERT_NE(op, nullptr);
  ASSERT_TRUE(Eventually([&] { return Settled(env, 1); }, seconds(240)))
      << env.StatusOf("demo").dump(1);
  auto kv = ParseShardedKV(env.Get("demo")).value();
  auto client = Client(kv);
  ASSERT_NE(client, nullptr);
  WriteKeys(*client, 0, 200);
  std::map<std::string, std::string> uids;
  for (int i = 0; i < 3; ++i) {
    const std::string pod = "demo-shard-1-" + std::to_string(i);
    uids[pod] = Uid(PodOf(env, pod));
  }
  uids["demo-controller-0"] = Uid(PodOf(env, "demo-controller-0"));

  // Writes go on, and a sampler counts the shard's unready pods.
  std::atomic<bool> stop{false};
  std::atomic<int> acked{0}, failed{0}, most_unready{0};
  std::atomic<int64_t> longest_gap_ms{0};
  std::mutex written_mu;
  std::map<std::string, std::string> during;
  std::thread writer([&] {
    auto last_ok = Clock::now();
    for (int i = 0; !stop; ++i) {
      const std::string key = "during-" + std::to_string(i);
      if (client->Set(key, key).ok()) {
        ++acked;
        const int64_t gap =
            std::chrono::duration_cast<milliseconds>(Clock::now() - last_ok)
                .count();
        if (gap > longest_gap_ms) longest_gap_ms = gap;
        last_ok = Clock::now();
        std::lock_guard lock(written_mu);
        during[key] = key;
      } else {
        ++failed;
      }
    }
  });
  std::thread sampler([&] {
    while (!stop) {
      int unready = 0;
      for (int i = 0; i < 3; ++i) {
        unready +=
            Ready(PodOf(env, "demo-shard-1-" + std::to_string(i))) ? 0 : 1;
      }
      if (unready > most_unready) most_unready = unready;
      std::this_thread::sleep_for(milliseconds(100));
    }
  });

  const auto t = Clock::now();
  ASSERT_TRUE(env.MergeSpec("demo", {{"image", "shardkv:v2"}}).ok());
  auto upgraded = [&](const std::string& pod) {
    const Json object = PodOf(env, pod);
    return Uid(object) != uids[pod] && Ready(object) &&
           object["spec"]["containers"][0].value("image", "") == "shardkv:v2";
  };
  const bool done = Eventually(
      [&] {
        for (const auto& [pod, uid] : uids) {
          if (!upgraded(pod)) return false;
        }
        return Settled(env, 1);
      },
      seconds(300));
  const double took = SecondsSince(t);
  stop = true;
  writer.join();
  sampler.join();
  ASSERT_TRUE(done) << env.StatusOf("demo").dump(1);
  std::printf(
      "rolling upgrade of 3 shard pods + 1 controller pod: %.1f s; %d writes "
      "acknowledged, %d failed, longest gap between writes %lld ms\n",
      took, acked.load(), failed.load(),
      static_cast<long long>(longest_gap_ms.load()));

  {
    std::lock_guard lock(stops->mu);
    std::set<std::string> stopped_shard_pods;
    for (const std::string& stop_record : stops->records) {
      if (stop_record.rfind("demo-shard-1-", 0) != 0) continue;
      EXPECT_EQ(stop_record.substr(stop_record.find(' ') + 1), "follower")
          << stop_record << ": leadership was not moved off first";
      stopped_shard_pods.insert(stop_record.substr(0, stop_record.find(' ')));
    }
    EXPECT_EQ(stopped_shard_pods.size(), 3u);
  }
  EXPECT_LE(most_unready.load(), 1) << "more than one pod down at a time";
  EXPECT_GT(acked.load(), 0);
  EXPECT_EQ(failed.load(), 0) << "writes failed during the upgrade";
  EXPECT_EQ(ConditionOf(env, "Degraded").value("status", ""), "False");
  for (const auto& [key, value] : during) written_[key] = value;
  VerifyKeys(*client, "after the rolling upgrade");
  op->Stop();
}

}  // namespace
}  // namespace shardkv::op
