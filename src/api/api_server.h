#pragma once
// The control API over HTTP/JSON (cpp-httplib), read-only so far: status, stats, Prometheus
// metrics. It runs on its own thread and answers from callbacks the daemon provides, which take
// the control core's lock; nothing here touches the workers.
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace fairway {

struct ApiHandlers {
  std::function<nlohmann::json()> status;
  std::function<nlohmann::json()> stats;
};

class ApiServer {
 public:
  ApiServer();
  ~ApiServer();
  // Binds `listen` ("HOST:PORT", IPv6 as "[::1]:PORT") and serves on a thread.
  bool start(const std::string& listen, ApiHandlers handlers, std::string& error);
  void stop();

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  ApiHandlers handlers_;
};

}  // namespace fairway
