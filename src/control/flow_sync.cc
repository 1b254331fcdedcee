#include "control/flow_sync.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace fairway {
namespace {

using SteadyClock = std::chrono::steady_clock;

uint64_t steady_ns() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch())
          .count());
}

uint64_t wall_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

sockaddr_storage socket_address(const IpAddress& address, uint16_t port) {
  sockaddr_storage out{};
  if (address.is_v4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(&out);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    std::memcpy(&in->sin_addr, address.bytes.data() + 12, 4);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&out);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    std::memcpy(&in6->sin6_addr, address.bytes.data(), 16);
  }
  return out;
}

socklen_t length_of(const sockaddr_storage& a) {
  return a.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
}

bool same_endpoint(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET) {
    const auto& x = reinterpret_cast<const sockaddr_in&>(a);
    const auto& y = reinterpret_cast<const sockaddr_in&>(b);
    return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
  }
  const auto& x = reinterpret_cast<const sockaddr_in6&>(a);
  const auto& y = reinterpret_cast<const sockaddr_in6&>(b);
  return x.sin6_port == y.sin6_port && std::memcmp(&x.sin6_addr, &y.sin6_addr, 16) == 0;
}

// A second's worth of records may go at once (a burst of new connections), not more.
TokenBucket make_rate(uint32_t per_second) {
  return TokenBucket(per_second, std::max<uint64_t>(per_second / 10, kSyncMaxRecords), steady_ns());
}

}  // namespace

FlowSync::FlowSync(const FlowSyncConfig& config, FlowSyncWorkers& workers,
                   std::chrono::milliseconds refresh)
    : config_(config),
      workers_(workers),
      refresh_(refresh),
      node_id_(std::random_device{}()),
      sequence_(wall_ms() * 1000),
      receiver_(config.key, node_id_),
      rate_(make_rate(config.max_records_per_second)),
      reserve_(std::max<uint64_t>(config.max_records_per_second / 20, kSyncMaxRecords)) {
  for (const FlowSyncConfig::Peer& peer : config_.peers) {
    peers_.push_back(socket_address(peer.address, peer.port));
  }
  peer_answered_.assign(peers_.size(), false);
  status_.enabled = true;
  status_.node_id = node_id_;
}

FlowSync::~FlowSync() {
  stop();
}

bool FlowSync::start(std::string& error) {
  const sockaddr_storage self = socket_address(config_.listen_address, config_.listen_port);
  socket_ = socket(self.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (socket_ < 0 ||
      bind(socket_, reinterpret_cast<const sockaddr*>(&self), length_of(self)) != 0) {
    error = "flow_sync: cannot listen on " +
            endpoint_text(config_.listen_address, config_.listen_port) + ": " +
            std::strerror(errno) + " (is it one of this node's port addresses?)";
    return false;
  }
  thread_ = std::thread([this] { run(); });
  spdlog::info("flow_sync: node {:08x} on {}, {} peer(s)", node_id_,
               endpoint_text(config_.listen_address, config_.listen_port), peers_.size());
  return true;
}

void FlowSync::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  if (socket_ >= 0) close(socket_);
  socket_ = -1;
}

FlowSyncStatus FlowSync::status() const {
  std::lock_guard lock(status_mutex_);
  FlowSyncStatus out = status_;
  out.journal_losses = workers_.journal_losses();
  return out;
}

void FlowSync::run() {
  auto next_request = SteadyClock::now();
  const auto stop_requesting = next_request + std::chrono::seconds(30);
  auto next_refresh = next_request + refresh_;
  while (!stop_.load()) {
    pollfd p{socket_, POLLIN, 0};
    poll(&p, 1, static_cast<int>(kPeriod.count()));
    const uint64_t now_wall = wall_ms();
    receive(now_wall);
    rate_.refill(steady_ns());
    send_journaled(now_wall);
    send_tables(now_wall);
    // A joining node asks every peer that has not answered yet, every 2 s for 30 s (a peer may
    // not be reachable before the neighbors are resolved).
    const auto now = SteadyClock::now();
    if (now >= next_request && now < stop_requesting) {
      request_tables(now_wall);
      next_request = now + std::chrono::seconds(2);
    }
    if (now >= next_refresh) {
      refresh_peers();
      next_refresh = now + refresh_;
    }
  }
}

