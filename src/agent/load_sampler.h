#pragma once
// Measures the server's load from the kernel's files: CPU utilization over the time between two
// measurements, memory in use, and established TCP connections on the served ports.
//
// CPU, by source:
// - whole machine (no cgroup): busy / total jiffies of /proc/stat's "cpu" line between samples;
// - cgroup v2 (DIR/cpu.stat has usage_usec): usage delta / (elapsed time x CPUs available);
// - cgroup v1 (DIR/cpuacct.usage, nanoseconds): the same.
// CPUs available: `cpus` when given; else the CFS quota, no more than the cpuset (v2
// DIR/cpuset.cpus.effective) or the machine's online CPUs. The quota: v2 DIR/cpu.max; v1
// cpu.cfs_quota_us in cpu_cgroup_v1_dir when given, else in DIR (cpu and cpuacct sharing a mount),
// else in cpu_controller_sibling(DIR). Read at every measurement, so a quota changed at run time
// counts from the next interval.
//
// Memory: /proc/meminfo (1 - MemAvailable / MemTotal); with a cgroup v2 whose memory controller
// is on: (memory.current - inactive_file) / min(memory.max, MemTotal). inactive_file is page
// cache the kernel reclaims first, left out as MemAvailable leaves it out (the "working set" of
// cAdvisor and kubectl top). cgroup v1: /proc/meminfo.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/proc_stats.h"

namespace fairway::agent {

// cgroup v1 with separate cpu and cpuacct mounts: the cpu controller's directory of the same
// cgroup, "/sys/fs/cgroup/cpuacct/web" -> "/sys/fs/cgroup/cpu/web" (the first "/cpuacct/" becomes
// "/cpu/"); empty when the path has no "/cpuacct/".
std::string cpu_controller_sibling(const std::string& cpuacct_dir);

struct LoadSources {
  std::string proc_root = "/proc";  // tests point it at a fixture directory
  std::string cgroup_dir;           // --cgroup; empty: the whole machine
  std::string cpu_cgroup_v1_dir;    // --cpu-cgroup-v1: the cpu controller's directory (quota)
  std::optional<double> cpus;       // --cpus: overrides the CPUs available to the cgroup
  std::vector<uint16_t> ports;      // --port: local ports whose connections count; empty: all
  uint32_t online_cpus = 0;         // the machine's CPUs; 0: sysconf(_SC_NPROCESSORS_ONLN)
};

struct Load {
  double cpu_percent = 0;     // 0..100
  double memory_percent = 0;  // 0..100
  uint64_t active_clients = 0;
};

struct LoadResult {
  std::optional<Load> load;
  std::string error;  // when !load: which file could not be read or parsed
};

class LoadSampler {
 public:
  explicit LoadSampler(LoadSources sources);

  // Chooses the sources (cgroup version, memory source), checks that each can be read and takes
  // the first CPU reading. Returns an error message, empty on success. `now_us`: a monotonic
  // clock in microseconds, the same clock measure() gets.
  std::string start(int64_t now_us);

  // The load since the previous measurement (or start()).
  LoadResult measure(int64_t now_us);

  // One line for the start-up log: what is measured from where.
  std::string describe() const;

 private:
  enum class CpuSource { proc_stat, cgroup2, cgroup1 };
  enum class MemorySource { meminfo, cgroup2 };

  // CPU time used so far: jiffies (busy, total) for /proc/stat; microseconds (used, -) for a
  // cgroup.
  struct CpuReading {
    uint64_t used = 0;
    uint64_t total = 0;
    int64_t at_us = 0;
  };

  std::optional<CpuReading> read_cpu(int64_t now_us, std::string& error) const;
  std::optional<double> cpus_available(std::string& error) const;
  std::optional<double> read_memory_percent(std::string& error) const;
  std::optional<uint64_t> read_active_clients(std::string& error) const;
  std::string cgroup_file(const char* name) const;

  LoadSources sources_;
  CpuSource cpu_source_ = CpuSource::proc_stat;
  MemorySource memory_source_ = MemorySource::meminfo;
  std::string quota_dir_;  // cgroup v1: where cpu.cfs_quota_us is; empty: no quota
  CpuReading previous_;
};

}  // namespace fairway::agent
