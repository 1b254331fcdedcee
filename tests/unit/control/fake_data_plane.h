#pragma once
// A data plane for the control core's tests (no EAL, no root): it records what is published and
// answers with what a test sets (worker states, counters, flow listings).
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "control/data_plane.h"

namespace fairway {

class FakeDataPlane : public DataPlane {
 public:
  uint64_t publish(std::unique_ptr<Snapshot> next) override {
    published.push_back(next->version);
    running_ = std::move(next);
    return 1000;
  }
  uint64_t next_version() override { return ++version_; }
  const Snapshot* running() const override { return running_.get(); }
  std::vector<RuntimePort> ports() const override {
    return {RuntimePort{"client", {}, false, 0}, RuntimePort{"server", {}, false, 0}};
  }
  std::vector<WorkerState> workers() const override { return worker_states; }
  ServiceEvents service_events(uint32_t slot) const override {
    auto it = events.find(slot);
    return it == events.end() ? ServiceEvents{} : it->second;
  }
  FlowCounts backend_flows(uint32_t slot) const override {
    auto it = flow_counts.find(slot);
    return it == flow_counts.end() ? FlowCounts{} : it->second;
  }
  BackendTraffic backend_traffic(uint32_t slot) const override {
    auto it = traffic.find(slot);
    return it == traffic.end() ? BackendTraffic{} : it->second;
  }
  FlowListing query_flows(const FlowFilter& filter, size_t, std::chrono::milliseconds) override {
    queries.push_back(filter);
    if (on_query) on_query();
    return answer(filter);
  }

  const Backend* backend(const std::string& service, const std::string& address) const {
    for (const Service& s : running_->services) {
      if (s.name != service) continue;
      for (const Backend& b : s.backends) {
        if (b.address.to_string() == address) return &b;
      }
    }
    return nullptr;
  }
  const Service* service(const std::string& name) const {
    for (const Service& s : running_->services) {
      if (s.name == name) return &s;
    }
    return nullptr;
  }

  std::vector<uint64_t> published;
  std::vector<WorkerState> worker_states{WorkerState{}};
  std::map<uint32_t, ServiceEvents> events;
  std::map<uint32_t, BackendTraffic> traffic;
  std::map<uint32_t, FlowCounts> flow_counts;
  std::vector<FlowFilter> queries;
  std::function<FlowListing(const FlowFilter&)> answer = [](const FlowFilter&) {
    return FlowListing{};
  };
  std::function<void()> on_query;

 private:
  std::unique_ptr<Snapshot> running_;
  uint64_t version_ = 0;
};

}  // namespace fairway
