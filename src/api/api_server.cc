#include "api/api_server.h"

#include <httplib.h>

#include "api/dashboard.h"
#include "api/metrics.h"
#include "control/status_json.h"
#include "report/signature.h"
#include "util/duration.h"

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

Result<DenyRequest> parse_deny_request(const std::string& body) {
  nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return Error{"the body is not a JSON object; expected e.g. {\"prefix\": \"198.18.9.0/24\"}"};
  }
  DenyRequest request;
  for (const auto& [key, value] : json.items()) {
    if (key != "prefix" && key != "service") {
      return Error{"unknown field '" + key + "'; allowed: prefix, service"};
    }
    if (!value.is_string() || value.get<std::string>().empty()) {
      return Error{key + ": " + value.dump() + " is not a non-empty string"};
    }
    (key == "prefix" ? request.prefix : request.service) = value.get<std::string>();
  }
  if (request.prefix.empty()) {
    return Error{
        "prefix: missing; expected e.g. {\"prefix\": \"198.18.9.0/24\", \"service\": \"web\"}"};
  }
  return request;
}

Result<uint64_t> parse_drain_deadline_ms(const std::string& body) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return kDefaultDrainDeadlineMs;
  nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return Error{"the body is not a JSON object; expected nothing or {\"deadline\": \"30s\"}"};
  }
  uint64_t deadline_ms = kDefaultDrainDeadlineMs;
  for (const auto& [key, value] : json.items()) {
    if (key != "deadline") return Error{"unknown field '" + key + "'; allowed: deadline"};
    std::optional<uint64_t> ms;
    if (value.is_string()) ms = parse_duration_units_ms(value.get<std::string>());
    if (!ms || *ms < 1000 || *ms > 24 * 3600 * 1000ULL) {
      return Error{"deadline: " + value.dump() + " is not a duration from 1s to 24h, e.g. \"30s\""};
    }
    deadline_ms = *ms;
  }
  return deadline_ms;
}

Result<BackendChange> parse_backend_change(const std::string& body) {
  nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return Error{
        "the body is not a JSON object; expected e.g. {\"weight\": 2} or {\"drain\": true}"};
  }
  BackendChange change;
  for (const auto& [key, value] : json.items()) {
    if (key == "weight") {
      if (!value.is_number_unsigned() || value.get<uint64_t>() > 65535) {
        return Error{"weight: " + value.dump() + " is not a weight, expected an integer 0..65535"};
      }
      change.weight = value.get<uint32_t>();
    } else if (key == "drain") {
      if (!value.is_boolean()) {
        return Error{"drain: " + value.dump() + " is not a boolean, expected true or false"};
      }
      change.drain = value.get<bool>();
    } else {
      return Error{"unknown field '" + key + "'; allowed: weight, drain"};
    }
  }
  if (!change.weight && !change.drain) {
    return Error{"nothing to change; expected \"weight\" and/or \"drain\""};
  }
  return change;
}

Result<FlowRequest> parse_flow_request(const std::multimap<std::string, std::string>& params) {
  FlowRequest request;
  for (const auto& [key, value] : params) {
    if (key == "service") {
      request.service = value;
    } else if (key == "backend") {
      const char* problem = "";
      auto endpoint = parse_endpoint_text(value, &problem);
      if (!endpoint) {
        return Error{"backend: '" + value + "' " + problem + ", expected ADDRESS or ADDRESS:PORT"};
      }
      request.backend = endpoint->address;
      request.backend_port = endpoint->port;
    } else if (key == "client") {
      request.client = IpAddress::parse(value);
      if (!request.client) {
        return Error{"client: '" + value + "' is not an IP address"};
      }
    } else if (key == "limit") {
      if (value.empty() || value.size() > 6 ||
          value.find_first_not_of("0123456789") != std::string::npos ||
          std::stoul(value) > kMaxFlowsListed) {
        return Error{"limit: '" + value + "' is not a count, expected 0.." +
                     std::to_string(kMaxFlowsListed) + " (0: only count)"};
      }
      request.limit = std::stoul(value);
    } else {
      return Error{"unknown parameter '" + key + "'; allowed: service, backend, client, limit"};
    }
  }
  return request;
}

ApiServer::ApiServer() = default;

ApiServer::~ApiServer() {
  stop();
}

bool ApiServer::authorized(const httplib::Request& req, httplib::Response& res) const {
  if (token_.empty() || req.get_header_value("Authorization") == "Bearer " + token_) return true;
  reply_error(res, 401, "a change needs the bearer token (control.token)");
  return false;
}

bool ApiServer::start(const std::string& listen, const std::string& token, ApiHandlers handlers,
                      std::string& error) {
  handlers_ = std::move(handlers);
  token_ = token;
  server_ = std::make_unique<httplib::Server>();
  // Bodies are small JSON documents; a hostile client must not make us buffer more, or hold a
  // thread with a connection that never finishes its request.
  server_->set_payload_max_length(1 << 20);
  server_->set_read_timeout(5, 0);
  route_reads();
  route_changes();
  // Everything else: JSON errors, never an HTML page.
  // httplib calls this for every 4xx/5xx: keep the bodies our handlers wrote.
  server_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404) reply_error(res, 404, "no such resource: " + req.path);
    if (res.status == 405) reply_error(res, 405, req.method + " is not allowed on " + req.path);
  });
  auto endpoint = parse_endpoint_text(listen);
  if (!endpoint || !endpoint->port ||
      !server_->bind_to_port(endpoint->address.to_string().c_str(), *endpoint->port)) {
    error = "control API: cannot listen on " + listen + " (in use, or not an address of this host)";
    server_.reset();
    return false;
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return true;
}

