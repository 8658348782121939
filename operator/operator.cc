#include "operator/operator.h"

#include <pthread.h>

#include "common/log.h"
#include "operator/desired_objects.h"
#include "operator/reconciler.h"

namespace shardkv::op {
namespace {

const kube::Resource kShardedKVs{"shardkv.io", "v1alpha1", "shardedkvs", true};
const kube::Resource kStatefulSets{"apps", "v1", "statefulsets", true};
const kube::Resource kPods{"", "v1", "pods", true};

// "namespace/name" of the cluster an owned object belongs to ("" if none).
std::string ClusterKeyOf(const Json& object) {
  const Json meta = object.value("metadata", Json::object());
  const std::string cluster =
      meta.value("labels", Json::object()).value(kClusterLabel, "");
  if (cluster.empty()) return "";
  return meta.value("namespace", "") + "/" + cluster;
}

}  // namespace

StatusOr<std::unique_ptr<Operator>> Operator::Create(OperatorOptions options) {
  if (options.leader_elect &&
      (options.lease_name.empty() || options.lease_namespace.empty())) {
    return InvalidArgument("leader election needs a lease name and namespace");
  }
  if (!options.backend_factory) {
    return InvalidArgument("the operator needs a cluster backend factory");
  }
  if (options.identity.empty()) {
    return InvalidArgument("the operator needs an identity (--identity)");
  }
  auto client = kube::KubeClient::Create(options.kube_config);
  if (!client.ok()) return client.status();
  return std::unique_ptr<Operator>(
      new Operator(std::move(options), std::move(*client)));
}

Operator::Operator(OperatorOptions options,
                   std::unique_ptr<kube::KubeClient> client)
    : options_(std::move(options)),
      client_(std::move(client)),
      events_(client_.get(), "shardkv-operator", options_.identity),
      queue_(options_.retry) {
  const std::string& ns = options_.watch_namespace;
  kube::InformerHandlers cluster_handlers;
  cluster_handlers.on_upsert = [this](const Json& o) {
    queue_.Add(kube::ObjectKey(o));
  };
  cluster_handlers.on_delete = cluster_handlers.on_upsert;
  kube::InformerOptions all;
  all.watch_timeout = options_.watch_timeout;
  clusters_ = std::make_unique<kube::Informer>(
      client_.get(), kube::ResourcePath(kShardedKVs, ns), cluster_handlers,
      all);

  kube::InformerHandlers owned;
  owned.on_upsert = [this](const Json& o) { EnqueueObject(o); };
  owned.on_delete = owned.on_upsert;
  kube::InformerOptions selected = all;
  selected.label_selector = kClusterLabel;  // the label exists
  sets_ = std::make_unique<kube::Informer>(
      client_.get(), kube::ResourcePath(kStatefulSets, ns), owned, selected);
  pods_ = std::make_unique<kube::Informer>(
      client_.get(), kube::ResourcePath(kPods, ns), owned, selected);

  ReconcilerContext context;
  context.client = client_.get();
  context.events = &events_;
  context.clusters = clusters_.get();
  context.sets = sets_.get();
  context.pods = pods_.get();
  context.default_image = options_.default_image;
  context.controller_set = options_.controller_set;
  context.backend_factory = options_.backend_factory;
  context.workflow = options_.workflow;
  context.enqueue = [this](const std::string& key) { queue_.Add(key); };
  context.leading = [this] { return leading_.load(); };
  context.resync = options_.resync;
  context.busy_resync = options_.busy_resync;
  reconciler_ = std::make_unique<Reconciler>(std::move(context));
}

Operator::~Operator() { Stop(); }

void Operator::EnqueueObject(const Json& object) {
  const std::string key = ClusterKeyOf(object);
  if (!key.empty()) queue_.Add(key);
}

void Operator::EnqueueAll() {
  for (const Json& object : clusters_->List()) {
    queue_.Add(kube::ObjectKey(object));
  }
}

void Operator::OnStartedLeading() {
  SHARDKV_LOG(kInfo) << options_.identity << " leads: reconciling";
  leading_.store(true);
  EnqueueAll();
}

void Operator::OnStoppedLeading() {
  SHARDKV_LOG(kWarning) << options_.identity
                        << " stopped leading: pausing workflows";
  leading_.store(false);
  reconciler_->AbortAll();
}

Status Operator::Start(std::chrono::milliseconds sync_timeout) {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (started_) return FailedPrecondition("the operator is started");
    started_ = true;
  }
  clusters_->Start();
  sets_->Start();
  pods_->Start();
  for (kube::Informer* informer : {clusters_.get(), sets_.get(), pods_.get()}) {
    if (!informer->WaitForSync(sync_timeout)) {
      return Status(Code::kDeadlineExceeded,
                    "the informer caches did not fill within " +
                        std::to_string(sync_timeout.count()) + " ms");
    }
  }
  synced_.store(true);
  reconcile_thread_ = std::thread([this] { ReconcileLoop(); });
  if (!options_.leader_elect) {
    OnStartedLeading();
    return Status::Ok();
  }
  kube::LeaderElectionConfig election;
  election.lease_namespace = options_.lease_namespace;
  election.lease_name = options_.lease_name;
  election.identity = options_.identity;
  election.lease_duration = options_.lease_duration;
  election.renew_deadline = options_.renew_deadline;
  election.retry_period = options_.retry_period;
  election.on_started_leading = [this] { OnStartedLeading(); };
  election.on_stopped_leading = [this] { OnStoppedLeading(); };
  elector_ = std::make_unique<kube::LeaderElector>(client_.get(), election);
  elector_->Start();
  return Status::Ok();
}

void Operator::Stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (stopped_ || !started_) {
      stopped_ = true;
      return;
    }
    stopped_ = true;
  }
  queue_.ShutDown();
  if (reconcile_thread_.joinable()) reconcile_thread_.join();
  // Workflows stop before the Lease is released: the next leader must not
  // find one still running here.
  reconciler_->AbortAll();
  if (elector_) elector_->Stop();
  leading_.store(false);
  pods_->Stop();
  sets_->Stop();
  clusters_->Stop();
}

int Operator::shardedkv_lists() const { return clusters_->lists(); }

void Operator::SetShardedKVResourceVersionForTest(const std::string& version) {
  clusters_->SetResourceVersionForTest(version);
}

void Operator::ReconcileLoop() {
  pthread_setname_np(pthread_self(), "reconcile");
  while (auto key = queue_.Get()) {
    if (!leading_.load()) {
      // A standby keeps its caches warm; the keys come back when it leads.
      queue_.Done(*key);
      continue;
    }
    auto next = reconciler_->Reconcile(*key);
    reconciles_.fetch_add(1);
    if (next.ok()) {
      queue_.Forget(*key);
      queue_.Done(*key);
      queue_.AddAfter(*key, *next);
    } else {
      SHARDKV_LOG(kWarning)
          << "reconcile " << *key << ": " << next.status().ToString();
      queue_.Done(*key);
      queue_.AddRateLimited(*key);
    }
  }
}

}  // namespace shardkv::op
