#include "testing/cluster/temp_dir.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace shardkv::test {
namespace {

namespace fs = std::filesystem;

TEST(TempDirTest, CreatedAndRemovedRecursively) {
  std::string path;
  {
    auto dir = TempDir::Create("tempdir-test");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    path = dir->path();
    EXPECT_TRUE(fs::is_directory(path));
    EXPECT_NE(path.find("tempdir-test-"), std::string::npos);
    fs::create_directories(dir->Join("a/b"));
    std::ofstream(dir->Join("a/b/file")) << "x";
    TempDir moved = std::move(*dir);  // ownership moves; no early removal
    EXPECT_TRUE(fs::exists(moved.Join("a/b/file")));
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST(TempDirTest, KeepLeavesTheDirectory) {
  std::string path;
  {
    auto dir = TempDir::Create();
    ASSERT_TRUE(dir.ok());
    path = dir->path();
    dir->Keep();
  }
  EXPECT_TRUE(fs::is_directory(path));
  fs::remove_all(path);
}

TEST(TempDirTest, TwoDirsDiffer) {
  auto a = TempDir::Create();
  auto b = TempDir::Create();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->path(), b->path());
}

}  // namespace
}  // namespace shardkv::test
