#include "agent/load_sampler.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace fairway::agent {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSecondUs = 1'000'000;

// A fake /proc and cgroup directory in a temporary directory.
class LoadSamplerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/fairway-agent-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
    fs::create_directories(root_ / "proc" / "net");
    fs::create_directories(root_ / "cgroup");
    write("proc/stat", "cpu  100 0 100 800 0 0 0 0 0 0\n");
    write("proc/meminfo", "MemTotal: 1000000 kB\nMemFree: 100000 kB\nMemAvailable: 750000 kB\n");
    write("proc/net/tcp",
          "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n"
          "   0: 0B0112C6:0050 020012C6:A8F2 01 00000000:00000000 00:00000000 00000000 0\n"
          "   1: 0B0112C6:0050 020012C6:A8F4 01 00000000:00000000 00:00000000 00000000 0\n"
          "   2: 0B0112C6:0016 020012C6:A8F6 01 00000000:00000000 00:00000000 00000000 0\n");
  }
  void TearDown() override { fs::remove_all(root_); }

  void write(const std::string& relative, const std::string& text) {
    std::ofstream(root_ / relative) << text;
  }

  LoadSources sources(bool with_cgroup) const {
    LoadSources s;
    s.proc_root = root_ / "proc";
    if (with_cgroup) s.cgroup_dir = root_ / "cgroup";
    s.ports = {80};
    s.online_cpus = 8;
    return s;
  }

  fs::path root_;
};

TEST_F(LoadSamplerTest, WholeMachineFromProc) {
  LoadSampler sampler(sources(false));
  ASSERT_EQ(sampler.start(0), "");
  write("proc/stat", "cpu  150 0 150 900 0 0 0 0 0 0\n");  // +100 busy of +200
  LoadResult result = sampler.measure(kSecondUs);
  ASSERT_TRUE(result.load) << result.error;
  EXPECT_DOUBLE_EQ(result.load->cpu_percent, 50);
  EXPECT_DOUBLE_EQ(result.load->memory_percent, 25);
  EXPECT_EQ(result.load->active_clients, 2u);  // port 80 only; no tcp6 file is fine
  EXPECT_EQ(sampler.describe(), "cpu: " + (root_ / "proc/stat").string() +
                                    "; memory: " + (root_ / "proc/meminfo").string() +
                                    "; clients: ESTABLISHED in " + (root_ / "proc").string() +
                                    "/net/tcp{,6} on local ports 80");
}

