#pragma once
// The control API over HTTP/JSON (cpp-httplib), read-only so far: status, stats, Prometheus
// metrics. It runs on its own thread and answers from callbacks the daemon provides, which take
// the control core's lock; nothing here touches the workers.
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace fairway {

// A change to one back-end of one service, as the API accepts it.
struct BackendChange {
  std::optional<uint32_t> weight;  // 0..65535
  std::optional<bool> drain;
};

// Parses a PUT body: a JSON object with "weight" and/or "drain" and nothing else. On failure
// returns nullopt and says which field was wrong and what was expected.
std::optional<BackendChange> parse_backend_change(const std::string& body, std::string& error);

struct ApiResult {
  int status = 200;
  nlohmann::json body;
};

struct ApiHandlers {
  std::function<nlohmann::json()> status;
  std::function<nlohmann::json()> stats;
  std::function<nlohmann::json()> services;
  std::function<ApiResult(const std::string& service, const std::string& backend,
                          const BackendChange& change)>
      change_backend;
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
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  ApiHandlers handlers_;
  std::string token_;
};

}  // namespace fairway
