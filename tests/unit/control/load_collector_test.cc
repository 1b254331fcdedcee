#include "control/load_collector.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "report/signature.h"

namespace fairway {
namespace {

using Clock = std::chrono::steady_clock;
const std::string kKey = "0123456789abcdef0123456789abcdef";
constexpr uint64_t kNow = 1'795'662'148'017;

LoadCollector collector() {
  LoadCollector c;
  LoadFeedbackConfig config;
  config.key = kKey;
  c.configure(config);
  return c;
}

nlohmann::json report(uint64_t sequence = 1) {
  return {{"agent", "be1"},         {"address", "198.18.1.11"}, {"timestamp_ms", kNow},
          {"sequence", sequence},   {"interval_ms", 1000},      {"cpu_percent", 37.5},
          {"memory_percent", 41.2}, {"active_clients", 12}};
}

std::string sign(const std::string& body, const std::string& key = kKey) {
  return "sha256=" + hmac_sha256_hex(key, body);
}

TEST(LoadCollector, HmacMatchesRfc4231) {
  // RFC 4231 test case 2
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(LoadCollector, AcceptsASignedReportAndKeepsIt) {
  LoadCollector c = collector();
  auto now = Clock::now();
  std::string body = report().dump();
  auto v = c.submit(body, sign(body), "198.18.1.11", kNow + 5, now);
  EXPECT_EQ(v.status, 200) << v.message;
  const LoadReport* r = c.fresh(*IpAddress::parse("198.18.1.11"), now);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->agent, "be1");
  EXPECT_DOUBLE_EQ(r->cpu_percent, 37.5);
  EXPECT_EQ(r->active_clients, 12u);
  EXPECT_FALSE(r->requests_per_second);
  EXPECT_EQ(c.accepted(), 1u);
}

TEST(LoadCollector, RefusesForgedReplayedAndMalformedReports) {
  LoadCollector c = collector();
  auto now = Clock::now();
  std::string first = report(10).dump();
  ASSERT_EQ(c.submit(first, sign(first), "a", kNow, now).status, 200);

  struct Case {
    std::string body;
    std::string signature;
    ReportRejection reason;
    const char* message;
  };
  nlohmann::json hot = report(11);
  hot["cpu_percent"] = 250;
  nlohmann::json nan_like = report(12);
  nan_like["memory_percent"] = -1;
  nlohmann::json extra = report(13);
  extra["weight"] = 100;  // an agent does not choose its weight
  nlohmann::json missing = report(14);
  missing.erase("active_clients");
  nlohmann::json old = report(15);
  old["timestamp_ms"] = kNow - 60'000;
  nlohmann::json stringly = report(16);
  stringly["sequence"] = "17";
  nlohmann::json bad_address = report(18);
  bad_address["address"] = "be1.example";
  const std::string replayed = report(10).dump();
  const std::string tampered = report(11).dump();
  const Case cases[] = {
      {tampered, sign(first), ReportRejection::bad_signature, "X-Fairway-Signature"},
      {tampered, sign(tampered, "another key of 32 bytes, wrong!!"), ReportRejection::bad_signature,
       ""},
      {tampered, "", ReportRejection::bad_signature, ""},
      {tampered, "sha256=zz", ReportRejection::bad_signature, ""},
      {replayed, sign(replayed), ReportRejection::replayed, "sequence 10 is not above 10"},
      {hot.dump(), sign(hot.dump()), ReportRejection::out_of_range, "cpu_percent: 250"},
      {nan_like.dump(), sign(nan_like.dump()), ReportRejection::out_of_range, "memory_percent"},
      {extra.dump(), sign(extra.dump()), ReportRejection::malformed, "unknown field 'weight'"},
      {missing.dump(), sign(missing.dump()), ReportRejection::malformed, "active_clients: missing"},
      {old.dump(), sign(old.dump()), ReportRejection::clock_skew, "60000 ms"},
      {stringly.dump(), sign(stringly.dump()), ReportRejection::malformed, "sequence"},
      {bad_address.dump(), sign(bad_address.dump()), ReportRejection::malformed, "address"},
      {"[1,2]", sign("[1,2]"), ReportRejection::malformed, "not a JSON object"},
      {"{\"agent\":", sign("{\"agent\":"), ReportRejection::malformed, "not a JSON object"},
  };
  for (const Case& k : cases) {
    auto v = c.submit(k.body, k.signature, "evil", kNow, now);
    EXPECT_NE(v.status, 200) << k.body;
    ASSERT_TRUE(v.rejection) << k.body;
    EXPECT_EQ(*v.rejection, k.reason) << k.body << ": " << v.message;
    EXPECT_NE(v.message.find(k.message), std::string::npos) << v.message;
  }
  // Nothing refused changed what is kept.
  EXPECT_EQ(c.fresh(*IpAddress::parse("198.18.1.11"), now)->sequence, 10u);
  EXPECT_EQ(c.rejected()[static_cast<size_t>(ReportRejection::bad_signature)], 4u);
  // Logged once per source and reason.
  std::string again = report(10).dump();
  EXPECT_FALSE(c.submit(again, sign(again), "evil", kNow, now).log);
  EXPECT_TRUE(c.submit(again, sign(again), "another", kNow, now).log);
}

TEST(LoadCollector, ReportsGoStaleAfterMissedIntervals) {
  LoadCollector c = collector();  // stale_after 3 intervals
  auto now = Clock::now();
  std::string body = report().dump();
  ASSERT_EQ(c.submit(body, sign(body), "a", kNow, now).status, 200);
  IpAddress be1 = *IpAddress::parse("198.18.1.11");
  EXPECT_NE(c.fresh(be1, now + std::chrono::milliseconds(2900)), nullptr);
  EXPECT_EQ(c.fresh(be1, now + std::chrono::milliseconds(3100)), nullptr);
  EXPECT_EQ(c.fresh(*IpAddress::parse("198.18.1.12"), now), nullptr);
}

TEST(LoadCollector, OffWithoutAKey) {
  LoadCollector c;
  std::string body = report().dump();
  auto v = c.submit(body, sign(body), "a", kNow, Clock::now());
  EXPECT_EQ(v.status, 403);
  EXPECT_EQ(*v.rejection, ReportRejection::feedback_disabled);
}

TEST(LoadCollector, OptionalApplicationFigures) {
  LoadCollector c = collector();
  nlohmann::json r = report();
  r["requests_per_second"] = 85.5;
  r["mean_response_ms"] = 3.25;
  std::string body = r.dump();
  auto now = Clock::now();
  ASSERT_EQ(c.submit(body, sign(body), "a", kNow, now).status, 200);
  const LoadReport* kept = c.fresh(*IpAddress::parse("198.18.1.11"), now);
  ASSERT_NE(kept, nullptr);
  EXPECT_DOUBLE_EQ(*kept->requests_per_second, 85.5);
  EXPECT_DOUBLE_EQ(*kept->mean_response_ms, 3.25);
}

// Back-ends with keys of their own (load_feedback.agents): .11 has one, .12 has none and reports
// with the shared key.
const std::string kKey11 = "eleven-eleven-eleven-eleven-1111";

LoadCollector collector_with_own_keys(bool shared = true) {
  LoadCollector c;
  LoadFeedbackConfig config;
  if (shared) config.key = kKey;
  config.agent_keys.push_back({*IpAddress::parse("198.18.1.11"), kKey11, {}});
  c.configure(config);
  return c;
}

nlohmann::json report_for(const std::string& address, uint64_t sequence = 1) {
  nlohmann::json r = report(sequence);
  r["address"] = address;
  return r;
}

TEST(LoadCollector, AnAddressWithItsOwnKeyAcceptsOnlyThatKey) {
  LoadCollector c = collector_with_own_keys();
  auto now = Clock::now();
  std::string body = report_for("198.18.1.11", 1).dump();
  // its own key, named by the header: accepted
  EXPECT_EQ(c.submit(body, sign(body, kKey11), "x", kNow, now, "198.18.1.11").status, 200);
  // the shared key, with or without the header: refused
  body = report_for("198.18.1.11", 2).dump();
  auto v = c.submit(body, sign(body), "x", kNow, now);
  EXPECT_EQ(v.status, 401);
  EXPECT_EQ(v.rejection, ReportRejection::wrong_key);
  EXPECT_NE(v.message.find("has a key of its own"), std::string::npos) << v.message;
  v = c.submit(body, sign(body), "x", kNow, now, "198.18.1.11");
  EXPECT_EQ(v.rejection, ReportRejection::bad_signature);
  EXPECT_NE(v.message.find("the key of 198.18.1.11"), std::string::npos) << v.message;
  EXPECT_EQ(c.accepted(), 1u);
}

TEST(LoadCollector, OneBackEndsKeyCannotReportForAnother) {
  LoadCollector c = collector_with_own_keys();
  auto now = Clock::now();
  // .11's key, sent as .11, claiming .12 in the body
  std::string body = report_for("198.18.1.12").dump();
  auto v = c.submit(body, sign(body, kKey11), "x", kNow, now, "198.18.1.11");
  EXPECT_EQ(v.rejection, ReportRejection::wrong_key);
  EXPECT_NE(v.message.find("is for 198.18.1.12 but was sent as agent 198.18.1.11"),
            std::string::npos)
      << v.message;
  // .11's key sent as .12: .12 has no own key, the shared key is checked and does not match
  v = c.submit(body, sign(body, kKey11), "x", kNow, now, "198.18.1.12");
  EXPECT_EQ(v.rejection, ReportRejection::bad_signature);
  // .12 with the shared key, with and without the header (older agents): accepted
  EXPECT_EQ(c.submit(body, sign(body), "x", kNow, now).status, 200);
  body = report_for("198.18.1.12", 2).dump();
  EXPECT_EQ(c.submit(body, sign(body), "x", kNow, now, "198.18.1.12").status, 200);
  // a header that is not an address
  v = c.submit(body, sign(body), "x", kNow, now, "be12");
  EXPECT_EQ(v.status, 400);
  EXPECT_EQ(v.rejection, ReportRejection::malformed);
}

TEST(LoadCollector, WithoutASharedKeyOnlyAgentsWithTheirOwnReport) {
  LoadCollector c = collector_with_own_keys(false);
  auto now = Clock::now();
  std::string body = report_for("198.18.1.12").dump();
  auto v = c.submit(body, sign(body), "x", kNow, now, "198.18.1.12");
  EXPECT_EQ(v.status, 401);
  EXPECT_EQ(v.rejection, ReportRejection::wrong_key);
  body = report_for("198.18.1.11").dump();
  EXPECT_EQ(c.submit(body, sign(body, kKey11), "x", kNow, now, "198.18.1.11").status, 200);
}

}  // namespace
}  // namespace fairway
