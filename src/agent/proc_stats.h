#pragma once
// Parsers for the kernel files fairway-agent reads: /proc/stat, /proc/meminfo, /proc/net/tcp{,6}
// and the cgroup v1/v2 CPU and memory files. Each takes the file's contents as a string and never
// touches the file system, so every format is unit-tested on fixture text. A parser returns
// nullopt when the text is not what the kernel writes; it never throws.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace fairway::agent {

// Aggregate CPU time of the machine, in USER_HZ ticks ("jiffies"), from /proc/stat's "cpu" line.
struct CpuTimes {
  uint64_t busy = 0;   // user + nice + system + irq + softirq + steal
  uint64_t total = 0;  // busy + idle + iowait (guest time is already inside user and nice)
};
std::optional<CpuTimes> parse_proc_stat(std::string_view text);

// Percent (0..100) of CPU time that was busy between two /proc/stat samples; 0 when no tick
// elapsed (two samples within the same jiffy) or the counters went backwards.
double cpu_percent_between(const CpuTimes& before, const CpuTimes& after);

// From /proc/meminfo, in KiB. available_kib is MemAvailable, or MemFree + Buffers + Cached on
// kernels older than 3.14 that lack it.
struct MemInfo {
  uint64_t total_kib = 0;
  uint64_t available_kib = 0;
};
std::optional<MemInfo> parse_meminfo(std::string_view text);

// Percent (0..100) of memory in use: 1 - available / total.
double memory_percent(const MemInfo& info);

// Counts the sockets in state ESTABLISHED (01) in /proc/net/tcp or /proc/net/tcp6 whose local
// port is one of `local_ports`, or every ESTABLISHED socket when `local_ports` is empty. The two
// files have the same layout; only the address width differs. nullopt when the header is missing
// or a line is malformed.
std::optional<uint64_t> count_established(std::string_view proc_net_tcp,
                                          const std::vector<uint16_t>& local_ports);

// A cgroup "flat keyed" file (cpu.stat, memory.stat: one "KEY VALUE" per line): KEY's value.
std::optional<uint64_t> parse_cgroup_keyed_value(std::string_view text, std::string_view key);

// cgroup v2 cpu.stat: its usage_usec line (CPU time used by the cgroup, in microseconds).
std::optional<uint64_t> parse_cgroup2_cpu_usage_usec(std::string_view cpu_stat);

// The CPUs a CFS quota allows (quota / period, e.g. 1.5), or unlimited.
struct CpuQuota {
  bool unlimited = true;
  double cpus = 0;  // meaningful when !unlimited
};
// cgroup v2 cpu.max: "max 100000" or "150000 100000".
std::optional<CpuQuota> parse_cgroup2_cpu_max(std::string_view cpu_max);
// cgroup v1 cpu.cfs_quota_us ("-1" or "150000") with cpu.cfs_period_us ("100000").
std::optional<CpuQuota> parse_cgroup1_cfs_quota(std::string_view cfs_quota_us,
                                                std::string_view cfs_period_us);

// cgroup v1 cpuacct.usage: CPU time used by the cgroup, in nanoseconds.
std::optional<uint64_t> parse_cgroup1_cpuacct_usage_ns(std::string_view cpuacct_usage);

// A CPU list as in cpuset.cpus.effective or /sys/devices/system/cpu/online ("0-3,8,10-11"):
// the number of CPUs in it. An empty list (a cpuset with no CPUs yet) is 0.
std::optional<uint32_t> count_cpu_list(std::string_view cpu_list);

// cgroup v2 memory.current: bytes in use.
std::optional<uint64_t> parse_cgroup_bytes(std::string_view text);

// cgroup v2 memory.max: "max" or bytes.
struct MemoryLimit {
  bool unlimited = true;
  uint64_t bytes = 0;  // meaningful when !unlimited
};
std::optional<MemoryLimit> parse_cgroup2_memory_max(std::string_view text);

// Percent (0..100) of `capacity` that `used` is, clamped.
double percent_of(double used, double capacity);

}  // namespace fairway::agent
