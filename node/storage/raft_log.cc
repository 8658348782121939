#include "node/storage/raft_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "node/storage/raft_log_store.h"
#include "node/storage/segment_log_store.h"

namespace shardkv::storage {
namespace {

constexpr char kKindFile[] = "RAFT_LOG_KIND";

void Erase(std::vector<raft::NodeId>* ids, raft::NodeId id) {
  ids->erase(std::remove(ids->begin(), ids->end(), id), ids->end());
}

bool Contains(const std::vector<raft::NodeId>& ids, raft::NodeId id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// Whether RocksDB holds a log of its own (a data dir made before the kind
// file existed, or a kRocksDb one whose kind file was lost).
StatusOr<bool> RocksDbHoldsALog(Engine* engine) {
  for (Column column : {Column::kRaftState, Column::kRaftLog}) {
    std::unique_ptr<rocksdb::Iterator> it(
        engine->db()->NewIterator({}, engine->cf(column)));
    it->SeekToFirst();
    SHARDKV_RETURN_IF_ERROR(FromRocks(it->status(), "reading the raft log"));
    if (it->Valid()) return true;
  }
  return false;
}

Status SyncPath(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) {
    return Internal("open " + path + ": " + std::strerror(errno));
  }
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Internal("fsync " + path + ": " + std::strerror(err));
  return Status::Ok();
}

// Writes the kind file durably (temp file, fsync, rename, fsync of the dir).
Status WriteKindFile(const std::string& data_dir, RaftLogKind kind) {
  const std::string path = data_dir + "/" + kKindFile;
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << RaftLogKindName(kind) << "\n";
    out.close();
    if (!out) return Internal("cannot write " + tmp);
  }
  SHARDKV_RETURN_IF_ERROR(SyncPath(tmp, O_RDONLY));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return Internal("rename " + tmp + ": " + std::strerror(errno));
  }
  return SyncPath(data_dir, O_RDONLY | O_DIRECTORY);
}

}  // namespace

const char* RaftLogKindName(RaftLogKind kind) {
  return kind == RaftLogKind::kSegments ? "segments" : "rocksdb";
}

StatusOr<RaftLogKind> ParseRaftLogKind(const std::string& name) {
  if (name == "segments") return RaftLogKind::kSegments;
  if (name == "rocksdb") return RaftLogKind::kRocksDb;
  return InvalidArgument("raft log kind '" + name +
                         "' is not 'segments' or 'rocksdb'");
}

StatusOr<std::unique_ptr<RaftLog>> OpenRaftLog(RaftLogKind kind,
                                               const std::string& data_dir,
                                               Engine* engine) {
  const std::string path = data_dir + "/" + kKindFile;
  std::optional<RaftLogKind> recorded;
  if (std::ifstream in(path); in) {
    std::string name;
    in >> name;
    auto parsed = ParseRaftLogKind(name);
    if (!parsed.ok()) {
      return DataLoss(path + ": " + parsed.status().message());
    }
    recorded = *parsed;
  } else {
    // No kind file: a data dir from before it existed (RocksDB), or one
    // whose file was lost.
    std::error_code ec;
    if (!std::filesystem::is_empty(data_dir + "/raft-log", ec) && !ec) {
      recorded = RaftLogKind::kSegments;
    }
    auto legacy = RocksDbHoldsALog(engine);
    if (!legacy.ok()) return legacy.status();
    if (*legacy) recorded = RaftLogKind::kRocksDb;
  }
  if (recorded && *recorded != kind) {
    return FailedPrecondition(
        "the data dir " + data_dir + " holds a raft log of kind '" +
        RaftLogKindName(*recorded) +
        "' but this node was started with "
        "--raft-log=" +
        RaftLogKindName(kind) +
        "; a log is never converted: start with --raft-log=" +
        RaftLogKindName(*recorded) + " or use an empty data dir");
  }
  if (!recorded) SHARDKV_RETURN_IF_ERROR(WriteKindFile(data_dir, kind));
  if (kind == RaftLogKind::kRocksDb) {
    return std::unique_ptr<RaftLog>(std::make_unique<RaftLogStore>(engine));
  }
  return std::unique_ptr<RaftLog>(
      std::make_unique<SegmentLogStore>(data_dir + "/raft-log"));
}

void ApplyConfChange(const raft::ConfChange& change, raft::ConfState* conf) {
  switch (change.type) {
    case raft::ConfChangeType::kAddLearner:
      if (!Contains(conf->voters, change.node) &&
          !Contains(conf->learners, change.node)) {
        conf->learners.push_back(change.node);
      }
      break;
    case raft::ConfChangeType::kPromote:
      Erase(&conf->learners, change.node);
      if (!Contains(conf->voters, change.node)) {
        conf->voters.push_back(change.node);
      }
      break;
    case raft::ConfChangeType::kRemove:
      Erase(&conf->voters, change.node);
      Erase(&conf->learners, change.node);
      break;
  }
}

}  // namespace shardkv::storage
