// Written by hand rather than with YAML::Emitter: the loader accepts plain scalars for numbers,
// booleans and durations and JSON-style quoted strings for everything else, and a fixed layout
// keeps `config show` diffable against the file an operator wrote.
#include "control/config_writer.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "packet/parse.h"

namespace fairway {
namespace {

// A YAML double-quoted scalar: JSON's escaping is a subset of YAML's.
std::string quoted(const std::string& text) {
  return nlohmann::json(text).dump();
}

std::string duration(uint64_t ms) {
  return fmt::format("{}ms", ms);
}

// Shortest text that reads back to the same double.
std::string number(double value) {
  return fmt::format("{}", value);
}

const char* boolean(bool value) {
  return value ? "true" : "false";
}

template <typename T, typename Text>
std::string flow_list(const std::vector<T>& items, Text text) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + quoted(text(items[i]));
  return out + "]";
}

std::string prefixes(const std::vector<IpPrefix>& list) {
  return flow_list(list, [](const IpPrefix& p) { return p.to_string(); });
}

class Writer {
 public:
  void line(int indent, const std::string& text) {
    out_.append(static_cast<size_t>(indent), ' ');
    out_ += text;
    out_ += '\n';
  }
  // `key: value` at `indent`.
  void field(int indent, const std::string& key, const std::string& value) {
    line(indent, key + ": " + value);
  }
  // A secret: its file when it came from one, else the placeholder.
  void secret(int indent, const char* key_name, const std::string& file, const std::string& value) {
    if (!file.empty()) {
      field(indent, "key_file", quoted(file));
    } else if (!value.empty()) {
      field(indent, key_name, quoted(kRedacted));
    }
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

void write_health_check(Writer& w, int in, const HealthCheckConfig& c) {
  const bool http = c.type == HealthCheckConfig::Type::http;
  w.line(in, "health_check:");
  w.field(in + 2, "type", http ? "http" : "tcp");
  if (c.port != 0) w.field(in + 2, "port", std::to_string(c.port));
  if (http) {
    w.field(in + 2, "path", quoted(c.path));
    if (!c.host.empty()) w.field(in + 2, "host", quoted(c.host));
    w.field(in + 2, "expect_status", std::to_string(c.expect_status));
    if (!c.expect_body.empty()) w.field(in + 2, "expect_body", quoted(c.expect_body));
  }
  w.field(in + 2, "interval", duration(c.interval_ms));
  w.field(in + 2, "timeout", duration(c.timeout_ms));
  w.field(in + 2, "rise", std::to_string(c.rise));
  w.field(in + 2, "fall", std::to_string(c.fall));
}

void write_least_load(Writer& w, int in, const LeastLoadConfig& c) {
  const LeastLoadParams& p = c.params;
  w.line(in, "least_load:");
  w.field(in + 2, "metric", load_metric_name(c.metric));
  w.field(in + 2, "smoothing", number(p.smoothing));
  w.field(in + 2, "gain", number(p.gain));
  w.field(in + 2, "max_step", number(p.max_step));
  w.field(in + 2, "dead_band", number(p.dead_band));
  w.field(in + 2, "min_factor", number(p.min_factor));
  w.field(in + 2, "max_factor", number(p.max_factor));
  w.field(in + 2, "idle_load", number(p.idle_load));
  w.field(in + 2, "response", number(p.response));
}

void write_service(Writer& w, int in, const ServiceConfig& s) {
  w.line(in, "- name: " + quoted(s.name));
  const int f = in + 2;
  w.field(f, "vip", quoted(s.vip.to_string()));
  w.field(f, "port", std::to_string(s.port));
  w.field(f, "protocol", s.protocol == kProtoTcp ? "tcp" : "udp");
  w.field(f, "mode", s.mode == ForwardingMode::dsr ? "dsr" : "nat");
  w.field(f, "missing_flow",
          s.missing_flow == MissingFlowPolicy::consistent ? "consistent" : "strict");
  w.field(f, "table_size", std::to_string(s.table_size));
  w.field(f, "on_backend_down", s.on_backend_down == BackendDownPolicy::keep ? "keep" : "reset");
  w.field(f, "scheduler", scheduler_name(s.scheduler));
  if (s.scheduler == Scheduler::least_load) write_least_load(w, f, s.least_load);
  if (s.protocol == kProtoTcp && s.mode == ForwardingMode::nat) {
    w.field(f, "syn_proxy", syn_proxy_name(s.syn_proxy));
  }
  if (s.health_check) write_health_check(w, f, *s.health_check);
  if (!s.deny_clients.empty()) w.field(f, "deny_clients", prefixes(s.deny_clients));
  if (!s.pools.empty()) {
    w.line(f, "pools:");
    for (const ClientPoolConfig& pool : s.pools) {
      w.line(f + 2, "- name: " + quoted(pool.name));
      w.field(f + 4, "clients", prefixes(pool.clients));
      w.field(f + 4, "backends",
              flow_list(pool.backends, [](const IpAddress& a) { return a.to_string(); }));
    }
  }
  w.line(f, "backends:");
  for (const BackendConfig& b : s.backends) {
    w.line(f + 2, "- address: " + quoted(b.address.to_string()));
    w.field(f + 4, "port", std::to_string(b.port));
    w.field(f + 4, "weight", std::to_string(b.weight));
    w.field(f + 4, "drain", boolean(b.drained));
    w.field(f + 4, "capacity", number(b.capacity));
  }
}

void write_services(Writer& w, int in, const std::vector<ServiceConfig>& services) {
  for (const ServiceConfig& s : services) write_service(w, in, s);
}

void write_ports(Writer& w, const Config& c) {
  w.line(0, "ports:");
  for (const PortConfig& p : c.ports) {
    w.line(2, "- name: " + quoted(p.name));
    // One device, or one single-queue device per worker (a list).
    if (p.devices.size() == 1) {
      w.field(4, "device", quoted(p.devices[0]));
    } else {
      w.field(4, "device", flow_list(p.devices, [](const std::string& d) { return d; }));
    }
    if (!p.addresses.empty()) w.field(4, "addresses", prefixes(p.addresses));
    if (p.mac) w.field(4, "mac", quoted(p.mac->to_string()));
    w.field(4, "exception_path", boolean(p.exception_path));
    if (p.exception_path) w.field(4, "tap", quoted(p.tap_name));
  }
}

void write_network(Writer& w, const Config& c) {
  write_ports(w, c);
  if (!c.neighbors.empty()) {
    w.line(0, "neighbors:");
    for (const NeighborConfig& n : c.neighbors) {
      w.line(2, "- address: " + quoted(n.address.to_string()));
      w.field(4, "mac", quoted(n.mac.to_string()));
      w.field(4, "port", quoted(n.port));
    }
  }
  if (!c.routes.empty()) {
    w.line(0, "routes:");
    for (const RouteConfig& r : c.routes) {
      w.line(2, "- prefix: " + quoted(r.prefix.to_string()));
      if (r.via) w.field(4, "via", quoted(r.via->to_string()));
      w.field(4, "port", quoted(r.port));
    }
  }
}

void write_cluster(Writer& w, const Config& c) {
  if (c.announce.enabled()) {
    w.line(0, "announce:");
    w.field(2, "bird_file", quoted(c.announce.bird_file));
    w.field(2, "bird_socket", quoted(c.announce.bird_socket));
    w.field(2, "birdc", quoted(c.announce.birdc));
  }
  if (c.flow_sync.enabled()) {
    const FlowSyncConfig& s = c.flow_sync;
    w.line(0, "flow_sync:");
    w.field(2, "listen", quoted(endpoint_text(s.listen_address, s.listen_port)));
    w.field(2, "peers", flow_list(s.peers, [](const FlowSyncConfig::Peer& p) {
              return endpoint_text(p.address, p.port);
            }));
    w.secret(2, "key", s.key_file, s.key);
    w.field(2, "max_records_per_second", std::to_string(s.max_records_per_second));
  }
  if (!c.syn_cookie_secret.empty()) {
    w.line(0, "syn_cookies:");
    w.secret(2, "key", c.syn_cookie_key_file, c.syn_cookie_secret);
  }
}

void write_settings(Writer& w, const Config& c) {
  w.field(0, "workers", std::to_string(c.workers));
  w.field(0, "workers_poll", c.polling.adaptive ? "adaptive" : "busy");
  w.field(0, "workers_idle", duration(c.polling.idle_ms));
  w.field(0, "mbufs", std::to_string(c.mbufs));
  if (!c.eal.lcores.empty() || !c.eal.args.empty()) {
    w.line(0, "eal:");
    if (!c.eal.lcores.empty()) w.field(2, "lcores", quoted(c.eal.lcores));
    if (!c.eal.args.empty()) {
      w.field(2, "args", flow_list(c.eal.args, [](const std::string& a) { return a; }));
    }
  }
  const FlowTimeouts& t = c.timeouts;
  w.line(0, "flow_table:");
  w.field(2, "capacity", std::to_string(c.flow_capacity));
  w.line(2, "timeouts:");
  w.field(4, "tcp_syn", duration(t.tcp_syn_ms));
  w.field(4, "tcp_syn_under_pressure", duration(t.tcp_syn_under_pressure_ms));
  w.field(4, "tcp_established", duration(t.tcp_established_ms));
  w.field(4, "tcp_closing", duration(t.tcp_closing_ms));
  w.field(4, "udp", duration(t.udp_ms));
  w.field(4, "other", duration(t.other_ms));
  w.line(0, "fragments:");
  w.field(2, "max_datagrams", std::to_string(c.fragments.max_datagrams));
  w.field(2, "max_fragments", std::to_string(c.fragments.max_fragments));
  w.field(2, "timeout", duration(c.fragments.timeout_ms));
  w.line(0, "icmp:");
  w.field(2, "echo_reply", boolean(c.answer_echo));
  w.field(2, "udp_port_unreachable", boolean(c.udp_port_unreachable));
  w.line(0, "exception_path:");
  w.field(2, "queue_size", std::to_string(c.exception_path.queue_size));
  w.field(2, "icmp_pps", std::to_string(c.exception_path.icmp_pps));
  w.field(2, "other_pps", std::to_string(c.exception_path.other_pps));
  w.line(0, "control:");
  w.field(2, "listen", c.control_listen.empty() ? "off" : quoted(c.control_listen));
  if (!c.control_token_file.empty()) {
    w.field(2, "token_file", quoted(c.control_token_file));
  } else if (!c.control_token.empty()) {
    w.field(2, "token", quoted(kRedacted));
  }
  if (!c.state_file.empty()) w.field(2, "state_file", quoted(c.state_file));
  if (c.load_feedback.enabled()) {
    const LoadFeedbackConfig& f = c.load_feedback;
    w.line(0, "load_feedback:");
    w.secret(2, "key", f.key_file, f.key);
    if (!f.agent_keys.empty()) {
      w.line(2, "agents:");
      for (const LoadFeedbackConfig::AgentKey& a : f.agent_keys) {
        w.line(4, "- address: " + quoted(a.address.to_string()));
        w.secret(6, "key", a.key_file, a.key);
      }
    }
    w.field(2, "report_interval", duration(f.report_interval_ms));
    w.field(2, "stale_after", std::to_string(f.stale_after));
    w.field(2, "max_clock_skew", duration(f.max_clock_skew_ms));
  }
  if (!c.deny_clients.empty()) w.field(0, "deny_clients", prefixes(c.deny_clients));
}

}  // namespace

std::string config_to_yaml(const Config& config) {
  Writer w;
  w.line(0, "# fairwayd's running configuration" +
                (config.source_path.empty() ? std::string()
                                            : " (" + config.source_path + " and API changes)"));
  w.line(0, "# Secrets are not shown: keys from files appear as their key_file, inline ones as");
  w.line(0, std::string("# \"") + kRedacted + "\".");
  write_settings(w, config);
  write_cluster(w, config);
  write_network(w, config);
  if (!config.services.empty()) {
    w.line(0, "services:");
    write_services(w, 2, config.services);
  }
  return w.take();
}

std::string services_to_yaml(const std::vector<ServiceConfig>& services, int indent) {
  Writer w;
  write_services(w, indent, services);
  return w.take();
}

}  // namespace fairway
