#include "dataplane/ports.h"

#include <net/if.h>
#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

#include <cstring>
#include <set>

#include "control/netlink.h"
#include "util/rx_wakeup.h"

namespace fairway {
namespace {

constexpr uint16_t kRxDescriptors = 1024;
constexpr uint16_t kTxDescriptors = 1024;

std::string device_name(const std::string& device_args) {
  return device_args.substr(0, device_args.find(','));
}

// What a device is and whether its queues should wake sleeping workers (workers_poll: adaptive).
struct DeviceSetup {
  uint16_t port_id = 0;
  std::string args;  // DPDK device arguments, e.g. "net_af_xdp0,iface=lb-cli"
  bool wake = false;
  bool data = false;  // a data port (not a TAP): its RX gets the NIC's IPv4 checksum verdict
};

// One RX and one TX queue per worker; RSS spreads flows over the workers' RX queues.
// `wake_fds` receives, by queue, what poll() reports readable when the queue has packets (-1:
// nothing, the worker naps); see util/rx_wakeup.h.
bool configure_and_start(const DeviceSetup& device, uint16_t queues, rte_mempool* pool,
                         std::vector<int>& wake_fds, std::string& error) {
  const uint16_t port_id = device.port_id;
  const bool tap_interrupts = device.wake && is_tap_device(device.args);
  const bool xdp_sockets = device.wake && is_af_xdp_device(device.args);
  wake_fds.assign(queues, -1);
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(port_id, &info) != 0) {
    error = "cannot read device info";
    return false;
  }
  if (queues > info.max_rx_queues || queues > info.max_tx_queues) {
    error = "device has " + std::to_string(info.max_rx_queues) + " RX / " +
            std::to_string(info.max_tx_queues) + " TX queues, " + std::to_string(queues) +
            " workers need one each";
    return false;
  }
  rte_eth_conf conf{};
  if (queues > 1 && info.flow_type_rss_offloads != 0) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf =
        (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
  }
  if (tap_interrupts) conf.intr_conf.rxq = 1;
  // The NIC's IPv4 header checksum verdict spares the parser its own check (FrameRef). Not on
  // the TAPs: the kernel's frames are not parsed, and the TAP PMD would verify in software.
  if (device.data && (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) != 0) {
    conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
  }
  int rc = rte_eth_dev_configure(port_id, queues, queues, &conf);
  if (rc != 0) {
    error = std::string("configure: ") + rte_strerror(-rc);
    return false;
  }
  uint16_t rx_descriptors = kRxDescriptors;
  uint16_t tx_descriptors = kTxDescriptors;
  rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rx_descriptors, &tx_descriptors);
  int socket = rte_eth_dev_socket_id(port_id);
  unsigned socket_id = socket < 0 ? 0 : static_cast<unsigned>(socket);
  for (uint16_t q = 0; q < queues; ++q) {
    const std::set<int> sockets_before = xdp_sockets ? af_xdp_sockets() : std::set<int>{};
    rc = rte_eth_rx_queue_setup(port_id, q, rx_descriptors, socket_id, nullptr, pool);
    if (rc != 0) {
      error = "RX queue " + std::to_string(q) + ": " + rte_strerror(-rc);
      return false;
    }
    if (xdp_sockets) wake_fds[q] = new_socket(sockets_before, af_xdp_sockets());
    rc = rte_eth_tx_queue_setup(port_id, q, tx_descriptors, socket_id, nullptr);
    if (rc != 0) {
      error = "TX queue " + std::to_string(q) + ": " + rte_strerror(-rc);
      return false;
    }
  }
  rc = rte_eth_dev_start(port_id);
  if (rc != 0) {
    error = std::string("start: ") + rte_strerror(-rc);
    return false;
  }
  for (uint16_t q = 0; tap_interrupts && q < queues; ++q) {
    wake_fds[q] = rte_eth_dev_rx_intr_ctl_q_get_fd(port_id, q);
  }
  return true;
}

bool find_port(const std::string& name, uint16_t& port_id, std::string& error) {
  if (rte_eth_dev_get_port_by_name(name.c_str(), &port_id) != 0) {
    error = "no DPDK port named '" + name + "' (did the device probe fail? see EAL messages)";
    return false;
  }
  return true;
}

