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

ApiServer::ApiServer() = default;

ApiServer::~ApiServer() { stop(); }

bool ApiServer::start(const std::string& listen, ApiHandlers handlers, std::string& error) {
  handlers_ = std::move(handlers);
  server_ = std::make_unique<httplib::Server>();
  server_->Get("/api/v1/status", [this](const httplib::Request&, httplib::Response& res) {
    reply_json(res, 200, handlers_.status());
  });
  server_->Get("/api/v1/stats", [this](const httplib::Request&, httplib::Response& res) {
    reply_json(res, 200, handlers_.stats());
  });
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(render_metrics(handlers_.stats()), "text/plain; version=0.0.4");
  });
  // Everything else: JSON errors, never an HTML page.
  server_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
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
