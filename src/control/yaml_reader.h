#pragma once
// Typed, position-aware access to a yaml-cpp tree for the configuration loader. Every accessor
// either returns a valid value or throws LoadError carrying one finished error line
// ("FILE:LINE:COL: FIELD: message"), so the loader reads like a description of the format and
// never has to thread error codes through. LoadError never leaves load_config_*.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <exception>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "packet/addresses.h"

namespace fairway::config_detail {

class LoadError : public std::exception {
 public:
  explicit LoadError(std::string message) : message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }
  const std::string& message() const { return message_; }

 private:
  std::string message_;
};

// "FILE:LINE:COL: FIELD: message" with yaml-cpp's 0-based mark turned 1-based.
std::string format_error(const std::string& source, const YAML::Mark& mark, std::string_view field,
                         std::string_view message);

class MapReader;

// One value in the tree with its dotted path ("services[1].backends[0].port") and the position to
// report. The position is the value's own, except for an empty value, which yaml-cpp places at the
// next token (often the next line): then the key's position is reported instead.
class Field {
 public:
  Field(YAML::Node node, const YAML::Mark& key_mark, std::string path, const std::string* source);

  const YAML::Node& node() const { return node_; }
  const std::string& path() const { return path_; }
  const YAML::Mark& mark() const { return mark_; }
  int line() const { return mark_.line + 1; }  // 1-based, as in messages

  [[noreturn]] void fail(std::string_view message) const;
  // A failure about something named below this field (e.g. a missing key) reported here.
  [[noreturn]] void fail_at(std::string_view sub_path, std::string_view message) const;

  uint64_t uint(uint64_t min, uint64_t max) const;  // unquoted decimal integer in [min, max]
  double number(double min, double max) const;      // unquoted decimal number in [min, max]
  bool boolean() const;                             // unquoted true or false
  std::string string() const;                       // any non-empty scalar
  // A string from a fixed set of words; returns its index in `allowed`.
  size_t choice(std::initializer_list<std::string_view> allowed) const;
  IpAddress ip() const;
  IpPrefix prefix() const;
  MacAddress mac() const;  // unicast, non-zero
  // Unquoted integer seconds, or a string like "500ms", "30s", "15m", "1h", "1m30s".
  uint64_t duration_ms(uint64_t min_ms, uint64_t max_ms) const;

  std::vector<Field> items() const;  // the elements of a sequence
  // The field as a map; keys outside `allowed` and repeated keys are errors.
  MapReader map(std::initializer_list<std::string_view> allowed) const;

 private:
  std::string scalar(std::string_view expected) const;  // fails unless a scalar

  YAML::Node node_;
  YAML::Mark mark_;
  std::string path_;
  const std::string* source_;
};

class MapReader {
 public:
  explicit MapReader(const Field& self) : self_(self) {}

  const Field& self() const { return self_; }
  std::optional<Field> get(std::string_view key) const;
  // Fails at the map's own position: a missing key has no position of its own.
  Field require(std::string_view key, std::string_view expected) const;

 private:
  friend class Field;
  struct Entry {
    std::string name;
    int key_line;  // 1-based; a nested map's value starts on a later line than its key
    Field value;
  };
  Field self_;
  std::vector<Entry> entries_;
};

}  // namespace fairway::config_detail
