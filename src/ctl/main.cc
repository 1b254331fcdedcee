// fairwayctl: the command line for fairwayd's control API (think ipvsadm, birdc).
//
//   fairwayctl status            the daemon, its snapshot, workers and ports, as a table
//   fairwayctl stats -o json     the counters, as JSON for scripts
//   fairwayctl -s [::1]:9180 metrics
//   fairwayctl services
//   fairwayctl flows --service web --backend 198.18.1.11:80 --limit 20
//   fairwayctl agents
//   fairwayctl -t TOKEN backend set web 198.18.1.11:80 --drain      (--undrain, --weight N)
//   fairwayctl -t TOKEN backend add web 198.18.1.14 --weight 2
//   fairwayctl -t TOKEN backend remove web 198.18.1.14:80
//   fairwayctl -t TOKEN service add web2.json         (one service as JSON; - reads stdin)
//   fairwayctl -t TOKEN service remove web2
//   fairwayctl -t TOKEN reload
//   fairwayctl deny list
//   fairwayctl -t TOKEN deny add 198.18.9.0/24 [--service web]   (remove likewise)
//   fairwayctl node                                   (this node in a cluster: state, VIPs)
//   fairwayctl -t TOKEN node drain --deadline 60s --wait
//   fairwayctl -t TOKEN node undrain
//   (the token also from --token-file FILE or $FAIRWAY_TOKEN)
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "build_info.h"
#include "packet/addresses.h"

