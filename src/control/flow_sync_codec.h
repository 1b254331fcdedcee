#pragma once
// The flow_sync wire format between Fairway nodes (UDP), and its replay protection.
//
//   header  32 bytes: "FWS1", type (1 flows, 2 table request), 0, record count (16 bits),
//                     node id (32), sequence (64), sender's wall clock in ms (64), 0 (32)
//   records 72 bytes each: client address (16), VIP (16), client port, VIP port, protocol,
//                     established (1), back-end address (16), back-end port, 0 (16)
//   mac     32 bytes: HMAC-SHA256 with the cluster's key over header and records
// Integers in network byte order, addresses as 16 bytes (IPv4 mapped). A datagram carries at
// most kSyncMaxRecords records (1 360 bytes: no fragmentation on a 1 500-byte path).
//
// A message is accepted when its MAC is right, its node id is not ours, its clock is within
// kSyncMaxSkewMs of ours, and its sequence is new for that node (a 64-message window, as IPsec
// does). Senders start their sequence at their wall clock in microseconds, so a restarted node's
// messages are newer than its old ones.
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "lb/flow_sync_record.h"

namespace fairway {

inline constexpr size_t kSyncHeaderSize = 32;
inline constexpr size_t kSyncRecordSize = 72;
inline constexpr size_t kSyncMacSize = 32;
inline constexpr size_t kSyncMaxRecords = 18;
inline constexpr uint64_t kSyncMaxSkewMs = 30'000;

enum class SyncMessageType : uint8_t { flows = 1, table_request = 2 };

struct SyncHeader {
  SyncMessageType type = SyncMessageType::flows;
  uint32_t node_id = 0;
  uint64_t sequence = 0;
  uint64_t timestamp_ms = 0;
};

std::vector<uint8_t> encode_sync_message(const SyncHeader& header,
                                         std::span<const FlowSyncRecord> records,
                                         const std::string& key);

// Why a datagram was refused (counted by reason).
enum class SyncRefusal : uint8_t { none, malformed, bad_mac, own, stale, replayed, count_ };
const char* sync_refusal_name(SyncRefusal reason);

struct SyncMessage {
  SyncHeader header;
  std::vector<FlowSyncRecord> records;
};

// Checks size, magic and MAC and decodes. The clock and replay checks are SyncReceiver's.
SyncRefusal decode_sync_message(std::span<const uint8_t> datagram, const std::string& key,
                                SyncMessage& out);

// What the receiving node remembers per peer node: the highest sequence and which of the 64
// before it were seen.
class ReplayWindow {
 public:
  // True (and remembered) when `sequence` was not seen and is not older than the window.
  bool accept(uint64_t sequence);

 private:
  uint64_t highest_ = 0;
  uint64_t seen_ = 0;  // bit i: highest_ - i was seen
  bool started_ = false;
};

// decode_sync_message() plus the node, clock and replay checks.
class SyncReceiver {
 public:
  SyncReceiver(std::string key, uint32_t own_node_id) : key_(std::move(key)), own_(own_node_id) {}
  SyncRefusal receive(std::span<const uint8_t> datagram, uint64_t now_wall_ms, SyncMessage& out);

 private:
  std::string key_;
  uint32_t own_;
  std::map<uint32_t, ReplayWindow> windows_;  // by peer node id
};

}  // namespace fairway