TEST_F(LoadSamplerTest, CgroupV2UsageOverQuotaAndMemoryWorkingSet) {
  write("cgroup/cpu.stat", "usage_usec 5000000\nuser_usec 4000000\nsystem_usec 1000000\n");
  write("cgroup/cpu.max", "200000 100000\n");  // 2 CPUs
  write("cgroup/memory.current", "400000000\n");
  write("cgroup/memory.stat", "anon 200000000\ninactive_file 100000000\n");
  write("cgroup/memory.max", "600000000\n");
  LoadSampler sampler(sources(true));
  ASSERT_EQ(sampler.start(10 * kSecondUs), "");
  write("cgroup/cpu.stat", "usage_usec 6500000\n");  // 1.5 s of CPU in 1 s over 2 CPUs: 75%
  LoadResult result = sampler.measure(11 * kSecondUs);
  ASSERT_TRUE(result.load) << result.error;
  EXPECT_DOUBLE_EQ(result.load->cpu_percent, 75);
  EXPECT_DOUBLE_EQ(result.load->memory_percent, 50);  // (400 - 100) / 600 MB

  write("cgroup/cpu.max", "max 100000\n");  // no quota: the cpuset limits, else the machine
  write("cgroup/cpuset.cpus.effective", "0-2\n");
  write("cgroup/cpu.stat", "usage_usec 7400000\n");  // 0.9 s in 0.5 s over 3 CPUs: 60%
  write("cgroup/memory.max", "max\n");               // the machine's MemTotal: 1 024 000 000 bytes
  result = sampler.measure(11 * kSecondUs + kSecondUs / 2);
  ASSERT_TRUE(result.load) << result.error;
  EXPECT_DOUBLE_EQ(result.load->cpu_percent, 60);
  EXPECT_DOUBLE_EQ(result.load->memory_percent, 100.0 * 300'000'000 / 1'024'000'000);
}

TEST_F(LoadSamplerTest, CpusFlagOverridesTheQuotaAndUsageIsClamped) {
  write("cgroup/cpu.stat", "usage_usec 0\n");
  write("cgroup/cpu.max", "100000 100000\n");
  LoadSources s = sources(true);
  s.cpus = 4;
  LoadSampler sampler(s);
  ASSERT_EQ(sampler.start(0), "");
  write("cgroup/cpu.stat", "usage_usec 1000000\n");
  EXPECT_DOUBLE_EQ(sampler.measure(kSecondUs).load->cpu_percent, 25);
  write("cgroup/cpu.stat", "usage_usec 9000000\n");  // more than 4 CPUs could: clamped
  EXPECT_DOUBLE_EQ(sampler.measure(2 * kSecondUs).load->cpu_percent, 100);
  write("cgroup/cpu.stat", "usage_usec 10\n");  // re-created cgroup: counter went back
  EXPECT_DOUBLE_EQ(sampler.measure(3 * kSecondUs).load->cpu_percent, 0);
}

TEST_F(LoadSamplerTest, CgroupV1CpuacctWithQuotaInTheCpuControllerDirectory) {
  write("cgroup/cpuacct.usage", "1000000000\n");  // ns
  fs::create_directories(root_ / "cpu");
  write("cpu/cpu.cfs_quota_us", "50000\n");  // half a CPU
  write("cpu/cpu.cfs_period_us", "100000\n");
  LoadSources s = sources(true);
  s.cpu_cgroup_v1_dir = root_ / "cpu";
  LoadSampler sampler(s);
  ASSERT_EQ(sampler.start(0), "");
  write("cgroup/cpuacct.usage", "1400000000\n");  // 0.4 s in 1 s of 0.5 CPU: 80%
  LoadResult result = sampler.measure(kSecondUs);
  ASSERT_TRUE(result.load) << result.error;
  EXPECT_DOUBLE_EQ(result.load->cpu_percent, 80);
  EXPECT_DOUBLE_EQ(result.load->memory_percent, 25);  // v1: /proc/meminfo
  EXPECT_NE(sampler.describe().find("cgroup v1"), std::string::npos);

  write("cpu/cpu.cfs_quota_us", "-1\n");          // quota lifted: the machine's 8 CPUs
  write("cgroup/cpuacct.usage", "3000000000\n");  // 1.6 s in 1 s of 8 CPUs: 20%
  EXPECT_DOUBLE_EQ(sampler.measure(2 * kSecondUs).load->cpu_percent, 20);
}

TEST_F(LoadSamplerTest, CgroupV1QuotaFoundInTheSiblingCpuMount) {
  fs::create_directories(root_ / "cpuacct" / "web");
  fs::create_directories(root_ / "cpu" / "web");
  write("cpuacct/web/cpuacct.usage", "0\n");
  write("cpu/web/cpu.cfs_quota_us", "25000\n");
  write("cpu/web/cpu.cfs_period_us", "100000\n");
  LoadSources s = sources(false);
  s.cgroup_dir = root_ / "cpuacct" / "web";
  LoadSampler sampler(s);
  ASSERT_EQ(sampler.start(0), "");
  write("cpuacct/web/cpuacct.usage", "200000000\n");  // 0.2 s in 1 s of 0.25 CPU: 80%
  EXPECT_DOUBLE_EQ(sampler.measure(kSecondUs).load->cpu_percent, 80);
  EXPECT_NE(sampler.describe().find("0.25 CPUs (quota in " + (root_ / "cpu/web").string()),
            std::string::npos)
      << sampler.describe();
}

TEST(CpuControllerSibling, ReplacesTheMountsCpuacctComponent) {
  EXPECT_EQ(cpu_controller_sibling("/sys/fs/cgroup/cpuacct/web"), "/sys/fs/cgroup/cpu/web");
  EXPECT_EQ(cpu_controller_sibling("/sys/fs/cgroup/cpuacct/cpuacct/web"),
            "/sys/fs/cgroup/cpu/cpuacct/web");
  EXPECT_EQ(cpu_controller_sibling("/sys/fs/cgroup/cpu,cpuacct/web"), "");
  EXPECT_EQ(cpu_controller_sibling("/sys/fs/cgroup/unified/web"), "");
}

TEST_F(LoadSamplerTest, CgroupV1CombinedCpuAndCpuacctMount) {
  write("cgroup/cpuacct.usage", "0\n");
  write("cgroup/cpu.cfs_quota_us", "100000\n");
  write("cgroup/cpu.cfs_period_us", "100000\n");
  LoadSampler sampler(sources(true));
  ASSERT_EQ(sampler.start(0), "");
  write("cgroup/cpuacct.usage", "300000000\n");
  EXPECT_DOUBLE_EQ(sampler.measure(kSecondUs).load->cpu_percent, 30);

  // --cpu-cgroup-v1, when given, is where the quota is read even so
  fs::create_directories(root_ / "cpu");
  write("cpu/cpu.cfs_quota_us", "50000\n");
  write("cpu/cpu.cfs_period_us", "100000\n");
  LoadSources s = sources(true);
  s.cpu_cgroup_v1_dir = root_ / "cpu";
  LoadSampler named(s);
  ASSERT_EQ(named.start(0), "");
  write("cgroup/cpuacct.usage", "600000000\n");  // 0.3 s in 1 s of 0.5 CPU: 60%
  EXPECT_DOUBLE_EQ(named.measure(kSecondUs).load->cpu_percent, 60);
}

TEST_F(LoadSamplerTest, StartRefusesWhatItCannotRead) {
  EXPECT_NE(LoadSampler(sources(true)).start(0).find("neither a cgroup v2 directory"),
            std::string::npos);
  write("cgroup/cpu.stat", "usage_usec 1\n");
  LoadSources v1_flag_on_v2 = sources(true);
  v1_flag_on_v2.cpu_cgroup_v1_dir = root_ / "cpu";
  EXPECT_NE(LoadSampler(v1_flag_on_v2).start(0).find("--cpu-cgroup-v1 is for v1 only"),
            std::string::npos);
  write("cgroup/cpu.max", "lots\n");
  EXPECT_NE(LoadSampler(sources(true)).start(0).find("cpu.max"), std::string::npos);
  fs::remove(root_ / "proc/net/tcp");
  EXPECT_NE(LoadSampler(sources(false)).start(0).find("net/tcp: No such file"), std::string::npos);
}

TEST_F(LoadSamplerTest, MeasureReportsAFileThatWentAway) {
  LoadSampler sampler(sources(false));
  ASSERT_EQ(sampler.start(0), "");
  fs::remove(root_ / "proc/meminfo");
  LoadResult result = sampler.measure(kSecondUs);
  EXPECT_FALSE(result.load);
  EXPECT_NE(result.error.find("meminfo"), std::string::npos);
}

}  // namespace
}  // namespace fairway::agent
