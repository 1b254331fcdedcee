#include "api/metrics.h"

#include <gtest/gtest.h>

namespace fairway {
namespace {

const nlohmann::json kStats = nlohmann::json::parse(R"({
  "snapshot_version": 7, "last_publication_us": 2.5,
  "workers": [
    {"worker": 0, "lcore": 1, "snapshot_version": 7, "flows": 12,
     "counters": {"rx_packets": 100, "dsr_forwarded": 90, "drops": {"not_for_us": 3}}},
    {"worker": 1, "lcore": 2, "snapshot_version": 6, "flows": 4,
     "counters": {"rx_packets": 50, "dsr_forwarded": 40, "drops": {}}}],
  "ports": [{"name": "client", "device": {"rx_packets": 150, "tx_packets": 5}}],
  "flow_capacity_per_worker": 1024,
  "services": [{"name": "web", "accepting": true, "backends": [
    {"backend": "198.18.1.11:80", "weight": 2, "state": "up", "flows_created": 9,
     "flows_reset": 1, "packets_in": 90, "bytes_in": 9000, "packets_out": 80, "bytes_out": 64000,
     "health": {"state": "up", "checks": 4, "failures": 1, "last_error": ""}},
    {"backend": "[2001:2::12]:80", "weight": 1, "state": "down", "flows_created": 3,
     "flows_reset": 0, "packets_in": 30, "bytes_in": 3000, "packets_out": 0, "bytes_out": 0,
     "health": {"state": "down", "checks": 4, "failures": 4, "last_error": "refused"}},
    {"backend": "198.18.1.13:80", "weight": 1, "state": "drained", "flows_created": 0,
     "flows_reset": 0, "packets_in": 0, "bytes_in": 0, "packets_out": 0, "bytes_out": 0,
     "health": {"state": "unchecked"}}]}]
})");

TEST(Metrics, EveryCounterAppearsPerWorkerWithPrometheusNaming) {
  const std::string text = render_metrics(kStats);
  EXPECT_NE(text.find("# TYPE fairway_rx_packets_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("fairway_rx_packets_total{worker=\"0\"} 100\n"), std::string::npos);
  EXPECT_NE(text.find("fairway_rx_packets_total{worker=\"1\"} 50\n"), std::string::npos);
  EXPECT_NE(text.find("fairway_drops_total{worker=\"0\",reason=\"not_for_us\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("fairway_flows{worker=\"1\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("fairway_worker_snapshot_version{worker=\"1\"} 6\n"), std::string::npos);
  EXPECT_NE(text.find("fairway_snapshot_version 7\n"), std::string::npos);
  EXPECT_NE(text.find("fairway_port_rx_packets_total{port=\"client\"} 150\n"), std::string::npos);
  EXPECT_NE(text.find("fairway_last_publication_seconds 2.5e-06\n"), std::string::npos);
}

TEST(Metrics, PerServiceAndBackend) {
  const std::string text = render_metrics(kStats);
  for (const char* line :
       {"fairway_backend_flows_created_total{service=\"web\",backend=\"198.18.1.11:80\"} 9\n",
        "fairway_backend_flows_created_total{service=\"web\",backend=\"[2001:2::12]:80\"} 3\n",
        "fairway_backend_weight{service=\"web\",backend=\"198.18.1.11:80\"} 2\n",
        "fairway_backend_flows_reset_total{service=\"web\",backend=\"198.18.1.11:80\"} 1\n",
        "fairway_backend_packets_total{service=\"web\",backend=\"198.18.1.11:80\",direction=\"in\"}"
        " 90\n",
        "fairway_backend_packets_total{service=\"web\",backend=\"198.18.1.11:80\",direction="
        "\"out\"} 80\n",
        "fairway_backend_bytes_total{service=\"web\",backend=\"[2001:2::12]:80\",direction=\"in\"} "
        "3000\n",
        "fairway_backend_bytes_total{service=\"web\",backend=\"198.18.1.11:80\",direction=\"out\"} "
        "64000\n",
        "fairway_backend_up{service=\"web\",backend=\"198.18.1.11:80\"} 1\n",
        "fairway_backend_up{service=\"web\",backend=\"[2001:2::12]:80\"} 0\n",
        "fairway_backend_up{service=\"web\",backend=\"198.18.1.13:80\"} 0\n",
        "fairway_backend_healthy{service=\"web\",backend=\"[2001:2::12]:80\"} 0\n",
        "fairway_backend_health_check_failures_total{service=\"web\",backend=\"198.18.1.11:80\"} "
        "1\n",
        "fairway_service_accepting{service=\"web\"} 1\n", "fairway_flow_table_capacity 1024\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line;
  }
  // not health-checked: no health sample
  EXPECT_EQ(text.find("fairway_backend_healthy{service=\"web\",backend=\"198.18.1.13:80\"}"),
            std::string::npos);
}

// Every sample line belongs to a family announced by a TYPE line before it.
TEST(Metrics, EverySampleHasATypeLine) {
  const std::string text = render_metrics(kStats);
  std::string typed;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.rfind("# TYPE ", 0) == 0) {
      typed = line.substr(7, line.find(' ', 7) - 7);
    } else if (line[0] != '#') {
      EXPECT_EQ(line.substr(0, typed.size()), typed) << line;
    }
  }
}

}  // namespace
}  // namespace fairway

namespace fairway {
namespace {

TEST(Metrics, BuildInfoAndBusyTimeInSeconds) {
  nlohmann::json stats = nlohmann::json::parse(R"({"snapshot_version": 1, "tsc_hz": 2000000000,
    "workers": [{"worker": 0, "snapshot_version": 1, "flows": 0,
                 "counters": {"busy_cycles": 3000000000, "drops": {}}}]})");
  const std::string text = render_metrics(stats);
  EXPECT_NE(text.find("fairway_build_info{version=\"" FAIRWAY_VERSION "\"} 1\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE fairway_worker_busy_seconds_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("fairway_worker_busy_seconds_total{worker=\"0\"} 1.5\n"), std::string::npos)
      << text;
  stats.erase("tsc_hz");  // without the clock's rate no busy time is made up
  EXPECT_EQ(render_metrics(stats).find("fairway_worker_busy_seconds_total"), std::string::npos);
}

}  // namespace
}  // namespace fairway
