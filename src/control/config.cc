#include "control/config.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>

#include "control/config_loader.h"
#include "util/key_file.h"

namespace fairway {
namespace config_detail {
namespace {

constexpr uint64_t kMinTimeoutMs = 100;
constexpr uint64_t kMaxTimeoutMs = 168ull * 3'600'000;  // a week: longer is a leak, not a timeout
constexpr uint64_t kMaxFlowCapacity = 1ull << 26;
constexpr uint64_t kMinMbufs = 1023;
constexpr uint64_t kMaxMbufs = (1ull << 26) - 1;
constexpr size_t kMaxIfNameLength = 15;  // Linux IFNAMSIZ - 1

// Letters, digits and "_.-": safe in an interface name, a log line and a URL path alike.
bool is_simple_name(const std::string& name) {
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return !name.empty();
}

std::string simple_name(const Field& field) {
  std::string name = field.string();
  if (!is_simple_name(name)) {
    field.fail("'" + name + "' is not a valid name, expected letters, digits, '_', '-' or '.'");
  }
  return name;
}

// The prefix with the bits past its length cleared.
IpPrefix network_of(const IpPrefix& prefix) {
  IpPrefix out = prefix;
  unsigned bits = prefix.mapped_length();
  for (unsigned i = 0; i < 16; ++i) {
    unsigned keep = bits > i * 8 ? std::min(8u, bits - i * 8) : 0;
    out.address.bytes[i] &= static_cast<uint8_t>(0xff00 >> keep);
  }
  return out;
}

template <typename Key>
void check_unique(std::map<Key, FirstSeen>& seen, const Key& key, const Field& field,
                  const std::string& what, const std::string& owner = {}) {
  auto [it, inserted] = seen.emplace(key, FirstSeen{field.line(), owner});
  if (!inserted) {
    field.fail("duplicate " + what + ", first defined at line " + std::to_string(it->second.line));
  }
}

}  // namespace

void ConfigLoader::load(const Field& root) {
  MapReader map = root.map({"workers", "workers_poll", "workers_idle", "mbufs", "eal", "flow_table",
                            "icmp", "control", "ports", "neighbors", "routes", "services",
                            "load_feedback", "exception_path", "deny_clients", "syn_cookies",
                            "announce", "flow_sync", "fragments"});
  if (auto f = map.get("workers")) config_.workers = static_cast<uint32_t>(f->uint(1, 64));
  if (auto f = map.get("workers_poll")) {
    config_.polling.adaptive = f->choice({"busy", "adaptive"}) == 1;
  }
  if (auto f = map.get("workers_idle")) {
    config_.polling.idle_ms = static_cast<uint32_t>(f->duration_ms(1, 60'000));
  }
  if (auto f = map.get("mbufs"))
    config_.mbufs = static_cast<uint32_t>(f->uint(kMinMbufs, kMaxMbufs));
  if (auto f = map.get("eal")) read_eal(*f);
  if (auto f = map.get("flow_table")) read_flow_table(*f);
  if (auto f = map.get("icmp")) read_icmp(*f);
  if (auto f = map.get("fragments")) read_fragments(*f);
  if (auto f = map.get("control")) read_control(*f);
  if (auto f = map.get("load_feedback")) read_load_feedback(*f);
  if (auto f = map.get("exception_path")) {
    MapReader ep = f->map({"queue_size", "icmp_pps", "other_pps"});
    if (auto q = ep.get("queue_size")) {
      config_.exception_path.queue_size = static_cast<uint32_t>(q->uint(64, 65536));
    }
    if (auto r = ep.get("icmp_pps")) {
      config_.exception_path.icmp_pps = static_cast<uint32_t>(r->uint(10, 10'000'000));
    }
    if (auto r = ep.get("other_pps")) {
      config_.exception_path.other_pps = static_cast<uint32_t>(r->uint(100, 10'000'000));
    }
  }
  if (auto f = map.get("deny_clients")) {
    for (const Field& item : f->items()) config_.deny_clients.push_back(item.prefix());
  }
  if (auto f = map.get("syn_cookies")) read_syn_cookies(*f);
  if (auto f = map.get("announce")) read_announce(*f);
  if (auto f = map.get("flow_sync")) read_flow_sync(*f);
  Field ports = map.require("ports", "a list of at least one port");
  for (const Field& item : ports.items()) read_port(item);
  if (config_.ports.empty()) ports.fail("expected at least one port, got an empty list");
  if (auto f = map.get("neighbors")) {
    for (const Field& item : f->items()) read_neighbor(item);
  }
  if (auto f = map.get("routes")) {
    for (const Field& item : f->items()) read_route(item);
  }
  if (auto f = map.get("services")) {
    for (const Field& item : f->items()) read_service(item);
  }
}

void ConfigLoader::read_eal(const Field& field) {
  MapReader map = field.map({"lcores", "args"});
  if (auto f = map.get("lcores")) config_.eal.lcores = f->string();
  if (auto f = map.get("args")) {
    for (const Field& arg : f->items()) config_.eal.args.push_back(arg.string());
  }
}

void ConfigLoader::read_flow_table(const Field& field) {
  MapReader map = field.map({"capacity", "timeouts"});
  if (auto f = map.get("capacity")) {
    config_.flow_capacity = static_cast<uint32_t>(f->uint(1024, kMaxFlowCapacity));
  }
  auto timeouts_field = map.get("timeouts");
  if (!timeouts_field) return;
  MapReader timeouts = timeouts_field->map(
      {"tcp_syn", "tcp_syn_under_pressure", "tcp_established", "tcp_closing", "udp", "other"});
  FlowTimeouts& t = config_.timeouts;
  std::pair<const char*, uint64_t*> slots[] = {
      {"tcp_syn", &t.tcp_syn_ms},
      {"tcp_syn_under_pressure", &t.tcp_syn_under_pressure_ms},
      {"tcp_established", &t.tcp_established_ms},
      {"tcp_closing", &t.tcp_closing_ms},
      {"udp", &t.udp_ms},
      {"other", &t.other_ms}};
  for (auto [key, slot] : slots) {
    if (auto f = timeouts.get(key)) *slot = f->duration_ms(kMinTimeoutMs, kMaxTimeoutMs);
  }
}

void ConfigLoader::read_fragments(const Field& field) {
  MapReader map = field.map({"max_datagrams", "max_fragments", "timeout"});
  FragmentConfig& f = config_.fragments;
  if (auto v = map.get("max_datagrams"))
    f.max_datagrams = static_cast<uint32_t>(v->uint(0, 1 << 20));
  if (auto v = map.get("max_fragments"))
    f.max_fragments = static_cast<uint32_t>(v->uint(64, 1 << 20));
  if (auto v = map.get("timeout")) f.timeout_ms = static_cast<uint32_t>(v->duration_ms(10, 60'000));
}

void ConfigLoader::read_icmp(const Field& field) {
  MapReader map = field.map({"echo_reply", "udp_port_unreachable"});
  if (auto f = map.get("echo_reply")) config_.answer_echo = f->boolean();
  if (auto f = map.get("udp_port_unreachable")) config_.udp_port_unreachable = f->boolean();
}

void ConfigLoader::read_announce(const Field& field) {
  MapReader map = field.map({"bird_file", "bird_socket", "birdc"});
  config_.announce.bird_file =
      map.require("bird_file", "the file fairwayd writes and bird.conf includes").string();
  if (auto f = map.get("bird_socket")) config_.announce.bird_socket = f->string();
  if (auto f = map.get("birdc")) config_.announce.birdc = f->string();
}

void ConfigLoader::read_control(const Field& field) {
  MapReader map = field.map({"listen", "token", "token_file", "state_file"});
  if (auto f = map.get("state_file")) {
    config_.state_file = f->string();
    if (config_.state_file.empty() || config_.state_file[0] != '/') {
      f->fail("'" + config_.state_file + "' is not an absolute path, expected e.g. " +
              "/var/lib/fairway/state.yaml");
    }
  }
  auto token = map.get("token");
  auto token_file = map.get("token_file");
  if (token && token_file) token_file->fail("give either token or token_file, not both");
  if (token) config_.control_token = token->string();
  if (token_file) {
    // Out of the configuration file and of `ps`: the token is read from its own file.
    Result<KeyFile> read = load_key_file(token_file->string());
    if (!read) token_file->fail(read.error().message);
    config_.control_token = read->key;
    config_.control_token_file = token_file->string();
  }
  auto listen = map.get("listen");
  if (!listen) return;
  if (listen->node().IsScalar() && listen->node().Scalar() == "off") {
    config_.control_listen.clear();
    return;
  }
  std::string text = listen->string();
  auto endpoint = parse_endpoint_text(text);
  if (!endpoint || !endpoint->port) {
    listen->fail("'" + text + "' is not an address, expected HOST:PORT like 127.0.0.1:9180 or " +
                 "[::1]:9180, or off");
  }
  config_.control_listen = text;
}

void ConfigLoader::read_port(const Field& field) {
  MapReader map = field.map({"name", "device", "addresses", "mac", "exception_path", "tap"});
  PortConfig port;
  Field name = map.require("name", "a name that neighbors, routes and logs refer to");
  port.name = simple_name(name);
  check_unique(port_names_, port.name, name, "port name '" + port.name + "'");
  Field device = map.require("device", "a DPDK device argument or PCI address");
  read_port_devices(device, port);
  if (auto f = map.get("addresses")) read_port_addresses(*f, port);
  if (auto f = map.get("mac")) port.mac = f->mac();
  if (auto f = map.get("exception_path")) port.exception_path = f->boolean();
  check_tap_name(map, port);
  config_.ports.push_back(std::move(port));
}

void ConfigLoader::read_port_devices(const Field& field, PortConfig& port) {
  std::vector<Field> items = field.node().IsSequence() ? field.items() : std::vector<Field>{field};
  for (const Field& item : items) {
    port.devices.push_back(item.string());
    check_unique(devices_, port.devices.back(), item, "device '" + port.devices.back() + "'");
  }
  if (field.node().IsSequence() && port.devices.size() != config_.workers) {
    field.fail("a list of " + std::to_string(port.devices.size()) +
               " devices, expected one single-queue device per worker (workers: " +
               std::to_string(config_.workers) + ") or a single device");
  }
}

void ConfigLoader::read_port_addresses(const Field& field, PortConfig& port) {
  for (const Field& item : field.items()) {
    IpPrefix prefix = item.prefix();
    // One address on two ports would make the kernel's and the data plane's views disagree.
    check_unique(port_addresses_, prefix.address, item,
                 "port address " + prefix.address.to_string());
    port.addresses.push_back(prefix);
  }
}

void ConfigLoader::check_tap_name(const MapReader& map, PortConfig& port) {
  auto tap = map.get("tap");
  port.tap_name = tap ? simple_name(*tap) : "fw-" + port.name;
  // Without an exception path no TAP is created, so its name cannot clash.
  if (!port.exception_path) return;
  const Field& where = tap ? *tap : *map.get("name");
  if (port.tap_name.size() > kMaxIfNameLength) {
    where.fail("TAP name '" + port.tap_name + "' is " + std::to_string(port.tap_name.size()) +
               " characters, expected at most 15 (Linux interface name)" +
               (tap ? "" : "; shorten the port name or set 'tap'"));
  }
  check_unique(tap_names_, port.tap_name, where, "TAP name '" + port.tap_name + "'");
}

const PortConfig& ConfigLoader::port_named(const Field& field) const {
  std::string name = field.string();
  std::string known;
  for (const PortConfig& port : config_.ports) {
    if (port.name == name) return port;
    known += (known.empty() ? "" : ", ") + port.name;
  }
  field.fail("unknown port '" + name + "', expected one of the ports: " + known);
}

void ConfigLoader::read_neighbor(const Field& field) {
  MapReader map = field.map({"address", "mac", "port"});
  NeighborConfig neighbor;
  Field address = map.require("address", "the neighbor's IP address");
  neighbor.address = address.ip();
  check_unique(neighbors_, neighbor.address, address, "neighbor " + neighbor.address.to_string());
  neighbor.mac = map.require("mac", "the neighbor's MAC address").mac();
  neighbor.port = port_named(map.require("port", "the name of the port it is reached on")).name;
  config_.neighbors.push_back(std::move(neighbor));
}

void ConfigLoader::read_route(const Field& field) {
  MapReader map = field.map({"prefix", "via", "port"});
  RouteConfig route;
  Field prefix = map.require("prefix", "the destination prefix, e.g. 0.0.0.0/0");
  route.prefix = prefix.prefix();
  if (!(network_of(route.prefix) == route.prefix)) {
    prefix.fail("prefix " + route.prefix.to_string() + " has host bits set, expected " +
                network_of(route.prefix).to_string());
  }
  check_unique(routes_, route.prefix.to_string(), prefix, "route " + route.prefix.to_string());
  if (auto via = map.get("via")) {
    route.via = via->ip();
    if (route.via->is_v4() != route.prefix.address.is_v4()) {
      via->fail("gateway " + route.via->to_string() + " is " + family(*route.via) +
                ", expected an " + family(route.prefix.address) + " address like the prefix");
    }
  }
  route.port = port_named(map.require("port", "the name of the port to send on")).name;
  config_.routes.push_back(std::move(route));
}

}  // namespace config_detail

namespace config_detail {
namespace {

// Where a second document starts ("---" at the start of a line after content), if anywhere.
// Found by scanning rather than with YAML::LoadAll: yaml-cpp 0.7's LoadAll loops forever on some
// inputs (a lone ',' for one; jbeder/yaml-cpp#1040), and a config file is one document anyway.
std::optional<YAML::Mark> second_document_start(const std::string& text) {
  bool seen_content = false;
  size_t line_start = 0;
  for (int line = 0; line_start < text.size(); ++line) {
    size_t end = text.find('\n', line_start);
    std::string_view row(text.data() + line_start,
                         (end == std::string::npos ? text.size() : end) - line_start);
    bool marker = row.starts_with("---") &&
                  (row.size() == 3 || row[3] == ' ' || row[3] == '\t' || row[3] == '\r');
    if (marker && seen_content) {
      YAML::Mark mark;
      mark.line = line;
      mark.column = 0;
      return mark;
    }
    size_t first = row.find_first_not_of(" \t\r");
    if (!marker && first != std::string_view::npos && row[first] != '#') seen_content = true;
    if (end == std::string::npos) break;
    line_start = end + 1;
  }
  return std::nullopt;
}

}  // namespace
}  // namespace config_detail

ConfigResult load_config_string(const std::string& yaml_text, const std::string& source_name) {
  using config_detail::format_error;
  try {
    if (auto mark = config_detail::second_document_start(yaml_text)) {
      throw config_detail::LoadError(format_error(
          source_name, *mark, "",
          "a second YAML document ('---'), expected the whole configuration in one document"));
    }
    YAML::Node document = YAML::Load(yaml_text);
    if (!document.IsDefined() || document.IsNull()) {
      throw config_detail::LoadError(
          format_error(source_name, YAML::Mark(), "",
                       "the file is empty, expected a map with at least 'ports'"));
    }
    Config config;
    config.source_path = source_name;
    config_detail::ConfigLoader(config).load(
        config_detail::Field(document, YAML::Mark(), "", &source_name));
    return config;
  } catch (const config_detail::LoadError& e) {
    return Error{e.message()};
  } catch (const YAML::ParserException& e) {
    return Error{format_error(source_name, e.mark, "syntax error", e.msg)};
  } catch (const YAML::Exception& e) {
    return Error{format_error(source_name, e.mark, "", e.msg)};
  } catch (const std::exception& e) {
    // Out of memory and the like: the contract is an error value, never an exception.
    return Error{source_name + ": internal error: " + e.what()};
  }
}

const char* load_metric_name(LoadMetric metric) {
  switch (metric) {
    case LoadMetric::cpu:
      return "cpu";
    case LoadMetric::memory:
      return "memory";
    case LoadMetric::clients:
      return "clients";
    case LoadMetric::response_time:
      return "response_time";
  }
  return "cpu";
}

const char* scheduler_name(Scheduler scheduler) {
  switch (scheduler) {
    case Scheduler::maglev:
      return "maglev";
    case Scheduler::least_load:
      return "least-load";
    case Scheduler::source_hash:
      return "source-hash";
  }
  return "maglev";
}

ConfigResult load_config_file(const std::string& path) {
  try {
    // stdio rather than iostreams: its errno is reliable (missing file, permission, directory).
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                         &std::fclose);
    std::string text;
    if (file) {
      char buffer[65536];
      size_t n = 0;
      while ((n = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) text.append(buffer, n);
      if (!std::ferror(file.get())) return load_config_string(text, path);
    }
    return Error{path + ": cannot read the file: " + std::strerror(errno)};
  } catch (const std::exception& e) {
    return Error{path + ": cannot read the file: " + e.what()};
  }
}

}  // namespace fairway
