#include "operator/kube/client.h"

#include <cpprest/containerstream.h>
#include <cpprest/http_client.h>

#include <atomic>
#include <system_error>
#include <utility>

namespace shardkv::kube {
namespace {

namespace http = web::http;
namespace http_client = web::http::client;

// Watches outlive their server-side timeout only by this much before the
// client gives up on a silent connection.
constexpr std::chrono::seconds kWatchIdleMargin{30};
constexpr std::chrono::seconds kRequestTimeout{30};

std::string Encode(const std::string& value) {
  return web::uri::encode_data_string(value);
}

void AddQuery(std::string& path, const std::string& key,
              const std::string& value) {
  if (value.empty()) return;
  path += (path.find('?') == std::string::npos ? '?' : '&');
  path += key + "=" + Encode(value);
}

http_client::http_client_config ClientConfig(const KubeConfig& config,
                                             std::chrono::seconds timeout) {
  http_client::http_client_config cc;
  cc.set_timeout(timeout);
  cc.set_validate_certificates(!config.insecure_skip_verify);
  const std::string ca = config.ca_pem;
  const std::string cert = config.client_cert_pem;
  const std::string key = config.client_key_pem;
  cc.set_ssl_context_callback([ca, cert, key](boost::asio::ssl::context& ctx) {
    if (!ca.empty()) {
      ctx.add_certificate_authority(boost::asio::buffer(ca.data(), ca.size()));
    }
    if (!cert.empty()) {
      ctx.use_certificate_chain(boost::asio::buffer(cert.data(), cert.size()));
      ctx.use_private_key(boost::asio::buffer(key.data(), key.size()),
                          boost::asio::ssl::context::pem);
    }
  });
  return cc;
}

// The API server's error Status object (kind: Status) as our Status.
Status ApiError(int http_status, const std::string& body) {
  std::string reason;
  std::string message = body;
  Json parsed = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object()) {
    reason = parsed.value("reason", "");
    message = parsed.value("message", body);
  }
  return Status(CodeForHttpStatus(http_status, reason),
                "HTTP " + std::to_string(http_status) +
                    (reason.empty() ? "" : " " + reason) + ": " + message);
}

Status TransportError(const std::exception& e) {
  if (const auto* he = dynamic_cast<const http::http_exception*>(&e)) {
    if (he->error_code() == std::errc::timed_out) {
      return Status(Code::kDeadlineExceeded,
                    std::string("request timed out: ") + he->what());
    }
  }
  return Unavailable(std::string("kube API request failed: ") + e.what());
}

}  // namespace

Code CodeForHttpStatus(int http_status, const std::string& reason) {
  switch (http_status) {
    case 400:
    case 422:
      return Code::kInvalidArgument;
    case 401:
      return Code::kPermissionDenied;  // no UNAUTHENTICATED in Code
    case 403:
      return Code::kPermissionDenied;
    case 404:
      return Code::kNotFound;
    case 409:
      return reason == "AlreadyExists" ? Code::kAlreadyExists : Code::kAborted;
    case 410:
      return Code::kOutOfRange;
    case 429:
      return Code::kResourceExhausted;
    case 504:
      return Code::kDeadlineExceeded;
    default:
      return http_status >= 500 ? Code::kUnavailable : Code::kUnknown;
  }
}

std::string ResourcePath(const Resource& resource, const std::string& ns,
                         const std::string& name,
                         const std::string& subresource) {
  std::string path = resource.group.empty()
                         ? "/api/" + resource.version
                         : "/apis/" + resource.group + "/" + resource.version;
  if (resource.namespaced && !ns.empty()) path += "/namespaces/" + ns;
  path += "/" + resource.plural;
  if (!name.empty()) path += "/" + name;
  if (!name.empty() && !subresource.empty()) path += "/" + subresource;
  return path;
}

struct WatchCanceller::Impl {
  pplx::cancellation_token_source source;
  std::atomic<bool> cancelled{false};
};