namespace {
using Req = const httplib::Request&;
using Res = httplib::Response&;

void answer(Res res, const ApiResult& result) {
  reply_json(res, result.status, result.body);
}
}  // namespace

// What anyone may read (no token), and the agents' signed reports.
void ApiServer::route_reads() {
  server_->Get("/api/v1/status",
               [this](Req, Res res) { reply_json(res, 200, handlers_.status()); });
  server_->Get("/api/v1/stats",
               [this](Req, Res res) { reply_json(res, 200, to_json(handlers_.stats())); });
  server_->Get("/api/v1/services",
               [this](Req, Res res) { reply_json(res, 200, handlers_.services()); });
  server_->Get("/api/v1/flows", [this](Req req, Res res) {
    Result<FlowRequest> request = parse_flow_request(req.params);
    if (!request) return reply_error(res, 400, request.error().message);
    answer(res, handlers_.flows(*request));
  });
  server_->Get("/api/v1/deny",
               [this](Req, Res res) { reply_json(res, 200, handlers_.deny_lists()); });
  server_->Post("/api/v1/agents/report", [this](Req req, Res res) {
    answer(res, handlers_.agent_report(req.body, req.get_header_value(kSignatureHeader),
                                       req.remote_addr, req.get_header_value(kAgentHeader)));
  });
  server_->Get("/api/v1/node", [this](Req, Res res) { reply_json(res, 200, handlers_.node()); });
  server_->Get("/api/v1/agents",
               [this](Req, Res res) { reply_json(res, 200, handlers_.agents()); });
  server_->Get("/api/v1/config", [this](Req, Res res) {
    res.set_content(handlers_.config_yaml(), "application/yaml; charset=utf-8");
  });
  server_->Get("/",
               [](Req, Res res) { res.set_content(dashboard_html(), "text/html; charset=utf-8"); });
  server_->Get("/metrics", [this](Req, Res res) {
    res.set_content(render_metrics(handlers_.stats()), "text/plain; version=0.0.4");
  });
}

// Changes: each needs the bearer token when one is configured.
void ApiServer::route_changes() {
  server_->Post("/api/v1/services", [this](Req req, Res res) {
    if (authorized(req, res)) answer(res, handlers_.add_service(req.body));
  });
  server_->Delete(R"(/api/v1/services/([^/]+))", [this](Req req, Res res) {
    if (authorized(req, res)) answer(res, handlers_.remove_service(req.matches[1].str()));
  });
  server_->Post(R"(/api/v1/services/([^/]+)/backends)", [this](Req req, Res res) {
    if (authorized(req, res)) answer(res, handlers_.add_backend(req.matches[1].str(), req.body));
  });
  server_->Delete(R"(/api/v1/services/([^/]+)/backends/([^/]+))", [this](Req req, Res res) {
    if (!authorized(req, res)) return;
    answer(res, handlers_.remove_backend(req.matches[1].str(), req.matches[2].str()));
  });
  server_->Put(R"(/api/v1/services/([^/]+)/backends/([^/]+))", [this](Req req, Res res) {
    if (!authorized(req, res)) return;
    Result<BackendChange> change = parse_backend_change(req.body);
    if (!change) return reply_error(res, 400, change.error().message);
    answer(res, handlers_.change_backend(req.matches[1].str(), req.matches[2].str(), *change));
  });
  server_->Post("/api/v1/deny", [this](Req req, Res res) {
    if (!authorized(req, res)) return;
    Result<DenyRequest> request = parse_deny_request(req.body);
    if (!request) return reply_error(res, 400, request.error().message);
    answer(res, handlers_.change_deny(request->service, request->prefix, true));
  });
  server_->Delete("/api/v1/deny", [this](Req req, Res res) {
    if (!authorized(req, res)) return;
    if (!req.has_param("prefix")) return reply_error(res, 400, "missing ?prefix=");
    answer(res, handlers_.change_deny(req.get_param_value("service"), req.get_param_value("prefix"),
                                      false));
  });
  server_->Post("/api/v1/reload", [this](Req req, Res res) {
    if (authorized(req, res)) answer(res, handlers_.reload());
  });
  server_->Post("/api/v1/node/drain", [this](Req req, Res res) {
    if (!authorized(req, res)) return;
    Result<uint64_t> deadline_ms = parse_drain_deadline_ms(req.body);
    if (!deadline_ms) return reply_error(res, 400, deadline_ms.error().message);
    answer(res, handlers_.drain_node(*deadline_ms));
  });
  server_->Post("/api/v1/node/undrain", [this](Req req, Res res) {
    if (authorized(req, res)) answer(res, handlers_.undrain_node());
  });
}

void ApiServer::stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace fairway
