#include "agent/proc_stats.h"

#include <gtest/gtest.h>

#include <cmath>

namespace fairway::agent {
namespace {

// /proc/net/tcp as the kernel writes it (trailing spaces included). Ports: 0x0050 = 80,
// 0x1F90 = 8080, 0x0016 = 22. States: 0A LISTEN, 01 ESTABLISHED, 06 TIME_WAIT, 08 CLOSE_WAIT.
constexpr const char* kProcNetTcp =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
    "inode                                                     \n"
    "   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
    "21345 1 0000000000000000 100 0 0 10 0                      \n"
    "   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
    "21346 1 0000000000000000 100 0 0 10 0                      \n"
    "   2: 0B0112C6:0050 020012C6:A8F2 01 00000000:00000000 00:00000000 00000000     0        0 "
    "31337 1 0000000000000000 20 4 30 10 -1                     \n"
    "   3: 0B0112C6:0050 020012C6:A8F4 01 00000000:00000000 00:00000000 00000000     0        0 "
    "31338 1 0000000000000000 20 4 30 10 -1                     \n"
    "   4: 0B0112C6:1F90 020012C6:C350 01 00000000:00000000 00:00000000 00000000     0        0 "
    "31339 1 0000000000000000 20 4 30 10 -1                     \n"
    "   5: 0B0112C6:0050 020012C6:A8F6 06 00000000:00000000 03:00001770 00000000     0        0 "
    "0 3 0000000000000000                                       \n"
    "   6: 0B0112C6:0050 020012C6:A8F8 08 00000000:00000000 00:00000000 00000000     0        0 "
    "31340 1 0000000000000000 20 4 30 10 -1                     \n"
    "   7: 0B0112C6:0016 020012C6:D431 01 00000000:00000000 02:0004E2DD 00000000     0        0 "
    "31341 2 0000000000000000 20 4 31 10 -1                     \n"
    // an outgoing connection from an ephemeral port to someone else's port 80: not a client
    "   8: 0B0112C6:9C40 0A0112C6:0050 01 00000000:00000000 00:00000000 00000000  1000        0 "
    "31342 1 0000000000000000 20 4 30 10 -1                     \n";

// /proc/net/tcp6: 32 hex digits per address (2001:2::11 and 2001:2::2, in the kernel's order).
constexpr const char* kProcNetTcp6 =
    "  sl  local_address                         remote_address                        st "
    "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A "
    "00000000:00000000 00:00000000 00000000     0        0 21347 1 0000000000000000 100 0 0 10 0\n"
    "   1: 02000120000000000000000011000000:0050 02000120000000000000000002000000:B1A0 01 "
    "00000000:00000000 02:00000A3C 00000000     0        0 41001 1 0000000000000000 20 4 28 10 "
    "-1\n"
    "   2: 02000120000000000000000011000000:1F90 02000120000000000000000002000000:B1A2 01 "
    "00000000:00000000 02:00000A3C 00000000     0        0 41002 1 0000000000000000 20 4 28 10 "
    "-1\n"
    "   3: 02000120000000000000000011000000:0050 02000120000000000000000002000000:B1A4 02 "
    "00000000:00000000 01:00000064 00000002     0        0 0 2 0000000000000000\n";

TEST(ProcNetTcp, CountsEstablishedOnTheGivenLocalPorts) {
  EXPECT_EQ(count_established(kProcNetTcp, {80}), 2u);
  EXPECT_EQ(count_established(kProcNetTcp, {8080}), 1u);
  EXPECT_EQ(count_established(kProcNetTcp, {80, 8080}), 3u);
  EXPECT_EQ(count_established(kProcNetTcp, {22}), 1u);
  EXPECT_EQ(count_established(kProcNetTcp, {443}), 0u);
}

TEST(ProcNetTcp, WithoutPortsCountsEveryEstablishedConnection) {
  EXPECT_EQ(count_established(kProcNetTcp, {}), 5u);
  EXPECT_EQ(count_established(kProcNetTcp6, {}), 2u);
}

TEST(ProcNetTcp, Ipv6LinesHaveTheSameLayout) {
  EXPECT_EQ(count_established(kProcNetTcp6, {80}), 1u);  // the SYN_SENT (02) line does not count
  EXPECT_EQ(count_established(kProcNetTcp6, {8080}), 1u);
  EXPECT_EQ(count_established(kProcNetTcp6, {80, 8080}), 2u);
}

TEST(ProcNetTcp, OnlyTheHeaderIsZero) {
  EXPECT_EQ(count_established(
                "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   "
                "uid  timeout inode\n",
                {80}),
            0u);
}

TEST(ProcNetTcp, MalformedTextIsRefused) {
  EXPECT_EQ(count_established("", {80}), std::nullopt);
  EXPECT_EQ(count_established("hello\n", {80}), std::nullopt);
  EXPECT_EQ(count_established("  sl  local_address\n   0: 0B0112C6 020012C6:A8F2 01\n", {80}),
            std::nullopt);
  EXPECT_EQ(count_established("  sl  local_address\n   0: 0B0112C6:ZZ 020012C6:A8F2 01\n", {80}),
            std::nullopt);
  EXPECT_EQ(count_established("  sl  local_address\n   0: 0B0112C6:12345 0:1 01\n", {80}),
            std::nullopt);  // port above 0xffff
  EXPECT_EQ(count_established("  sl  local_address\n   0: 0B0112C6:0050\n", {80}), std::nullopt);
}

constexpr const char* kProcStat1 =
    "cpu  930847 29136 323665 700012 1123 0 194794 1088 0 0\n"
    "cpu0 373589 17116 174831 399606 321 0 123632 561 0 0\n"
    "cpu1 557258 12020 148834 300406 802 0 71162 527 0 0\n"
    "intr 123456 0 0\n"
    "ctxt 98765\n";
// 400 ticks later (2 CPUs x 2 s at USER_HZ 100): 100 user, 20 system, 10 softirq, 10 steal busy;
// 250 idle, 10 iowait; 50 of the user ticks were a guest's (already counted in user).
constexpr const char* kProcStat2 =
    "cpu  930947 29136 323685 700262 1133 0 194804 1098 50 0\n"
    "cpu0 373639 17116 174841 399731 326 0 123637 566 25 0\n";

TEST(ProcStat, BusyAndTotalTicks) {
  auto times = parse_proc_stat(kProcStat1);
  ASSERT_TRUE(times);
  EXPECT_EQ(times->busy, 930847u + 29136 + 323665 + 0 + 194794 + 1088);
  EXPECT_EQ(times->total, times->busy + 700012 + 1123);
}

TEST(ProcStat, CpuPercentBetweenTwoSamples) {
  auto before = parse_proc_stat(kProcStat1);
  auto after = parse_proc_stat(kProcStat2);
  ASSERT_TRUE(before && after);
  EXPECT_EQ(after->total - before->total, 400u);
  EXPECT_DOUBLE_EQ(cpu_percent_between(*before, *after), 100.0 * 140 / 400);  // 35%
}

TEST(ProcStat, NoTickOrCountersGoingBackIsZero) {
  auto sample = parse_proc_stat(kProcStat1);
  ASSERT_TRUE(sample);
  EXPECT_EQ(cpu_percent_between(*sample, *sample), 0);
  EXPECT_EQ(cpu_percent_between(*parse_proc_stat(kProcStat2), *sample), 0);
}

TEST(ProcStat, AllBusyAndAllIdle) {
  const CpuTimes start{.busy = 100, .total = 1000};
  EXPECT_EQ(cpu_percent_between(start, {.busy = 300, .total = 1200}), 100);
  EXPECT_EQ(cpu_percent_between(start, {.busy = 100, .total = 1200}), 0);
}

TEST(ProcStat, OldKernelWithFourColumns) {
  auto times = parse_proc_stat("cpu  100 0 50 850\n");
  ASSERT_TRUE(times);
  EXPECT_EQ(times->busy, 150u);
  EXPECT_EQ(times->total, 1000u);
}

TEST(ProcStat, MalformedIsRefused) {
  EXPECT_EQ(parse_proc_stat(""), std::nullopt);
  EXPECT_EQ(parse_proc_stat("cpu0 1 2 3 4 5 6 7 8\n"), std::nullopt);  // no aggregate line
  EXPECT_EQ(parse_proc_stat("cpu  1 2 3\n"), std::nullopt);
  EXPECT_EQ(parse_proc_stat("cpu  1 2 x 4\n"), std::nullopt);
  EXPECT_EQ(parse_proc_stat("cpu  1 2 -3 4\n"), std::nullopt);
}

constexpr const char* kMeminfo =
    "MemTotal:       24684092 kB\n"
    "MemFree:        21637504 kB\n"
    "MemAvailable:   18513069 kB\n"
    "Buffers:           30736 kB\n"
    "Cached:          2392436 kB\n"
    "SwapCached:            0 kB\n"
    "HugePages_Total:       0\n"
    "Hugepagesize:       2048 kB\n";

TEST(Meminfo, UsesMemAvailable) {
  auto info = parse_meminfo(kMeminfo);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->total_kib, 24684092u);
  EXPECT_EQ(info->available_kib, 18513069u);
  EXPECT_NEAR(memory_percent(*info), 25.0, 1e-4);  // 1 - 18513069/24684092
}

TEST(Meminfo, OldKernelWithoutMemAvailable) {
  auto info = parse_meminfo(
      "MemTotal:        1000 kB\nMemFree:          300 kB\nBuffers:           50 kB\n"
      "Cached:           150 kB\n");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->available_kib, 500u);
  EXPECT_DOUBLE_EQ(memory_percent(*info), 50.0);
}

