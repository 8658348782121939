#include "testing/cluster/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

namespace shardkv::test {

StatusOr<TempDir> TempDir::Create(const std::string& prefix) {
  std::string base = "/tmp";
  for (const char* var : {"TEST_TMPDIR", "TMPDIR"}) {
    const char* v = getenv(var);
    if (v != nullptr && *v != '\0') {
      base = v;
      break;
    }
  }
  std::string templ = base + "/" + prefix + "-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {
    return Internal("mkdtemp " + templ + ": " + std::strerror(errno));
  }
  return TempDir(std::string(buf.data()));
}

TempDir::TempDir(TempDir&& other) noexcept
    : path_(std::move(other.path_)), keep_(other.keep_) {
  other.path_.clear();
}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    Remove();
    path_ = std::move(other.path_);
    keep_ = other.keep_;
    other.path_.clear();
  }
  return *this;
}

TempDir::~TempDir() { Remove(); }

std::string TempDir::Join(const std::string& name) const {
  return path_ + "/" + name;
}

void TempDir::Remove() {
  if (path_.empty() || keep_) return;
  std::error_code ignored;  // best effort: a test must not fail on cleanup
  std::filesystem::remove_all(path_, ignored);
  path_.clear();
}

}  // namespace shardkv::test
