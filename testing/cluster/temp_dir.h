// TempDir: a fresh directory, removed with everything in it when the
// object is destroyed (unless Keep() was called, to inspect a failure).
// Created under $TEST_TMPDIR, else $TMPDIR, else /tmp.
//
// Thread-safety: not thread-safe; move-only owner.
#pragma once

#include <string>

#include "common/status.h"

namespace shardkv::test {

class TempDir {
 public:
  // `prefix` becomes the start of the directory's name.
  static StatusOr<TempDir> Create(const std::string& prefix = "shardkv-test");

  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::string& path() const { return path_; }
  // path() + "/" + name; not created.
  std::string Join(const std::string& name) const;
  // Leave the directory on disk after destruction.
  void Keep() { keep_ = true; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  void Remove();

  std::string path_;  // empty after a move
  bool keep_ = false;
};

}  // namespace shardkv::test
