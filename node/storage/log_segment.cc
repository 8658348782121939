#include "node/storage/log_segment.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "node/storage/crc32c.h"
#include "node/storage/encoding.h"

namespace shardkv::storage {
namespace {

constexpr char kSegmentMagic[] = "SKVSEG01";
constexpr size_t kMagicBytes = 8;

void PutU32(char* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(v >> (8 * i));
}
uint32_t GetU32(const char* in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    v |= static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  }
  return v;
}
Status Errno(const std::string& what, const std::string& path) {
  return Internal(what + " " + path + ": " + std::strerror(errno));
}

// Reserves a header, lets `fill` append the payload, then writes the header.
template <typename Fill>
void AppendWithHeader(std::string* out, LogRecordType type, Fill fill) {
  const size_t start = out->size();
  out->resize(start + kLogRecordHeaderBytes);
  (*out)[start + 8] = static_cast<char>(type);
  fill();
  const size_t payload = out->size() - start - kLogRecordHeaderBytes;
  const uint32_t crc = Crc32cExtend(0, out->data() + start + 8, payload + 1);
  PutU32(out->data() + start, static_cast<uint32_t>(payload));
  PutU32(out->data() + start + 4, crc);
}

}  // namespace

void AppendLogRecord(std::string* out, LogRecordType type,
                     std::string_view payload) {
  AppendWithHeader(out, type, [&] { out->append(payload); });
}

void AppendEntryRecord(std::string* out, const raft::Entry& entry) {
  out->reserve(out->size() + kLogRecordHeaderBytes + kEntryRecordPrefixBytes +
               entry.data.size());
  AppendWithHeader(out, LogRecordType::kEntry, [&] {
    PutFixed64(out, entry.index);
    PutFixed64(out, entry.term);
    out->push_back(static_cast<char>(entry.type));
    out->append(entry.data);
  });
}

std::string SegmentStartPayload(uint64_t seq) {
  std::string out(kSegmentMagic, kMagicBytes);
  PutFixed64(&out, seq);
  return out;
}

bool DecodeSegmentStart(std::string_view payload, uint64_t* seq) {
  if (payload.size() != kMagicBytes + 8 ||
      payload.substr(0, kMagicBytes) != kSegmentMagic) {
    return false;
  }
  Decoder in(payload.substr(kMagicBytes));
  return in.GetFixed64(seq);
}

bool PeekEntryRecord(std::string_view payload, raft::Index* index,
                     raft::Term* term, raft::EntryType* type) {
  if (payload.size() < kEntryRecordPrefixBytes) return false;
  Decoder in(payload);
  uint8_t t = 0;
  if (!in.GetFixed64(index) || !in.GetFixed64(term) || !in.GetByte(&t)) {
    return false;
  }
  *type = static_cast<raft::EntryType>(t);
  return true;
}

bool DecodeEntryRecord(std::string_view payload, raft::Entry* entry) {
  if (!PeekEntryRecord(payload, &entry->index, &entry->term, &entry->type)) {
    return false;
  }
  entry->data.assign(payload.substr(kEntryRecordPrefixBytes));
  return true;
}

ParseOutcome ParseLogRecord(std::string_view data, LogRecord* out) {
  if (data.size() < kLogRecordHeaderBytes) {
    bool zeros =
        std::all_of(data.begin(), data.end(), [](char c) { return c == 0; });
    return zeros ? ParseOutcome::kEnd : ParseOutcome::kTorn;
  }
  const uint32_t length = GetU32(data.data());
  const uint32_t crc = GetU32(data.data() + 4);
  const auto type = static_cast<uint8_t>(data[8]);
  if (length == 0 && crc == 0 && type == 0) return ParseOutcome::kEnd;
  if (type < static_cast<uint8_t>(LogRecordType::kSegmentStart) ||
      type > static_cast<uint8_t>(LogRecordType::kBootstrapConf)) {
    return ParseOutcome::kCorrupt;
  }
  if (length > data.size() - kLogRecordHeaderBytes) return ParseOutcome::kTorn;
  if (Crc32cExtend(0, data.data() + 8, length + 1) != crc) {
    return ParseOutcome::kCorrupt;
  }
  out->type = static_cast<LogRecordType>(type);
  out->payload = data.substr(kLogRecordHeaderBytes, length);
  out->bytes = kLogRecordHeaderBytes + length;
  return ParseOutcome::kRecord;
}

Status SegmentFile::Prepare(const std::string& path, uint64_t bytes) {
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("create", path);
  // Real zeros, not fallocate: an fallocated extent stays "unwritten" and
  // its first overwrite is a metadata change that fdatasync must journal.
  const std::vector<char> zeros(1 << 20, 0);
  uint64_t done = 0;
  Status status = Status::Ok();
  while (done < bytes) {
    size_t n =
        static_cast<size_t>(std::min<uint64_t>(zeros.size(), bytes - done));
    ssize_t w = ::pwrite(fd, zeros.data(), n, static_cast<off_t>(done));
    if (w <= 0) {
      if (w < 0 && errno == EINTR) continue;
      status = Errno("zero-filling", path);
      break;
    }
    done += static_cast<uint64_t>(w);
  }
  if (status.ok() && ::fsync(fd) != 0) status = Errno("fsync", path);
  ::close(fd);
  return status;
}

StatusOr<std::unique_ptr<SegmentFile>> SegmentFile::Open(
    const std::string& path, uint64_t seq) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  return std::unique_ptr<SegmentFile>(new SegmentFile(path, seq, fd));
}

SegmentFile::~SegmentFile() { ::close(fd_); }

Status SegmentFile::ReadAll(std::string* out) const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return Errno("stat", path_);
  return Read(0, static_cast<size_t>(st.st_size), out);
}

Status SegmentFile::Read(uint64_t offset, size_t size, std::string* out) const {
  out->resize(size);
  size_t done = 0;
  while (done < size) {
    ssize_t r = ::pread(fd_, out->data() + done, size - done,
                        static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Errno("read", path_);
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  out->resize(done);
  return Status::Ok();
}

Status SegmentFile::Write(uint64_t offset, std::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t w = ::pwrite(fd_, data.data() + done, data.size() - done,
                         static_cast<off_t>(offset + done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Errno("write", path_);
    done += static_cast<size_t>(w);
  }
  return Status::Ok();
}

Status SegmentFile::ZeroFrom(uint64_t offset) {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return Errno("stat", path_);
  const std::string zeros(1 << 20, '\0');
  for (auto end = static_cast<uint64_t>(st.st_size); offset < end;) {
    size_t n =
        static_cast<size_t>(std::min<uint64_t>(zeros.size(), end - offset));
    SHARDKV_RETURN_IF_ERROR(
        Write(offset, std::string_view(zeros).substr(0, n)));
    offset += n;
  }
  return Status::Ok();
}

Status SegmentFile::Sync() {
  if (::fdatasync(fd_) != 0) return Errno("fdatasync", path_);
  return Status::Ok();
}

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open", dir);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) {
    errno = err;
    return Errno("fsync", dir);
  }
  return Status::Ok();
}

}  // namespace shardkv::storage
