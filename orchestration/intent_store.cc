#include "orchestration/intent_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace shardkv::orchestration {
namespace {

bool ValidToken(const std::string& s) {
  return !s.empty() && s.find_first_of(" \t\r\n") == std::string::npos;
}

Status WriteFileDurably(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Internal("cannot write " + tmp + ": " + strerror(errno));
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return Internal("cannot write " + tmp + ": " + strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  bool synced = fsync(fd) == 0;
  close(fd);
  if (!synced) return Internal("fsync of " + tmp + " failed");
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    return Internal("cannot rename " + tmp + ": " + strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

std::string EncodeIntent(const Intent& intent) {
  std::string out =
      "workflow " + intent.workflow + "\nstep " + intent.step + "\n";
  for (const auto& [name, value] : intent.params) {
    out += "param " + name + " " + value + "\n";
  }
  return out;
}

StatusOr<Intent> DecodeIntent(const std::string& text) {
  Intent intent;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    auto bad = [&](const std::string& why) {
      return InvalidArgument("intent line " + std::to_string(number) + " ('" +
                             line + "'): " + why);
    };
    size_t space = line.find(' ');
    if (space == std::string::npos) return bad("expected 'key value'");
    std::string key = line.substr(0, space);
    std::string rest = line.substr(space + 1);
    if (key == "workflow") {
      intent.workflow = rest;
    } else if (key == "step") {
      intent.step = rest;
    } else if (key == "param") {
      size_t sep = rest.find(' ');
      if (sep == std::string::npos || sep == 0) return bad("param NAME VALUE");
      intent.params[rest.substr(0, sep)] = rest.substr(sep + 1);
    } else {
      return bad("unknown key '" + key + "'");
    }
  }
  if (!ValidToken(intent.workflow) || !ValidToken(intent.step)) {
    return InvalidArgument("intent without a workflow or a step");
  }
  return intent;
}

StatusOr<std::optional<Intent>> FileIntentStore::Load() {
  std::ifstream in(path_);
  if (!in) {
    if (access(path_.c_str(), F_OK) != 0) return std::optional<Intent>();
    return Internal("cannot read " + path_);
  }
  std::stringstream content;
  content << in.rdbuf();
  auto intent = DecodeIntent(content.str());
  if (!intent.ok()) {
    return InvalidArgument(path_ + ": " + intent.status().message());
  }
  return std::optional<Intent>(*intent);
}

Status FileIntentStore::Save(const Intent& intent) {
  if (!ValidToken(intent.workflow) || !ValidToken(intent.step)) {
    return InvalidArgument("intent needs a workflow and a step");
  }
  for (const auto& [name, value] : intent.params) {
    if (!ValidToken(name) || value.find('\n') != std::string::npos) {
      return InvalidArgument("intent param '" + name + "' cannot be stored");
    }
  }
  return WriteFileDurably(path_, EncodeIntent(intent));
}

Status FileIntentStore::Clear() {
  if (unlink(path_.c_str()) != 0 && errno != ENOENT) {
    return Internal("cannot remove " + path_ + ": " + strerror(errno));
  }
  return Status::Ok();
}

}  // namespace shardkv::orchestration
