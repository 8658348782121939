#include "client/cli/playground_layout.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace shardkv::cli {
namespace {

TEST(PlaygroundLayoutTest, InitialLayoutPutsControllersFirst) {
  PlaygroundLayout l = InitialLayout(2, 3, 1, 7001, 64);
  ASSERT_EQ(l.controllers.size(), 1u);
  EXPECT_EQ(l.controllers[0].address, "127.0.0.1:7001");
  ASSERT_EQ(l.shards.size(), 2u);
  EXPECT_EQ(l.shards[1][0].address, "127.0.0.1:7002");
  EXPECT_EQ(l.shards[2][2].address, "127.0.0.1:7007");
  EXPECT_EQ(l.next_port, 7008);
  EXPECT_EQ(l.AllAddresses().front(), "127.0.0.1:7001");
  EXPECT_EQ(l.AllAddresses().size(), 7u);
  EXPECT_TRUE(l.sharded());
  EXPECT_FALSE(InitialLayout(1, 3, 0, 7001).sharded());
}

TEST(PlaygroundLayoutTest, EncodeDecodeRoundTrip) {
  PlaygroundLayout l = InitialLayout(2, 1, 3, 9000, 256);
  l.shards[2].push_back({5, "127.0.0.1:9100", true});
  auto back = DecodeLayout(EncodeLayout(l));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(EncodeLayout(*back), EncodeLayout(l));
  EXPECT_EQ(back->slot_count, 256);
  EXPECT_TRUE(back->shards[2].back().join);
  EXPECT_FALSE(back->shards[2].front().join);
}

TEST(PlaygroundLayoutTest, BadLayoutsAreRejected) {
  EXPECT_FALSE(DecodeLayout("").ok());
  EXPECT_FALSE(DecodeLayout("replicas 1\nnext-port 7\n").ok());  // no shard
  EXPECT_FALSE(DecodeLayout("next-port 7\nreplica 0 1 a:1\n").ok());
  EXPECT_FALSE(DecodeLayout("next-port 7\nreplica 1 1 a:1 bogus\n").ok());
  EXPECT_FALSE(DecodeLayout("next-port 7\nreplica 1 1 a:1\nwhat 3\n").ok());
}

TEST(PlaygroundLayoutTest, SaveAndLoad) {
  std::string dir =
      ::testing::TempDir() + "/layout-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  EXPECT_EQ(LoadLayout(dir).status().code(), Code::kNotFound);
  PlaygroundLayout l = InitialLayout(3, 1, 1, 7001);
  ASSERT_TRUE(SaveLayout(dir, l).ok());
  auto loaded = LoadLayout(dir);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(EncodeLayout(*loaded), EncodeLayout(l));
  std::ofstream(dir + "/layout") << "garbage\n";
  EXPECT_EQ(LoadLayout(dir).status().code(), Code::kInvalidArgument);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace shardkv::cli
