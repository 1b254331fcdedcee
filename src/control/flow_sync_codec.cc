#include "control/flow_sync_codec.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>

namespace fairway {
namespace {

constexpr uint8_t kMagic[4] = {'F', 'W', 'S', '1'};

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
void put64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
}
uint16_t get16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
uint32_t get32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = v << 8 | p[i];
  return v;
}
uint64_t get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}

void mac_of(const std::string& key, const uint8_t* data, size_t length, uint8_t* out) {
  unsigned int out_length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data, length, out, &out_length);
}

void put_record(uint8_t* p, const FlowSyncRecord& r) {
  std::memcpy(p, r.key.src.bytes.data(), 16);
  std::memcpy(p + 16, r.key.dst.bytes.data(), 16);
  put16(p + 32, r.key.src_port);
  put16(p + 34, r.key.dst_port);
  p[36] = r.key.protocol;
  p[37] = r.established ? 1 : 0;
  std::memcpy(p + 38, r.backend.bytes.data(), 16);
  put16(p + 54, r.backend_port);
  std::memset(p + 56, 0, kSyncRecordSize - 56);
}

FlowSyncRecord get_record(const uint8_t* p) {
  FlowSyncRecord r;
  std::memcpy(r.key.src.bytes.data(), p, 16);
  std::memcpy(r.key.dst.bytes.data(), p + 16, 16);
  r.key.src_port = get16(p + 32);
  r.key.dst_port = get16(p + 34);
  r.key.protocol = p[36];
  r.established = p[37] != 0;
  std::memcpy(r.backend.bytes.data(), p + 38, 16);
  r.backend_port = get16(p + 54);
  return r;
}

}  // namespace

const char* sync_refusal_name(SyncRefusal reason) {
  switch (reason) {
    case SyncRefusal::none:
      return "none";
    case SyncRefusal::malformed:
      return "malformed";
    case SyncRefusal::bad_mac:
      return "bad_mac";
    case SyncRefusal::own:
      return "own";
    case SyncRefusal::stale:
      return "stale";
    case SyncRefusal::replayed:
      return "replayed";
    case SyncRefusal::count_:
      break;
  }
  return "?";
}

std::vector<uint8_t> encode_sync_message(const SyncHeader& header,
                                         std::span<const FlowSyncRecord> records,
                                         const std::string& key) {
  const size_t count = std::min(records.size(), kSyncMaxRecords);
  std::vector<uint8_t> out(kSyncHeaderSize + count * kSyncRecordSize + kSyncMacSize, 0);
  uint8_t* p = out.data();
  std::memcpy(p, kMagic, 4);
  p[4] = static_cast<uint8_t>(header.type);
  put16(p + 6, static_cast<uint16_t>(count));
  put32(p + 8, header.node_id);
  put64(p + 12, header.sequence);
  put64(p + 20, header.timestamp_ms);
  for (size_t i = 0; i < count; ++i) {
    put_record(p + kSyncHeaderSize + i * kSyncRecordSize, records[i]);
  }
  const size_t signed_length = out.size() - kSyncMacSize;
  mac_of(key, p, signed_length, p + signed_length);
  return out;
}

SyncRefusal decode_sync_message(std::span<const uint8_t> datagram, const std::string& key,
                                SyncMessage& out) {
  if (datagram.size() < kSyncHeaderSize + kSyncMacSize) return SyncRefusal::malformed;
  const uint8_t* p = datagram.data();
  if (std::memcmp(p, kMagic, 4) != 0) return SyncRefusal::malformed;
  const size_t count = get16(p + 6);
  if (count > kSyncMaxRecords ||
      datagram.size() != kSyncHeaderSize + count * kSyncRecordSize + kSyncMacSize) {
    return SyncRefusal::malformed;
  }
  const size_t signed_length = datagram.size() - kSyncMacSize;
  uint8_t mac[kSyncMacSize];
  mac_of(key, p, signed_length, mac);
  if (CRYPTO_memcmp(mac, p + signed_length, kSyncMacSize) != 0) return SyncRefusal::bad_mac;
  const uint8_t type = p[4];
  if (type != static_cast<uint8_t>(SyncMessageType::flows) &&
      type != static_cast<uint8_t>(SyncMessageType::table_request)) {
    return SyncRefusal::malformed;
  }
  out.header =
      SyncHeader{static_cast<SyncMessageType>(type), get32(p + 8), get64(p + 12), get64(p + 20)};
  out.records.clear();
  for (size_t i = 0; i < count; ++i) {
    out.records.push_back(get_record(p + kSyncHeaderSize + i * kSyncRecordSize));
  }
  return SyncRefusal::none;
}

bool ReplayWindow::accept(uint64_t sequence) {
  if (!started_ || sequence > highest_) {
    const uint64_t shift = started_ ? sequence - highest_ : 64;
    seen_ = shift >= 64 ? 1 : (seen_ << shift) | 1;
    highest_ = sequence;
    started_ = true;
    return true;
  }
  const uint64_t age = highest_ - sequence;
  if (age >= 64) return false;
  const uint64_t bit = uint64_t{1} << age;
  if (seen_ & bit) return false;
  seen_ |= bit;
  return true;
}

SyncRefusal SyncReceiver::receive(std::span<const uint8_t> datagram, uint64_t now_wall_ms,
                                  SyncMessage& out) {
  SyncRefusal refused = decode_sync_message(datagram, key_, out);
  if (refused != SyncRefusal::none) return refused;
  if (out.header.node_id == own_) return SyncRefusal::own;
  const uint64_t t = out.header.timestamp_ms;
  if (t + kSyncMaxSkewMs < now_wall_ms || t > now_wall_ms + kSyncMaxSkewMs) {
    return SyncRefusal::stale;
  }
  if (!windows_[out.header.node_id].accept(out.header.sequence)) return SyncRefusal::replayed;
  return SyncRefusal::none;
}

}  // namespace fairway
