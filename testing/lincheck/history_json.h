// JSON-lines form of a history, so that a failing history can be saved by a
// test and replayed with `lincheck_tool FILE`. One operation per line, a
// flat object:
//   {"id":7,"client":2,"kind":"set","key":"k1","value":"v3",
//    "condition":"if_version","expected_version":2,"ttl":false,
//    "outcome":"ok","found":false,"result_value":"","version_known":false,
//    "version":3,"deleted":false,"call_ns":1200,"return_ns":1350}
// "return_ns" is null for unknown outcomes. Strings are JSON strings whose
// bytes outside printable ASCII are written as \u00XX (one byte each), so
// arbitrary binary keys and values round-trip exactly.
//
// Pure functions; no shared state.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "testing/lincheck/operation.h"

namespace shardkv::lincheck {

std::string OperationToJson(const Operation& op);
StatusOr<Operation> OperationFromJson(const std::string& line);

// Writes one line per operation. Returns an error if the file can't be
// written.
Status WriteHistoryFile(const std::string& path,
                        const std::vector<Operation>& ops);
// Reads a file written by WriteHistoryFile (blank lines ignored). Errors
// name the offending line.
StatusOr<std::vector<Operation>> ReadHistoryFile(const std::string& path);

}  // namespace shardkv::lincheck
