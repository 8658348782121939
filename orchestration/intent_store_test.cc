#include "orchestration/intent_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace shardkv::orchestration {
namespace {

TEST(IntentStoreTest, EncodeDecodeRoundTrip) {
  Intent intent{"scale-out", "join", {{"shards", "4,5"}, {"empty", ""}}};
  auto decoded = DecodeIntent(EncodeIntent(intent));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, intent);
}

TEST(IntentStoreTest, DecodeRejectsGarbage) {
  EXPECT_FALSE(DecodeIntent("").ok());
  EXPECT_FALSE(DecodeIntent("workflow scale-out\n").ok());
  EXPECT_FALSE(DecodeIntent("workflow a\nstep b\nbogus c\n").ok());
  EXPECT_FALSE(DecodeIntent("workflow a\nstep b\nparam x\n").ok());
}

TEST(IntentStoreTest, FileSaveLoadClear) {
  std::string path =
      ::testing::TempDir() + "/intent-" + std::to_string(getpid());
  FileIntentStore store(path);
  auto none = store.Load();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  Intent intent{"scale-in", "drain", {{"shards", "3"}}};
  ASSERT_TRUE(store.Save(intent).ok());
  auto loaded = FileIntentStore(path).Load();  // as after a restart
  ASSERT_TRUE(loaded.ok());
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ(**loaded, intent);
  EXPECT_FALSE(store.Save({"scale-in", "drain", {{"x", "a\nb"}}}).ok());
  EXPECT_FALSE(store.Save({"", "drain", {}}).ok());
  ASSERT_TRUE(store.Clear().ok());
  ASSERT_TRUE(store.Clear().ok());
  EXPECT_FALSE(store.Load()->has_value());
}

TEST(IntentStoreTest, CorruptFileIsAClearError) {
  std::string path =
      ::testing::TempDir() + "/intent-bad-" + std::to_string(getpid());
  std::ofstream(path) << "nonsense\n";
  auto loaded = FileIntentStore(path).Load();
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find(path), std::string::npos);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace shardkv::orchestration
