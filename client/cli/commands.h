// The `shardkv` commands: each runs one parsed command (command_line.h),
// prints its result on stdout (errors on stderr) and returns the exit code.
// Each runs on the calling thread and owns whatever it starts.
#pragma once

#include "client/cli/command_line.h"

namespace shardkv::cli {

int RunGet(const GlobalOptions& global, const GetCommand& command);
int RunSet(const GlobalOptions& global, const SetCommand& command);
int RunDel(const GlobalOptions& global, const DelCommand& command);
int RunStatus(const GlobalOptions& global);
int RunMember(const GlobalOptions& global, const MemberCommand& command);
int RunLeaderTransfer(const GlobalOptions& global,
                      const LeaderTransferCommand& command);
int RunPlayground(const PlaygroundCommand& command);
int RunBench(const GlobalOptions& global, const BenchCommand& command);

// "1.5s", "250ms", "2h3m": a friendly rendering of a duration.
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace shardkv::cli
