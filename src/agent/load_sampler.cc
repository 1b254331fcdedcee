#include "agent/load_sampler.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <string_view>
#include <utility>

#include "agent/files.h"

namespace fairway::agent {

std::string cpu_controller_sibling(const std::string& cpuacct_dir) {
  constexpr std::string_view kCpuacct = "/cpuacct/";
  const size_t at = cpuacct_dir.find(kCpuacct);  // the mount point, not a cgroup named so
  if (at == std::string::npos) return {};
  std::string sibling = cpuacct_dir;
  sibling.replace(at, kCpuacct.size(), "/cpu/");
  return sibling;
}

LoadSampler::LoadSampler(LoadSources sources) : sources_(std::move(sources)) {
  if (sources_.online_cpus == 0) {
    const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
    sources_.online_cpus = online > 0 ? static_cast<uint32_t>(online) : 1;
  }
}

std::string LoadSampler::cgroup_file(const char* name) const {
  return sources_.cgroup_dir + "/" + name;
}

std::string LoadSampler::start(int64_t now_us) {
  std::string error;
  if (sources_.cpus && !(*sources_.cpus > 0)) return "--cpus must be more than 0";
  if (!sources_.cgroup_dir.empty()) {
    std::string ignored;
    auto cpu_stat = read_file(cgroup_file("cpu.stat"), ignored);
    if (cpu_stat && parse_cgroup2_cpu_usage_usec(*cpu_stat)) {
      cpu_source_ = CpuSource::cgroup2;
      if (!sources_.cpu_cgroup_v1_dir.empty()) {
        return sources_.cgroup_dir + " is a cgroup v2 directory: --cpu-cgroup-v1 is for v1 only";
      }
      if (file_exists(cgroup_file("memory.current"))) memory_source_ = MemorySource::cgroup2;
    } else if (file_exists(cgroup_file("cpuacct.usage"))) {
      cpu_source_ = CpuSource::cgroup1;
      // cpu and cpuacct often share one mount ("cpu,cpuacct"); when they do not, the quota is in
      // the cpu controller's directory: the one the operator names, else the same cgroup under
      // a "cpu" mount beside the "cpuacct" one (/sys/fs/cgroup/cpuacct/web -> .../cpu/web).
      const std::string sibling = cpu_controller_sibling(sources_.cgroup_dir);
      if (!sources_.cpu_cgroup_v1_dir.empty()) {
        quota_dir_ = sources_.cpu_cgroup_v1_dir;
      } else if (file_exists(cgroup_file("cpu.cfs_quota_us"))) {
        quota_dir_ = sources_.cgroup_dir;
      } else if (!sibling.empty() && file_exists(sibling + "/cpu.cfs_quota_us")) {
        quota_dir_ = sibling;
      }
    } else {
      return sources_.cgroup_dir +
             " is neither a cgroup v2 directory (cpu.stat with usage_usec) nor a cgroup v1 "
             "cpuacct directory (cpuacct.usage)";
    }
    if (!cpus_available(error)) return error;
  }
  if (!read_memory_percent(error) || !read_active_clients(error)) return error;
  auto reading = read_cpu(now_us, error);
  if (!reading) return error;
  previous_ = *reading;
  return {};
}

LoadResult LoadSampler::measure(int64_t now_us) {
  LoadResult result;
  auto reading = read_cpu(now_us, result.error);
  if (!reading) return result;
  Load load;
  if (cpu_source_ == CpuSource::proc_stat) {
    load.cpu_percent = cpu_percent_between({.busy = previous_.used, .total = previous_.total},
                                           {.busy = reading->used, .total = reading->total});
  } else {
    auto cpus = cpus_available(result.error);
    if (!cpus) return result;
    // A counter that went backwards means the cgroup was re-created: no usage to report yet.
    if (reading->used >= previous_.used && reading->at_us > previous_.at_us) {
      load.cpu_percent = percent_of(static_cast<double>(reading->used - previous_.used),
                                    static_cast<double>(reading->at_us - previous_.at_us) * *cpus);
    }
  }
  previous_ = *reading;
  auto memory = read_memory_percent(result.error);
  if (!memory) return result;
  load.memory_percent = *memory;
  auto clients = read_active_clients(result.error);
  if (!clients) return result;
  load.active_clients = *clients;
  result.load = load;
  return result;
}

std::optional<LoadSampler::CpuReading> LoadSampler::read_cpu(int64_t now_us,
                                                             std::string& error) const {
  switch (cpu_source_) {
    case CpuSource::proc_stat: {
      const std::string path = sources_.proc_root + "/stat";
      auto text = read_file(path, error);
      if (!text) return std::nullopt;
      auto times = parse_proc_stat(*text);
      if (!times) {
        error = path + ": no \"cpu\" line with at least 4 counters";
        return std::nullopt;
      }
      return CpuReading{.used = times->busy, .total = times->total, .at_us = now_us};
    }
    case CpuSource::cgroup2: {
      const std::string path = cgroup_file("cpu.stat");
      auto text = read_file(path, error);
      if (!text) return std::nullopt;
      auto usage_us = parse_cgroup2_cpu_usage_usec(*text);
      if (!usage_us) {
        error = path + ": no usage_usec line";
        return std::nullopt;
      }
      return CpuReading{.used = *usage_us, .at_us = now_us};
    }
    case CpuSource::cgroup1: {
      const std::string path = cgroup_file("cpuacct.usage");
      auto text = read_file(path, error);
      if (!text) return std::nullopt;
      auto usage_ns = parse_cgroup1_cpuacct_usage_ns(*text);
      if (!usage_ns) {
        error = path + ": not a number of nanoseconds";
        return std::nullopt;
      }
      return CpuReading{.used = *usage_ns / 1000, .at_us = now_us};
    }
  }
  return std::nullopt;
}

std::optional<double> LoadSampler::cpus_available(std::string& error) const {
  if (sources_.cpus) return *sources_.cpus;
  double ceiling = sources_.online_cpus;
  CpuQuota quota;  // unlimited
  std::string ignored;
  if (cpu_source_ == CpuSource::cgroup2) {
    if (auto cpuset = read_file(cgroup_file("cpuset.cpus.effective"), ignored)) {
      auto count = count_cpu_list(*cpuset);
      if (count && *count > 0) ceiling = std::min(ceiling, static_cast<double>(*count));
    }
    // The root cgroup has no cpu.max: no quota.
    if (auto cpu_max = read_file(cgroup_file("cpu.max"), ignored)) {
      auto parsed = parse_cgroup2_cpu_max(*cpu_max);
      if (!parsed) {
        error = cgroup_file("cpu.max") + ": expected \"max PERIOD\" or \"QUOTA PERIOD\"";
        return std::nullopt;
      }
      quota = *parsed;
    }
  } else if (cpu_source_ == CpuSource::cgroup1 && !quota_dir_.empty()) {
    auto quota_us = read_file(quota_dir_ + "/cpu.cfs_quota_us", error);
    if (!quota_us) return std::nullopt;
    auto period_us = read_file(quota_dir_ + "/cpu.cfs_period_us", error);
    if (!period_us) return std::nullopt;
    auto parsed = parse_cgroup1_cfs_quota(*quota_us, *period_us);
    if (!parsed) {
      error = quota_dir_ + "/cpu.cfs_quota_us, cpu.cfs_period_us: expected numbers";
      return std::nullopt;
    }
    quota = *parsed;
  }
  if (quota.unlimited) return ceiling;
  return std::min(quota.cpus, ceiling);
}

std::optional<double> LoadSampler::read_memory_percent(std::string& error) const {
  const std::string meminfo_path = sources_.proc_root + "/meminfo";
  auto meminfo_text = read_file(meminfo_path, error);
  if (!meminfo_text) return std::nullopt;
  auto meminfo = parse_meminfo(*meminfo_text);
  if (!meminfo) {
    error = meminfo_path + ": no MemTotal, or neither MemAvailable nor MemFree";
    return std::nullopt;
  }
  if (memory_source_ == MemorySource::meminfo) return memory_percent(*meminfo);

  auto current_text = read_file(cgroup_file("memory.current"), error);
  if (!current_text) return std::nullopt;
  auto current = parse_cgroup_bytes(*current_text);
  if (!current) {
    error = cgroup_file("memory.current") + ": not a number of bytes";
    return std::nullopt;
  }
  std::string ignored;
  uint64_t inactive_file = 0;
  if (auto stat = read_file(cgroup_file("memory.stat"), ignored)) {
    inactive_file = parse_cgroup_keyed_value(*stat, "inactive_file").value_or(0);
  }
  double capacity = static_cast<double>(meminfo->total_kib) * 1024;
  if (auto max_text = read_file(cgroup_file("memory.max"), ignored)) {
    auto limit = parse_cgroup2_memory_max(*max_text);
    if (!limit) {
      error = cgroup_file("memory.max") + ": expected \"max\" or a number of bytes";
      return std::nullopt;
    }
    if (!limit->unlimited) capacity = std::min(capacity, static_cast<double>(limit->bytes));
  }
  return percent_of(static_cast<double>(*current - std::min(inactive_file, *current)), capacity);
}

std::optional<uint64_t> LoadSampler::read_active_clients(std::string& error) const {
  uint64_t total = 0;
  for (const char* name : {"/net/tcp", "/net/tcp6"}) {
    const std::string path = sources_.proc_root + name;
    std::string read_error;
    auto text = read_file(path, read_error);
    if (!text) {
      if (name == std::string_view("/net/tcp6")) continue;  // a kernel without IPv6
      error = read_error;
      return std::nullopt;
    }
    auto count = count_established(*text, sources_.ports);
    if (!count) {
      error = path + ": not in /proc/net/tcp's format";
      return std::nullopt;
    }
    total += *count;
  }
  return total;
}

std::string LoadSampler::describe() const {
  std::string cpu;
  switch (cpu_source_) {
    case CpuSource::proc_stat:
      cpu = sources_.proc_root + "/stat";
      break;
    case CpuSource::cgroup2:
      cpu = "cgroup v2 " + cgroup_file("cpu.stat");
      break;
    case CpuSource::cgroup1:
      cpu = "cgroup v1 " + cgroup_file("cpuacct.usage");
      break;
  }
  if (cpu_source_ != CpuSource::proc_stat) {
    std::string ignored;
    auto cpus = cpus_available(ignored);
    cpu.append(" over ");
    cpu.append(cpus ? fmt::format("{:g}", *cpus) : std::string("?"));
    cpu.append(sources_.cpus                       ? " CPUs (--cpus)"
               : !quota_dir_.empty()               ? " CPUs (quota in " + quota_dir_ + ")"
               : cpu_source_ == CpuSource::cgroup2 ? " CPUs (cpu.max, cpuset)"
                                                   : " CPUs (no quota: online CPUs)");
  }
  std::string memory = memory_source_ == MemorySource::cgroup2
                           ? "cgroup v2 " + cgroup_file("memory.current")
                           : sources_.proc_root + "/meminfo";
  std::string ports;
  for (uint16_t port : sources_.ports) {
    ports.append(ports.empty() ? "" : ",");
    ports.append(std::to_string(port));
  }
  std::string clients = "ESTABLISHED in " + sources_.proc_root + "/net/tcp{,6}";
  clients.append(ports.empty() ? " (all ports)" : " on local ports " + ports);
  std::string text = "cpu: ";
  text.append(cpu).append("; memory: ").append(memory).append("; clients: ").append(clients);
  return text;
}

}  // namespace fairway::agent
