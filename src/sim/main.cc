// fairway-sim: "which back-end gets this flow?" for a configuration, without a NIC or EAL.
// Uses the same snapshot builder, flow hash and scheduler as the workers, so its answer is the
// data plane's answer for a new flow (and, Maglev being consistent, every node's answer).
//
//   fairway-sim -c fairway.yaml tcp 198.18.0.2:40000 198.18.100.1:80
//   printf 'udp [2001:2::2]:5000 [2001:2:0:100::1]:53\n' | fairway-sim -c fairway.yaml
#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>

#include "control/config.h"
#include "control/snapshot_builder.h"
#include "lb/flow_key.h"
#include "packet/parse.h"
#include "pipeline/pipeline.h"

namespace {

// "198.18.0.2:80" or "[2001:2::2]:80": the one endpoint parser (packet/addresses.h), port required.
std::optional<fairway::EndpointText> parse_endpoint(std::string_view text) {
  auto endpoint = fairway::parse_endpoint_text(text);
  if (!endpoint || !endpoint->port) return std::nullopt;
  return endpoint;
}

std::string show(const fairway::IpAddress& a, uint16_t port) {
  return fairway::backend_key(a, port);
}

// One answer line for one flow; false when the flow could not be read.
bool simulate(const fairway::Snapshot& snap, const std::string& proto_text,
              const std::string& src_text, const std::string& dst_text) {
  uint8_t protocol = proto_text == "tcp" ? fairway::kProtoTcp
                     : proto_text == "udp" ? fairway::kProtoUdp
                                           : 0;
  auto src = parse_endpoint(src_text);
  auto dst = parse_endpoint(dst_text);
  if (protocol == 0 || !src || !dst) {
    std::fprintf(stderr, "fairway-sim: cannot read flow '%s %s %s' (want: tcp|udp SRC:PORT DST:PORT)\n",
                 proto_text.c_str(), src_text.c_str(), dst_text.c_str());
    return false;
  }
  std::string flow = proto_text + " " + show(src->address, *src->port) + " -> " +
                     show(dst->address, *dst->port) + ": ";
  const fairway::Service* service = snap.find_service(dst->address, *dst->port, protocol);
  if (service == nullptr) {
    if (!snap.is_vip(dst->address)) {
      std::printf("%snot a VIP: routed as transit traffic\n", flow.c_str());
    } else if (protocol == fairway::kProtoTcp) {
      std::printf("%sno service on this port: TCP reset\n", flow.c_str());
    } else {
      std::printf("%sno service on this port: dropped%s\n", flow.c_str(),
                  snap.udp_port_unreachable ? " with ICMP port unreachable" : "");
    }
    return true;
  }
  fairway::FlowKey key{src->address, dst->address, *src->port, *dst->port, protocol};
  const fairway::Backend* backend = fairway::schedule(*service, fairway::flow_hash(key), src->address);
  const char* mode = service->mode == fairway::ForwardingMode::nat ? "nat" : "dsr";
  if (backend == nullptr) {
    std::printf("%sservice %s (%s): no back-end with weight, dropped\n", flow.c_str(),
                service->name.c_str(), mode);
  } else {
    std::printf("%sservice %s (%s) -> back-end %s\n", flow.c_str(), service->name.c_str(), mode,
                show(backend->address, backend->port).c_str());
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fairway-sim - which back-end gets this flow"};
  std::string config_path;
  std::vector<std::string> flow;
  app.add_option("-c,--config", config_path, "configuration file (YAML)")->required();
  app.add_option("flow", flow, "PROTO SRC:PORT DST:PORT (else read such lines from stdin)");
  CLI11_PARSE(app, argc, argv);

  fairway::ConfigResult loaded = fairway::load_config_file(config_path);
  if (loaded.error) {
    std::fprintf(stderr, "fairway-sim: %s\n", loaded.error->message.c_str());
    return 1;
  }
  std::vector<fairway::RuntimePort> ports;
  for (const fairway::PortConfig& p : loaded.config->ports) {
    ports.push_back({p.name, p.mac.value_or(fairway::MacAddress{}), false, 0});
  }
  auto snap = fairway::build_snapshot(*loaded.config, ports, {}, 1);
  if (!flow.empty()) {
    if (flow.size() != 3) {
      std::fprintf(stderr, "fairway-sim: a flow is PROTO SRC:PORT DST:PORT\n");
      return 2;
    }
    return simulate(*snap, flow[0], flow[1], flow[2]) ? 0 : 2;
  }
  bool all_read = true;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream words(line);
    std::string proto, src, dst;
    if (!(words >> proto)) continue;
    words >> src >> dst;
    all_read = simulate(*snap, proto, src, dst) && all_read;
  }
  return all_read ? 0 : 2;
}
