#include "control/yaml_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>

#include "util/duration.h"

namespace fairway::config_detail {
namespace {

std::string join_path(const std::string& parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return parent + "." + std::string(key);
}

bool is_quoted(const YAML::Node& node) {
  return node.Tag() == "!";
}

// How a value looks in a message: the user must recognise what they wrote, so it is quoted as
// written and cut short only when it is long.
std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "an empty value";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Scalar: {
      std::string text = node.Scalar();
      if (text.size() > 40) text = text.substr(0, 37) + "...";
      return "'" + text + "'";
    }
    default:
      return "an undefined value";
  }
}

// For numbers and booleans, where quotes change the type: says why '2' was not taken as 2.
std::string describe_typed(const YAML::Node& node) {
  return (node.IsScalar() && is_quoted(node) ? "the quoted string " : "") + describe(node);
}

std::string list_words(std::initializer_list<std::string_view> words, std::string_view sep) {
  std::string out;
  for (std::string_view w : words) {
    if (!out.empty()) out += sep;
    out += w;
  }
  return out;
}

// Edit distance, only to suggest the allowed key that a typo probably meant.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string unknown_key_message(std::string_view key,
                                std::initializer_list<std::string_view> allowed) {
  std::string message = "unknown key '" + std::string(key) + "'";
  for (std::string_view candidate : allowed) {
    if (edit_distance(key, candidate) <= 2) {
      message += " (did you mean '" + std::string(candidate) + "'?)";
      break;
    }
  }
  return message + "; allowed keys here: " + list_words(allowed, ", ");
}

