#include "control/flow_sync_codec.h"

#include <gtest/gtest.h>

namespace fairway {
namespace {

const std::string kKey = "0123456789abcdef0123456789abcdef";

FlowSyncRecord record(uint16_t port, bool v6 = false) {
  FlowSyncRecord r;
  r.key.src = *IpAddress::parse(v6 ? "2001:2::2" : "198.18.0.2");
  r.key.dst = *IpAddress::parse(v6 ? "2001:2:0:100::1" : "198.18.100.1");
  r.key.src_port = port;
  r.key.dst_port = 80;
  r.key.protocol = 6;
  r.backend = *IpAddress::parse(v6 ? "2001:2:0:1::12" : "198.18.1.12");
  r.backend_port = 8080;
  r.established = true;
  return r;
}

SyncHeader header(uint64_t sequence, uint32_t node = 7, uint64_t when = 1'000'000) {
  return SyncHeader{SyncMessageType::flows, node, sequence, when};
}

TEST(FlowSyncCodec, RecordsRoundTrip) {
  std::vector<FlowSyncRecord> records{record(40000), record(40001, true)};
  records[1].established = false;
  records[1].key.protocol = 17;
  auto datagram = encode_sync_message(header(5), records, kKey);
  EXPECT_EQ(datagram.size(), kSyncHeaderSize + 2 * kSyncRecordSize + kSyncMacSize);
  SyncMessage out;
  ASSERT_EQ(decode_sync_message(datagram, kKey, out), SyncRefusal::none);
  EXPECT_EQ(out.header.node_id, 7u);
  EXPECT_EQ(out.header.sequence, 5u);
  EXPECT_EQ(out.header.timestamp_ms, 1'000'000u);
  EXPECT_EQ(out.records, records);
}

TEST(FlowSyncCodec, ADatagramCarriesAtMostTheMaximum) {
  std::vector<FlowSyncRecord> records(40, record(1));
  auto datagram = encode_sync_message(header(1), records, kKey);
  EXPECT_LE(datagram.size(), 1400u);
  SyncMessage out;
  ASSERT_EQ(decode_sync_message(datagram, kKey, out), SyncRefusal::none);
  EXPECT_EQ(out.records.size(), kSyncMaxRecords);
}

TEST(FlowSyncCodec, AnyChangedByteOrAnotherKeyIsRefused) {
  auto datagram = encode_sync_message(header(1), std::vector{record(1)}, kKey);
  SyncMessage out;
  EXPECT_EQ(decode_sync_message(datagram, "another key of 32 bytes or so...", out),
            SyncRefusal::bad_mac);
  for (size_t i = 8; i < datagram.size(); i += 7) {  // past the magic and count
    auto forged = datagram;
    forged[i] ^= 0x01;
    EXPECT_EQ(decode_sync_message(forged, kKey, out), SyncRefusal::bad_mac) << "byte " << i;
  }
}

TEST(FlowSyncCodec, MalformedDatagramsAreRefused) {
  auto datagram = encode_sync_message(header(1), std::vector{record(1)}, kKey);
  SyncMessage out;
  EXPECT_EQ(decode_sync_message({}, kKey, out), SyncRefusal::malformed);
  EXPECT_EQ(decode_sync_message(std::span(datagram).first(40), kKey, out), SyncRefusal::malformed);
  auto bad_magic = datagram;
  bad_magic[0] = 'X';
  EXPECT_EQ(decode_sync_message(bad_magic, kKey, out), SyncRefusal::malformed);
  auto bad_count = datagram;
  bad_count[7] = 2;  // says two records, carries one
  EXPECT_EQ(decode_sync_message(bad_count, kKey, out), SyncRefusal::malformed);
}

TEST(ReplayWindow, AcceptsEachSequenceOnceWithinTheWindow) {
  ReplayWindow w;
  EXPECT_TRUE(w.accept(100));
  EXPECT_FALSE(w.accept(100));
  EXPECT_TRUE(w.accept(102));
  EXPECT_TRUE(w.accept(101));  // late, but inside the window
  EXPECT_FALSE(w.accept(101));
  EXPECT_TRUE(w.accept(200));
  EXPECT_FALSE(w.accept(136));  // 64 or more behind the highest
  EXPECT_TRUE(w.accept(137));
}

TEST(SyncReceiver, RefusesOwnStaleAndReplayedMessages) {
  SyncReceiver receiver(kKey, 42);
  SyncMessage out;
  const uint64_t now = 5'000'000;
  auto from = [&](uint32_t node, uint64_t sequence, uint64_t when) {
    return encode_sync_message(header(sequence, node, when), std::vector{record(1)}, kKey);
  };
  EXPECT_EQ(receiver.receive(from(7, 1, now), now, out), SyncRefusal::none);
  EXPECT_EQ(receiver.receive(from(7, 1, now), now, out), SyncRefusal::replayed);
  EXPECT_EQ(receiver.receive(from(8, 1, now), now, out), SyncRefusal::none);  // its own window
  EXPECT_EQ(receiver.receive(from(42, 9, now), now, out), SyncRefusal::own);
  EXPECT_EQ(receiver.receive(from(7, 2, now - kSyncMaxSkewMs - 1), now, out), SyncRefusal::stale);
  EXPECT_EQ(receiver.receive(from(7, 3, now + kSyncMaxSkewMs + 1), now, out), SyncRefusal::stale);
  EXPECT_EQ(receiver.receive(from(7, 4, now + 1000), now, out), SyncRefusal::none);
}

}  // namespace
}  // namespace fairway