WatchCanceller::WatchCanceller() : impl_(std::make_shared<Impl>()) {}

void WatchCanceller::Cancel() {
  impl_->cancelled = true;
  impl_->source.cancel();
}

bool WatchCanceller::cancelled() const { return impl_->cancelled; }

struct KubeClient::Impl {
  KubeConfig config;
  http_client::http_client requests;
  http_client::http_client watches;

  Impl(KubeConfig c, http_client::http_client_config request_config,
       http_client::http_client_config watch_config)
      : config(std::move(c)),
        requests(config.server, request_config),
        watches(config.server, watch_config) {}

  StatusOr<http::http_request> NewRequest(const http::method& method,
                                          const std::string& path) {
    http::http_request request(method);
    request.set_request_uri(path);
    request.headers().add(http::header_names::accept, "application/json");
    StatusOr<std::string> token = CurrentToken(config);
    if (!token.ok()) return token.status();
    if (!token->empty()) {
      request.headers().add(http::header_names::authorization,
                            "Bearer " + *token);
    }
    return request;
  }

  StatusOr<Json> Send(const http::method& method, const std::string& path,
                      const Json* body = nullptr,
                      const std::string& content_type = "application/json") {
    StatusOr<http::http_request> request = NewRequest(method, path);
    if (!request.ok()) return request.status();
    if (body != nullptr) request->set_body(body->dump(), content_type);
    try {
      http::http_response response = requests.request(*request).get();
      const int code = response.status_code();
      const std::string text = response.extract_utf8string(true).get();
      if (code < 200 || code >= 300) return ApiError(code, text);
      if (text.empty()) return Json::object();
      Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (parsed.is_discarded()) {
        return Internal("kube API answered " + path + " with invalid JSON");
      }
      return parsed;
    } catch (const std::exception& e) {
      return TransportError(e);
    }
  }
};

KubeClient::KubeClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KubeClient::~KubeClient() = default;

StatusOr<std::unique_ptr<KubeClient>> KubeClient::Create(KubeConfig config) {
  if (config.server.rfind("https://", 0) != 0 &&
      config.server.rfind("http://", 0) != 0) {
    return InvalidArgument("kube server must be an http(s) URL, got '" +
                           config.server + "'");
  }
  StatusOr<std::string> token = CurrentToken(config);
  if (!token.ok()) return token.status();
  try {
    auto request_config = ClientConfig(config, kRequestTimeout);
    // Long enough for any watch timeout the caller may ask for.
    auto watch_config =
        ClientConfig(config, std::chrono::seconds(3600) + kWatchIdleMargin);
    return std::unique_ptr<KubeClient>(new KubeClient(std::make_unique<Impl>(
        std::move(config), request_config, watch_config)));
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("kube client: ") + e.what());
  }
}

const KubeConfig& KubeClient::config() const { return impl_->config; }

StatusOr<Json> KubeClient::Get(const std::string& path) {
  return impl_->Send(http::methods::GET, path);
}

StatusOr<Json> KubeClient::List(const std::string& collection_path,
                                const ListOptions& options) {
  std::string path = collection_path;
  AddQuery(path, "labelSelector", options.label_selector);
  AddQuery(path, "fieldSelector", options.field_selector);
  if (options.limit > 0) AddQuery(path, "limit", std::to_string(options.limit));
  AddQuery(path, "continue", options.continue_token);
  return impl_->Send(http::methods::GET, path);
}

StatusOr<Json> KubeClient::ListAll(const std::string& collection_path,
                                   ListOptions options) {
  StatusOr<Json> first = List(collection_path, options);
  if (!first.ok()) return first;
  Json result = std::move(*first);
  std::string next = result["metadata"].value("continue", "");
  while (!next.empty()) {
    options.continue_token = next;
    StatusOr<Json> page = List(collection_path, options);
    if (!page.ok()) return page;
    for (Json& item : (*page)["items"]) result["items"].push_back(item);
    next = (*page)["metadata"].value("continue", "");
  }
  result["metadata"].erase("continue");
  return result;
}

