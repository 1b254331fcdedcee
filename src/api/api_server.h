#pragma once
// The control API over HTTP/JSON (cpp-httplib): status, stats, services and their back-ends
// (list, add, remove, weight, drain), flows, reload, Prometheus metrics. It runs on its own
// thread and answers from callbacks the daemon provides, which take the control core's lock;
// nothing here touches the workers. Docs: docs/API.md.
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "control/api_result.h"
#include "control/config_changes.h"
#include "control/status.h"
#include "packet/addresses.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace fairway {

// Parses a PUT body: a JSON object with "weight" and/or "drain" and nothing else. The error says
// which field was wrong and what was expected.
Result<BackendChange> parse_backend_change(const std::string& body);

// A deny-list change from a POST body {"prefix": "...", "service": "..."} (service optional).
struct DenyRequest {
  std::string prefix;
  std::string service;  // empty: the global list
};
Result<DenyRequest> parse_deny_request(const std::string& body);

// POST /api/v1/node/drain: an empty body or {"deadline": "30s"} (1s..24h, default 60s).
inline constexpr uint64_t kDefaultDrainDeadlineMs = 60'000;
Result<uint64_t> parse_drain_deadline_ms(const std::string& body);

// GET /api/v1/flows?service=NAME&backend=ADDR[:PORT]&client=ADDR&limit=N
struct FlowRequest {
  std::optional<std::string> service;
  std::optional<IpAddress> backend;
  std::optional<uint16_t> backend_port;
  std::optional<IpAddress> client;
  size_t limit = 100;
};
inline constexpr size_t kMaxFlowsListed = 10000;
Result<FlowRequest> parse_flow_request(const std::multimap<std::string, std::string>& params);

// The daemon's side of every resource. Each call takes the control core's lock.
struct ApiHandlers {
  std::function<nlohmann::json()> status;
  std::function<Stats()> stats;  // GET /api/v1/stats as JSON, /metrics as Prometheus text
  std::function<nlohmann::json()> services;
  std::function<ApiResult(const FlowRequest&)> flows;
  std::function<ApiResult(const std::string& service, const std::string& backend,
                          const BackendChange& change)>
      change_backend;
  std::function<ApiResult(const std::string& body)> add_service;
  std::function<ApiResult(const std::string& service)> remove_service;
  std::function<ApiResult(const std::string& service, const std::string& body)> add_backend;
  std::function<ApiResult(const std::string& service, const std::string& backend)> remove_backend;
  std::function<ApiResult()> reload;
  // Deny lists: GET lists them; a change names a prefix and optionally a service (else global).
  std::function<nlohmann::json()> deny_lists;
  std::function<ApiResult(const std::string& service, const std::string& prefix, bool add)>
      change_deny;
  // Agents' load reports: authenticated by their HMAC signature, not the bearer token.
  std::function<ApiResult(const std::string& body, const std::string& signature,
                          const std::string& source, const std::string& agent)>
      agent_report;
  std::function<nlohmann::json()> agents;
  // The node in a cluster: GET its state, drain it (withdraw every VIP), undrain it.
  std::function<nlohmann::json()> node;
  std::function<ApiResult(uint64_t deadline_ms)> drain_node;
  std::function<ApiResult()> undrain_node;
  // GET /api/v1/config: the running configuration as YAML (control/config_writer.h).
  std::function<std::string()> config_yaml;
};

class ApiServer {
 public:
  ApiServer();
  ~ApiServer();
  // Binds `listen` ("HOST:PORT", IPv6 as "[::1]:PORT") and serves on a thread.
  // `token`, when not empty, is required as a bearer token on every change.
  bool start(const std::string& listen, const std::string& token, ApiHandlers handlers,
             std::string& error);
  void stop();

 private:
  void route_reads();
  void route_changes();
  // Answers 401 itself when a token is configured and the request lacks it.
  bool authorized(const httplib::Request& req, httplib::Response& res) const;

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  ApiHandlers handlers_;
  std::string token_;
};

}  // namespace fairway
