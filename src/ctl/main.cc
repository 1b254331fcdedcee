// fairwayctl: the command line for fairwayd's control API (think ipvsadm, birdc).
//
//   fairwayctl status            the daemon, its snapshot, workers and ports, as a table
//   fairwayctl stats -o json     the counters, as JSON for scripts
//   fairwayctl -s [::1]:9180 metrics
//   fairwayctl services
//   fairwayctl -t TOKEN backend web 198.18.1.11:80 --drain      (--undrain, --weight N)
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

namespace {

// GET `path` (or PUT `put_body` to it) on the daemon; prints the reason and returns false when
// it cannot.
bool fetch(const std::string& server, const std::string& path, std::string& body,
           const std::string* put_body = nullptr, const std::string& token = {}) {
  httplib::Client client("http://" + server);
  client.set_connection_timeout(2);
  client.set_read_timeout(5);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  auto res = put_body ? client.Put(path.c_str(), headers, *put_body, "application/json")
                      : client.Get(path.c_str(), headers);
  if (!res) {
    std::fprintf(stderr, "fairwayctl: cannot reach fairwayd at %s: %s\n", server.c_str(),
                 httplib::to_string(res.error()).c_str());
    return false;
  }
  if (res->status != 200) {
    std::fprintf(stderr, "fairwayctl: %s answered %d: %s", server.c_str(), res->status,
                 res->body.c_str());
    return false;
  }
  body = res->body;
  return true;
}

void print_status(const nlohmann::json& s) {
  std::printf("fairwayd %s, up %llds, snapshot %llu (%llu services), last publication %.1f us\n",
              s["version"].get<std::string>().c_str(), s["uptime_seconds"].get<long long>(),
              s["snapshot_version"].get<unsigned long long>(),
              s["services"].get<unsigned long long>(), s["last_publication_us"].get<double>());
  std::printf("\n%-8s %-6s %-10s %s\n", "WORKER", "LCORE", "SNAPSHOT", "FLOWS");
  for (const auto& w : s["workers"]) {
    std::printf("%-8d %-6d %-10llu %llu\n", w["worker"].get<int>(), w["lcore"].get<int>(),
                w["snapshot_version"].get<unsigned long long>(),
                w["flows"].get<unsigned long long>());
  }
  std::printf("\n%-12s %-18s %-8s %s\n", "PORT", "MAC", "DEVICES", "TAP");
  for (const auto& p : s["ports"]) {
    std::printf("%-12s %-18s %-8d %s\n", p["name"].get<std::string>().c_str(),
                p["mac"].get<std::string>().c_str(), p["devices"].get<int>(),
                p["tap"].is_null() ? "-" : p["tap"].get<std::string>().c_str());
  }
}

void print_services(const nlohmann::json& services) {
  std::printf("%-16s %-28s %-5s %-22s %-7s %s\n", "SERVICE", "VIP", "MODE", "BACKEND", "WEIGHT",
              "STATE");
  for (const auto& s : services) {
    std::string vip = s["vip"].get<std::string>() + ":" + std::to_string(s["port"].get<int>()) +
                      "/" + s["protocol"].get<std::string>();
    for (const auto& b : s["backends"]) {
      std::printf("%-16s %-28s %-5s %-22s %-7u %s\n", s["name"].get<std::string>().c_str(),
                  vip.c_str(), s["mode"].get<std::string>().c_str(),
                  b["backend"].get<std::string>().c_str(), b["weight"].get<unsigned>(),
                  b["drained"].get<bool>() ? "drained" : "in service");
    }
  }
}

void print_stats(const nlohmann::json& s) {
  std::printf("%-26s %s\n", "COUNTER", "VALUE");
  for (const auto& [name, value] : s["counters"].items()) {
    if (name == "drops") continue;
    std::printf("%-26s %llu\n", name.c_str(), value.get<unsigned long long>());
  }
  for (const auto& [reason, value] : s["counters"]["drops"].items()) {
    std::printf("%-26s %llu\n", ("drop:" + reason).c_str(), value.get<unsigned long long>());
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fairwayctl - control fairwayd through its API"};
  std::string server = "127.0.0.1:9180";
  std::string output = "table";
  app.add_option("-s,--server", server, "fairwayd's control.listen address")->capture_default_str();
  app.add_option("-o,--output", output, "table (for people) or json (for scripts)")
      ->check(CLI::IsMember({"table", "json"}));
  app.require_subcommand(1);
  auto* status = app.add_subcommand("status", "version, uptime, snapshot, workers, ports");
  auto* stats = app.add_subcommand("stats", "counters summed over workers, drops by reason");
  auto* metrics = app.add_subcommand("metrics", "the Prometheus exposition, as served");
  auto* services = app.add_subcommand("services", "services and their back-ends");
  auto* backend = app.add_subcommand("backend", "change a back-end's weight or drain it");
  std::string token, service_name, backend_name;
  int weight = -1;
  bool drain = false, undrain = false;
  app.add_option("-t,--token", token, "bearer token for changes (control.token)");
  backend->add_option("service", service_name, "service name")->required();
  backend->add_option("backend", backend_name, "ADDRESS:PORT or [IPv6]:PORT")->required();
  backend->add_option("--weight", weight, "new weight, 0..65535")->check(CLI::Range(0, 65535));
  auto* drain_flag = backend->add_flag("--drain", drain, "no new flows, existing ones stay");
  backend->add_flag("--undrain", undrain, "back in service")->excludes(drain_flag);
  CLI11_PARSE(app, argc, argv);

  if (backend->parsed()) {
    nlohmann::json change = nlohmann::json::object();
    if (weight >= 0) change["weight"] = weight;
    if (drain || undrain) change["drain"] = drain;
    if (change.empty()) {
      std::fprintf(stderr, "fairwayctl: backend: give --weight N, --drain or --undrain\n");
      return 2;
    }
    const std::string body_out = change.dump();
    std::string answer;
    if (!fetch(server, "/api/v1/services/" + service_name + "/backends/" + backend_name, answer,
               &body_out, token)) {
      return 1;
    }
    std::printf("%s", output == "json" ? answer.c_str() : "ok\n");
    return 0;
  }

  std::string body;
  if (metrics->parsed()) {
    if (!fetch(server, "/metrics", body)) return 1;
    std::cout << body;
    return 0;
  }
  const std::string path = status->parsed()     ? "/api/v1/status"
                           : services->parsed() ? "/api/v1/services"
                                                : "/api/v1/stats";
  if (!fetch(server, path, body)) return 1;
  nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded()) {
    std::fprintf(stderr, "fairwayctl: %s sent something that is not JSON\n", server.c_str());
    return 1;
  }
  if (output == "json") {
    std::cout << json.dump(2) << "\n";
  } else if (status->parsed()) {
    print_status(json);
  } else if (services->parsed()) {
    print_services(json);
  } else if (stats->parsed()) {
    print_stats(json);
  }
  return 0;
}
