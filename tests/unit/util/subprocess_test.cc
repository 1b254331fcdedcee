#include "util/subprocess.h"

#include <gtest/gtest.h>

namespace fairway {
namespace {

using namespace std::chrono_literals;

TEST(RunCommand, CapturesOutputAndExitCode) {
  CommandResult r = run_command({"sh", "-c", "echo out; echo err >&2; exit 3"}, 5s);
  EXPECT_TRUE(r.started);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.output, "out\nerr\n");
  EXPECT_TRUE(run_command({"true"}, 5s).ok());
}

TEST(RunCommand, AProgramThatDoesNotExistIsNotStarted) {
  CommandResult r = run_command({"/nonexistent/birdc", "configure"}, 5s);
  EXPECT_FALSE(r.started);
  EXPECT_NE(r.output.find("/nonexistent/birdc"), std::string::npos);
}

TEST(RunCommand, AProgramThatHangsIsKilledAtTheTimeout) {
  CommandResult r = run_command({"sleep", "30"}, 100ms);
  EXPECT_TRUE(r.started);
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace fairway
