#include "packet/checksum.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "frame_builder.h"

namespace fairway {
namespace {

using test::Bytes;

// A host-order value as the checksum functions see it: the two bytes as stored in the packet.
uint16_t stored(uint16_t host) {
  uint8_t b[2] = {static_cast<uint8_t>(host >> 8), static_cast<uint8_t>(host)};
  uint16_t v;
  std::memcpy(&v, b, 2);
  return v;
}

uint16_t stored_at(const Bytes& b, size_t at) {
  return stored(test::get16(b, at));
}

uint32_t stored32_at(const Bytes& b, size_t at) {
  uint32_t v;
  std::memcpy(&v, b.data() + at, 4);
  return v;
}

// Checksum of `data` with the field at `at` taken as zero, by the reference implementation.
uint16_t reference_with_field(Bytes data, size_t at) {
  test::put16(data, at, 0);
  return test::reference_checksum(data);
}

Bytes random_bytes(std::mt19937& rng, size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

TEST(ChecksumPartial, Rfc1071Example) {
  // RFC 1071 section 3: the sum of these bytes is 0xddf2.
  Bytes data = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(checksum_partial(data), stored(0xddf2));
  EXPECT_EQ(checksum_fold(checksum_partial(data)), stored(0x220d));
}

TEST(ChecksumPartial, OddLengthPadsWithZero) {
  Bytes data = {0x01, 0x02, 0x03};
  EXPECT_EQ(checksum_partial(data), stored(0x0402));
  EXPECT_EQ(checksum_partial(Bytes{}), 0u);
  EXPECT_EQ(checksum_partial(Bytes{0xab}), stored(0xab00));
}

TEST(ChecksumPartial, FoldsCarries) {
  Bytes data(4000, 0xff);
  EXPECT_EQ(checksum_partial(data), stored(0xffff));
  EXPECT_EQ(checksum_fold(checksum_partial(data)), 0);
  EXPECT_EQ(checksum_partial(Bytes{0xff, 0xff, 0x00, 0x02}), stored(0x0002));
}

TEST(ChecksumPartial, ChainsOverEvenSplits) {
  std::mt19937 rng(1);
  for (int i = 0; i < 1000; ++i) {
    Bytes data = random_bytes(rng, rng() % 300);
    size_t split = (rng() % (data.size() + 1)) & ~size_t{1};
    std::span<const uint8_t> all(data);
    uint32_t chained = checksum_partial(all.subspan(split), checksum_partial(all.first(split)));
    ASSERT_EQ(chained, checksum_partial(all));
    ASSERT_EQ(checksum_fold(chained), stored(test::reference_checksum(data)));
  }
}

TEST(Ipv4HeaderChecksum, KnownHeaderIgnoresStoredField) {
  Bytes header = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                  0xde, 0xad, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(ipv4_header_checksum(header), stored(0xb861));
  test::put16(header, 10, 0xb861);
  EXPECT_EQ(ipv4_header_checksum(header), stored(0xb861));
}

TEST(Ipv4HeaderChecksum, MatchesReferenceWithOptions) {
  std::mt19937 rng(2);
  for (int i = 0; i < 2000; ++i) {
    Bytes header = random_bytes(rng, 20 + 4 * (rng() % 11));
    ASSERT_EQ(ipv4_header_checksum(header), stored(reference_with_field(header, 10)));
  }
}

TEST(L4Checksum, MatchesReferenceForRandomSegments) {
  std::mt19937 rng(3);
  const uint8_t protocols[] = {kProtoTcp, kProtoUdp, kProtoIcmpv6};
  for (int i = 0; i < 3000; ++i) {
    uint8_t protocol = protocols[rng() % 3];
    bool v6 = rng() % 2;
    size_t at = protocol == kProtoTcp ? 16 : protocol == kProtoUdp ? 6 : 2;
    Bytes l4 = random_bytes(rng, 20 + rng() % 1480);
    Bytes src = random_bytes(rng, v6 ? 16 : 4);
    Bytes dst = random_bytes(rng, v6 ? 16 : 4);
    Bytes covered = src;
    test::append(covered, dst);
    Bytes tail(v6 ? 8 : 4, 0);
    if (v6) {
      test::put32(tail, 0, static_cast<uint32_t>(l4.size()));
      tail[7] = protocol;
    } else {
      tail[1] = protocol;
      test::put16(tail, 2, static_cast<uint16_t>(l4.size()));
    }
    test::append(covered, tail);
    size_t l4_start = covered.size();
    test::append(covered, l4);
    uint16_t want = reference_with_field(covered, l4_start + at);
    if (protocol == kProtoUdp && want == 0) want = 0xffff;
    uint16_t got = v6 ? l4_checksum_ipv6(src.data(), dst.data(), protocol, l4, at)
                      : l4_checksum_ipv4(src.data(), dst.data(), protocol, l4, at);
    ASSERT_EQ(got, stored(want)) << "iteration " << i;
  }
}

TEST(L4Checksum, ComputedZeroIsSentAsOnesForUdpOnly) {
  std::mt19937 rng(4);
  for (bool v6 : {false, true}) {
    Bytes src = random_bytes(rng, v6 ? 16 : 4), dst = random_bytes(rng, v6 ? 16 : 4);
    Bytes l4 = random_bytes(rng, 40);
    auto compute = [&](uint8_t protocol) {
      return v6 ? l4_checksum_ipv6(src.data(), dst.data(), protocol, l4, 6)
                : l4_checksum_ipv4(src.data(), dst.data(), protocol, l4, 6);
    };
    // Adding the checksum to a covered word makes the sum 0xffff, the checksum 0.
    uint16_t c = compute(kProtoTcp);
    Bytes c_bytes(2);
    std::memcpy(c_bytes.data(), &c, 2);
    uint32_t word = test::get16(l4, 20) + test::get16(c_bytes, 0);
    word = (word & 0xffff) + (word >> 16);
    test::put16(l4, 20, static_cast<uint16_t>(word));
    EXPECT_EQ(compute(kProtoTcp), 0) << v6;
    // Same bytes as UDP: the protocol differs by 11 in the pseudo-header; compensate.
    uint32_t udp_word = test::get16(l4, 20) + 0xffff - (kProtoUdp - kProtoTcp);
    udp_word = (udp_word & 0xffff) + (udp_word >> 16);
    test::put16(l4, 20, static_cast<uint16_t>(udp_word));
    EXPECT_EQ(compute(kProtoUdp), 0xffff) << v6;
  }
}

TEST(Icmpv4Checksum, MatchesReference) {
  std::mt19937 rng(5);
  for (int i = 0; i < 1000; ++i) {
    Bytes icmp = random_bytes(rng, 4 + rng() % 600);
    ASSERT_EQ(icmpv4_checksum(icmp), stored(reference_with_field(icmp, 2)));
  }
}

TEST(ChecksumUpdate, Rfc1624Example) {
  // RFC 1624 section 4: eqn. 3 gives 0x0000 where eqn. 2 gave the wrong 0xffff.
  EXPECT_EQ(checksum_update16(stored(0xdd2f), stored(0x5555), stored(0x3285)), stored(0x0000));
  EXPECT_EQ(checksum_update16(stored(0x0000), stored(0x3285), stored(0x5555)), stored(0xdd2f));
}

// Replaces `length` bytes at `at` in `data` (checksum at `checksum_at`) by random bytes and
// checks the incremental update against a full recomputation.
void expect_update_matches(std::mt19937& rng, Bytes data, size_t checksum_at, size_t at,
                           Bytes new_bytes) {
  test::put16(data, checksum_at, reference_with_field(data, checksum_at));
  Bytes old_bytes(data.begin() + at, data.begin() + at + new_bytes.size());
  uint16_t old_checksum = stored_at(data, checksum_at);
  std::copy(new_bytes.begin(), new_bytes.end(), data.begin() + at);
  uint16_t want = stored(reference_with_field(data, checksum_at));
  uint16_t got = 0;
  if (new_bytes.size() == 2) {
    got = checksum_update16(old_checksum, stored_at(old_bytes, 0), stored_at(new_bytes, 0));
  } else if (new_bytes.size() == 4 && rng() % 2) {
    got = checksum_update32(old_checksum, stored32_at(old_bytes, 0), stored32_at(new_bytes, 0));
  } else {
    got = checksum_update_bytes(old_checksum, old_bytes.data(), new_bytes.data(), new_bytes.size());
  }
  ASSERT_EQ(got, want);
}

TEST(ChecksumUpdate, MatchesFullRecomputationForRandomChanges) {
  std::mt19937 rng(6);
  const size_t lengths[] = {2, 4, 16};
  for (int i = 0; i < 100000; ++i) {
    Bytes data = random_bytes(rng, 40);
    size_t length = lengths[rng() % 3];
    size_t at = 2 * (rng() % ((40 - length) / 2 + 1));
    if (at <= 10 && at + length > 10) at = 12;  // the field must not overlap the checksum
    ASSERT_NO_FATAL_FAILURE(expect_update_matches(rng, data, 10, at, random_bytes(rng, length)));
  }
}

// One's-complement sum of the words of `data` except those in [skip, skip + skip_length).
uint16_t sum_except(const Bytes& data, size_t skip, size_t skip_length) {
  uint32_t sum = 0;
  for (size_t i = 0; i < data.size(); i += 2) {
    if (i >= skip && i < skip + skip_length) continue;
    sum += test::get16(data, i);
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(sum);
}

TEST(ChecksumUpdate, Rfc1624EdgeCases) {
  std::mt19937 rng(7);
  for (int i = 0; i < 5000; ++i) {
    Bytes data = random_bytes(rng, 20);
    test::put16(data, 10, 0);
    size_t at = 2 * (rng() % 4);
    uint16_t others = sum_except(data, at, 2);
    // New value that makes the full sum 0xffff: the new checksum is 0x0000.
    Bytes to_zero(2);
    test::put16(to_zero, 0, static_cast<uint16_t>(~others));
    ASSERT_NO_FATAL_FAILURE(expect_update_matches(rng, data, 10, at, to_zero));
    // Both forms of zero, either way round, in the field being replaced.
    for (auto [from, to] : {std::pair{0x0000, 0xffff}, std::pair{0xffff, 0x0000}}) {
      test::put16(data, at, static_cast<uint16_t>(from));
      Bytes next(2);
      test::put16(next, 0, static_cast<uint16_t>(to));
      ASSERT_NO_FATAL_FAILURE(expect_update_matches(rng, data, 10, at, next));
    }
    // Starting from a checksum of 0x0000.
    test::put16(data, at, static_cast<uint16_t>(~others));
    ASSERT_NO_FATAL_FAILURE(expect_update_matches(rng, data, 10, at, random_bytes(rng, 2)));
  }
}

TEST(ChecksumUpdate, NoChangeKeepsTheChecksum) {
  for (uint32_t c : {0x0000u, 0x1234u, 0xfffeu}) {
    EXPECT_EQ(checksum_update16(uint16_t(c), 0xabcd, 0xabcd), uint16_t(c));
  }
  uint8_t same[16] = {1, 2, 3};
  EXPECT_EQ(checksum_update_bytes(0x4321, same, same, sizeof same), 0x4321);
  EXPECT_EQ(checksum_update32(0x4321, 0xdeadbeef, 0xdeadbeef), 0x4321);
}

}  // namespace
}  // namespace fairway
