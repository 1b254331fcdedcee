#include "api/metrics.h"

#include <gtest/gtest.h>

namespace fairway {
namespace {

WorkerState worker(uint32_t index, uint64_t rx, uint64_t dsr, uint64_t version, uint64_t flows) {
  WorkerState w;
  w.index = index;
  w.lcore = index + 1;
  w.snapshot_version = version;
  w.flows = flows;
  w.counters.rx_packets = rx;
  w.counters.dsr_forwarded = dsr;
  return w;
}

BackendStatus backend(const char* name, uint32_t weight, const char* state, BackendTraffic traffic,
                      BackendStatus::Health health) {
  BackendStatus b;
  b.backend = name;
  b.weight = weight;
  b.effective_weight = weight;
  b.state = state;
  b.traffic = traffic;
  b.health = health;
  return b;
}

Stats stats() {
  Stats s;
  s.snapshot_version = 7;
  s.last_publication_us = 2.5;
  s.flow_capacity_per_worker = 1024;
  s.workers = {worker(0, 100, 90, 7, 12), worker(1, 50, 40, 6, 4)};
  s.workers[0].counters.drops[static_cast<size_t>(DropReason::not_for_us)] = 3;
  PortStatus client;
  client.name = "client";
  client.device.rx_packets = 150;
  client.device.tx_packets = 5;
  s.ports = {client};
  ServiceStatus web;
  web.name = "web";
  web.accepting = true;
  web.events.syns = 11;
  web.backends = {
      backend("198.18.1.11:80", 2, "up", {9, 90, 9000, 80, 64000, 1}, {"up", 4, 1, ""}),
      backend("[2001:2::12]:80", 1, "down", {3, 30, 3000, 0, 0, 0}, {"down", 4, 4, "refused"}),
      backend("198.18.1.13:80", 1, "drained", {}, {})};
  web.backends[0].flows = FlowCounts{6, 2};
  s.services = {web};
  s.agents.reports.accepted = 5;
  s.agents.reports.rejected[static_cast<size_t>(ReportRejection::replayed)] = 2;
  return s;
}

bool has(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

TEST(Metrics, EveryCounterAppearsPerWorkerWithPrometheusNaming) {
  const std::string text = render_metrics(stats());
  for (const char* line : {
           "# TYPE fairway_rx_packets_total counter\n",
           "fairway_rx_packets_total{worker=\"0\"} 100\n",
           "fairway_rx_packets_total{worker=\"1\"} 50\n",
           "fairway_drops_total{worker=\"0\",reason=\"not_for_us\"} 3\n",
           "fairway_flows{worker=\"1\"} 4\n",
           "fairway_worker_snapshot_version{worker=\"1\"} 6\n",
           "fairway_snapshot_version 7\n",
           "fairway_port_rx_packets_total{port=\"client\"} 150\n",
           "fairway_last_publication_seconds 2.5e-06\n",
           "fairway_agent_reports_total{result=\"accepted\"} 5\n",
           "fairway_agent_reports_total{result=\"replayed\"} 2\n",
       }) {
    EXPECT_TRUE(has(text, line)) << line << text;
  }
}

TEST(Metrics, EverySeriesIsThereFromTheStart) {
  const std::string text = render_metrics(stats());
  // Drop reasons and refusals that never happened are there, at zero: rate() needs no gap.
  EXPECT_TRUE(has(text, "fairway_drops_total{worker=\"1\",reason=\"not_for_us\"} 0\n"));
  EXPECT_TRUE(has(text, "fairway_drops_total{worker=\"0\",reason=\"strict_no_flow\"} 0\n"));
  EXPECT_TRUE(has(text, "fairway_agent_reports_total{result=\"bad_signature\"} 0\n"));
  EXPECT_TRUE(has(text, "fairway_kernel_sent_total{class=\"control\"} 0\n"));
  EXPECT_TRUE(has(text, "fairway_service_syn_cookies_sent_total{service=\"web\"} 0\n"));
}

TEST(Metrics, PerServiceAndBackend) {
  const std::string text = render_metrics(stats());
  for (const char* line :
       {"fairway_backend_flows_created_total{service=\"web\",backend=\"198.18.1.11:80\"} 9\n",
        "fairway_backend_flows_created_total{service=\"web\",backend=\"[2001:2::12]:80\"} 3\n",
        "fairway_backend_weight{service=\"web\",backend=\"198.18.1.11:80\"} 2\n",
        "fairway_backend_flows_reset_total{service=\"web\",backend=\"198.18.1.11:80\"} 1\n",
        "fairway_backend_packets_total{service=\"web\",backend=\"198.18.1.11:80\","
        "direction=\"in\"} 90\n",
        "fairway_backend_packets_total{service=\"web\",backend=\"198.18.1.11:80\","
        "direction=\"out\"} 80\n",
        "fairway_backend_bytes_total{service=\"web\",backend=\"[2001:2::12]:80\","
        "direction=\"in\"} 3000\n",
        "fairway_backend_bytes_total{service=\"web\",backend=\"198.18.1.11:80\","
        "direction=\"out\"} 64000\n",
        "fairway_backend_up{service=\"web\",backend=\"198.18.1.11:80\"} 1\n",
        "fairway_backend_flows{service=\"web\",backend=\"198.18.1.11:80\",state=\"active\"} 6\n",
        "fairway_backend_flows{service=\"web\",backend=\"198.18.1.11:80\",state=\"inactive\"} 2\n",
        "fairway_backend_up{service=\"web\",backend=\"[2001:2::12]:80\"} 0\n",
        "fairway_backend_up{service=\"web\",backend=\"198.18.1.13:80\"} 0\n",
        "fairway_backend_healthy{service=\"web\",backend=\"[2001:2::12]:80\"} 0\n",
        "fairway_backend_health_check_failures_total{service=\"web\",backend=\"198.18.1.11:80\"} "
        "1\n",
        "fairway_service_syns_total{service=\"web\"} 11\n",
        "fairway_service_accepting{service=\"web\"} 1\n", "fairway_flow_table_capacity 1024\n"}) {
    EXPECT_TRUE(has(text, line)) << line << text;
  }
  // not health-checked: no health sample
  EXPECT_FALSE(has(text, "fairway_backend_healthy{service=\"web\",backend=\"198.18.1.13:80\"}"));
}

TEST(Metrics, LabelValuesAreEscaped) {
  Stats s = stats();
  s.services[0].name = "we\"b\\\n";
  const std::string text = render_metrics(s);
  EXPECT_TRUE(has(text, "fairway_service_accepting{service=\"we\\\"b\\\\\\n\"} 1\n")) << text;
}

// Every sample line belongs to a family announced by a TYPE line before it.
TEST(Metrics, EverySampleHasATypeLine) {
  const std::string text = render_metrics(stats());
  std::string typed;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      typed = line.substr(7, line.find(' ', 7) - 7);
    } else if (line[0] != '#') {
      EXPECT_EQ(line.substr(0, typed.size()), typed) << line;
    }
  }
}

TEST(Metrics, BuildInfoAndBusyTimeInSeconds) {
  Stats s;
  s.snapshot_version = 1;
  s.tsc_hz = 2'000'000'000;
  s.workers = {worker(0, 0, 0, 1, 0)};
  s.workers[0].counters.busy_cycles = 3'000'000'000;
  const std::string text = render_metrics(s);
  EXPECT_TRUE(has(text, "fairway_build_info{version=\"" FAIRWAY_VERSION "\"} 1\n")) << text;
  EXPECT_TRUE(has(text, "# TYPE fairway_worker_busy_seconds_total counter\n"));
  EXPECT_TRUE(has(text, "fairway_worker_busy_seconds_total{worker=\"0\"} 1.5\n")) << text;
  EXPECT_FALSE(has(text, "fairway_busy_cycles_total")) << "cycles of this machine's TSC";
  s.tsc_hz = 0;  // without the clock's rate no busy time is made up
  EXPECT_FALSE(has(render_metrics(s), "fairway_worker_busy_seconds_total"));
}

}  // namespace
}  // namespace fairway