void FlowSync::receive(uint64_t now_wall_ms) {
  uint8_t datagram[2048];
  SyncMessage message;
  std::vector<FlowSyncRecord> adopted;
  for (int i = 0; i < 256; ++i) {
    sockaddr_storage source{};
    socklen_t source_length = sizeof(source);
    const ssize_t n = recvfrom(socket_, datagram, sizeof(datagram), 0,
                               reinterpret_cast<sockaddr*>(&source), &source_length);
    if (n < 0) break;
    const SyncRefusal refused = receiver_.receive(
        std::span<const uint8_t>(datagram, static_cast<size_t>(n)), now_wall_ms, message);
    if (refused != SyncRefusal::none) {
      std::lock_guard lock(status_mutex_);
      ++status_.refused[static_cast<size_t>(refused)];
      continue;
    }
    const sockaddr_storage* peer = configured_peer(source);
    const size_t index = peer == nullptr ? 0 : static_cast<size_t>(peer - peers_.data());
    if (message.header.type == SyncMessageType::table_request) {
      // Only a configured peer gets a table: nobody can make us send one elsewhere. An empty
      // table is answered with an empty message, so that the peer stops asking.
      if (peer == nullptr) continue;
      std::vector<FlowSyncRecord> table = workers_.table(kTableLimit);
      if (table.empty()) send_to(*peer, {}, SyncMessageType::flows, now_wall_ms);
      table_dumps_.emplace_back(index, std::move(table));
      std::lock_guard lock(status_mutex_);
      ++status_.table_requests_answered;
      continue;
    }
    if (peer != nullptr) peer_answered_[index] = true;
    std::lock_guard lock(status_mutex_);
    status_.records_received += message.records.size();
    adopted.insert(adopted.end(), message.records.begin(), message.records.end());
  }
  if (adopted.empty()) return;
  const size_t full = workers_.install(adopted);
  std::lock_guard lock(status_mutex_);
  status_.records_not_installed += full;
}

void FlowSync::send_journaled(uint64_t now_wall_ms) {
  std::array<FlowSyncRecord, kSyncMaxRecords> batch;
  while (true) {
    const size_t n = workers_.take_journaled(batch);
    if (n == 0) return;
    const uint64_t needed = n * peers_.size();
    if (rate_.tokens() < needed) {
      std::lock_guard lock(status_mutex_);
      status_.records_over_rate += n;
      continue;  // dropped: the peers fall back on consistent hashing for these flows
    }
    rate_.take(needed);
    for (const sockaddr_storage& peer : peers_) {
      send_to(peer, std::span<const FlowSyncRecord>(batch.data(), n), SyncMessageType::flows,
              now_wall_ms);
    }
  }
}

void FlowSync::send_tables(uint64_t now_wall_ms) {
  while (!table_dumps_.empty()) {
    auto& [peer, records] = table_dumps_.front();
    while (!records.empty()) {
      const size_t n = std::min(records.size(), kSyncMaxRecords);
      // Half of what may be saved up stays for new flows: the rest next period.
      if (rate_.tokens() < n + reserve_) return;
      rate_.take(n);
      const size_t from = records.size() - n;
      send_to(peers_[peer], std::span<const FlowSyncRecord>(records.data() + from, n),
              SyncMessageType::flows, now_wall_ms);
      records.resize(from);
    }
    table_dumps_.pop_front();
  }
}

void FlowSync::refresh_peers() {
  if (!table_dumps_.empty()) return;  // still sending: the next refresh will do
  const std::vector<FlowSyncRecord> carried = workers_.table(kTableLimit);
  for (size_t i = 0; i < peers_.size(); ++i) table_dumps_.emplace_back(i, carried);
  std::lock_guard lock(status_mutex_);
  ++status_.refreshes;
}

void FlowSync::request_tables(uint64_t now_wall_ms) {
  for (size_t i = 0; i < peers_.size(); ++i) {
    if (peer_answered_[i]) continue;
    send_to(peers_[i], {}, SyncMessageType::table_request, now_wall_ms);
    std::lock_guard lock(status_mutex_);
    ++status_.table_requests_sent;
  }
}

void FlowSync::send_to(const sockaddr_storage& peer, std::span<const FlowSyncRecord> records,
                       SyncMessageType type, uint64_t now_wall_ms) {
  const std::vector<uint8_t> datagram = encode_sync_message(
      SyncHeader{type, node_id_, ++sequence_, now_wall_ms}, records, config_.key);
  const ssize_t sent = sendto(socket_, datagram.data(), datagram.size(), 0,
                              reinterpret_cast<const sockaddr*>(&peer), length_of(peer));
  std::lock_guard lock(status_mutex_);
  if (sent < 0) {
    ++status_.send_errors;
    return;
  }
  ++status_.datagrams_sent;
  status_.records_sent += records.size();
}

const sockaddr_storage* FlowSync::configured_peer(const sockaddr_storage& source) const {
  for (const sockaddr_storage& peer : peers_) {
    if (same_endpoint(peer, source)) return &peer;
  }
  return nullptr;
}

}  // namespace fairway
