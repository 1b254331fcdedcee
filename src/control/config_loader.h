#pragma once
// Internal to the configuration loader: the pieces of config.cc and config_services.cc that
// share state. Not part of the control layer's interface; include control/config.h instead.
#include <map>
#include <string>
#include <tuple>

#include "control/config.h"
#include "control/yaml_reader.h"
#include "packet/parse.h"

namespace fairway::config_detail {

inline std::string family(const IpAddress& address) {
  return address.is_v4() ? "IPv4" : "IPv6";
}

// "198.18.100.1:80/tcp": a service (or a back-end endpoint of one) in messages and default names.
inline std::string service_text(const IpAddress& address, uint16_t port, uint8_t protocol) {
  return endpoint_text(address, port) + (protocol == kProtoTcp ? "/tcp" : "/udp");
}

// Where something was first defined, so a duplicate can point back to it.
struct FirstSeen {
  int line = 0;
  std::string owner;  // e.g. the service that owns a NAT back-end endpoint
};

// Reads one document into `config`, section by section, checking cross-references as it goes.
// Ports are read before everything that refers to them, whatever the order in the file.
class ConfigLoader {
 public:
  explicit ConfigLoader(Config& config) : config_(config) {}
  void load(const Field& root);
  // Run-time changes (config_changes.cc): one service or back-end read by the file's rules,
  // against the ports of `config`. Conflicts with running services are checked by the caller.
  void read_one_service(const Field& field) { read_service(field); }
  BackendConfig read_one_backend(const Field& field, const ServiceConfig& service) {
    return read_backend(field, service);
  }

 private:
  void read_eal(const Field& field);
  void read_flow_table(const Field& field);
  void read_fragments(const Field& field);
  void read_icmp(const Field& field);
  void read_control(const Field& field);
  void read_announce(const Field& field);
  void read_flow_sync(const Field& field);
  void read_port(const Field& field);
  void read_port_devices(const Field& field, PortConfig& port);
  void read_port_addresses(const Field& field, PortConfig& port);
  void check_tap_name(const MapReader& map, PortConfig& port);
  void read_neighbor(const Field& field);
  void read_route(const Field& field);
  const PortConfig& port_named(const Field& field) const;

  // config_services.cc
  void read_service(const Field& field);
  void read_service_fields(const MapReader& map, ServiceConfig& service);
  void check_vip(const Field& field, const ServiceConfig& service) const;
  void check_service_unique(const MapReader& map, const ServiceConfig& service);
  void read_backends(const Field& field, ServiceConfig& service);
  BackendConfig read_backend(const Field& field, const ServiceConfig& service);
  void check_nat_endpoint(const Field& field, const ServiceConfig& service,
                          const BackendConfig& backend);
  void check_table_size(const MapReader& map, const ServiceConfig& service) const;

  // config_feedback.cc: load feedback from agents, least-load scheduling, capability pools
  void read_load_feedback(const Field& field);
  void read_syn_cookies(const Field& field);
  void read_scheduling(const MapReader& map, ServiceConfig& service) const;
  LeastLoadConfig read_least_load(const Field& field) const;
  ClientPoolConfig read_pool(const Field& field, const ServiceConfig& service) const;
  HealthCheckConfig read_health_check(const Field& field) const;
  void read_syn_proxy(const Field& field, ServiceConfig& service) const;
  void read_health_check_http(const MapReader& map, HealthCheckConfig& check) const;

  Config& config_;
  std::map<std::string, FirstSeen> port_names_, devices_, tap_names_;
  std::map<IpAddress, FirstSeen> port_addresses_, neighbors_;
  std::map<std::string, FirstSeen> routes_;  // by prefix text
  std::map<std::tuple<IpAddress, uint16_t, uint8_t>, FirstSeen> services_, nat_endpoints_;
  std::map<std::string, FirstSeen> service_names_;
};

}  // namespace fairway::config_detail
