#include "client/bench/redis_target.h"

#include <hiredis/hiredis.h>
#include <pthread.h>

#include <cstdio>

namespace shardkv::bench {
namespace {

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

}  // namespace

struct RedisTarget::Worker {
  struct Job {
    OpType type;
    std::string key;
    const std::string* value;
    Done done;
  };
  int client = 0;
  ContextPtr context;  // only touched by this worker's thread (or Connect)
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Job> job;  // GUARDED_BY(mu)
  bool stop = false;       // GUARDED_BY(mu)
  std::thread thread;
};

RedisTarget::RedisTarget(const RedisTargetOptions& options)
    : options_(options) {
  size_t colon = options_.endpoint.rfind(':');
  if (colon != std::string::npos) {
    host_ = options_.endpoint.substr(0, colon);
    port_ = std::atoi(options_.endpoint.c_str() + colon + 1);
  }
  for (int c = 0; c < options_.clients; ++c) {
    auto worker = std::make_unique<Worker>();
    worker->client = c;
    workers_.push_back(std::move(worker));
  }
}

RedisTarget::~RedisTarget() {
  for (auto& w : workers_) {
    if (!w->thread.joinable()) continue;
    {
      std::lock_guard<std::mutex> lock(w->mu);
      w->stop = true;
    }
    w->cv.notify_all();
    w->thread.join();
  }
}

namespace {

StatusOr<ContextPtr> Open(const std::string& host, int port,
                          std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  ContextPtr c(redisConnectWithTimeout(host.c_str(), port, tv));
  if (c == nullptr) return Unavailable("redis: out of memory");
  if (c->err != 0) {
    return Unavailable("redis at " + host + ":" + std::to_string(port) + ": " +
                       c->errstr);
  }
  redisSetTimeout(c.get(), tv);
  return c;
}

}  // namespace

Status RedisTarget::Connect() {
  if (host_.empty() || port_ <= 0) {
    return InvalidArgument("redis endpoint \"" + options_.endpoint +
                           "\" is not host:port");
  }
  for (auto& w : workers_) {
    if (w->thread.joinable()) continue;
    auto c = Open(host_, port_, options_.timeout);
    if (!c.ok()) return c.status();
    ReplyPtr pong(static_cast<redisReply*>(redisCommand(c->get(), "PING")));
    if (pong == nullptr || pong->type == REDIS_REPLY_ERROR) {
      return Unavailable("redis at " + options_.endpoint + ": PING failed");
    }
    w->context = std::move(*c);
    w->thread = std::thread([this, worker = w.get()] { Work(worker); });
  }
  return Status::Ok();
}

void RedisTarget::Start(int client, OpType type, const std::string& key,
                        const std::string& value, Done done) {
  Worker& w = *workers_[static_cast<size_t>(client)];
  {
    std::lock_guard<std::mutex> lock(w.mu);
    w.job = Worker::Job{type, key, &value, std::move(done)};
  }
  w.cv.notify_all();
}

void RedisTarget::Work(Worker* w) {
  char name[16];
  std::snprintf(name, sizeof(name), "redis-c%d", w->client);
  pthread_setname_np(pthread_self(), name);
  while (true) {
    Worker::Job job;
    {
      std::unique_lock<std::mutex> lock(w->mu);
      w->cv.wait(lock, [w] { return w->stop || w->job.has_value(); });
      if (w->stop) return;
      job = std::move(*w->job);
      w->job.reset();
    }
    Status result = Status::Ok();
    if (w->context == nullptr) {
      auto c = Open(host_, port_, options_.timeout);
      if (c.ok())
        w->context = std::move(*c);
      else
        result = c.status();
    }
    if (w->context != nullptr) {
      void* raw = job.type == OpType::kRead
                      ? redisCommand(w->context.get(), "GET %b", job.key.data(),
                                     job.key.size())
                      : redisCommand(w->context.get(), "SET %b %b",
                                     job.key.data(), job.key.size(),
                                     job.value->data(), job.value->size());
      ReplyPtr reply(static_cast<redisReply*>(raw));
      if (reply == nullptr) {
        result = Unavailable(std::string("redis: ") + w->context->errstr);
        w->context.reset();  // hiredis contexts are unusable after an error
      } else if (reply->type == REDIS_REPLY_ERROR) {
        result = Internal(std::string("redis: ") + reply->str);
      }
    }
    job.done(result);
  }
}

}  // namespace shardkv::bench
