#pragma once
// Flow state shared between the nodes of a cluster (flow_sync, docs/SCALE-OUT.md), on its own
// thread: every 10 ms it takes the flows the workers journaled (TCP once established, UDP when
// made), sends them in batches to every peer (rate-limited), and hands what peers send to the
// workers, which adopt each flow unless they know its 5-tuple. At start it asks every peer for
// its table; a node asked sends its table, paced by the same rate. Every `refresh` it sends the
// flows it carries again (not the ones it adopted and has not seen: they are their node's). The
// wire format and its protection (HMAC, replay window, clock) are control/flow_sync_codec.h.
#include <netinet/in.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "control/config.h"
#include "control/flow_sync_codec.h"
#include "control/flow_sync_status.h"
#include "util/token_bucket.h"

namespace fairway {

// What flow sync needs of the data plane.
class FlowSyncWorkers {
 public:
  virtual ~FlowSyncWorkers() = default;
  // Flows the workers journaled since the last call, at most out.size().
  virtual size_t take_journaled(std::span<FlowSyncRecord> out) = 0;
  // Gives `records` to every worker to adopt; returns how many records found an inbox full.
  virtual size_t install(std::span<const FlowSyncRecord> records) = 0;
  // The shareable flows of every worker's table (established TCP, UDP), for a joining peer.
  virtual std::vector<FlowSyncRecord> table(size_t limit) = 0;
  // Journal records lost because a worker's journal was full.
  virtual uint64_t journal_losses() const = 0;
};

class FlowSync {
 public:
  static constexpr std::chrono::milliseconds kPeriod{10};
  // At most this many flows of a table go to a peer that joins (the listing is held in memory,
  // ~90 bytes a flow per worker, while it is sent).
  static constexpr size_t kTableLimit = 1 << 16;
  // `refresh`: how often the flows this node carries are sent again, so that the peers' copies
  // of long-lived flows do not expire (half the shortest timeout of a shared state).
  FlowSync(const FlowSyncConfig& config, FlowSyncWorkers& workers,
           std::chrono::milliseconds refresh);
  ~FlowSync();
  FlowSync(const FlowSync&) = delete;
  FlowSync& operator=(const FlowSync&) = delete;

  // Binds the UDP socket (the address must be this node's: its TAP has it) and starts the
  // thread, which first asks the peers for their tables. False, with `error`, when it cannot.
  bool start(std::string& error);
  void stop();
  FlowSyncStatus status() const;

 private:
  void run();
  void receive(uint64_t now_wall_ms);
  void send_journaled(uint64_t now_wall_ms);
  void send_tables(uint64_t now_wall_ms);
  void request_tables(uint64_t now_wall_ms);
  void refresh_peers();
  void send_to(const sockaddr_storage& peer, std::span<const FlowSyncRecord> records,
               SyncMessageType type, uint64_t now_wall_ms);
  const sockaddr_storage* configured_peer(const sockaddr_storage& source) const;

  FlowSyncConfig config_;
  FlowSyncWorkers& workers_;
  std::chrono::milliseconds refresh_;
  uint32_t node_id_ = 0;
  uint64_t sequence_ = 0;
  SyncReceiver receiver_;
  std::vector<sockaddr_storage> peers_;
  int socket_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  // Tables being sent to peers that asked: (peer index, records left).
  std::deque<std::pair<size_t, std::vector<FlowSyncRecord>>> table_dumps_;
  std::vector<bool> peer_answered_;  // by peer: a flows message came from it
  TokenBucket rate_;                 // records a second, over every peer's copy
  uint64_t reserve_;                 // tokens tables and refreshes leave to new flows
  mutable std::mutex status_mutex_;
  FlowSyncStatus status_;
};

}  // namespace fairway
