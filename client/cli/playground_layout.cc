#include "client/cli/playground_layout.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace shardkv::cli {
namespace {

std::string Address(int port) { return "127.0.0.1:" + std::to_string(port); }

std::string LayoutPath(const std::string& dir) { return dir + "/layout"; }

}  // namespace

std::vector<std::string> PlaygroundLayout::ControllerAddresses() const {
  std::vector<std::string> out;
  for (const auto& c : controllers) out.push_back(c.address);
  return out;
}

std::vector<std::string> PlaygroundLayout::AllAddresses() const {
  std::vector<std::string> out = ControllerAddresses();
  for (const auto& [shard, replicas] : shards) {
    for (const auto& r : replicas) out.push_back(r.address);
  }
  return out;
}

std::string EncodeLayout(const PlaygroundLayout& layout) {
  std::string out = "replicas " + std::to_string(layout.replicas) + "\n" +
                    "next-port " + std::to_string(layout.next_port) + "\n";
  if (layout.slot_count > 0) {
    out += "slot-count " + std::to_string(layout.slot_count) + "\n";
  }
  for (const auto& c : layout.controllers) {
    out += "controller " + std::to_string(c.id) + " " + c.address + "\n";
  }
  for (const auto& [shard, replicas] : layout.shards) {
    for (const auto& r : replicas) {
      out += "replica " + std::to_string(shard) + " " + std::to_string(r.id) +
             " " + r.address + (r.join ? " join" : "") + "\n";
    }
  }
  return out;
}

StatusOr<PlaygroundLayout> DecodeLayout(const std::string& text) {
  PlaygroundLayout layout;
  layout.next_port = 0;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    std::istringstream fields(line);
    std::string kind, extra;
    fields >> kind;
    bool ok = true;
    if (kind == "replicas") {
      ok = static_cast<bool>(fields >> layout.replicas) && layout.replicas > 0;
    } else if (kind == "next-port") {
      ok = static_cast<bool>(fields >> layout.next_port);
    } else if (kind == "slot-count") {
      ok = static_cast<bool>(fields >> layout.slot_count);
    } else if (kind == "controller") {
      PlaygroundProcess c;
      ok = static_cast<bool>(fields >> c.id >> c.address) && c.id > 0;
      layout.controllers.push_back(c);
    } else if (kind == "replica") {
      uint32_t shard = 0;
      PlaygroundProcess r;
      ok = static_cast<bool>(fields >> shard >> r.id >> r.address) &&
           shard > 0 && r.id > 0;
      if (fields >> extra) {
        r.join = extra == "join";
        ok = ok && r.join;
      }
      layout.shards[shard].push_back(r);
    } else {
      ok = false;
    }
    if (!ok || (fields >> extra && kind != "replica")) {
      return InvalidArgument("layout line " + std::to_string(number) + ": '" +
                             line + "'");
    }
  }
  if (layout.next_port <= 0 || layout.shards.empty()) {
    return InvalidArgument("layout without next-port or shards");
  }
  return layout;
}

StatusOr<PlaygroundLayout> LoadLayout(const std::string& dir) {
  std::ifstream in(LayoutPath(dir));
  if (!in) return NotFound("no " + LayoutPath(dir));
  std::stringstream content;
  content << in.rdbuf();
  auto layout = DecodeLayout(content.str());
  if (!layout.ok()) {
    return InvalidArgument(LayoutPath(dir) + ": " + layout.status().message());
  }
  return layout;
}

Status SaveLayout(const std::string& dir, const PlaygroundLayout& layout) {
  std::string path = LayoutPath(dir), tmp = path + ".tmp";
  std::string content = EncodeLayout(layout);
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Internal("cannot write " + tmp + ": " + strerror(errno));
  bool ok = write(fd, content.data(), content.size()) ==
                static_cast<ssize_t>(content.size()) &&
            fsync(fd) == 0;
  close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    return Internal("cannot write " + path + ": " + strerror(errno));
  }
  return Status::Ok();
}

PlaygroundLayout InitialLayout(int shards, int replicas, int controllers,
                               int base_port, int slot_count) {
  PlaygroundLayout layout;
  layout.slot_count = slot_count;
  layout.replicas = replicas;
  int port = base_port;
  for (int c = 1; c <= controllers; ++c) {
    layout.controllers.push_back({static_cast<uint64_t>(c), Address(port++)});
  }
  for (int s = 1; s <= shards; ++s) {
    for (int r = 1; r <= replicas; ++r) {
      layout.shards[s].push_back({static_cast<uint64_t>(r), Address(port++)});
    }
  }
  layout.next_port = port;
  return layout;
}

}  // namespace shardkv::cli
