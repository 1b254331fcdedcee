#include "dataplane/exception_path.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <chrono>

#include "util/token_bucket.h"

namespace fairway {
namespace {

constexpr uint32_t kDrainBurst = 32;
constexpr int kRoundBursts = 8;
// When every ring is empty the drainer sleeps this long: the kernel's traffic is light and may
// wait a fraction of a millisecond; a busy-polling drainer would take the control core.
constexpr auto kIdleSleep = std::chrono::microseconds(200);
// The drainer keeps tokens for at most this long a burst of `other` traffic.
constexpr uint64_t kTokenHorizonNs = 10'000'000;

uint64_t now_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

bool ExceptionPath::create(const std::vector<PortRuntime>& ports, uint32_t workers,
                           const ExceptionPathConfig& settings, std::string& error) {
  settings_ = settings;
  ports_ = ports;
  workers_ = workers;
  queues_.assign(size_t{workers} * ports.size(), KernelQueues{});
  for (uint32_t w = 0; w < workers; ++w) {
    for (size_t p = 0; p < ports.size(); ++p) {
      if (!ports[p].exception_path) continue;
      for (size_t c = 0; c < kKernelPriorities; ++c) {
        const std::string name =
            "fw_k" + std::to_string(w) + "_" + std::to_string(p) + "_" + std::to_string(c);
        // RING_F_EXACT_SZ: exactly queue_size frames fit, as configured.
        rte_ring* ring = rte_ring_create(name.c_str(), settings.queue_size, SOCKET_ID_ANY,
                                         RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
        if (ring == nullptr) {
          error = "exception path: cannot create ring " + name;
          free_rings();
          return false;
        }
        queues_[w * ports.size() + p][c] = ring;
      }
    }
  }
  return true;
}

void ExceptionPath::start() {
  stop_.store(false);
  drainer_ = std::thread([this] { run(); });
}

void ExceptionPath::stop() {
  if (drainer_.joinable()) {
    stop_.store(true);
    drainer_.join();
  }
  // Frames still queued go back to the pool.
  for (size_t p = 0; p < ports_.size(); ++p) {
    for (size_t c = 0; c < kKernelPriorities; ++c) {
      for (uint32_t w = 0; w < workers_; ++w) {
        rte_ring* ring = queues_[w * ports_.size() + p][c];
        void* m = nullptr;
        while (ring != nullptr && rte_ring_sc_dequeue(ring, &m) == 0) {
          rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
        }
      }
    }
  }
  free_rings();
}

void ExceptionPath::free_rings() {
  for (KernelQueues& q : queues_) {
    for (rte_ring*& ring : q) {
      rte_ring_free(ring);
      ring = nullptr;
    }
  }
}

std::array<uint32_t, kKernelPriorities> ExceptionPath::waiting() const {
  std::array<uint32_t, kKernelPriorities> out{};
  for (const KernelQueues& q : queues_) {
    for (size_t c = 0; c < kKernelPriorities; ++c) {
      if (q[c] != nullptr) out[c] += rte_ring_count(q[c]);
    }
  }
  return out;
}

uint32_t ExceptionPath::drain(size_t port, KernelPriority p, uint32_t budget) {
  const size_t c = static_cast<size_t>(p);
  uint32_t taken = 0;
  for (uint32_t w = 0; w < workers_ && taken < budget; ++w) {
    rte_ring* ring = queues_[w * ports_.size() + port][c];
    rte_mbuf* frames[kDrainBurst];
    const uint32_t want = std::min(kDrainBurst, budget - taken);
    const uint32_t n =
        rte_ring_sc_dequeue_burst(ring, reinterpret_cast<void**>(frames), want, nullptr);
    if (n == 0) continue;
    taken += n;
    // TX queue 0 of the TAP is the drainer's alone: workers only read from TAPs.
    const uint16_t written =
        rte_eth_tx_burst(ports_[port].tap_port_id, 0, frames, static_cast<uint16_t>(n));
    sent_[c].fetch_add(written, std::memory_order_relaxed);
    if (written < n) {
      tap_refused_.fetch_add(n - written, std::memory_order_relaxed);
      rte_pktmbuf_free_bulk(frames + written, n - written);
    }
  }
  return taken;
}

void ExceptionPath::run() {
  // The rate-limited classes of every port: icmp and other.
  // At most kTokenHorizonNs' worth of tokens (and a burst) saved up.
  auto bucket = [](uint64_t rate) {
    return TokenBucket(
        rate, std::max<uint64_t>(kDrainBurst, rate * kTokenHorizonNs / 1'000'000'000), now_ns());
  };
  std::vector<TokenBucket> icmp(ports_.size(), bucket(settings_.icmp_pps));
  std::vector<TokenBucket> other(ports_.size(), bucket(settings_.other_pps));
  while (!stop_.load(std::memory_order_relaxed)) {
    const uint64_t now = now_ns();
    uint32_t moved = 0;
    for (size_t port = 0; port < ports_.size(); ++port) {
      if (!ports_[port].exception_path) continue;
      // Strict priority: the higher classes are emptied before the next class is looked at
      // (within kRoundBursts bursts each, so that a flood of one class cannot hold the loop).
      for (KernelPriority unlimited : {KernelPriority::neighbor, KernelPriority::control}) {
        uint32_t n = 0;
        for (int i = 0; i < kRoundBursts && (n = drain(port, unlimited, kDrainBurst)) != 0; ++i) {
          moved += n;
        }
      }
      for (auto [priority, bucket] : {std::pair{KernelPriority::icmp, &icmp[port]},
                                      std::pair{KernelPriority::other, &other[port]}}) {
        bucket->refill(now);
        const uint32_t budget =
            static_cast<uint32_t>(std::min<uint64_t>(bucket->tokens(), kDrainBurst));
        const uint32_t n = budget == 0 ? 0 : drain(port, priority, budget);
        bucket->take(n);
        moved += n;
      }
    }
    if (moved == 0) std::this_thread::sleep_for(kIdleSleep);
  }
}

}  // namespace fairway
