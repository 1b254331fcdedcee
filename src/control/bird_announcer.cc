#include "control/bird_announcer.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "control/announcement.h"
#include "util/subprocess.h"

namespace fairway {
namespace {

std::string joined(const std::vector<IpAddress>& vips) {
  std::string out;
  for (const IpAddress& vip : vips) out += (out.empty() ? "" : " ") + vip.to_string();
  return out.empty() ? "none" : out;
}

// birdc's last non-empty line says what went wrong ("... syntax error", "Unable to connect").
std::string last_line(const std::string& output) {
  size_t end = output.find_last_not_of("\r\n ");
  if (end == std::string::npos) return "no output";
  size_t start = output.rfind('\n', end);
  return output.substr(start == std::string::npos ? 0 : start + 1, end + 1 - (start + 1));
}

}  // namespace

bool write_file_atomically(const std::string& path, const std::string& content,
                           std::string& error) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << content;
    out.flush();
    if (!out) {
      error = "cannot write " + temporary + ": " + std::strerror(errno);
      return false;
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    error = "cannot rename " + temporary + " to " + path + ": " + std::strerror(errno);
    std::remove(temporary.c_str());
    return false;
  }
  return true;
}

BirdAnnouncer::~BirdAnnouncer() {
  if (thread_.joinable()) {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }
}

bool BirdAnnouncer::start(const AnnounceConfig& config, const std::vector<IpAddress>& initial,
                          std::string& error) {
  config_ = config;
  if (!write_file_atomically(config_.bird_file, bird_vip_protocols(initial), error)) return false;
  status_.enabled = true;
  status_.file = config_.bird_file;
  status_.pending = true;  // BIRD has not read it yet
  wanted_ = initial;
  thread_ = std::thread([this] { run(); });
  return true;
}

void BirdAnnouncer::want(const std::vector<IpAddress>& announced) {
  {
    std::lock_guard lock(mutex_);
    if (!status_.enabled || announced == wanted_) return;
    wanted_ = announced;
    status_.pending = true;
  }
  changed_.notify_all();
}

BirdStatus BirdAnnouncer::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

void BirdAnnouncer::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
  if (apply({})) spdlog::info("announce: every VIP withdrawn from BIRD at shutdown");
}

void BirdAnnouncer::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (!status_.pending) {
      changed_.wait(lock, [this] { return stopping_ || status_.pending; });
      continue;
    }
    const std::vector<IpAddress> set = wanted_;
    lock.unlock();
    const bool ok = apply(set);
    lock.lock();
    if (ok) {
      status_.in_bird = set;
      status_.pending = set != wanted_;
    } else {
      changed_.wait_for(lock, kRetry, [this] { return stopping_; });
    }
  }
}

bool BirdAnnouncer::apply(const std::vector<IpAddress>& set) {
  std::string error;
  if (write_file_atomically(config_.bird_file, bird_vip_protocols(set), error)) {
    const CommandResult r =
        run_command({config_.birdc, "-s", config_.bird_socket, "configure"}, kBirdcTimeout);
    if (r.ok()) {
      std::lock_guard lock(mutex_);
      ++status_.reconfigurations;
      status_.last_error.clear();
      spdlog::info("announce: BIRD now announces {}", joined(set));
      return true;
    }
    error = r.timed_out ? "birdc configure: no answer within 5 s"
                        : "birdc configure: " + last_line(r.output);
  }
  std::lock_guard lock(mutex_);
  // One log line per failure spell, then every 30th, not one every 2 s while BIRD is down.
  // Before BIRD ever answered this is expected (fairwayd starts first: BIRD's include needs
  // the file), so it is said at info level.
  if (status_.last_error != error || status_.failures % 30 == 0) {
    if (status_.reconfigurations == 0) {
      spdlog::info("announce: BIRD not reachable yet: {} (retrying every {} s)", error,
                   kRetry.count());
    } else {
      spdlog::warn("announce: {} (retrying every {} s)", error, kRetry.count());
    }
  }
  ++status_.failures;
  status_.last_error = error;
  return false;
}

}  // namespace fairway
