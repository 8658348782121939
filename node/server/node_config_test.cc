#include "node/server/node_config.h"

#include <gtest/gtest.h>

namespace shardkv::server {
namespace {

TEST(NodeConfigTest, ParsesAFullCommandLine) {
  auto c = ParseNodeFlags({"--id", "2", "--listen", "127.0.0.1:7002", "--peers",
                           "1=127.0.0.1:7001,2=127.0.0.1:7002", "--data-dir",
                           "/tmp/x", "--tick=20ms"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->id, 2u);
  EXPECT_EQ(c->advertise, "127.0.0.1:7002");
  EXPECT_EQ(c->peers.size(), 2u);
  EXPECT_EQ(c->tick_ms, 20);
}

TEST(NodeConfigTest, RejectsBadInputWithClearErrors) {
  EXPECT_FALSE(ParseNodeFlags({"--data-dir", "/tmp/x"}).ok());
  EXPECT_FALSE(ParseNodeFlags({"--id", "x", "--data-dir", "/tmp/x"}).ok());
  EXPECT_FALSE(ParseNodeFlags({"--id", "1"}).ok());
  auto bad_peers = ParseNodeFlags(
      {"--id", "3", "--data-dir", "/d", "--peers", "1=a:1,2=b:2"});
  ASSERT_FALSE(bad_peers.ok());
  EXPECT_NE(bad_peers.status().message().find("must include"),
            std::string::npos);
  EXPECT_FALSE(ParsePeers("1=a:1,1=b:2").ok());
  EXPECT_FALSE(ParsePeers("0=a:1").ok());
  EXPECT_FALSE(ParsePeers("1=nocolon").ok());
  auto unknown = ParseNodeFlags({"--id", "1", "--data-dir", "/d", "--bogus"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown flag"), std::string::npos);
}

TEST(NodeConfigTest, RaftLogKind) {
  auto c = ParseNodeFlags({"--id", "1", "--data-dir", "/d"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->raft_log, storage::RaftLogKind::kSegments);
  c = ParseNodeFlags({"--id", "1", "--data-dir", "/d", "--raft-log=rocksdb"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->raft_log, storage::RaftLogKind::kRocksDb);
  auto bad =
      ParseNodeFlags({"--id", "1", "--data-dir", "/d", "--raft-log", "wal"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("--raft-log"), std::string::npos);
}

TEST(NodeConfigTest, JoinDoesNotNeedSelfInPeers) {
  auto c = ParseNodeFlags({"--id", "4", "--data-dir", "/d", "--join", "--peers",
                           "1=127.0.0.1:7001"});
  EXPECT_TRUE(c.ok()) << c.status().ToString();
}

TEST(NodeConfigTest, RoleShardIdAndSlotCount) {
  auto c = ParseNodeFlags({"--id", "1", "--data-dir", "/d", "--role",
                           "controller", "--slot-count", "1024"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->role, NodeRole::kController);
  EXPECT_EQ(c->slot_count, 1024u);
  auto s = ParseNodeFlags({"--id", "1", "--data-dir", "/d", "--shard-id=7"});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->role, NodeRole::kShard);
  EXPECT_EQ(s->shard_id, 7u);
  auto ctl = ParseNodeFlags({"--id", "1", "--data-dir", "/d", "--controller",
                             "127.0.0.1:1,127.0.0.1:2"});
  ASSERT_TRUE(ctl.ok()) << ctl.status().ToString();
  EXPECT_EQ(ctl->controller_endpoints.size(), 2u);
  EXPECT_FALSE(ParseNodeFlags(
                   {"--id", "1", "--data-dir", "/d", "--controller", "nocolon"})
                   .ok());
  auto bad =
      ParseNodeFlags({"--id", "1", "--data-dir", "/d", "--slot-count", "1000"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("power of two"), std::string::npos);
  EXPECT_FALSE(
      ParseNodeFlags({"--id", "1", "--data-dir", "/d", "--role", "x"}).ok());
  EXPECT_FALSE(
      ParseNodeFlags({"--id", "1", "--data-dir", "/d", "--shard-id", "0"})
          .ok());
}

}  // namespace
}  // namespace shardkv::server
