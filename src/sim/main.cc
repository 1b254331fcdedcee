// fairway-sim: what the data plane does with a frame, for a configuration, without a NIC or EAL.
// It runs the workers' own process_burst over a snapshot built by the same builder from the same
// file, in a make-believe kernel where every neighbor resolves; Maglev being consistent, its
// answer for a new flow is every node's answer.
//
//   fairway-sim -c fairway.yaml tcp 198.18.0.2:40000 198.18.100.1:80
//   printf 'udp [2001:2::2]:5000 [2001:2:0:100::1]:53\ntcp 198.18.0.2:1 198.18.100.1:80 A\n' |
//       fairway-sim -c fairway.yaml
//   fairway-sim -c fairway.yaml --pcap capture.pcap --port client
#include <pcap/pcap.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "build_info.h"
#include "control/config.h"
#include "sim/simulator.h"

namespace {

// The capture's Ethernet frames, or nullopt with `error` set.
std::optional<std::vector<std::vector<uint8_t>>> read_pcap(const std::string& path,
                                                           std::string& error) {
  char message[PCAP_ERRBUF_SIZE] = {};
  pcap_t* capture = pcap_open_offline(path.c_str(), message);
  if (capture == nullptr) {
    error = message;
    return std::nullopt;
  }
  if (pcap_datalink(capture) != DLT_EN10MB) {
    pcap_close(capture);
    error = path + ": not an Ethernet capture";
    return std::nullopt;
  }
  std::vector<std::vector<uint8_t>> frames;
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  while (pcap_next_ex(capture, &header, &data) == 1) {
    frames.emplace_back(data, data + header->caplen);
  }
  pcap_close(capture);
  return frames;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fairway-sim - what the data plane does with these flows or frames"};
  std::string config_path;
  std::string pcap_path;
  std::string port_name;
  std::vector<std::string> flow;
  app.add_option("-c,--config", config_path, "configuration file (YAML)")->required();
  app.add_option("--pcap", pcap_path, "Ethernet frames to decide, from a capture file");
  app.add_option("--port", port_name, "the data port the frames arrive on (default: the first)");
  app.add_option("flow", flow,
                 "PROTO SRC:PORT DST:PORT [TCP FLAGS, letters of SAFRP; default S] (else read "
                 "such lines from stdin)");
  app.set_version_flag("--version", FAIRWAY_VERSION_LINE("fairway-sim"));
  CLI11_PARSE(app, argc, argv);

  fairway::ConfigResult loaded = fairway::load_config_file(config_path);
  if (!loaded) {
    std::fprintf(stderr, "fairway-sim: %s\n", loaded.error().message.c_str());
    return 1;
  }
  std::vector<fairway::sim::FlowLine> flows;
  std::vector<fairway::sim::Arrival> frames;
  std::string error;
  auto add_flow = [&](const std::string& line) {
    auto parsed = fairway::sim::parse_flow_line(line, error);
    if (!parsed) {
      std::fprintf(stderr, "fairway-sim: %s\n", error.c_str());
      return false;
    }
    flows.push_back(*parsed);
    return true;
  };
  if (!pcap_path.empty()) {
    auto captured = read_pcap(pcap_path, error);
    if (!captured) {
      std::fprintf(stderr, "fairway-sim: %s\n", error.c_str());
      return 2;
    }
    for (auto& f : *captured) frames.push_back({std::move(f), 0});
  } else if (!flow.empty()) {
    std::string line;
    for (const std::string& word : flow) line += word + " ";
    if (!add_flow(line)) return 2;
  } else {
    std::string line;
    while (std::getline(std::cin, line)) {
      if (line.find_first_not_of(" \t") == std::string::npos || line[0] == '#') continue;
      if (!add_flow(line)) return 2;
    }
  }
  const uint64_t wall_seconds =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
  fairway::sim::Simulator simulator(*loaded, flows, frames, wall_seconds);
  uint16_t port = 0;
  if (!port_name.empty()) {
    port = simulator.port_index(port_name);
    if (port == fairway::kNoPort) {
      std::fprintf(stderr, "fairway-sim: --port %s: no such port in %s\n", port_name.c_str(),
                   config_path.c_str());
      return 2;
    }
  }
  for (auto& f : frames) f.port = port;
  for (const auto& f : flows) frames.push_back(simulator.frame_of(f, port));
  for (const std::string& line : simulator.run(frames)) std::printf("%s\n", line.c_str());
  return 0;
}
