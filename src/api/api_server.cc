#include "api/api_server.h"

#include <httplib.h>

#include "api/metrics.h"

namespace fairway {
namespace {

void reply_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(2) + "\n", "application/json");
}

void reply_error(httplib::Response& res, int status, const std::string& message) {
  reply_json(res, status, {{"error", message}});
}

}  // namespace

std::optional<BackendChange> parse_backend_change(const std::string& body, std::string& error) {
  nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    error = "the body is not a JSON object; expected e.g. {\"weight\": 2} or {\"drain\": true}";
    return std::nullopt;
  }
  BackendChange change;
  for (const auto& [key, value] : json.items()) {
    if (key == "weight") {
      if (!value.is_number_unsigned() || value.get<uint64_t>() > 65535) {
        error = "weight: " + value.dump() + " is not a weight, expected an integer 0..65535";
        return std::nullopt;
      }
      change.weight = value.get<uint32_t>();
    } else if (key == "drain") {
      if (!value.is_boolean()) {
        error = "drain: " + value.dump() + " is not a boolean, expected true or false";
        return std::nullopt;
      }
      change.drain = value.get<bool>();
    } else {
      error = "unknown field '" + key + "'; allowed: weight, drain";
      return std::nullopt;
    }
  }
  if (!change.weight && !change.drain) {
    error = "nothing to change; expected \"weight\" and/or \"drain\"";
    return std::nullopt;
  }
  return change;
}

ApiServer::ApiServer() = default;

ApiServer::~ApiServer() { stop(); }

bool ApiServer::start(const std::string& listen, const std::string& token, ApiHandlers handlers,
                      std::string& error) {
  handlers_ = std::move(handlers);
  token_ = token;
  server_ = std::make_unique<httplib::Server>();
  server_->Get("/api/v1/status", [this](const httplib::Request&, httplib::Response& res) {
    reply_json(res, 200, handlers_.status());
  });
  server_->Get("/api/v1/stats", [this](const httplib::Request&, httplib::Response& res) {
    reply_json(res, 200, handlers_.stats());
  });
  server_->Get("/api/v1/services", [this](const httplib::Request&, httplib::Response& res) {
    reply_json(res, 200, handlers_.services());
  });
  server_->Put(R"(/api/v1/services/([^/]+)/backends/([^/]+))",
               [this](const httplib::Request& req, httplib::Response& res) {
                 if (!token_.empty() && req.get_header_value("Authorization") != "Bearer " + token_) {
                   return reply_error(res, 401, "a change needs the bearer token (control.token)");
                 }
                 std::string error;
                 auto change = parse_backend_change(req.body, error);
                 if (!change) return reply_error(res, 400, error);
                 ApiResult result = handlers_.change_backend(req.matches[1].str(),
                                                             req.matches[2].str(), *change);
                 reply_json(res, result.status, result.body);
               });
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(render_metrics(handlers_.stats()), "text/plain; version=0.0.4");
  });
  // Everything else: JSON errors, never an HTML page.
  // httplib calls this for every 4xx/5xx: keep the bodies our handlers wrote.
  server_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404) reply_error(res, 404, "no such resource: " + req.path);
    if (res.status == 405) reply_error(res, 405, req.method + " is not allowed on " + req.path);
  });
  size_t colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  int port = std::stoi(listen.substr(colon + 1));
  if (!server_->bind_to_port(host.c_str(), port)) {
    error = "control API: cannot listen on " + listen + " (in use, or not an address of this host)";
    server_.reset();
    return false;
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return true;
}

void ApiServer::stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace fairway