// The kernel side of the exception path: a TAP with the data port's MAC, so that what the kernel
// answers (ARP, NDP, ICMP, TCP) names the port's address and goes out unchanged.
bool start_tap(const PortConfig& config, size_t index, PortRuntime& port, uint16_t queues,
               bool wake, rte_mempool* pool, Netlink& netlink, std::string& error) {
  std::string tap_device = "net_tap" + std::to_string(index);
  std::string args = tap_device + ",iface=" + port.tap_name + ",mac=" + port.mac.to_string();
  int rc = rte_dev_probe(args.c_str());
  if (rc != 0) {
    error = "TAP " + port.tap_name + ": " + rte_strerror(-rc);
    return false;
  }
  if (!find_port(tap_device, port.tap_port_id, error)) return false;
  if (!configure_and_start(DeviceSetup{port.tap_port_id, args, wake}, queues, pool,
                           port.tap_wake_fds, error)) {
    error = "TAP " + port.tap_name + ": " + error;
    return false;
  }
  port.tap_ifindex = if_nametoindex(port.tap_name.c_str());
  if (port.tap_ifindex == 0 || !netlink.set_link_up(port.tap_ifindex)) {
    error = "TAP " + port.tap_name + ": cannot bring the interface up: " + netlink.last_error();
    return false;
  }
  for (const IpPrefix& address : config.addresses) {
    if (!netlink.add_address(port.tap_ifindex, address)) {
      error = "TAP " + port.tap_name + ": cannot add " + address.to_string() + ": " +
              netlink.last_error();
      return false;
    }
  }
  return true;
}

}  // namespace

bool Ports::start_data_devices(const PortConfig& config, uint16_t workers, bool wake,
                               rte_mempool* pool, PortRuntime& port, std::string& error) {
  // A list of devices means one single-queue device per worker (AF_XDP on veth).
  uint16_t queues_each = config.devices.size() == 1 ? workers : 1;
  for (const std::string& device : config.devices) {
    uint16_t port_id = 0;
    std::string step_error;
    std::vector<int> wake_fds;
    if (!find_port(device_name(device), port_id, step_error) ||
        !configure_and_start(DeviceSetup{port_id, device, wake, true}, queues_each, pool, wake_fds,
                             step_error)) {
      error = "port " + config.name + " (" + device + "): " + step_error;
      return false;
    }
    started_.push_back(port_id);
    port.data_port_ids.push_back(port_id);
    port.data_wake_fds.insert(port.data_wake_fds.end(), wake_fds.begin(), wake_fds.end());
  }
  return true;
}

bool Ports::start(const Config& config, rte_mempool* pool, std::string& error) {
  uint16_t queues = static_cast<uint16_t>(config.workers);
  Netlink netlink;
  for (size_t i = 0; i < config.ports.size(); ++i) {
    const PortConfig& pc = config.ports[i];
    PortRuntime port;
    port.name = pc.name;
    port.exception_path = pc.exception_path;
    port.tap_name = pc.tap_name.empty() ? "fw-" + pc.name : pc.tap_name;
    uint16_t first_id = 0;
    if (!find_port(device_name(pc.devices.front()), first_id, error)) {
      error = "port " + pc.name + ": " + error;
      return false;
    }
    rte_ether_addr mac{};
    rte_eth_macaddr_get(first_id, &mac);
    std::memcpy(port.mac.bytes.data(), mac.addr_bytes, 6);
    if (pc.mac) {
      // Some PMDs (net_pcap) cannot change their MAC; the pipeline uses the configured one.
      std::memcpy(mac.addr_bytes, pc.mac->bytes.data(), 6);
      for (const std::string& device : pc.devices) {
        uint16_t id = 0;
        if (find_port(device_name(device), id, error)) rte_eth_dev_default_mac_addr_set(id, &mac);
      }
      port.mac = *pc.mac;
    }
    const bool wake = config.polling.adaptive;
    if (!start_data_devices(pc, queues, wake, pool, port, error)) return false;
    if (pc.exception_path) {
      std::string step_error;
      if (!netlink.ok()) {
        error = netlink.last_error();
        return false;
      }
      if (!start_tap(pc, i, port, queues, wake, pool, netlink, step_error)) {
        error = "port " + pc.name + ": " + step_error;
        return false;
      }
      started_.push_back(port.tap_port_id);
    }
    ports_.push_back(port);
  }
  return true;
}

void Ports::stop() {
  // Closing flushes what PMDs buffer (net_pcap writes its capture out here).
  for (uint16_t port_id : started_) {
    rte_eth_dev_stop(port_id);
    rte_eth_dev_close(port_id);
  }
  started_.clear();
}

std::vector<RuntimePort> Ports::runtime_ports() const {
  std::vector<RuntimePort> out;
  for (const PortRuntime& p : ports_) {
    out.push_back(RuntimePort{p.name, p.mac, p.exception_path, p.tap_ifindex});
  }
  return out;
}

}  // namespace fairway
