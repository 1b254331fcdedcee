// libFuzzer target: process_frame over one fixed snapshot (dsr and nat services, IPv4 and IPv6,
// static neighbors and routes, one port with an exception path and one without) and a flow table
// that lives across inputs, as a worker's does.
//
// Input: byte 0 = control (bits 0-1: in_port, 3 means an out-of-range port; bits 2-7: how far the
// clock moves before this frame), bytes 1.. = the frame, copied into a 2048-byte room (an mbuf).
//
// Invariants: a sane Decision (length within the room, a valid port for forward/to_kernel,
// to_kernel only on a port with an exception path), a forwarded frame parses again without a
// drop reason and leaves through a port with that port's source MAC, its L4 checksum is valid
// when the input's was, and a frame handed to the kernel is unchanged unless it was
// reverse-NATed first.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "control/config.h"
#include "control/snapshot_builder.h"
#include "fuzz_check.h"
#include "fuzz_snapshot.h"
#include "lb/flow_table.h"
#include "packet/parse.h"
#include "pipeline/counters.h"
#include "pipeline/pipeline.h"

using namespace fairway;

namespace {

constexpr size_t kRoom = 2048;

// Keep in sync with tests/fuzz/make_corpus.py (addresses and MACs of the seed frames).

struct World {
  std::unique_ptr<Snapshot> snapshot;
  std::unique_ptr<FlowTable> flows;
  WorkerCounters counters;
  BackendCounters backend_counters;
  ServiceCounters service_counters;
  uint64_t now_ms = 1'000'000;
};

World& world() {
  static World* w = [] {
    auto* w = new World;
    w->snapshot = fuzz_snapshot();
    w->flows = std::make_unique<FlowTable>(fuzz_flow_capacity());
    return w;
  }();
  return *w;
}

uint32_t sum16(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += uint32_t{p[i]} << 8 | p[i + 1];
  if (n % 2) sum += uint32_t{p[n - 1]} << 8;
  return sum;
}

enum class L4Sum { not_checked, none, valid, invalid };

// The L4 checksum of a parsed, whole (unfragmented) datagram, by a naive reference sum.
L4Sum l4_checksum(std::span<const uint8_t> frame, const ParsedPacket& p) {
  if (p.l3 != L3Kind::ipv4 && p.l3 != L3Kind::ipv6) return L4Sum::not_checked;
  if (p.is_fragment) return L4Sum::not_checked;
  const uint8_t* l4 = frame.data() + p.l4_offset;
  const size_t n = size_t{p.ip_end} - p.l4_offset;
  const bool v4 = p.l3 == L3Kind::ipv4;
  size_t checksum_at;
  bool pseudo = true;
  switch (p.l4_protocol) {
    case kProtoTcp:
      checksum_at = 16;
      break;
    case kProtoUdp:
      checksum_at = 6;
      break;
    case kProtoIcmp:
      if (!v4) return L4Sum::not_checked;
      checksum_at = 2;
      pseudo = false;
      break;
    case kProtoIcmpv6:
      if (v4) return L4Sum::not_checked;
      checksum_at = 2;
      break;
    default:
      return L4Sum::not_checked;
  }
  if (n < checksum_at + 2) return L4Sum::not_checked;
  const uint16_t field = static_cast<uint16_t>(l4[checksum_at] << 8 | l4[checksum_at + 1]);
  if (p.l4_protocol == kProtoUdp && field == 0) return v4 ? L4Sum::none : L4Sum::invalid;
  uint32_t sum = 0;
  if (pseudo) {
    const uint8_t* h = frame.data() + p.l3_offset;
    if (v4) {
      sum = sum16(h + 12, 8);
    } else {
      sum = sum16(h + 8, 32);
    }
    sum += p.l4_protocol;
    sum += static_cast<uint32_t>(n & 0xffff) + static_cast<uint32_t>(n >> 16);
  }
  sum = sum16(l4, n, sum);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum == 0xffff ? L4Sum::valid : L4Sum::invalid;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  World& w = world();
  const Snapshot& snap = *w.snapshot;

  const uint8_t control = data[0];
  const uint16_t in_port = (control & 3) == 3 ? static_cast<uint16_t>(snap.ports.size())
                                              : static_cast<uint16_t>(control & 1);
  const uint64_t step = control >> 2;
  w.now_ms += step * step * 500;  // 0 .. ~33 min: every flow timeout gets crossed
  w.flows->expire_some(w.now_ms, 8);

  const size_t length = size - 1 < kRoom ? size - 1 : kRoom;
  std::vector<uint8_t> room(kRoom, 0xee);
  std::memcpy(room.data(), data + 1, length);
  const std::vector<uint8_t> original(room.begin(), room.begin() + static_cast<long>(length));

  ParsedPacket in;
  const bool in_parsed = parse_frame(std::span<const uint8_t>(original), in) == DropReason::none;
  const L4Sum in_sum = in_parsed ? l4_checksum(original, in) : L4Sum::not_checked;

  const uint64_t reversed_before = w.counters.nat_reversed;
  PipelineContext ctx{*w.flows, w.counters, w.now_ms};
  ctx.backend_counters = &w.backend_counters;
  ctx.service_counters = &w.service_counters;
  Decision d =
      process_frame(snap, ctx, in_port, std::span<uint8_t>(room), static_cast<uint16_t>(length));

  FUZZ_CHECK(d.length <= kRoom);
  switch (d.verdict) {
    case Verdict::drop:
      FUZZ_CHECK(d.reason != DropReason::none);
      FUZZ_CHECK(static_cast<size_t>(d.reason) < kDropReasonCount);
      break;
    case Verdict::to_kernel: {
      FUZZ_CHECK(d.reason == DropReason::none);
      FUZZ_CHECK(d.port < snap.ports.size());
      FUZZ_CHECK(d.port == in_port);
      FUZZ_CHECK(snap.ports[d.port].exception_path);
      FUZZ_CHECK(d.length == length);
      if (w.counters.nat_reversed == reversed_before) {
        FUZZ_CHECK(std::memcmp(room.data(), original.data(), length) == 0);
      }
      break;
    }
    case Verdict::forward: {
      FUZZ_CHECK(d.reason == DropReason::none);
      FUZZ_CHECK(d.port < snap.ports.size());
      FUZZ_CHECK(in_parsed);
      // The frame leaves from its room, exactly d.length bytes of it.
      std::vector<uint8_t> out(room.begin(), room.begin() + d.length);
      ParsedPacket p;
      DropReason reparsed = parse_frame(out, p);
      if (reparsed != DropReason::none) {
        std::fprintf(stderr, "forwarded frame does not parse: %s\n",
                     std::string(drop_reason_name(reparsed)).c_str());
      }
      FUZZ_CHECK(reparsed == DropReason::none);
      FUZZ_CHECK(p.l3 == L3Kind::ipv4 || p.l3 == L3Kind::ipv6);
      FUZZ_CHECK(std::memcmp(out.data() + 6, snap.ports[d.port].mac.bytes.data(), 6) == 0);
      // Rewrites are incremental: a valid L4 checksum stays valid (UDP's 0 = "none" only
      // when it was none before), and generated replies are valid anyway.
      if (in_sum == L4Sum::valid) {
        L4Sum out_sum = l4_checksum(out, p);
        FUZZ_CHECK(out_sum == L4Sum::valid || out_sum == L4Sum::not_checked);
      }
      break;
    }
    case Verdict::reassemble:
      // A fragment for the worker's reassembly table, handed over exactly as it came.
      FUZZ_CHECK(d.reason == DropReason::none);
      FUZZ_CHECK(snap.reassemble_fragments);
      FUZZ_CHECK(in_parsed && in.is_fragment);
      FUZZ_CHECK(d.length == length);
      FUZZ_CHECK(std::memcmp(room.data(), original.data(), length) == 0);
      break;
    default:
      FUZZ_CHECK(!"unknown verdict");
  }
  return 0;
}
