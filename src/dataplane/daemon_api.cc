// The control API's resources wired to the control core under its lock; what only the daemon
// knows (ports, devices, the exception path) added to its answers. Flow listings wait for the
// workers without the lock.
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <spdlog/spdlog.h>

#include "control/config_writer.h"
#include "control/status_json.h"
#include "dataplane/daemon_internal.h"
#include "dataplane/stats.h"

namespace fairway {
namespace {

constexpr auto kFlowQueryTimeout = std::chrono::milliseconds(2000);

nlohmann::json flow_json(const FlowRecord& record) {
  const FlowKey& key = record.key;
  const FlowValue& value = record.value;
  return {{"worker", record.worker},
          {"protocol", key.protocol == kProtoTcp   ? "tcp"
                       : key.protocol == kProtoUdp ? "udp"
                                                   : "other"},
          {"client", endpoint_text(key.src, key.src_port)},
          {"vip", endpoint_text(key.dst, key.dst_port)},
          {"backend", endpoint_text(value.backend, value.backend_port)},
          {"tcp_state", tcp_state_name(value.tcp_state)},
          {"expires_in_ms", record.expires_in_ms}};
}

}  // namespace

Stats Daemon::stats() const {
  const auto now = Clock::now();
  Stats out;
  out.snapshot_version = fleet_.running()->version;
  out.last_publication_us = static_cast<double>(core_.last_publication_ns()) / 1000.0;
  out.tsc_hz = rte_get_tsc_hz();
  out.flow_capacity_per_worker = config_.flow_capacity;
  out.workers = fleet_.workers();
  out.ports = port_stats(ports_.ports());
  ExceptionPathStatus& kernel = out.exception_path;
  kernel.queue_size = config_.exception_path.queue_size;
  kernel.other_pps = config_.exception_path.other_pps;
  kernel.tap_refused = exception_path_.tap_refused();
  const auto waiting = exception_path_.waiting();
  for (size_t c = 0; c < kKernelPriorities; ++c) {
    kernel.sent[c] = exception_path_.sent(static_cast<KernelPriority>(c));
    kernel.waiting[c] = waiting[c];
  }
  out.services = core_.service_status(now);
  out.agents = core_.agents(now);
  out.node = node_status();
  return out;
}

std::vector<PortLinkStatus> Daemon::port_status() const {
  std::vector<PortLinkStatus> ports;
  for (const PortRuntime& p : ports_.ports()) {
    rte_eth_link link{};
    bool up = false;
    for (uint16_t id : p.data_port_ids) {
      if (rte_eth_link_get_nowait(id, &link) == 0) up = up || link.link_status == RTE_ETH_LINK_UP;
    }
    PortLinkStatus port{
        p.name, p.mac, p.data_port_ids.size(), up, device_counters(p.data_port_ids), std::nullopt};
    if (p.exception_path) port.tap = p.tap_name;
    ports.push_back(std::move(port));
  }
  return ports;
}

DaemonStatus Daemon::status() const {
  DaemonStatus out = core_.status(Clock::now());
  out.ports = port_status();
  return out;
}

NodeStatus Daemon::node_status() const {
  NodeStatus out = core_.node_status(Clock::now());
  out.bird = announcer_.status();
  if (flow_sync_) out.flow_sync = flow_sync_->status();
  return out;
}

// The filter is read under the lock; the workers are asked without it.
ApiResult Daemon::flows(const FlowRequest& request) {
  FlowFilter filter;
  if (request.service) {
    std::optional<FlowFilter> service;
    {
      std::lock_guard lock(control_mutex_);
      service = core_.service_filter(*request.service);
    }
    if (!service) return {404, {{"error", "no service named '" + *request.service + "'"}}};
    filter = *service;
  }
  filter.backend = request.backend;
  filter.backend_port = request.backend_port;
  filter.client = request.client;
  FlowListing listing = fleet_.query_flows(filter, request.limit, kFlowQueryTimeout);
  nlohmann::json flows = nlohmann::json::array();
  for (const FlowRecord& record : listing.flows) flows.push_back(flow_json(record));
  return {listing.complete ? 200 : 503,
          {{"count", listing.matched},
           {"listed", flows.size()},
           {"complete", listing.complete},
           {"flows", flows}}};
}

// The API is a convenience next to the data plane: if its address is taken the daemon still
// forwards, and says so.
void Daemon::start_api() {
  if (config_.control_listen.empty()) return;
  auto locked = [this](auto fn) {
    return [this, fn](auto&&... args) {
      std::lock_guard lock(control_mutex_);
      return fn(std::forward<decltype(args)>(args)...);
    };
  };
  ApiHandlers handlers;
  handlers.status = locked([this] { return to_json(status()); });
  handlers.stats = locked([this] { return stats(); });
  handlers.services = locked([this] { return to_json(core_.service_status(Clock::now())); });
  handlers.flows = [this](const FlowRequest& request) { return flows(request); };
  handlers.change_backend = locked(
      [this](const std::string& service, const std::string& backend, const BackendChange& change) {
        return core_.apply(change_backend(core_.config(), service, backend, change));
      });
  handlers.add_service = locked([this](const std::string& body) {
    return core_.apply(add_service(core_.config(), body), 201);
  });
  handlers.remove_service = locked([this](const std::string& name) {
    return core_.apply(remove_service(core_.config(), name));
  });
  handlers.add_backend = locked([this](const std::string& service, const std::string& body) {
    return core_.apply(add_backend(core_.config(), service, body), 201);
  });
  handlers.remove_backend = locked([this](const std::string& service, const std::string& backend) {
    return core_.apply(remove_backend(core_.config(), service, backend));
  });
  handlers.reload = locked([this] { return core_.reload("API"); });
  handlers.deny_lists = locked([this] { return core_.deny_lists(); });
  handlers.change_deny =
      locked([this](const std::string& service, const std::string& prefix, bool add) {
        return core_.apply(change_deny_list(core_.config(), service, prefix, add), add ? 201 : 200);
      });
  handlers.agent_report = locked([this](const std::string& body, const std::string& signature,
                                        const std::string& source, const std::string& agent) {
    return core_.agent_report(body, signature, source, Clock::now(), agent);
  });
  handlers.agents = locked([this] { return to_json(core_.agents(Clock::now())); });
  handlers.node = locked([this] { return to_json(node_status()); });
  handlers.drain_node = locked([this](uint64_t deadline_ms) {
    return core_.drain_node(std::chrono::milliseconds(deadline_ms), Clock::now());
  });
  handlers.undrain_node = locked([this] { return core_.undrain_node(); });
  handlers.config_yaml = locked([this] { return config_to_yaml(core_.config()); });
  std::string error;
  if (api_.start(config_.control_listen, config_.control_token, handlers, error)) {
    spdlog::info("control API on http://{}/", config_.control_listen);
  } else {
    spdlog::error("{}", error);
  }
}

}  // namespace fairway