TEST(Meminfo, MissingOrMalformedIsRefused) {
  EXPECT_EQ(parse_meminfo(""), std::nullopt);
  EXPECT_EQ(parse_meminfo("MemFree: 10 kB\n"), std::nullopt);
  EXPECT_EQ(parse_meminfo("MemTotal: 0 kB\nMemAvailable: 0 kB\n"), std::nullopt);
  EXPECT_EQ(parse_meminfo("MemTotal: 100 kB\n"), std::nullopt);
  EXPECT_EQ(parse_meminfo("MemTotal: lots kB\nMemAvailable: 1 kB\n"), std::nullopt);
}

TEST(Cgroup2, CpuStatUsage) {
  constexpr const char* kCpuStat =
      "usage_usec 8123456789\nuser_usec 6000000000\nsystem_usec 2123456789\n"
      "nr_periods 12\nnr_throttled 3\nthrottled_usec 150000\n";
  EXPECT_EQ(parse_cgroup2_cpu_usage_usec(kCpuStat), 8123456789u);
  EXPECT_EQ(parse_cgroup2_cpu_usage_usec("user_usec 1\n"), std::nullopt);
  // cgroup v1's cpu controller also has a cpu.stat, without usage_usec
  EXPECT_EQ(parse_cgroup2_cpu_usage_usec("nr_periods 0\nnr_throttled 0\nthrottled_time 0\n"),
            std::nullopt);
}