StatusOr<Json> KubeClient::Create(const std::string& collection_path,
                                  const Json& object) {
  return impl_->Send(http::methods::POST, collection_path, &object);
}

StatusOr<Json> KubeClient::Replace(const std::string& path,
                                   const Json& object) {
  return impl_->Send(http::methods::PUT, path, &object);
}

StatusOr<Json> KubeClient::Apply(const std::string& path, const Json& object,
                                 const std::string& field_manager, bool force) {
  if (field_manager.empty()) {
    return InvalidArgument("server-side apply needs a field manager");
  }
  std::string query = path;
  AddQuery(query, "fieldManager", field_manager);
  if (force) AddQuery(query, "force", "true");
  // JSON is YAML, which is what the apply patch type takes.
  return impl_->Send(http::methods::PATCH, query, &object,
                     "application/apply-patch+yaml");
}

StatusOr<Json> KubeClient::MergePatch(const std::string& path,
                                      const Json& patch) {
  return impl_->Send(http::methods::PATCH, path, &patch,
                     "application/merge-patch+json");
}

Status KubeClient::Delete(const std::string& path,
                          const std::string& propagation) {
  Json options = {{"kind", "DeleteOptions"},
                  {"apiVersion", "v1"},
                  {"propagationPolicy", propagation}};
  StatusOr<Json> result = impl_->Send(http::methods::DEL, path, &options);
  return result.status();
}

Status KubeClient::Watch(const std::string& collection_path,
                         const WatchOptions& options,
                         const std::function<bool(const WatchEvent&)>& on_event,
                         const WatchCanceller* canceller) {
  std::string path = collection_path;
  AddQuery(path, "watch", "1");
  AddQuery(path, "resourceVersion", options.resource_version);
  AddQuery(path, "labelSelector", options.label_selector);
  if (options.allow_bookmarks) AddQuery(path, "allowWatchBookmarks", "true");
  AddQuery(path, "timeoutSeconds", std::to_string(options.timeout.count()));
  StatusOr<http::http_request> request =
      impl_->NewRequest(http::methods::GET, path);
  if (!request.ok()) return request.status();
  pplx::cancellation_token token = canceller != nullptr
                                       ? canceller->impl_->source.get_token()
                                       : pplx::cancellation_token::none();
  auto cancelled = [canceller] {
    return canceller != nullptr && canceller->cancelled();
  };
  try {
    http::http_response response =
        impl_->watches.request(*request, token).get();
    if (response.status_code() != http::status_codes::OK) {
      return ApiError(response.status_code(),
                      response.extract_utf8string(true).get());
    }
    concurrency::streams::istream body = response.body();
    while (!cancelled()) {
      concurrency::streams::container_buffer<std::string> line;
      const size_t n = body.read_line(line).get();
      if (n == 0) {
        if (body.is_eof()) return Status::Ok();
        continue;  // blank line between events
      }
      Json event = Json::parse(line.collection(), nullptr, false);
      if (!event.is_object() || !event.contains("type")) {
        return Internal("watch " + collection_path +
                        ": bad event: " + line.collection().substr(0, 200));
      }
      WatchEvent parsed{event["type"].get<std::string>(),
                        std::move(event["object"])};
      if (parsed.type == "ERROR") {
        const int code = parsed.object.value("code", 500);
        return Status(
            CodeForHttpStatus(code, parsed.object.value("reason", "")),
            "watch " + collection_path + ": " +
                parsed.object.value("message", "error event"));
      }
      if (!on_event(parsed)) return Status::Ok();
    }
  } catch (const std::exception& e) {
    if (cancelled()) return Status(Code::kCancelled, "watch cancelled");
    return TransportError(e);
  }
  return Status(Code::kCancelled, "watch cancelled");
}

}  // namespace shardkv::kube
