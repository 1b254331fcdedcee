#pragma once
// What flow sync (control/flow_sync.h) counts, for the API.
#include <array>
#include <cstdint>

#include "control/flow_sync_codec.h"

namespace fairway {

struct FlowSyncStatus {
  bool enabled = false;
  uint32_t node_id = 0;
  uint64_t records_sent = 0;  // per peer: a record sent to two peers counts twice
  uint64_t datagrams_sent = 0;
  uint64_t send_errors = 0;
  uint64_t records_received = 0;       // in accepted datagrams
  uint64_t records_not_installed = 0;  // a worker's inbox was full
  uint64_t records_over_rate = 0;      // journaled, not sent: over max_records_per_second
  uint64_t journal_losses = 0;         // a worker's journal was full
  uint64_t table_requests_sent = 0;
  uint64_t table_requests_answered = 0;
  uint64_t refreshes = 0;  // times the carried flows were sent again
  std::array<uint64_t, static_cast<size_t>(SyncRefusal::count_)> refused{};
};

}  // namespace fairway