TEST(Cgroup2, CpuMax) {
  auto unlimited = parse_cgroup2_cpu_max("max 100000\n");
  ASSERT_TRUE(unlimited);
  EXPECT_TRUE(unlimited->unlimited);
  auto one_and_a_half = parse_cgroup2_cpu_max("150000 100000\n");
  ASSERT_TRUE(one_and_a_half);
  EXPECT_FALSE(one_and_a_half->unlimited);
  EXPECT_DOUBLE_EQ(one_and_a_half->cpus, 1.5);
  EXPECT_DOUBLE_EQ(parse_cgroup2_cpu_max("50000 100000")->cpus, 0.5);
  EXPECT_EQ(parse_cgroup2_cpu_max(""), std::nullopt);
  EXPECT_EQ(parse_cgroup2_cpu_max("max"), std::nullopt);
  EXPECT_EQ(parse_cgroup2_cpu_max("150000 0"), std::nullopt);
  EXPECT_EQ(parse_cgroup2_cpu_max("150000 100000 7"), std::nullopt);
  EXPECT_EQ(parse_cgroup2_cpu_max("lots 100000"), std::nullopt);
}

TEST(Cgroup2, Memory) {
  EXPECT_EQ(parse_cgroup_bytes("104857600\n"), 104857600u);
  EXPECT_EQ(parse_cgroup_bytes("max\n"), std::nullopt);
  auto unlimited = parse_cgroup2_memory_max("max\n");
  ASSERT_TRUE(unlimited);
  EXPECT_TRUE(unlimited->unlimited);
  auto limit = parse_cgroup2_memory_max("536870912\n");
  ASSERT_TRUE(limit);
  EXPECT_FALSE(limit->unlimited);
  EXPECT_EQ(limit->bytes, 536870912u);
  EXPECT_EQ(parse_cgroup2_memory_max("-1"), std::nullopt);
  EXPECT_EQ(parse_cgroup_keyed_value("anon 100\nfile 200\ninactive_file 150\n", "inactive_file"),
            150u);
  EXPECT_EQ(parse_cgroup_keyed_value("anon 100\n", "inactive_file"), std::nullopt);
}

