// The `services` section: virtual services and their back-ends, with the checks that involve
// more than one field (uniqueness, families, DSR ports, NAT endpoint ownership, Maglev size), and
// each service's health check.
#include <string>
#include <string_view>

#include "control/config_loader.h"
#include "packet/parse.h"

namespace fairway::config_detail {
namespace {

constexpr uint64_t kMinTableSize = 7;
// Maglev's lookup table is rebuilt on every change; about a million entries keeps that well under
// a second and a table per service within a few megabytes.
constexpr uint64_t kMaxTableSize = 1'000'003;

// Health checks: a check every 100 ms per back-end is already a lot of traffic for a server; one
// an hour is as slow as a check can usefully be. A timeout under 10 ms fails on any real network.
constexpr uint64_t kMinCheckIntervalMs = 100;
constexpr uint64_t kMaxCheckIntervalMs = 3'600'000;
constexpr uint64_t kMinCheckTimeoutMs = 10;
constexpr uint64_t kMaxRiseFall = 100;

// "2s", "500ms": how a duration in milliseconds is written back in a message.
std::string duration_text(uint64_t ms) {
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// Goes into the HTTP request line or a header: a space, CR, LF or other control character would
// break the request or inject a header.
bool fits_in_request(std::string_view text) {
  for (char ch : text) {
    auto byte = static_cast<unsigned char>(ch);
    if (byte <= 0x20 || byte == 0x7f) return false;
  }
  return true;
}

// A value quoted back in a one-line message: control characters shown as '?', long values cut.
std::string quoted(std::string text) {
  for (char& ch : text) {
    auto byte = static_cast<unsigned char>(ch);
    if (byte < 0x20 || byte == 0x7f) ch = '?';
  }
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return "'" + text + "'";
}

bool is_prime(uint64_t n) {
  if (n < 2) return false;
  for (uint64_t d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

}  // namespace

void ConfigLoader::read_service(const Field& field) {
  MapReader map = field.map({"name", "vip", "port", "protocol", "mode", "missing_flow",
                             "table_size", "on_backend_down", "health_check", "scheduler",
                             "least_load", "pools", "backends", "deny_clients", "syn_proxy"});
  ServiceConfig service;
  service.line = field.line();
  read_service_fields(map, service);
  check_vip(map.require("vip", ""), service);
  check_service_unique(map, service);
  read_backends(map.require("backends", "a list of at least one back-end"), service);
  read_scheduling(map, service);
  check_table_size(map, service);
  config_.services.push_back(std::move(service));
}

void ConfigLoader::read_service_fields(const MapReader& map, ServiceConfig& service) {
  service.vip = map.require("vip", "the virtual IP address clients connect to").ip();
  service.port =
      static_cast<uint16_t>(map.require("port", "the service port 1..65535").uint(1, 65535));
  size_t protocol = map.require("protocol", "tcp or udp").choice({"tcp", "udp"});
  service.protocol = protocol == 0 ? kProtoTcp : kProtoUdp;
  if (auto f = map.get("mode")) {
    service.mode = f->choice({"dsr", "nat"}) == 0 ? ForwardingMode::dsr : ForwardingMode::nat;
  }
  if (auto f = map.get("missing_flow")) {
    service.missing_flow = f->choice({"consistent", "strict"}) == 0 ? MissingFlowPolicy::consistent
                                                                    : MissingFlowPolicy::strict;
  }
  if (auto f = map.get("table_size")) {
    service.table_size = static_cast<uint32_t>(f->uint(kMinTableSize, kMaxTableSize));
  }
  if (auto f = map.get("on_backend_down")) {
    service.on_backend_down =
        f->choice({"keep", "reset"}) == 0 ? BackendDownPolicy::keep : BackendDownPolicy::reset;
  }
  if (auto f = map.get("health_check")) service.health_check = read_health_check(*f);
  if (auto f = map.get("syn_proxy")) read_syn_proxy(*f, service);
  if (auto f = map.get("deny_clients")) {
    for (const Field& item : f->items()) service.deny_clients.push_back(item.prefix());
  }
  auto name = map.get("name");
  service.name = name ? name->string() : service_text(service.vip, service.port, service.protocol);
}

void ConfigLoader::read_syn_proxy(const Field& field, ServiceConfig& service) const {
  constexpr SynProxyMode kModes[] = {SynProxyMode::off, SynProxyMode::under_pressure,
                                     SynProxyMode::always};
  service.syn_proxy = kModes[field.choice({"off", "under_pressure", "always"})];
  if (service.syn_proxy == SynProxyMode::off) return;
  if (service.mode != ForwardingMode::nat || service.protocol != kProtoTcp) {
    field.fail(
        "a SYN proxy needs mode: nat and protocol: tcp (in dsr the back-end answers the "
        "client itself, so the load balancer cannot complete a handshake for it), expected "
        "off");
  }
  if (config_.workers > 1) {
    field.fail(
        "a SYN proxy needs workers: 1 for now (a back-end's replies must reach the worker "
        "that holds the flow's sequence offset, and the workers' queues are spread by RSS), "
        "got workers: " +
        std::to_string(config_.workers) + ", expected off");
  }
}

HealthCheckConfig ConfigLoader::read_health_check(const Field& field) const {
  MapReader map = field.map({"type", "port", "path", "host", "expect_status", "expect_body",
                             "interval", "timeout", "rise", "fall"});
  HealthCheckConfig check;
  if (auto f = map.get("type")) {
    check.type = f->choice({"tcp", "http"}) == 0 ? HealthCheckConfig::Type::tcp
                                                 : HealthCheckConfig::Type::http;
  }
  if (auto f = map.get("port")) check.port = static_cast<uint16_t>(f->uint(1, 65535));
  if (check.type == HealthCheckConfig::Type::http) {
    read_health_check_http(map, check);
  } else {
    for (std::string_view key : {"path", "host", "expect_status", "expect_body"}) {
      if (auto f = map.get(key)) {
        f->fail("'" + std::string(key) + "' is only for type: http, expected type: http or no '" +
                std::string(key) + "' (a tcp check only connects)");
      }
    }
  }
  auto interval = map.get("interval");
  if (interval) {
    check.interval_ms =
        static_cast<uint32_t>(interval->duration_ms(kMinCheckIntervalMs, kMaxCheckIntervalMs));
  }
  auto timeout = map.get("timeout");
  if (timeout) {
    check.timeout_ms =
        static_cast<uint32_t>(timeout->duration_ms(kMinCheckTimeoutMs, kMaxCheckIntervalMs));
  }
  // Checks of one back-end never overlap: a timeout beyond the interval would silently stretch it.
  if (check.timeout_ms > check.interval_ms) {
    if (timeout) {
      timeout->fail("timeout " + duration_text(check.timeout_ms) + " is longer than the interval " +
                    duration_text(check.interval_ms) + ", expected at most the interval");
    }
    const Field& where = interval ? *interval : map.self();  // defaults alone always fit
    where.fail("interval " + duration_text(check.interval_ms) +
               " is shorter than the default timeout " + duration_text(check.timeout_ms) +
               ", expected at least the timeout (or set a shorter 'timeout')");
  }
  if (auto f = map.get("rise")) check.rise = static_cast<uint32_t>(f->uint(1, kMaxRiseFall));
  if (auto f = map.get("fall")) check.fall = static_cast<uint32_t>(f->uint(1, kMaxRiseFall));
  return check;
}

void ConfigLoader::read_health_check_http(const MapReader& map, HealthCheckConfig& check) const {
  if (auto f = map.get("path")) {
    check.path = f->string();
    if (check.path.front() != '/') {
      f->fail("path " + quoted(check.path) +
              " does not start with '/', expected an absolute path such as /healthz");
    }
    if (!fits_in_request(check.path)) {
      f->fail("path " + quoted(check.path) +
              " contains a space or control character, expected a URL path (encode a space as "
              "%20)");
    }
  }
  if (auto f = map.get("host")) {
    check.host = f->string();
    if (!fits_in_request(check.host)) {
      f->fail("host " + quoted(check.host) +
              " contains a space or control character, expected a host name such as "
              "example.test");
    }
  }
  if (auto f = map.get("expect_status")) {
    check.expect_status = static_cast<uint16_t>(f->uint(100, 599));
  }
  if (auto f = map.get("expect_body")) check.expect_body = f->string();
}

void ConfigLoader::check_vip(const Field& field, const ServiceConfig& service) const {
  // Traffic to the box's own addresses goes to the kernel; the same address cannot also be a VIP.
  for (const PortConfig& port : config_.ports) {
    for (const IpPrefix& own : port.addresses) {
      if (own.address == service.vip) {
        field.fail("VIP " + service.vip.to_string() + " is an address of port '" + port.name +
                   "', expected an address that is not the box's own");
      }
    }
  }
}

void ConfigLoader::check_service_unique(const MapReader& map, const ServiceConfig& service) {
  auto [it, inserted] = services_.emplace(std::tuple(service.vip, service.port, service.protocol),
                                          FirstSeen{service.line, service.name});
  if (!inserted) {
    map.self().fail("duplicate service " +
                    service_text(service.vip, service.port, service.protocol) +
                    ", first defined at line " + std::to_string(it->second.line));
  }
  auto [name_it, name_inserted] =
      service_names_.emplace(service.name, FirstSeen{service.line, service.name});
  if (!name_inserted) {
    const Field& where = map.get("name") ? *map.get("name") : map.self();
    where.fail("duplicate service name '" + service.name + "', first defined at line " +
               std::to_string(name_it->second.line));
  }
}

void ConfigLoader::read_backends(const Field& field, ServiceConfig& service) {
  std::map<std::pair<IpAddress, uint16_t>, int> seen;
  for (const Field& item : field.items()) {
    BackendConfig backend = read_backend(item, service);
    auto [it, inserted] = seen.emplace(std::pair(backend.address, backend.port), item.line());
    if (!inserted) {
      item.fail("duplicate back-end " + endpoint_text(backend.address, backend.port) +
                ", first defined at line " + std::to_string(it->second));
    }
    if (service.mode == ForwardingMode::nat) check_nat_endpoint(item, service, backend);
    service.backends.push_back(backend);
  }
  if (service.backends.empty()) {
    field.fail("service '" + service.name + "' has no back-ends, expected at least one");
  }
}

BackendConfig ConfigLoader::read_backend(const Field& field, const ServiceConfig& service) {
  MapReader map = field.map({"address", "port", "weight", "drain", "capacity"});
  BackendConfig backend;
  Field address = map.require("address", "the back-end's IP address");
  backend.address = address.ip();
  if (backend.address.is_v4() != service.vip.is_v4()) {
    address.fail("back-end " + backend.address.to_string() + " is " + family(backend.address) +
                 " but VIP " + service.vip.to_string() + " is " + family(service.vip) +
                 ", expected the same family");
  }
  if (backend.address == service.vip) {
    address.fail("back-end address equals the VIP, expected the back-end's own address");
  }
  backend.port = service.port;
  if (auto port = map.get("port")) {
    backend.port = static_cast<uint16_t>(port->uint(1, 65535));
    // DSR rewrites only the destination MAC: the back-end sees, and answers from, the VIP port.
    if (service.mode == ForwardingMode::dsr && backend.port != service.port) {
      port->fail("dsr cannot change the port: back-end port " + std::to_string(backend.port) +
                 " differs from the service port " + std::to_string(service.port) + ", expected " +
                 std::to_string(service.port) + " or mode: nat");
    }
  }
  if (auto weight = map.get("weight"))
    backend.weight = static_cast<uint32_t>(weight->uint(0, 65535));
  if (auto drain = map.get("drain")) backend.drained = drain->boolean();
  if (auto capacity = map.get("capacity")) backend.capacity = capacity->number(0.001, 1e6);
  return backend;
}

void ConfigLoader::check_nat_endpoint(const Field& field, const ServiceConfig& service,
                                      const BackendConfig& backend) {
  // Replies from a NAT back-end are translated back by looking up their source endpoint, so that
  // endpoint must identify one service.
  auto [it, inserted] =
      nat_endpoints_.emplace(std::tuple(backend.address, backend.port, service.protocol),
                             FirstSeen{field.line(), service.name});
  if (!inserted) {
    field.fail("back-end " + service_text(backend.address, backend.port, service.protocol) +
               " of nat service '" + service.name + "' already belongs to nat service '" +
               it->second.owner + "' (line " + std::to_string(it->second.line) +
               "), expected each nat back-end endpoint in one nat service only");
  }
}

void ConfigLoader::check_table_size(const MapReader& map, const ServiceConfig& service) const {
  auto table_size = map.get("table_size");
  const Field& where = table_size ? *table_size : *map.get("backends");
  if (!is_prime(service.table_size)) {
    where.fail("table_size " + std::to_string(service.table_size) +
               " is not prime, expected a prime such as 65537 (Maglev needs a prime size)");
  }
  if (service.table_size <= service.backends.size()) {
    where.fail("table_size " + std::to_string(service.table_size) + " is not greater than the " +
               std::to_string(service.backends.size()) +
               " back-ends, expected a larger prime (Maglev needs more slots than back-ends)");
  }
}

}  // namespace fairway::config_detail
