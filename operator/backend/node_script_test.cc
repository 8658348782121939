// The shard pod's script (desired_objects.cc) run by /bin/sh as a pod
// would run it, its volumes at temp directories, with a stand-in
// shardkv-node on PATH that records its command line: which identity it
// starts under, bootstrap or join, and its refusals (stale or lost disks).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "operator/desired_objects.h"

namespace shardkv::op {
namespace {
namespace fs = std::filesystem;

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

class NodeScriptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("node-script-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    for (const char* sub : {"bin", "identity", "data"}) {
      fs::create_directories(dir_ + "/" + sub);
    }
    Write(dir_ + "/bin/shardkv-node",
          "#!/bin/sh\necho \"$@\" > " + dir_ + "/args\n");
    fs::permissions(dir_ + "/bin/shardkv-node", fs::perms::owner_all);
    kv_.name = "demo";
    kv_.ns = "prod";
    kv_.replicas_per_shard = 3;
    Json set = ShardStatefulSet(kv_, 2, "img");
    script_ = set["spec"]["template"]["spec"]["containers"][0]["command"][2];
    Record({{0, 1}, {1, 2}, {2, 3}}, "1 2 3", "inc1");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Record(const std::map<int, int>& ids, const std::string& fresh,
              const std::string& incarnation) {
    for (const auto& [ordinal, id] : ids) {
      Write(dir_ + "/identity/replica-" + std::to_string(ordinal),
            std::to_string(id));
    }
    Write(dir_ + "/identity/fresh", fresh);
    Write(dir_ + "/identity/incarnation", incarnation);
  }