TEST(Cgroup1, CfsQuota) {
  auto unlimited = parse_cgroup1_cfs_quota("-1\n", "100000\n");
  ASSERT_TRUE(unlimited);
  EXPECT_TRUE(unlimited->unlimited);
  auto quarter = parse_cgroup1_cfs_quota("25000\n", "100000\n");
  ASSERT_TRUE(quarter);
  EXPECT_FALSE(quarter->unlimited);
  EXPECT_DOUBLE_EQ(quarter->cpus, 0.25);
  EXPECT_DOUBLE_EQ(parse_cgroup1_cfs_quota("200000", "50000")->cpus, 4.0);
  EXPECT_EQ(parse_cgroup1_cfs_quota("x", "100000"), std::nullopt);
  EXPECT_EQ(parse_cgroup1_cfs_quota("25000", "0"), std::nullopt);
}

TEST(Cgroup1, CpuacctUsage) {
  EXPECT_EQ(parse_cgroup1_cpuacct_usage_ns("123456789012\n"), 123456789012u);
  EXPECT_EQ(parse_cgroup1_cpuacct_usage_ns(""), std::nullopt);
  EXPECT_EQ(parse_cgroup1_cpuacct_usage_ns("12 34"), std::nullopt);
}

TEST(CpuList, CountsRangesAndSingles) {
  EXPECT_EQ(count_cpu_list("0-3\n"), 4u);
  EXPECT_EQ(count_cpu_list("0-3,8,10-11\n"), 7u);
  EXPECT_EQ(count_cpu_list("5"), 1u);
  EXPECT_EQ(count_cpu_list("\n"), 0u);
  EXPECT_EQ(count_cpu_list("3-1"), std::nullopt);
  EXPECT_EQ(count_cpu_list("0-"), std::nullopt);
  EXPECT_EQ(count_cpu_list("a"), std::nullopt);
}

TEST(Percent, ClampedAndSafe) {
  EXPECT_DOUBLE_EQ(percent_of(1, 4), 25);
  EXPECT_EQ(percent_of(5, 4), 100);
  EXPECT_EQ(percent_of(-1, 4), 0);
  EXPECT_EQ(percent_of(1, 0), 0);
  EXPECT_EQ(percent_of(std::nan(""), 4), 0);
}

}  // namespace
}  // namespace fairway::agent
