#include "util/rx_wakeup.h"

#include <dirent.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstdlib>

#ifndef AF_XDP
#define AF_XDP 44
#endif

namespace fairway {

std::set<int> af_xdp_sockets() {
  std::set<int> out;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return out;
  const int own = dirfd(dir);
  while (const dirent* entry = readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == own) continue;
    struct stat st {};
    if (fstat(static_cast<int>(fd), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    int domain = 0;
    socklen_t length = sizeof(domain);
    if (getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_DOMAIN, &domain, &length) == 0 &&
        domain == AF_XDP) {
      out.insert(static_cast<int>(fd));
    }
  }
  closedir(dir);
  return out;
}

int new_socket(const std::set<int>& before, const std::set<int>& after) {
  int found = -1;
  for (int fd : after) {
    if (before.count(fd) != 0) continue;
    if (found != -1) return -1;  // more than one: which belongs to the queue is unknown
    found = fd;
  }
  return found;
}

namespace {
bool driver_is(const std::string& device_args, const std::string& driver) {
  const std::string name = device_args.substr(0, device_args.find(','));
  if (name.rfind(driver, 0) != 0) return false;
  // "net_tap0" but not "net_tapx": the rest of the name is the instance number.
  return name.find_first_not_of("0123456789", driver.size()) == std::string::npos;
}
}  // namespace

bool is_af_xdp_device(const std::string& device_args) {
  return driver_is(device_args, "net_af_xdp");
}

bool is_tap_device(const std::string& device_args) {
  return driver_is(device_args, "net_tap");
}

}  // namespace fairway
