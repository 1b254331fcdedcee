// The node as a member of a cluster of load balancers behind ECMP: what it announces to the
// routers, and draining it (docs/SCALE-OUT.md).
#include <spdlog/spdlog.h>

#include <cmath>

#include "control/control_core.h"

namespace fairway {
namespace {

double seconds(std::chrono::steady_clock::duration d) {
  return std::round(std::chrono::duration<double>(d).count() * 1000) / 1000;
}

}  // namespace

ApiResult ControlCore::drain_node(std::chrono::milliseconds deadline, Clock::time_point now) {
  if (drain_ && drain_->ended_because.empty()) {
    return {409, {{"error", "the node is already draining"}}};
  }
  drain_ = Drain{now, deadline, {}};
  spdlog::info("node: draining (every VIP withdrawn, flows forwarded for up to {} s)",
               deadline.count() / 1000.0);
  save_state();
  return {200, {{"state", "draining"}, {"deadline_seconds", deadline.count() / 1000.0}}};
}

ApiResult ControlCore::undrain_node() {
  if (!drain_) return {409, {{"error", "the node is not drained"}}};
  drain_.reset();
  spdlog::info("node: active again (VIPs announced)");
  save_state();
  return {200, {{"state", "active"}}};
}

AnnouncementPlan ControlCore::announcement_plan() const {
  return plan_announcements(*data_plane_.running(), drain_.has_value());
}

uint64_t ControlCore::live_flows() const {
  uint64_t flows = 0;
  for (const WorkerState& w : data_plane_.workers()) flows += w.flows;
  return flows;
}

void ControlCore::update_drain(Clock::time_point now) {
  if (!drain_ || !drain_->ended_because.empty()) return;
  const uint64_t flows = live_flows();
  if (flows == 0) {
    drain_->ended_because = "flows ended";
  } else if (now - drain_->started >= drain_->deadline) {
    drain_->ended_because = "deadline passed";
  } else {
    return;
  }
  spdlog::info("node: drained after {} s ({}, {} flows left)", seconds(now - drain_->started),
               drain_->ended_because, flows);
}

NodeStatus ControlCore::node_status(Clock::time_point now) const {
  NodeStatus out;
  out.flows = live_flows();
  if (drain_) {
    out.state = drain_->ended_because.empty() ? "draining" : "drained";
    out.drain_seconds = seconds(now - drain_->started);
    out.deadline_seconds = std::chrono::duration<double>(drain_->deadline).count();
    out.drained_because = drain_->ended_because;
  }
  const AnnouncementPlan plan = announcement_plan();
  out.announced = plan.announced;
  for (const WithheldVip& w : plan.withheld) out.withheld.emplace_back(w.vip, w.reason);
  return out;
}

}  // namespace fairway
