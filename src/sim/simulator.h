#pragma once
// fairway-sim's engine: the real pipeline (process_burst) over a snapshot built from a
// configuration file, with a make-believe kernel in which every neighbor resolves, so that the
// answer for a frame is the data plane's answer. Katran's simulator answers "which server gets
// this 5-tuple" the same way: by running the code that decides.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control/config.h"
#include "lb/flow_table.h"
#include "pipeline/pipeline.h"

namespace fairway::sim {

// A frame arriving on a data port.
struct Arrival {
  std::vector<uint8_t> frame;
  uint16_t port = 0;
};

// "tcp SRC:PORT DST:PORT [FLAGS]" or "udp SRC:PORT DST:PORT": the frame a client would send
// (FLAGS: letters of S, A, F, R, P; default S), from a made-up client MAC to `port`'s MAC.
// nullopt with `error` set when the line cannot be read.
struct FlowLine {
  uint8_t protocol = 0;
  EndpointText src;
  EndpointText dst;
  uint8_t tcp_flags = 0;
};
std::optional<FlowLine> parse_flow_line(const std::string& line, std::string& error);

class Simulator {
 public:
  // `arrivals` name every address the run will see, so that the made-up kernel resolves them.
  Simulator(const Config& config, const std::vector<FlowLine>& flows,
            const std::vector<Arrival>& frames, uint64_t wall_seconds);

  uint16_t port_index(const std::string& name) const;  // kNoPort when there is none
  Arrival frame_of(const FlowLine& flow, uint16_t port) const;

  // Decides the arrivals with process_burst (consecutive arrivals on one port form a burst of up
  // to kMaxBurst), and returns one line per arrival saying what happened.
  std::vector<std::string> run(const std::vector<Arrival>& arrivals);

 private:
  std::string describe(const Arrival& in, const Decision& d, std::span<const uint8_t> out) const;

  Config config_;
  std::vector<MacAddress> port_macs_;
  std::unique_ptr<Snapshot> snapshot_;
  FlowTable flows_;
  WorkerCounters counters_;
  PipelineContext ctx_;
};

}  // namespace fairway::sim
