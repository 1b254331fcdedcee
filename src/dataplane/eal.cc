#include "dataplane/eal.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <unistd.h>

#include <algorithm>

namespace fairway {
namespace {

bool is_virtual_device(const std::string& device) {
  return device.rfind("net_", 0) == 0;
}

// Main lcore on CPU 0, workers spread over the remaining CPUs (several lcores may share a CPU
// on small machines: correctness there, speed on real cores).
std::string default_lcores(uint32_t workers) {
  long cpus = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
  std::string lcores = "0@0";
  for (uint32_t w = 1; w <= workers; ++w) {
    long cpu = cpus == 1 ? 0 : 1 + (w - 1) % (cpus - 1);
    lcores.push_back(',');  // appends: GCC 12 -O3 warns (-Wrestrict) on a + chain here
    lcores.append(std::to_string(w));
    lcores.push_back('@');
    lcores.append(std::to_string(cpu));
  }
  return lcores;
}

}  // namespace

std::vector<std::string> eal_arguments(const Config& config) {
  std::vector<std::string> args = {"fairwayd"};
  args.push_back("--lcores");
  args.push_back(config.eal.lcores.empty() ? default_lcores(config.workers) : config.eal.lcores);
  bool any_pci = false;
  for (const PortConfig& port : config.ports) {
    for (const std::string& device : port.devices) {
      if (is_virtual_device(device)) {
        args.push_back("--vdev");
      } else {
        args.push_back("-a");
        any_pci = true;
      }
      args.push_back(device);
    }
  }
  // Never touch the host's NICs unless a port names one.
  if (!any_pci) args.push_back("--no-pci");
  args.insert(args.end(), config.eal.args.begin(), config.eal.args.end());
  return args;
}

bool start_eal(const Config& config, std::string& error) {
  std::vector<std::string> args = eal_arguments(config);
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(args.size()), argv.data()) < 0) {
    error = std::string("EAL initialisation failed: ") + rte_strerror(rte_errno);
    return false;
  }
  return true;
}

}  // namespace fairway
