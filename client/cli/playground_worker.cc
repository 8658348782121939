#include "client/cli/playground_worker.h"

#include <iostream>

#include "orchestration/admin_shard_admin.h"
#include "orchestration/grpc_controller_api.h"
#include "orchestration/workflows.h"

namespace shardkv::cli {
namespace {

namespace orch = shardkv::orchestration;
using std::chrono::milliseconds;

constexpr milliseconds kStartTimeout{60'000};

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

// The workflows for this playground, reporting to `conn` (may be null).
struct Workflows {
  Workflows(LocalProcesses& processes, const std::string& dir,
            const std::atomic<bool>& stop, ControlConnection* conn);
  orch::GrpcControllerApi controller;
  orch::AdminShardAdmin admin;
  orch::FileIntentStore intents;
  std::unique_ptr<orch::Orchestrator> orchestrator;
};

Workflows::Workflows(LocalProcesses& processes, const std::string& dir,
                     const std::atomic<bool>& stop, ControlConnection* conn)
    : controller(processes.layout().ControllerAddresses()),
      admin(
          [&processes](orch::ShardId s) -> StatusOr<std::vector<std::string>> {
            return processes.ShardAddresses(s);
          }),
      intents(dir + "/intent") {
  orch::WorkflowOptions options;
  options.abort_requested = [&stop] { return stop.load(); };
  options.on_progress = [conn, last = std::string()](
                            const orch::Progress& p) mutable {
    std::string line =
        "progress " + p.workflow + ":" + p.step + " " +
        std::to_string(p.slots_moved) + " " + std::to_string(p.slots_total) +
        " " + std::to_string(p.bytes_moved) + " " + std::to_string(p.in_flight);
    if (line == last) return;
    last = line;
    if (conn != nullptr) conn->Send(line);
    if (p.slots_total == 0) {
      std::cerr << "playground: " << p.workflow << ": " << p.step << "\n";
    }
  };
  if (conn != nullptr) {
    options.cancel_requested = [conn] { return conn->PeerGone(); };
  }
  orchestrator = std::make_unique<orch::Orchestrator>(processes, controller,
                                                      admin, intents, options);
}

}  // namespace

PlaygroundWorker::PlaygroundWorker(LocalProcesses& processes, std::string dir)
    : processes_(processes),
      dir_(std::move(dir)),
      control_(dir_ + "/control.sock") {}

void PlaygroundWorker::Stop() {
  stop_ = true;
  control_.Stop();
  processes_.RequestAbort();
}

void PlaygroundWorker::Run() {
  Status st = control_.Listen();
  if (st.ok()) {
    st = processes_.layout().sharded() ? StartSharded() : StartUnsharded();
  }
  if (!st.ok()) {
    if (!stop_) {
      std::cerr << "playground: " << st.message() << "\n";
      failed_ = true;
    }
    return;
  }
  PrintReady();
  control_.Serve([this](const std::string& request, ControlConnection& conn) {
    HandleRequest(request, conn);
  });
}

Status PlaygroundWorker::StartUnsharded() {
  return processes_.WaitShardReady(1, kStartTimeout);
}

Status PlaygroundWorker::StartSharded() {
  Workflows w(processes_, dir_, stop_, nullptr);
  orch::WaitOptions wait;
  wait.timeout = kStartTimeout;
  wait.stop = [this] { return stop_.load(); };
  auto map = orch::WaitForMap(
      w.controller, [](const v1::SlotMap&) { return true; }, wait);
  if (!map.ok()) {
    return Status(map.status().code(),
                  "the controller did not answer: " + map.status().message() +
                      "; see " + dir_ + "/controller-*.log");
  }
  // A workflow the last run left unfinished goes first.
  SHARDKV_RETURN_IF_ERROR(w.orchestrator->Resume());
  map = w.controller.GetMap();
  if (!map.ok()) return map.status();
  std::vector<orch::ShardId> missing;
  for (const auto& [shard, replicas] : processes_.layout().shards) {
    if (orch::FindShard(*map, shard) == nullptr) missing.push_back(shard);
  }
  if (!missing.empty()) {
    std::cerr << "playground: joining shards " << orch::FormatIds(missing)
              << " and assigning slots\n";
    SHARDKV_RETURN_IF_ERROR(w.orchestrator->ScaleOut(missing));
  }
  return Status::Ok();
}

void PlaygroundWorker::PrintReady() {
  PlaygroundLayout layout = processes_.layout();
  std::string list = Join(layout.AllAddresses());
  std::cout << "endpoints: " << list << std::endl;
  if (layout.sharded()) {
    orch::GrpcControllerApi controller(layout.ControllerAddresses());
    if (auto map = controller.GetMap(); map.ok()) {
      std::cerr << "playground: slot map epoch " << map->epoch() << ", "
                << map->slot_count() << " slots\n";
      for (const auto& s : map->shards()) {
        std::cerr << "playground:   shard " << s.id() << ": "
                  << s.members_size() << " replicas, "
                  << orch::SlotsOwnedBy(*map, s.id()) << " slots\n";
      }
    }
    std::cerr << "playground: `shardkv playground scale --shards N "
                 "--data-dir "
              << dir_ << "` grows or shrinks it\n";
  }
  std::cerr << "playground: logs in " << dir_ << "/*.log\n"
            << "playground: try  shardkv --endpoints " << list
            << " set hello world\n"
            << "playground: Ctrl-C stops the replicas (data is kept)\n";
  ready_ = true;
}

void PlaygroundWorker::HandleRequest(const std::string& request,
                                     ControlConnection& conn) {
  int shards = 0;
  if (sscanf(request.c_str(), "scale %d", &shards) != 1 || shards < 1 ||
      shards > 64) {
    conn.Send("error bad request '" + request + "'");
    return;
  }
  if (!processes_.layout().sharded()) {
    conn.Send(
        "error this playground has no controller (--controllers 0); start a "
        "new one with --controllers 1 to scale");
    return;
  }
  Status st = Scale(shards, conn);
  if (st.ok()) {
    conn.Send("done now " + std::to_string(shards) + " shards");
  } else {
    conn.Send("error " + st.ToString());
  }
}

Status PlaygroundWorker::Scale(int shards, ControlConnection& conn) {
  Workflows w(processes_, dir_, stop_, &conn);
  SHARDKV_RETURN_IF_ERROR(w.orchestrator->Resume());
  std::vector<orch::ShardId> ids;
  for (const auto& [shard, replicas] : processes_.layout().shards) {
    ids.push_back(shard);
  }
  int have = static_cast<int>(ids.size());
  if (shards == have) {
    conn.Send("note already " + std::to_string(have) + " shards");
    return Status::Ok();
  }
  std::vector<orch::ShardId> change;
  if (shards > have) {
    for (int i = 1; i <= shards - have; ++i) change.push_back(ids.back() + i);
    conn.Send("note adding shards " + orch::FormatIds(change));
    std::cerr << "playground: adding shards " << orch::FormatIds(change)
              << "\n";
    return w.orchestrator->ScaleOut(change);
  }
  change.assign(ids.end() - (have - shards), ids.end());
  conn.Send("note draining and removing shards " + orch::FormatIds(change) +
            " (Ctrl-C cancels while they drain)");
  std::cerr << "playground: removing shards " << orch::FormatIds(change)
            << "\n";
  return w.orchestrator->ScaleIn(change);
}

}  // namespace shardkv::cli
