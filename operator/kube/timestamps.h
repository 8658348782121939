// Kubernetes time formats: metav1.Time ("2024-01-02T03:04:05Z") and
// metav1.MicroTime ("2024-01-02T03:04:05.123456Z"), always UTC.
// Thread-safety: pure functions.
#ifndef SHARDKV_OPERATOR_KUBE_TIMESTAMPS_H_
#define SHARDKV_OPERATOR_KUBE_TIMESTAMPS_H_

#include <chrono>
#include <optional>
#include <string>

namespace shardkv::kube {

std::string FormatTime(std::chrono::system_clock::time_point t);
std::string FormatMicroTime(std::chrono::system_clock::time_point t);
// Reads "2024-01-02T03:04:05Z" (a fraction of seconds is ignored);
// nullopt when `text` is not of that form.
std::optional<std::chrono::system_clock::time_point> ParseTime(
    const std::string& text);

}  // namespace shardkv::kube

#endif  // SHARDKV_OPERATOR_KUBE_TIMESTAMPS_H_
