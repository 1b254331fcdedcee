#include "dataplane/stats.h"

#include <rte_ethdev.h>

namespace fairway {

DeviceCounters device_counters(const std::vector<uint16_t>& port_ids) {
  DeviceCounters sum;
  for (uint16_t id : port_ids) {
    rte_eth_stats one{};
    rte_eth_stats_get(id, &one);
    sum.rx_packets += one.ipackets;
    sum.tx_packets += one.opackets;
    sum.rx_bytes += one.ibytes;
    sum.tx_bytes += one.obytes;
    sum.rx_missed += one.imissed;
    sum.rx_errors += one.ierrors;
    sum.tx_errors += one.oerrors;
    sum.rx_no_mbuf += one.rx_nombuf;
  }
  return sum;
}

std::vector<PortStatus> port_stats(const std::vector<PortRuntime>& ports) {
  std::vector<PortStatus> out;
  for (const PortRuntime& p : ports) {
    PortStatus port;
    port.name = p.name;
    port.mac = p.mac;
    port.device = device_counters(p.data_port_ids);
    if (p.data_port_ids.size() > 1) {
      for (uint16_t id : p.data_port_ids) port.devices.push_back(device_counters({id}));
    }
    if (p.exception_path) {
      port.tap = p.tap_name;
      port.tap_device = device_counters({p.tap_port_id});
    }
    out.push_back(std::move(port));
  }
  return out;
}

}  // namespace fairway
