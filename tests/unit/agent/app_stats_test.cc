#include "agent/app_stats.h"

#include <gtest/gtest.h>

#include <chrono>

#include "agent/command.h"

namespace fairway::agent {
namespace {

TEST(AppStats, BothFiguresNeeded) {
  auto good = parse_app_stats(R"({"requests_per_second": 85, "mean_response_ms": 3.2, "x": 1})");
  ASSERT_TRUE(good.stats) << good.error;
  EXPECT_DOUBLE_EQ(good.stats->requests_per_second, 85);
  EXPECT_DOUBLE_EQ(good.stats->mean_response_ms, 3.2);
  EXPECT_EQ(parse_app_stats(R"({"requests_per_second": 85})").error,
            "mean_response_ms missing or not a non-negative number");
  EXPECT_EQ(parse_app_stats(R"({"requests_per_second": -1, "mean_response_ms": 1})").error,
            "requests_per_second missing or not a non-negative number");
  EXPECT_FALSE(parse_app_stats(R"({"requests_per_second": "85", "mean_response_ms": 1})").stats);
  EXPECT_EQ(parse_app_stats("[1, 2]").error, "not a JSON object");
  EXPECT_EQ(parse_app_stats("").error, "not a JSON object");
  EXPECT_EQ(parse_app_stats("<html>").error, "not a JSON object");
}

TEST(AppStats, FromACommand) {
  auto source = AppStatsSource::from_command(
      R"(printf '{"requests_per_second": 12.5, "mean_response_ms": 0.8}\n')", 2000);
  AppStatsResult result = source.fetch();
  ASSERT_TRUE(result.stats) << result.error;
  EXPECT_DOUBLE_EQ(result.stats->requests_per_second, 12.5);
  EXPECT_DOUBLE_EQ(result.stats->mean_response_ms, 0.8);
}

TEST(AppStats, FromAUrlNobodyServes) {
  // Port 9 on localhost (discard) is not served on a test machine: refused at once.
  auto source = AppStatsSource::from_url(*parse_http_url("http://127.0.0.1:9/stats"), 500);
  AppStatsResult result = source.fetch();
  EXPECT_FALSE(result.stats);
  EXPECT_NE(result.error.find("GET"), std::string::npos) << result.error;
}

TEST(Command, OutputAndExitStatus) {
  CommandResult ok = run_command("echo hello; echo world", 2000);
  ASSERT_TRUE(ok.output) << ok.error;
  EXPECT_EQ(*ok.output, "hello\nworld\n");
  CommandResult failed = run_command("echo partial; exit 3", 2000);
  EXPECT_FALSE(failed.output);
  EXPECT_EQ(failed.error, "exited with status 3");
  CommandResult missing = run_command("/nonexistent/tool", 2000);
  EXPECT_EQ(missing.error, "exited with status 127");
}

TEST(Command, KilledWithItsChildrenAtTheDeadline) {
  const auto start = std::chrono::steady_clock::now();
  // The subshell's sleep keeps stdout open: only killing the whole group ends it.
  CommandResult result = run_command("(sleep 30; echo late) & sleep 30", 300);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(result.output);
  EXPECT_EQ(result.error, "timed out after 300 ms");
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(Command, TooMuchOutputIsAnError) {
  CommandResult result = run_command("yes", 5000, 1000);
  EXPECT_FALSE(result.output);
  EXPECT_EQ(result.error, "wrote more than 1000 bytes");
}

TEST(Command, ExitingAfterClosingStdoutIsWaitedFor) {
  CommandResult result = run_command("echo '{}'; exec >&-; sleep 0.2; exit 4", 2000);
  EXPECT_EQ(result.error, "exited with status 4");
}

}  // namespace
}  // namespace fairway::agent
