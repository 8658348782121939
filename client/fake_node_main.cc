// Test double of `shardkv-node` for the playground and CLI tests (never
// shipped): same flags, serves KV and Admin from memory. Replica 1 acts as
// the leader; the others answer NOT_LEADER with its address, except stale
// reads. Persists nothing but a marker file in --data-dir (so tests can see
// restarts reuse it). Exits cleanly on SIGTERM.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <string>

#include "shardkv/v1/kv.grpc.pb.h"

namespace {

using namespace shardkv;  // NOLINT: a small test binary

struct Flags {
  uint64_t id = 0;
  std::string listen, peers, data_dir;
  std::string leader_address;
};

grpc::Status NotLeader(const Flags& f) {
  v1::ErrorDetail d;
  d.set_reason(v1::NOT_LEADER);
  d.set_leader_id(1);
  d.set_leader_address(f.leader_address);
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "not the leader",
                      d.SerializeAsString());
}

class Kv final : public v1::KV::Service {
 public:
  explicit Kv(const Flags& f) : f_(f) {}
  grpc::Status Get(grpc::ServerContext*, const v1::GetRequest* req,
                   v1::GetResponse* resp) override {
    if (f_.id != 1 && req->consistency() != v1::CONSISTENCY_STALE) {
      return NotLeader(f_);
    }
    std::lock_guard<std::mutex> lock(mu_);
    auto it = data_.find(req->key());
    if (it == data_.end()) return grpc::Status::OK;
    resp->set_found(true);
    resp->set_value(it->second.first);
    resp->set_version(it->second.second);
    return grpc::Status::OK;
  }
  grpc::Status Set(grpc::ServerContext*, const v1::SetRequest* req,
                   v1::SetResponse* resp) override {
    if (f_.id != 1) return NotLeader(f_);
    std::lock_guard<std::mutex> lock(mu_);
    auto& entry = data_[req->key()];
    bool exists = entry.second > 0;
    if ((req->has_if_absent() && exists) ||
        (req->has_if_version() && entry.second != req->if_version())) {
      v1::ErrorDetail d;
      d.set_reason(v1::CONDITION_FAILED);
      d.set_current_version(entry.second);
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "condition failed", d.SerializeAsString());
    }
    entry = {req->value(), entry.second + 1};
    resp->set_version(entry.second);
    return grpc::Status::OK;
  }
  grpc::Status Delete(grpc::ServerContext*, const v1::DeleteRequest* req,
                      v1::DeleteResponse* resp) override {
    if (f_.id != 1) return NotLeader(f_);
    std::lock_guard<std::mutex> lock(mu_);
    resp->set_deleted(data_.erase(req->key()) > 0);
    return grpc::Status::OK;
  }

 private:
  const Flags& f_;
  std::mutex mu_;
  std::map<std::string, std::pair<std::string, uint64_t>> data_;
};

class Admin final : public v1::Admin::Service {
 public:
  explicit Admin(const Flags& f) : f_(f) {}
  grpc::Status Status(grpc::ServerContext*, const v1::StatusRequest*,
                      v1::StatusResponse* r) override {
    r->set_id(f_.id);
    r->set_address(f_.listen);
    r->set_role(f_.id == 1 ? v1::ROLE_LEADER : v1::ROLE_FOLLOWER);
    r->set_term(1);
    r->set_leader_id(1);
    r->set_leader_address(f_.leader_address);
    r->set_ready(true);
    return grpc::Status::OK;
  }

 private:
  const Flags& f_;
};

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--id") f.id = std::stoull(v);
    if (k == "--listen") f.listen = v;
    if (k == "--peers") f.peers = v;
    if (k == "--data-dir") f.data_dir = v;
  }
  size_t one = f.peers.find("1=");
  f.leader_address = f.peers.substr(one + 2, f.peers.find(',', one) - one - 2);
  std::string marker = f.data_dir + ".starts";
  std::ofstream(marker, std::ios::app) << "start\n";

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  Kv kv(f);
  Admin admin(f);
  grpc::ServerBuilder b;
  b.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);  // see node_server.cc
  b.AddListeningPort(f.listen, grpc::InsecureServerCredentials());
  b.RegisterService(&kv);
  b.RegisterService(&admin);
  auto server = b.BuildAndStart();
  if (!server) return 1;
  std::cout << "fake node " << f.id << " serving " << f.listen << std::endl;
  int sig = 0;
  sigwait(&set, &sig);
  server->Shutdown(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(500));
  std::cout << "fake node " << f.id << " stopped by signal " << sig
            << std::endl;
  return 0;
}