namespace {

// Percent-encodes what a path segment cannot carry as is ("[2001:2::11]:80").
std::string path_segment(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == ':') {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

struct Request {
  std::string method = "GET";
  std::string path;
  std::string body;  // for POST and PUT
};

// Sends `request` to the daemon; prints the reason and returns false when it cannot or when the
// daemon refuses (its JSON error says which field and why).
bool fetch(const std::string& server, const Request& request, std::string& answer,
           const std::string& token = {}) {
  httplib::Client client("http://" + server);
  client.set_connection_timeout(2);
  client.set_read_timeout(10);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  const char* path = request.path.c_str();
  httplib::Result res =
      request.method == "PUT"      ? client.Put(path, headers, request.body, "application/json")
      : request.method == "POST"   ? client.Post(path, headers, request.body, "application/json")
      : request.method == "DELETE" ? client.Delete(path, headers)
                                   : client.Get(path, headers);
  if (!res) {
    std::fprintf(stderr, "fairwayctl: cannot reach fairwayd at %s: %s\n", server.c_str(),
                 httplib::to_string(res.error()).c_str());
    return false;
  }
  if (res->status / 100 != 2) {
    auto json = nlohmann::json::parse(res->body, nullptr, false);
    std::string message = !json.is_discarded() && json.contains("error")
                              ? json["error"].get<std::string>()
                              : res->body;
    std::fprintf(stderr, "fairwayctl: %s answered %d: %s\n", server.c_str(), res->status,
                 message.c_str());
    return false;
  }
  answer = res->body;
  return true;
}

bool fetch(const std::string& server, const std::string& path, std::string& answer) {
  return fetch(server, Request{"GET", path, {}}, answer);
}

void print_status(const nlohmann::json& s) {
  std::printf("fairwayd %s, up %llds, snapshot %llu (%llu services), last publication %.1f us\n",
              s["version"].get<std::string>().c_str(), s["uptime_seconds"].get<long long>(),
              s["snapshot_version"].get<unsigned long long>(),
              s["services"].get<unsigned long long>(), s["last_publication_us"].get<double>());
  std::printf("\n%-8s %-6s %-10s %-10s %s\n", "WORKER", "LCORE", "SNAPSHOT", "FLOWS", "LOAD");
  for (const auto& w : s["workers"]) {
    std::printf("%-8d %-6d %-10llu %-10llu %.1f%%\n", w["worker"].get<int>(), w["lcore"].get<int>(),
                w["snapshot_version"].get<unsigned long long>(),
                w["flows"].get<unsigned long long>(), w["load_percent"].get<double>());
  }
  std::printf("\n%-12s %-18s %-6s %-8s %-12s %-12s %-10s %s\n", "PORT", "MAC", "LINK", "DEVICES",
              "RX_PACKETS", "TX_PACKETS", "RX_MISSED", "TAP");
  for (const auto& p : s["ports"]) {
    const auto& c = p["counters"];
    std::printf("%-12s %-18s %-6s %-8d %-12llu %-12llu %-10llu %s\n",
                p["name"].get<std::string>().c_str(), p["mac"].get<std::string>().c_str(),
                p["link"].get<std::string>().c_str(), p["devices"].get<int>(),
                c["rx_packets"].get<unsigned long long>(),
                c["tx_packets"].get<unsigned long long>(), c["rx_missed"].get<unsigned long long>(),
                p["tap"].is_null() ? "-" : p["tap"].get<std::string>().c_str());
  }
}

void print_services(const nlohmann::json& services) {
  std::printf(
      "%-16s %-28s %-5s %-24s %-7s %-9s %-10s %-8s %-8s %-10s %-12s %-12s %-12s %-12s %-10s %s\n",
      "SERVICE", "VIP", "MODE", "BACKEND", "WEIGHT", "STATE", "HEALTH", "ACTIVE", "INACTIVE",
      "FLOWS", "PKTS_IN", "BYTES_IN", "PKTS_OUT", "BYTES_OUT", "EFFECTIVE", "WHY");
  for (const auto& s : services) {
    std::string vip = s["vip"].get<std::string>() + ":" + std::to_string(s["port"].get<int>()) +
                      "/" + s["protocol"].get<std::string>();
    for (const auto& b : s["backends"]) {
      // Effective weights are relative: admin weight x 100 under least-load, the admin weight
      // otherwise; WHY says what the distributor did.
      std::string why = b.contains("load") ? b["load"]["reason"].get<std::string>() : "";
      auto count = [&](const char* key) { return b[key].get<unsigned long long>(); };
      std::printf(
          "%-16s %-28s %-5s %-24s %-7u %-9s %-10s %-8llu %-8llu %-10llu %-12llu %-12llu %-12llu "
          "%-12llu %-10u %s\n",
          s["name"].get<std::string>().c_str(), vip.c_str(), s["mode"].get<std::string>().c_str(),
          b["backend"].get<std::string>().c_str(), b["weight"].get<unsigned>(),
          b["state"].get<std::string>().c_str(), b["health"]["state"].get<std::string>().c_str(),
          count("active_flows"), count("inactive_flows"), count("flows_created"),
          count("packets_in"), count("bytes_in"), count("packets_out"), count("bytes_out"),
          b["effective_weight"].get<unsigned>(), why.c_str());
    }
  }
}

void print_agents(const nlohmann::json& a) {
  std::printf("load feedback %s; reports accepted %llu\n",
              a["enabled"].get<bool>() ? "on" : "off (no load_feedback key)",
              a["accepted"].get<unsigned long long>());
  std::printf("\n%-24s %-12s %-8s %-6s %-6s %-6s %-8s %-8s %s\n", "ADDRESS", "AGENT", "AGE",
              "STALE", "CPU%", "MEM%", "CLIENTS", "REQ/S", "RESP_MS");
  for (const auto& agent : a["agents"]) {
    const auto& r = agent["report"];
    auto optional = [&](const char* key) {
      return r.contains(key) ? std::to_string(r[key].get<double>()).substr(0, 6) : std::string("-");
    };
    std::printf("%-24s %-12s %-8.1f %-6s %-6.1f %-6.1f %-8llu %-8s %s\n",
                agent["address"].get<std::string>().c_str(), r["agent"].get<std::string>().c_str(),
                agent["age_seconds"].get<double>(), agent["stale"].get<bool>() ? "yes" : "no",
                r["cpu_percent"].get<double>(), r["memory_percent"].get<double>(),
                r["active_clients"].get<unsigned long long>(),
                optional("requests_per_second").c_str(), optional("mean_response_ms").c_str());
  }
  std::printf("\nrefused reports:");
  for (const auto& [reason, count] : a["rejected"].items()) {
    std::printf(" %s %llu", reason.c_str(), count.get<unsigned long long>());
  }
  std::printf("\n");
}

void print_flows(const nlohmann::json& f) {
  std::printf("%-7s %-5s %-24s %-24s %-24s %-12s %s\n", "WORKER", "PROTO", "CLIENT", "VIP",
              "BACKEND", "TCP_STATE", "EXPIRES_IN");
  for (const auto& flow : f["flows"]) {
    std::printf(
        "%-7d %-5s %-24s %-24s %-24s %-12s %.1fs\n", flow["worker"].get<int>(),
        flow["protocol"].get<std::string>().c_str(), flow["client"].get<std::string>().c_str(),
        flow["vip"].get<std::string>().c_str(), flow["backend"].get<std::string>().c_str(),
        flow["tcp_state"].get<std::string>().c_str(), flow["expires_in_ms"].get<double>() / 1000.0);
  }
  std::printf("%llu flows match, %llu listed\n", f["count"].get<unsigned long long>(),
              f["listed"].get<unsigned long long>());
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
  std::printf("%-26s %llu\n", "half_open_flows", s.value("half_open_flows", 0ull));
  if (s.contains("workers")) {
    for (const auto& w : s["workers"]) {
      if (w.value("under_pressure", false)) {
        std::printf("worker %d: flow table UNDER PRESSURE\n", w["worker"].get<int>());
      }
      if (w.value("syn_proxy_engaged", false)) {
        std::printf("worker %d: SYN proxy ENGAGED (under_pressure services answer with cookies)\n",
                    w["worker"].get<int>());
      }
    }
  }
  if (s.contains("exception_path")) {
    const auto& k = s["exception_path"];
    std::printf("\n%-26s %-12s %s\n", "TO KERNEL (class)", "SENT", "WAITING");
    for (const auto& [cls, sent] : k["sent"].items()) {
      std::printf("%-26s %-12llu %llu\n", cls.c_str(), sent.get<unsigned long long>(),
                  k["waiting"][cls].get<unsigned long long>());
    }
  }
  if (s.contains("services")) {
    std::printf("\n%-20s %-12s %-12s %-12s %-12s %-12s %s\n", "SERVICE", "SYNS", "UNTRACKED",
                "DENIED", "COOKIES", "VALIDATED", "BAD COOKIES");
    for (const auto& svc : s["services"]) {
      const auto& c = svc["counters"];
      auto count = [&c](const char* name) {
        return c.contains(name) ? c[name].get<unsigned long long>() : 0ULL;
      };
      std::printf("%-20s %-12llu %-12llu %-12llu %-12llu %-12llu %llu\n",
                  svc["name"].get<std::string>().c_str(), count("syns"), count("flows_untracked"),
                  count("denied"), count("cookies_sent"), count("cookies_validated"),
                  count("cookies_invalid"));
    }
  }
}

void print_deny(const nlohmann::json& d) {
  std::printf("%-20s %s\n", "SCOPE", "PREFIX");
  for (const auto& p : d["global"])
    std::printf("%-20s %s\n", "(all services)", p.get<std::string>().c_str());
  for (const auto& [name, list] : d["services"].items()) {
    for (const auto& p : list)
      std::printf("%-20s %s\n", name.c_str(), p.get<std::string>().c_str());
  }
  std::printf("packets denied: %llu\n", d["denied"].get<unsigned long long>());
}

// Reads a JSON body from a file, or standard input for "-".
bool read_body(const std::string& source, std::string& body) {
  std::istream* in = &std::cin;
  std::ifstream file;
  if (source != "-") {
    file.open(source);
    if (!file) {
      std::fprintf(stderr, "fairwayctl: cannot read %s\n", source.c_str());
      return false;
    }
    in = &file;
  }
  std::stringstream text;
  text << in->rdbuf();
  body = text.str();
  return true;
}

// Every option and subcommand, as CLI11 fills them in.
struct Commands {
  std::string server = "127.0.0.1:9180";
  std::string output = "table";
  std::string token;
  CLI::App *status, *stats, *metrics, *services, *reload, *agents, *flows;
  std::string flow_service, flow_backend, flow_client;
  int flow_limit = 100;
  CLI::App *service_add, *service_remove;
  std::string service_json, service_name;
  CLI::App *backend_set, *backend_add, *backend_remove;
  std::string backend_service, backend_name;
  int weight = -1;
  bool drain = false, undrain = false;
  CLI::App *deny_list, *deny_add, *deny_remove;
  std::string deny_prefix, deny_service;
  CLI::App *node, *node_status, *node_drain, *node_undrain;
  CLI::App* config_show;
  std::string drain_deadline;
  bool drain_wait = false;
};

void define_reads(CLI::App& app, Commands& c) {
  c.status = app.add_subcommand("status", "version, uptime, snapshot, workers, ports");
  c.stats = app.add_subcommand("stats", "counters summed over workers, drops by reason");
  c.metrics = app.add_subcommand("metrics", "the Prometheus exposition, as served");
  c.services = app.add_subcommand("services", "services and their back-ends");
  c.reload = app.add_subcommand("reload", "read the configuration file again");
  c.agents = app.add_subcommand("agents", "the agents' last load reports, and refused ones");
  c.flows = app.add_subcommand("flows", "list flows (from every worker's table)");
  c.flows->add_option("--service", c.flow_service, "only this service's flows");
  c.flows->add_option("--backend", c.flow_backend, "only flows to ADDRESS or ADDRESS:PORT");
  c.flows->add_option("--client", c.flow_client, "only flows from this client address");
  c.flows->add_option("--limit", c.flow_limit, "list at most this many (0: only count)")
      ->check(CLI::Range(0, 10000))
      ->capture_default_str();
}

void define_changes(CLI::App& app, Commands& c) {
  auto* service = app.add_subcommand("service", "add or remove a service");
  service->require_subcommand(1);
  c.service_add = service->add_subcommand("add", "add a service described in JSON");
  c.service_add
      ->add_option("json", c.service_json,
                   "file with one service as JSON (keys as in the YAML file), - for stdin")
      ->required();
  c.service_remove = service->add_subcommand("remove", "remove a service");
  c.service_remove->add_option("name", c.service_name, "service name")->required();

  auto* backend = app.add_subcommand("backend", "add, remove or change a back-end");
  backend->require_subcommand(1);
  c.backend_set = backend->add_subcommand("set", "change a back-end's weight or drain it");
  c.backend_add = backend->add_subcommand("add", "add a back-end to a service");
  c.backend_remove = backend->add_subcommand("remove", "remove a back-end from a service");
  for (CLI::App* sub : {c.backend_set, c.backend_add, c.backend_remove}) {
    sub->add_option("service", c.backend_service, "service name")->required();
    sub->add_option("backend", c.backend_name,
                    sub == c.backend_add ? "ADDRESS, ADDRESS:PORT or [IPv6]:PORT"
                                         : "ADDRESS:PORT or [IPv6]:PORT")
        ->required();
  }
  for (CLI::App* sub : {c.backend_set, c.backend_add}) {
    sub->add_option("--weight", c.weight, "weight, 0..65535")->check(CLI::Range(0, 65535));
    sub->add_flag("--drain", c.drain, "no new flows, existing ones stay");
  }
  c.backend_set->add_flag("--undrain", c.undrain, "back in service");

  auto* deny = app.add_subcommand("deny", "the client deny lists (global or per service)");
  deny->require_subcommand(1);
  c.deny_list = deny->add_subcommand("list", "show the deny lists and the packets denied");
  c.deny_add = deny->add_subcommand("add", "drop every packet from PREFIX to the services");
  c.deny_remove = deny->add_subcommand("remove", "take PREFIX off a deny list");
  for (CLI::App* sub : {c.deny_add, c.deny_remove}) {
    sub->add_option("prefix", c.deny_prefix, "ADDRESS or PREFIX, e.g. 198.18.9.0/24")->required();
    sub->add_option("--service", c.deny_service, "only this service's list (default: global)");
  }
}

void define_node(CLI::App& app, Commands& c) {
  c.node = app.add_subcommand("node", "this node in a cluster: its state, the VIPs it announces");
  c.node->require_subcommand(0, 1);
  c.node_status = c.node->add_subcommand("status", "state, flows, announced VIPs (the default)");
  c.node_drain = c.node->add_subcommand(
      "drain", "withdraw every VIP from the routers, keep forwarding what still arrives");
  c.node_drain->add_option("--deadline", c.drain_deadline, "give the flows this long, e.g. 60s");
  c.node_drain->add_flag("--wait", c.drain_wait,
                         "wait until the flows have ended (exit 0) or the deadline passed "
                         "(exit 3)");
  c.node_undrain = c.node->add_subcommand("undrain", "announce the VIPs again");
  auto* config = app.add_subcommand("config", "the running configuration");
  config->require_subcommand(1);
  c.config_show = config->add_subcommand(
      "show", "print it as YAML (the file plus the API's changes; secrets not shown)");
}

std::string backend_path(const Commands& c) {
  return "/api/v1/services/" + path_segment(c.backend_service) + "/backends/" +
         path_segment(c.backend_name);
}

// The request of a back-end command; nullopt (said on stderr) for a usage error.
std::optional<Request> backend_request(const Commands& c) {
  if (c.backend_remove->parsed()) return Request{"DELETE", backend_path(c), {}};
  if (c.backend_set->parsed()) {
    nlohmann::json change = nlohmann::json::object();
    if (c.weight >= 0) change["weight"] = c.weight;
    if (c.drain && c.undrain) {
      std::fprintf(stderr, "fairwayctl: backend set: --drain and --undrain exclude each other\n");
      return std::nullopt;
    }
    if (c.drain || c.undrain) change["drain"] = c.drain;
    if (change.empty()) {
      std::fprintf(stderr, "fairwayctl: backend set: give --weight N, --drain or --undrain\n");
      return std::nullopt;
    }
    return Request{"PUT", backend_path(c), change.dump()};
  }
  // add: ADDRESS, ADDRESS:PORT or [IPv6]:PORT into {"address", "port"}
  const char* problem = "";
  auto endpoint = fairway::parse_endpoint_text(c.backend_name, &problem);
  if (!endpoint) {
    std::fprintf(stderr, "fairwayctl: backend add: '%s' %s\n", c.backend_name.c_str(), problem);
    return std::nullopt;
  }
  nlohmann::json added = {{"address", endpoint->address.to_string()}};
  if (endpoint->port) added["port"] = *endpoint->port;
  if (c.weight >= 0) added["weight"] = c.weight;
  if (c.drain) added["drain"] = true;
  return Request{"POST", "/api/v1/services/" + path_segment(c.backend_service) + "/backends",
                 added.dump()};
}

// The request of a change command: nullopt with `usage_error` set for a usage error, nullopt
// alone when the command reads instead.
std::optional<Request> change_request(const Commands& c, bool& usage_error) {
  usage_error = false;
  if (c.backend_set->parsed() || c.backend_add->parsed() || c.backend_remove->parsed()) {
    std::optional<Request> request = backend_request(c);
    usage_error = !request;
    return request;
  }
  if (c.service_add->parsed()) {
    Request request{"POST", "/api/v1/services", {}};
    if (read_body(c.service_json, request.body)) return request;
    usage_error = true;
    return std::nullopt;
  }
  if (c.service_remove->parsed()) {
    return Request{"DELETE", "/api/v1/services/" + path_segment(c.service_name), {}};
  }
  if (c.reload->parsed()) return Request{"POST", "/api/v1/reload", {}};
  if (c.node_drain->parsed()) {
    nlohmann::json body = nlohmann::json::object();
    if (!c.drain_deadline.empty()) body["deadline"] = c.drain_deadline;
    return Request{"POST", "/api/v1/node/drain", body.dump()};
  }
  if (c.node_undrain->parsed()) return Request{"POST", "/api/v1/node/undrain", {}};
  if (c.deny_add->parsed()) {
    nlohmann::json body = {{"prefix", c.deny_prefix}};
    if (!c.deny_service.empty()) body["service"] = c.deny_service;
    return Request{"POST", "/api/v1/deny", body.dump()};
  }
  if (c.deny_remove->parsed()) {
    httplib::Params params{{"prefix", c.deny_prefix}};
    if (!c.deny_service.empty()) params.emplace("service", c.deny_service);
    return Request{"DELETE", httplib::append_query_params("/api/v1/deny", params), {}};
  }
  return std::nullopt;
}

std::string joined_strings(const nlohmann::json& list) {
  std::string out;
  for (const auto& item : list) out += (out.empty() ? "" : " ") + item.get<std::string>();
  return out.empty() ? "-" : out;
}

void print_node(const nlohmann::json& node) {
  std::string state = node.value("state", "?");
  if (node.contains("drain")) {
    const auto& d = node["drain"];
    char text[160];
    std::snprintf(text, sizeof text, " (%.1f s of a %.0f s deadline%s%s)", d.value("seconds", 0.0),
                  d.value("deadline_seconds", 0.0),
                  d.value("drained_because", std::string()).empty() ? "" : ", ",
                  d.value("drained_because", std::string()).c_str());
    state += text;
  }
  std::printf("state      %s\nflows      %llu\nannounced  %s\n", state.c_str(),
              node.value("flows", 0ull), joined_strings(node["announced"]).c_str());
  for (const auto& w : node["withheld"]) {
    std::printf("withheld   %s (%s)\n", w.value("vip", std::string()).c_str(),
                w.value("reason", std::string()).c_str());
  }
  const auto& bird = node["bird"];
  if (!bird.value("enabled", false)) {
    std::printf("bird       not configured (no announce section)\n");
    return;
  }
  std::printf("bird       %s: %s%s\n", bird.value("file", std::string()).c_str(),
              joined_strings(bird["in_bird"]).c_str(),
              bird.value("pending", false) ? " (update pending)" : "");
  const std::string error = bird.value("last_error", std::string());
  if (!error.empty()) std::printf("bird error %s\n", error.c_str());
}

// node drain --wait: polls the node until the drain ends; 0 when the flows ended, 3 when the
// deadline passed first, 1 when the daemon stops answering.
int wait_for_drain(const Commands& c) {
  uint64_t last_flows = UINT64_MAX;
  while (true) {
    std::string body;
    if (!fetch(c.server, Request{"GET", "/api/v1/node", {}}, body)) return 1;
    auto node = nlohmann::json::parse(body, nullptr, false);
    if (node.is_discarded()) return 1;
    const uint64_t flows = node.value("flows", 0ull);
    if (node.value("state", "") == "drained") {
      const std::string why = node["drain"].value("drained_because", std::string());
      std::printf("drained: %s (%llu flows left)\n", why.c_str(),
                  static_cast<unsigned long long>(flows));
      return why == "flows ended" ? 0 : 3;
    }
    if (node.value("state", "") != "draining") {
      std::fprintf(stderr, "fairwayctl: the node is %s, not draining\n",
                   node.value("state", "?").c_str());
      return 1;
    }
    if (flows != last_flows) {
      std::printf("draining: %llu flows left\n", static_cast<unsigned long long>(flows));
      std::fflush(stdout);
      last_flows = flows;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

int run_change(const Commands& c, const Request& request) {
  std::string answer;
  if (!fetch(c.server, request, answer, c.token)) return 1;
  auto json = nlohmann::json::parse(answer, nullptr, false);
  if (c.node_drain->parsed() && c.drain_wait) {
    std::printf("draining: every VIP withdrawn\n");
    return wait_for_drain(c);
  }
  if (c.output == "json" || json.is_discarded()) {
    std::cout << answer;
  } else if (c.node_drain->parsed() || c.node_undrain->parsed()) {
    std::printf("node %s\n", json.value("state", std::string("?")).c_str());
  } else {
    std::printf("%s (snapshot %llu)\n", json.value("change", std::string("ok")).c_str(),
                json.value("snapshot_version", 0ull));
  }
  return 0;
}

std::string read_path(const Commands& c) {
  if (c.flows->parsed()) {
    httplib::Params params;
    if (!c.flow_service.empty()) params.emplace("service", c.flow_service);
    if (!c.flow_backend.empty()) params.emplace("backend", c.flow_backend);
    if (!c.flow_client.empty()) params.emplace("client", c.flow_client);
    params.emplace("limit", std::to_string(c.flow_limit));
    return httplib::append_query_params("/api/v1/flows", params);
  }
  if (c.node->parsed()) return "/api/v1/node";
  return c.status->parsed()      ? "/api/v1/status"
         : c.services->parsed()  ? "/api/v1/services"
         : c.agents->parsed()    ? "/api/v1/agents"
         : c.deny_list->parsed() ? "/api/v1/deny"
                                 : "/api/v1/stats";
}

int run_read(const Commands& c) {
  std::string body;
  if (c.metrics->parsed() || c.config_show->parsed()) {
    if (!fetch(c.server, c.metrics->parsed() ? "/metrics" : "/api/v1/config", body)) return 1;
    std::cout << body;
    return 0;
  }
  if (!fetch(c.server, read_path(c), body)) return 1;
  nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded()) {
    std::fprintf(stderr, "fairwayctl: %s sent something that is not JSON\n", c.server.c_str());
    return 1;
  }
  if (c.output == "json") {
    std::cout << json.dump(2) << "\n";
  } else if (c.status->parsed()) {
    print_status(json);
  } else if (c.services->parsed()) {
    print_services(json);
  } else if (c.flows->parsed()) {
    print_flows(json);
  } else if (c.agents->parsed()) {
    print_agents(json);
  } else if (c.stats->parsed()) {
    print_stats(json);
  } else if (c.deny_list->parsed()) {
    print_deny(json);
  } else if (c.node->parsed()) {
    print_node(json);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fairwayctl - control fairwayd through its API"};
  Commands c;
  app.add_option("-s,--server", c.server, "fairwayd's control.listen address")
      ->capture_default_str();
  app.add_option("-o,--output", c.output, "table (for people) or json (for scripts)")
      ->check(CLI::IsMember({"table", "json"}));
  app.add_option("-t,--token", c.token, "bearer token for changes (control.token)")
      ->envname("FAIRWAY_TOKEN");
  std::string token_file;
  app.add_option("--token-file", token_file,
                 "read the token from this file (keeps it out of `ps` and the shell's history)");
  app.set_version_flag("--version", FAIRWAY_VERSION_LINE("fairwayctl"));
  app.require_subcommand(1);
  define_reads(app, c);
  define_changes(app, c);
  define_node(app, c);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help is a success; every other parse error is a usage error: exit 2, as documented
    // (CLI11's own codes, 105 and up, mean nothing to a script).
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
      std::fprintf(stderr, "fairwayctl: cannot read the token file '%s'\n", token_file.c_str());
      return 2;
    }
    c.token = text.str();
    c.token.erase(c.token.find_last_not_of(" \t\r\n") + 1);
  }
  bool usage_error = false;
  if (std::optional<Request> request = change_request(c, usage_error)) {
    return run_change(c, *request);
  }
  if (usage_error) return 2;
  return run_read(c);
}