std::optional<uint64_t> parse_decimal(std::string_view text) {
  uint64_t value = 0;
  if (text.empty() || text.front() == '+') return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string duration_text(uint64_t ms) {
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace

std::string format_error(const std::string& source, const YAML::Mark& mark, std::string_view field,
                         std::string_view message) {
  // A null mark (-1) would print as line 0; the document start is the honest fallback.
  int line = mark.line < 0 ? 1 : mark.line + 1;
  int column = mark.column < 0 ? 1 : mark.column + 1;
  return source + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " +
         std::string(field.empty() ? "top level" : field) + ": " + std::string(message);
}

Field::Field(YAML::Node node, const YAML::Mark& key_mark, std::string path,
             const std::string* source)
    : node_(std::move(node)),
      mark_(node_.IsNull() ? key_mark : node_.Mark()),
      path_(std::move(path)),
      source_(source) {}

void Field::fail(std::string_view message) const {
  throw LoadError(format_error(*source_, mark_, path_, message));
}

void Field::fail_at(std::string_view sub_path, std::string_view message) const {
  throw LoadError(format_error(*source_, mark_, join_path(path_, sub_path), message));
}

std::string Field::scalar(std::string_view expected) const {
  if (!node_.IsScalar()) fail("expected " + std::string(expected) + ", got " + describe(node_));
  return node_.Scalar();
}

uint64_t Field::uint(uint64_t min, uint64_t max) const {
  std::string expected = "an integer " + std::to_string(min) + ".." + std::to_string(max);
  std::string text = scalar(expected);
  // A quoted number is a string in YAML; accepting it would hide a type mistake elsewhere too.
  auto value = is_quoted(node_) ? std::nullopt : parse_decimal(text);
  if (!value) fail("expected " + expected + ", got " + describe_typed(node_));
  if (*value < min || *value > max) {
    fail("value " + text + " is out of range, expected " + expected);
  }
  return *value;
}

double Field::number(double min, double max) const {
  std::string expected = "a number " + fmt::format("{:g}..{:g}", min, max);
  std::string text = scalar(expected);
  // Plain decimal notation only ("0.25", "2", "1e3" too): no hex, inf or nan.
  bool plain = !text.empty() && text.find_first_not_of("0123456789.eE+-") == std::string::npos;
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (is_quoted(node_) || !plain || ec != std::errc() || end != text.data() + text.size()) {
    fail("expected " + expected + ", got " + describe_typed(node_));
  }
  if (!(value >= min && value <= max))
    fail("value " + text + " is out of range, expected " + expected);
  return value;
}

bool Field::boolean() const {
  std::string text = scalar("true or false");
  if (!is_quoted(node_) && text == "true") return true;
  if (!is_quoted(node_) && text == "false") return false;
  fail("expected true or false, got " + describe_typed(node_));
}

std::string Field::string() const {
  std::string text = scalar("a string");
  if (text.empty()) fail("expected a non-empty string");
  return text;
}

size_t Field::choice(std::initializer_list<std::string_view> allowed) const {
  std::string expected = "one of " + list_words(allowed, ", ");
  std::string text = scalar(expected);
  auto it = std::find(allowed.begin(), allowed.end(), text);
  if (it == allowed.end()) fail("expected " + expected + ", got " + describe(node_));
  return static_cast<size_t>(it - allowed.begin());
}

IpAddress Field::ip() const {
  constexpr std::string_view kExpected = "an IPv4 or IPv6 address (e.g. 198.18.0.1, \"2001:2::1\")";
  auto address = IpAddress::parse(scalar(kExpected));
  if (!address) fail("expected " + std::string(kExpected) + ", got " + describe(node_));
  return *address;
}

IpPrefix Field::prefix() const {
  constexpr std::string_view kExpected =
      "an address with a prefix length (e.g. 198.18.0.1/24, \"2001:2::1/64\")";
  auto prefix = IpPrefix::parse(scalar(kExpected));
  if (!prefix) fail("expected " + std::string(kExpected) + ", got " + describe(node_));
  return *prefix;
}

MacAddress Field::mac() const {
  constexpr std::string_view kExpected = "a MAC address like \"02:00:00:00:00:01\"";
  auto mac = MacAddress::parse(scalar(kExpected));
  if (!mac) fail("expected " + std::string(kExpected) + ", got " + describe(node_));
  // Frames are sent from and to this MAC: a group or all-zero address would never be delivered.
  if (mac->is_zero() || (mac->bytes[0] & 1) != 0) {
    fail("expected a unicast, non-zero MAC address, got " + describe(node_));
  }
  return *mac;
}

uint64_t Field::duration_ms(uint64_t min_ms, uint64_t max_ms) const {
  constexpr std::string_view kExpected =
      "a duration: integer seconds or a string like \"500ms\", \"30s\", \"15m\", \"1h\"";
  std::string text = scalar(kExpected);
  std::optional<uint64_t> ms;
  if (!is_quoted(node_)) {
    auto seconds = parse_decimal(text);
    if (seconds) ms = *seconds > max_ms / 1000 ? max_ms + 1 : *seconds * 1000;
  }
  if (!ms) ms = parse_duration_units_ms(text);
  if (!ms) fail("expected " + std::string(kExpected) + ", got " + describe_typed(node_));
  if (*ms < min_ms || *ms > max_ms) {
    fail("duration " + text + " is out of range, expected " + duration_text(min_ms) + ".." +
         duration_text(max_ms));
  }
  return *ms;
}

std::vector<Field> Field::items() const {
  if (!node_.IsSequence()) {
    fail("expected a list, got " + describe(node_) +
         (node_.IsNull() ? " (write [] for none)" : ""));
  }
  std::vector<Field> out;
  out.reserve(node_.size());
  for (size_t i = 0; i < node_.size(); ++i) {
    YAML::Node item = node_[i];
    out.emplace_back(item, item.Mark(), path_ + "[" + std::to_string(i) + "]", source_);
  }
  return out;
}

MapReader Field::map(std::initializer_list<std::string_view> allowed) const {
  if (!node_.IsMap()) fail("expected a map, got " + describe(node_));
  MapReader reader(*this);
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    // Copies: the iterator's pair is a temporary proxy, references into it dangle.
    YAML::Node key = it->first;
    YAML::Node value = it->second;
    Field key_field(key, key.Mark(), path_, source_);
    if (!key.IsScalar()) key_field.fail("expected a key name, got " + describe(key));
    std::string name = key.Scalar();
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      key_field.fail_at(name, unknown_key_message(name, allowed));
    }
    // yaml-cpp keeps both copies of a repeated key and lookups see only the first: a silent
    // surprise, so it is an error.
    for (const MapReader::Entry& seen : reader.entries_) {
      if (seen.name == name) {
        key_field.fail_at(name, "key '" + name + "' appears twice (first at line " +
                                    std::to_string(seen.key_line) + "); give it once");
      }
    }
    reader.entries_.push_back(
        {name, key.Mark().line + 1, Field(value, key.Mark(), join_path(path_, name), source_)});
  }
  return reader;
}

std::optional<Field> MapReader::get(std::string_view key) const {
  for (const Entry& entry : entries_) {
    if (entry.name == key) return entry.value;
  }
  return std::nullopt;
}

Field MapReader::require(std::string_view key, std::string_view expected) const {
  auto field = get(key);
  if (!field) {
    self_.fail_at(
        key, "missing required key '" + std::string(key) + "' (" + std::string(expected) + ")");
  }
  return *field;
}

}  // namespace fairway::config_detail
