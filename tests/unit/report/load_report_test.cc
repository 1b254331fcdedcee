#include "report/load_report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "report/signature.h"

namespace fairway {
namespace {

LoadReport example_report() {
  return LoadReport{
      .agent = "be1",
      .address = *IpAddress::parse("198.18.1.11"),
      .timestamp_ms = 1795662148017,
      .sequence = 42,
      .interval_ms = 1000,
      .cpu_percent = 37.5,
      .memory_percent = 41.2,
      .active_clients = 12,
      .requests_per_second = 85.0,
      .mean_response_ms = 3.2,
  };
}

TEST(ReportJson, ExactBytesWithApplicationFigures) {
  EXPECT_EQ(to_json(example_report()),
            R"({"agent":"be1","address":"198.18.1.11","timestamp_ms":1795662148017,)"
            R"("sequence":42,"interval_ms":1000,"cpu_percent":37.5,"memory_percent":41.2,)"
            R"("active_clients":12,"requests_per_second":85.0,"mean_response_ms":3.2})");
}

TEST(ReportJson, ApplicationKeysOmittedWhenUnknown) {
  LoadReport report = example_report();
  report.requests_per_second.reset();
  report.mean_response_ms.reset();
  report.address = *IpAddress::parse("2001:2::11");
  report.cpu_percent = 100;
  report.memory_percent = 0;
  EXPECT_EQ(to_json(report),
            R"({"agent":"be1","address":"2001:2::11","timestamp_ms":1795662148017,)"
            R"("sequence":42,"interval_ms":1000,"cpu_percent":100.0,"memory_percent":0.0,)"
            R"("active_clients":12})");
}

TEST(ReportJson, RoundsToUsefulDigits) {
  LoadReport report = example_report();
  report.cpu_percent = 37.46;
  report.memory_percent = 41.249999;
  report.requests_per_second = 85.04;
  report.mean_response_ms = 0.12345;
  auto json = nlohmann::json::parse(to_json(report));
  EXPECT_EQ(json["cpu_percent"].dump(), "37.5");
  EXPECT_EQ(json["memory_percent"].dump(), "41.2");
  EXPECT_EQ(json["requests_per_second"].dump(), "85.0");
  EXPECT_EQ(json["mean_response_ms"].dump(), "0.123");
}

TEST(ReportJson, NamesAreEscapedAndNeverThrow) {
  LoadReport report = example_report();
  report.agent = "be \"1\"\n\xff";  // a quote, a newline and a byte that is not UTF-8
  const std::string body = to_json(report);
  auto json = nlohmann::json::parse(body);
  EXPECT_EQ(json["agent"], "be \"1\"\n\xEF\xBF\xBD");
}

TEST(ReportJson, NotANumberBecomesZero) {
  LoadReport report = example_report();
  report.cpu_percent = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(nlohmann::json::parse(to_json(report))["cpu_percent"], 0.0);
}

// RFC 4231, section 4.
TEST(Signature, Rfc4231TestCase1) {
  EXPECT_EQ(hmac_sha256_hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(Signature, Rfc4231TestCase2) {
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Signature, Rfc4231TestCase6KeyLongerThanABlock) {
  EXPECT_EQ(hmac_sha256_hex(std::string(131, '\xaa'),
                            "Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(Signature, HeaderValueSignsTheExactBody) {
  const std::string body = to_json(example_report());
  const std::string header = signature_header("Jefe", body);
  EXPECT_EQ(header, "sha256=" + hmac_sha256_hex("Jefe", body));
  EXPECT_EQ(header.size(), 7u + 64u);
  EXPECT_NE(header, signature_header("Jefe", body + " "));
  EXPECT_NE(header, signature_header("jefe", body));
}

// The contract between the two ends: what the agent writes, the collector reads back unchanged.
TEST(ReportContract, WhatTheAgentWritesTheCollectorReads) {
  for (LoadReport report : {example_report(), [] {
                              LoadReport r = example_report();
                              r.requests_per_second.reset();
                              r.mean_response_ms.reset();
                              r.address = *IpAddress::parse("2001:2::11");
                              r.cpu_percent = 100;
                              r.memory_percent = 0;
                              return r;
                            }()}) {
    ReportRejection reason = ReportRejection::count;
    std::string error;
    std::optional<LoadReport> read = parse_load_report(to_json(report), reason, error);
    ASSERT_TRUE(read) << error;
    EXPECT_EQ(*read, report);
  }
}

TEST(ReportContract, ASignedBodyChecksOutAndATamperedOneDoesNot) {
  const std::string body = to_json(example_report());
  const std::string header = signature_header("a shared key of 16+", body);
  EXPECT_TRUE(signature_matches("a shared key of 16+", body, header));
  std::string upper = header;
  for (char& c : upper) c = static_cast<char>(c >= 'a' && c <= 'f' ? c - 'a' + 'A' : c);
  upper.replace(0, 7, "sha256=");
  EXPECT_TRUE(signature_matches("a shared key of 16+", body, upper));  // hex case is free
  EXPECT_FALSE(signature_matches("a shared key of 16+", body + " ", header));
  EXPECT_FALSE(signature_matches("another key of 16+!", body, header));
  EXPECT_FALSE(signature_matches("a shared key of 16+", body, header.substr(7)));  // no prefix
  EXPECT_FALSE(signature_matches("a shared key of 16+", body, ""));
}

}  // namespace
}  // namespace fairway
