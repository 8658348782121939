#include "client/error_detail.h"

#include <charconv>
#include <string>
#include <string_view>

namespace shardkv::client {
namespace {

constexpr std::string_view kVersionMarker = "(current version ";

}  // namespace

std::optional<v1::ErrorDetail> DecodeErrorDetail(const grpc::Status& status) {
  if (status.ok() || status.error_details().empty()) return std::nullopt;
  v1::ErrorDetail detail;
  if (!detail.ParseFromString(status.error_details())) return std::nullopt;
  return detail;
}

Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return Status::Ok();
  auto code = static_cast<Code>(status.error_code());
  std::string message = status.error_message();
  std::optional<v1::ErrorDetail> detail = DecodeErrorDetail(status);
  if (detail && detail->reason() == v1::CONDITION_FAILED) {
    if (message.empty()) message = "condition failed";
    message += " " + std::string(kVersionMarker) +
               std::to_string(detail->current_version()) + ")";
  }
  if (message.empty()) message = "request failed";
  return Status(code, std::move(message));
}

std::optional<uint64_t> ConditionFailedVersion(const Status& status) {
  if (status.code() != Code::kFailedPrecondition) return std::nullopt;
  const std::string& m = status.message();
  size_t pos = m.rfind(kVersionMarker);
  if (pos == std::string::npos) return std::nullopt;
  const char* begin = m.data() + pos + kVersionMarker.size();
  const char* end = m.data() + m.size();
  uint64_t version = 0;
  auto [ptr, ec] = std::from_chars(begin, end, version);
  if (ec != std::errc() || ptr == end || *ptr != ')') return std::nullopt;
  return version;
}

}  // namespace shardkv::client
