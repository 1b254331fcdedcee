#include "util/key_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace fairway {
namespace {

namespace fs = std::filesystem;

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/fairway-key-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& bytes, mode_t mode) {
    const std::string path = dir_ / "agent.key";
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    ::chmod(path.c_str(), mode);
    return path;
  }

  fs::path dir_;
};

TEST_F(KeyFileTest, TrailingNewlinesAndSpacesAreNotPartOfTheKey) {
  Result<KeyFile> result = load_key_file(write("  s3cret key\t \r\n\n", 0600));
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->key, "  s3cret key");  // leading whitespace is kept: only the tail is noise
  EXPECT_EQ(result->warning, "");
}

TEST_F(KeyFileTest, BinaryBytesAreKept) {
  Result<KeyFile> result = load_key_file(write(std::string("\x01\x00\xff", 3), 0400));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->key, std::string("\x01\x00\xff", 3));
}

TEST_F(KeyFileTest, MissingOrEmptyIsAnError) {
  Result<KeyFile> missing = load_key_file((dir_ / "nothing").string());
  EXPECT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("No such file"), std::string::npos)
      << missing.error().message;
  Result<KeyFile> empty = load_key_file(write(" \n", 0600));
  EXPECT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("is empty"), std::string::npos) << empty.error().message;
  Result<KeyFile> directory = load_key_file(dir_.string());
  EXPECT_FALSE(directory);
  EXPECT_NE(directory.error().message.find("not a regular file"), std::string::npos);
}

TEST_F(KeyFileTest, ReadableByOthersIsAWarning) {
  Result<KeyFile> world = load_key_file(write("k", 0644));
  ASSERT_TRUE(world);
  EXPECT_NE(world->warning.find("readable by everyone (mode 0644)"), std::string::npos)
      << world->warning;
  Result<KeyFile> group = load_key_file(write("k", 0640));
  EXPECT_NE(group->warning.find("readable by its group"), std::string::npos) << group->warning;
}

TEST(StripTrailingWhitespace, Cases) {
  EXPECT_EQ(strip_trailing_whitespace("abc\n"), "abc");
  EXPECT_EQ(strip_trailing_whitespace("\n\n"), "");
  EXPECT_EQ(strip_trailing_whitespace("a b"), "a b");
}

}  // namespace
}  // namespace fairway
