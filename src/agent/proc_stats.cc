#include "agent/proc_stats.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace fairway::agent {
namespace {

constexpr std::string_view kSpaces = " \t\r\n";

std::string_view trim(std::string_view text) {
  const size_t first = text.find_first_not_of(kSpaces);
  if (first == std::string_view::npos) return {};
  const size_t last = text.find_last_not_of(kSpaces);
  return text.substr(first, last - first + 1);
}

// Takes the next line off `text` (without its '\n'); false when nothing is left.
bool next_line(std::string_view& text, std::string_view& line) {
  if (text.empty()) return false;
  const size_t end = text.find('\n');
  line = text.substr(0, end);
  text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  return true;
}

// Takes the next whitespace-separated field off `text`; empty when none is left.
std::string_view next_field(std::string_view& text) {
  const size_t first = text.find_first_not_of(kSpaces);
  if (first == std::string_view::npos) {
    text = {};
    return {};
  }
  text.remove_prefix(first);
  const size_t end = std::min(text.find_first_of(kSpaces), text.size());
  std::string_view field = text.substr(0, end);
  text.remove_prefix(end);
  return field;
}

// The whole of `text` as an unsigned number in `base`; no sign, no spaces, no trailing bytes.
std::optional<uint64_t> to_u64(std::string_view text, int base = 10) {
  uint64_t value = 0;
  if (text.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<int64_t> to_i64(std::string_view text) {
  int64_t value = 0;
  if (text.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<CpuTimes> parse_proc_stat(std::string_view text) {
  std::string_view line;
  while (next_line(text, line)) {
    if (next_field(line) != "cpu") continue;  // "cpu0", "cpu1"...: one CPU each; "cpu" is all
    // user nice system idle iowait irq softirq steal guest guest_nice; kernels before 2.6.33 write
    // fewer columns. guest and guest_nice are already counted in user and nice.
    uint64_t column[8] = {};
    int columns = 0;
    for (; columns < 8; ++columns) {
      std::string_view field = next_field(line);
      if (field.empty()) break;
      auto value = to_u64(field);
      if (!value) return std::nullopt;
      column[columns] = *value;
    }
    if (columns < 4) return std::nullopt;
    const uint64_t idle = column[3] + column[4];
    const uint64_t busy = column[0] + column[1] + column[2] + column[5] + column[6] + column[7];
    return CpuTimes{.busy = busy, .total = busy + idle};
  }
  return std::nullopt;
}

double cpu_percent_between(const CpuTimes& before, const CpuTimes& after) {
  if (after.total <= before.total || after.busy < before.busy) return 0;
  return percent_of(static_cast<double>(after.busy - before.busy),
                    static_cast<double>(after.total - before.total));
}

std::optional<MemInfo> parse_meminfo(std::string_view text) {
  std::optional<uint64_t> total, available, free, buffers, cached;
  std::string_view line;
  while (next_line(text, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, colon);
    std::string_view rest = line.substr(colon + 1);
    std::optional<uint64_t>* slot = key == "MemTotal"       ? &total
                                    : key == "MemAvailable" ? &available
                                    : key == "MemFree"      ? &free
                                    : key == "Buffers"      ? &buffers
                                    : key == "Cached"       ? &cached
                                                            : nullptr;
    if (!slot) continue;
    auto value = to_u64(next_field(rest));
    if (!value) return std::nullopt;
    *slot = value;  // in kB, as the unit field after it says
  }
  if (!total || *total == 0) return std::nullopt;
  if (!available) {
    if (!free) return std::nullopt;
    available = *free + buffers.value_or(0) + cached.value_or(0);
  }
  return MemInfo{.total_kib = *total, .available_kib = std::min(*available, *total)};
}

double memory_percent(const MemInfo& info) {
  return percent_of(static_cast<double>(info.total_kib - info.available_kib),
                    static_cast<double>(info.total_kib));
}

std::optional<uint64_t> count_established(std::string_view proc_net_tcp,
                                          const std::vector<uint16_t>& local_ports) {
  constexpr uint64_t kEstablished = 0x01;  // TCP_ESTABLISHED in include/net/tcp_states.h
  std::string_view line;
  if (!next_line(proc_net_tcp, line) || next_field(line) != "sl") return std::nullopt;
  uint64_t count = 0;
  while (next_line(proc_net_tcp, line)) {
    if (trim(line).empty()) continue;
    // "  12: 0100007F:1F90 0100007F:C350 01 ..." / the same with 32 hex digits per address
    next_field(line);  // slot
    const std::string_view local = next_field(line);
    next_field(line);  // remote
    const auto state = to_u64(next_field(line), 16);
    const size_t colon = local.rfind(':');
    if (!state || colon == std::string_view::npos) return std::nullopt;
    const auto port = to_u64(local.substr(colon + 1), 16);
    if (!port || *port > 0xffff) return std::nullopt;
    if (*state != kEstablished) continue;
    if (local_ports.empty() ||
        std::find(local_ports.begin(), local_ports.end(), *port) != local_ports.end()) {
      ++count;
    }
  }
  return count;
}

std::optional<uint64_t> parse_cgroup_keyed_value(std::string_view text, std::string_view key) {
  std::string_view line;
  while (next_line(text, line)) {
    if (next_field(line) == key) return to_u64(next_field(line));
  }
  return std::nullopt;
}

std::optional<uint64_t> parse_cgroup2_cpu_usage_usec(std::string_view cpu_stat) {
  return parse_cgroup_keyed_value(cpu_stat, "usage_usec");
}

std::optional<CpuQuota> parse_cgroup2_cpu_max(std::string_view cpu_max) {
  std::string_view text = trim(cpu_max);
  const std::string_view quota = next_field(text);
  const auto period = to_u64(next_field(text));
  if (!trim(text).empty() || !period || *period == 0) return std::nullopt;
  if (quota == "max") return CpuQuota{};
  const auto quota_us = to_u64(quota);
  if (!quota_us) return std::nullopt;
  return CpuQuota{.unlimited = false,
                  .cpus = static_cast<double>(*quota_us) / static_cast<double>(*period)};
}

std::optional<CpuQuota> parse_cgroup1_cfs_quota(std::string_view cfs_quota_us,
                                                std::string_view cfs_period_us) {
  const auto quota = to_i64(trim(cfs_quota_us));
  const auto period = to_u64(trim(cfs_period_us));
  if (!quota || !period || *period == 0) return std::nullopt;
  if (*quota < 0) return CpuQuota{};  // -1: no quota
  return CpuQuota{.unlimited = false,
                  .cpus = static_cast<double>(*quota) / static_cast<double>(*period)};
}

std::optional<uint64_t> parse_cgroup1_cpuacct_usage_ns(std::string_view cpuacct_usage) {
  return to_u64(trim(cpuacct_usage));
}

std::optional<uint32_t> count_cpu_list(std::string_view cpu_list) {
  std::string_view text = trim(cpu_list);
  uint32_t count = 0;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text.remove_prefix(comma == std::string_view::npos ? text.size() : comma + 1);
    const size_t dash = item.find('-');
    const auto first = to_u64(item.substr(0, dash));
    const auto last = dash == std::string_view::npos ? first : to_u64(item.substr(dash + 1));
    if (!first || !last || *last < *first || *last - *first >= 1'000'000) return std::nullopt;
    count += static_cast<uint32_t>(*last - *first + 1);
  }
  return count;
}

std::optional<uint64_t> parse_cgroup_bytes(std::string_view text) {
  return to_u64(trim(text));
}

std::optional<MemoryLimit> parse_cgroup2_memory_max(std::string_view text) {
  const std::string_view value = trim(text);
  if (value == "max") return MemoryLimit{};
  const auto bytes = to_u64(value);
  if (!bytes) return std::nullopt;
  return MemoryLimit{.unlimited = false, .bytes = *bytes};
}

double percent_of(double used, double capacity) {
  if (!(capacity > 0) || !(used > 0)) return 0;  // also catches NaN
  return std::clamp(100.0 * used / capacity, 0.0, 100.0);
}

}  // namespace fairway::agent