  // Runs the script as pod demo-shard-2-<ordinal>; returns its exit code.
  int Run(int ordinal) {
    std::string script = script_;
    for (const auto& [from, to] : {std::pair<std::string, std::string>{
                                       kIdentityPath, dir_ + "/identity"},
                                   {kDataPath, dir_ + "/data"}}) {
      for (size_t at = script.find(from); at != std::string::npos;
           at = script.find(from, at + to.size())) {
        script.replace(at, from.size(), to);
      }
    }
    Write(dir_ + "/script", script);
    fs::remove(dir_ + "/args");
    std::string command = "env POD_NAME=" + pod_prefix_ +
                          std::to_string(ordinal) + " PATH=" + dir_ +
                          "/bin:/usr/bin:/bin /bin/sh " + dir_ + "/script > " +
                          dir_ + "/out 2>&1";
    int rc = std::system(command.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  std::string Args() { return Read(dir_ + "/args"); }
  std::string Output() { return Read(dir_ + "/out"); }

  // The controller group's script instead of shard 2's.
  void UseControllerScript() {
    kv_.controller_replicas = 3;
    Json set = ControllerStatefulSet(kv_, "img");
    script_ = set["spec"]["template"]["spec"]["containers"][0]["command"][2];
    pod_prefix_ = "demo-controller-";
  }

  std::string dir_;
  ShardedKV kv_;
  std::string script_;
  std::string pod_prefix_ = "demo-shard-2-";
};

TEST_F(NodeScriptTest, InitialReplicaBootstrapsUnderOrdinalPlusOne) {
  ASSERT_EQ(Run(1), 0) << Output();
  EXPECT_NE(Args().find("--id 2 "), std::string::npos) << Args();
  EXPECT_NE(Args().find("--peers 1=demo-shard-2-0.demo-shard-2.prod.svc:7001,"
                        "2=demo-shard-2-1.demo-shard-2.prod.svc:7001,"
                        "3=demo-shard-2-2.demo-shard-2.prod.svc:7001"),
            std::string::npos)
      << Args();
  EXPECT_NE(
      Args().find("--advertise demo-shard-2-1.demo-shard-2.prod.svc:7001"),
      std::string::npos);
  EXPECT_NE(Args().find("--listen 0.0.0.0:7001"), std::string::npos);
  EXPECT_EQ(Args().find("--join"), std::string::npos);
  EXPECT_EQ(Read(dir_ + "/data/identity"), "inc1 2\n");
}

TEST_F(NodeScriptTest, RestartOnItsOwnDiskNeitherBootstrapsNorRefuses) {
  ASSERT_EQ(Run(1), 0) << Output();
  fs::create_directories(dir_ + "/data/data");
  Record({{0, 1}, {1, 2}, {2, 3}}, "", "inc1");  // the shard formed
  ASSERT_EQ(Run(1), 0) << Output();
  EXPECT_NE(Args().find("--id 2 "), std::string::npos);
  EXPECT_NE(Args().find("--join"), std::string::npos);
  EXPECT_EQ(Args().find("--peers"), std::string::npos);
}

TEST_F(NodeScriptTest, RefusesAStaleDiskUnderANewIdentity) {
  ASSERT_EQ(Run(1), 0) << Output();
  fs::create_directories(dir_ + "/data/data");
  Record({{0, 1}, {1, 4}, {2, 3}}, "4", "inc1");  // ordinal 1 replaced
  EXPECT_EQ(Run(1), 78);
  EXPECT_NE(Output().find("refusing to start pod demo-shard-2-1: its disk "
                          "holds Raft identity 'inc1 2' but the pod is "
                          "'inc1 4'"),
            std::string::npos)
      << Output();
  EXPECT_EQ(Args(), "");  // the node never ran
}

TEST_F(NodeScriptTest, RefusesADiskOfAnEarlierShardWithTheSameId) {
  ASSERT_EQ(Run(0), 0) << Output();
  Record({{0, 1}, {1, 2}, {2, 3}}, "1 2 3", "inc2");
  EXPECT_EQ(Run(0), 78);
  EXPECT_EQ(Args(), "");
}

TEST_F(NodeScriptTest, RefusesAnEmptyDiskUnderAnIdThatRanBefore) {
  Record({{0, 1}, {1, 2}, {2, 3}}, "", "inc1");
  EXPECT_EQ(Run(2), 78);
  EXPECT_NE(Output().find("Raft id 3 has run before (the disk was lost)"),
            std::string::npos)
      << Output();
  EXPECT_EQ(Args(), "");
}

TEST_F(NodeScriptTest, ReplacementIdJoinsOnAnEmptyDisk) {
  Record({{0, 1}, {1, 4}, {2, 3}}, "4", "inc1");
  ASSERT_EQ(Run(1), 0) << Output();
  EXPECT_NE(Args().find("--id 4 "), std::string::npos) << Args();
  EXPECT_NE(Args().find("--join"), std::string::npos);
  EXPECT_EQ(Args().find("--peers"), std::string::npos);
  EXPECT_EQ(Read(dir_ + "/data/identity"), "inc1 4\n");
}

TEST_F(NodeScriptTest, NoIdentityForTheOrdinalIsAClearError) {
  fs::remove(dir_ + "/identity/replica-2");
  EXPECT_EQ(Run(2), 1);
  EXPECT_NE(Output().find("no Raft identity for ordinal 2"), std::string::npos)
      << Output();
  EXPECT_EQ(Run(7), 1);
  EXPECT_NE(Output().find("ordinal 7 is not in 0..2"), std::string::npos);
}

// The controller group's pods run the same identity script, from the
// record "demo-controller-identity".
TEST_F(NodeScriptTest, ControllerBootstrapsUnderItsInitialId) {
  UseControllerScript();
  ASSERT_EQ(Run(2), 0) << Output();
  EXPECT_NE(Args().find("--id 3 "), std::string::npos) << Args();
  EXPECT_NE(Args().find("--role controller"), std::string::npos) << Args();
  EXPECT_NE(Args().find("--peers 1=demo-controller-0.demo-controller.prod.svc:"
                        "7001,2=demo-controller-1"),
            std::string::npos)
      << Args();
  EXPECT_EQ(Read(dir_ + "/data/identity"), "inc1 3\n");
}

TEST_F(NodeScriptTest, ControllerRefusesALostDiskAndJoinsUnderANewId) {
  UseControllerScript();
  Record({{0, 1}, {1, 2}, {2, 3}}, "", "inc1");  // the group formed
  EXPECT_EQ(Run(1), 78);
  EXPECT_NE(Output().find("Raft id 2 has run before (the disk was lost)"),
            std::string::npos)
      << Output();
  EXPECT_EQ(Args(), "");
  Record({{0, 1}, {1, 4}, {2, 3}}, "4", "inc1");  // replaced
  ASSERT_EQ(Run(1), 0) << Output();
  EXPECT_NE(Args().find("--id 4 "), std::string::npos) << Args();
  EXPECT_NE(Args().find("--join"), std::string::npos);
  EXPECT_EQ(Args().find("--peers"), std::string::npos);
}

TEST_F(NodeScriptTest, ControllerAdoptsAnUnmarkedDiskOnlyUnderItsInitialId) {
  UseControllerScript();
  // A disk written before controller identity records existed.
  fs::create_directories(dir_ + "/data/data");
  Record({{0, 1}, {1, 2}, {2, 3}}, "", "inc1");
  ASSERT_EQ(Run(1), 0) << Output();
  EXPECT_NE(Args().find("--id 2 "), std::string::npos) << Args();
  EXPECT_NE(Args().find("--join"), std::string::npos);
  EXPECT_EQ(Read(dir_ + "/data/identity"), "inc1 2\n");
  // Under a replacement's id it is refused like a shard's.
  fs::remove(dir_ + "/data/identity");
  Record({{0, 1}, {1, 4}, {2, 3}}, "4", "inc1");
  EXPECT_EQ(Run(1), 78);
  EXPECT_NE(Output().find("its disk has data but no identity file"),
            std::string::npos)
      << Output();
}

TEST_F(NodeScriptTest, ShardNeverAdoptsAnUnmarkedDisk) {
  fs::create_directories(dir_ + "/data/data");
  Record({{0, 1}, {1, 2}, {2, 3}}, "", "inc1");
  EXPECT_EQ(Run(1), 78);
  EXPECT_NE(Output().find("its disk has data but no identity file"),
            std::string::npos)
      << Output();
  EXPECT_EQ(Args(), "");
}

}  // namespace
}  // namespace shardkv::op
