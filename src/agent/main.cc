// fairway-agent: runs on each back-end server and reports its load to fairwayd (docs/AGENT.md).
//
//   fairway-agent --address 198.18.1.11 --key-file /etc/fairway/agent.key --port 80
//   fairway-agent --address 2001:2::11 --key-file K --server [2001:2::1]:9180 --interval 500ms
//   fairway-agent --address 198.18.1.11 --key-file K --cgroup /sys/fs/cgroup/system.slice/web
//   fairway-agent --address 198.18.1.11 --key-file K --once --dry-run     (print one report)
//
// Single-threaded: every interval it measures, builds and signs one report and sends it (or keeps
// it while backing off, sender.h). It lowers its own priority (nice 10) so that it never competes
// with the server it measures.
#include <poll.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "agent/app_stats.h"
#include "agent/arguments.h"
#include "agent/load_sampler.h"
#include "agent/sender.h"
#include "build_info.h"
#include "report/load_report.h"
#include "report/signature.h"
#include "util/key_file.h"

namespace {

using namespace fairway;
using namespace fairway::agent;

constexpr uint64_t kMinIntervalMs = 100;

struct Options {
  std::string server = "127.0.0.1:9180";
  std::string name;
  std::string address;
  std::string key_file;
  std::string interval = "1s";
  std::vector<uint16_t> ports;
  std::string cgroup;
  std::string cpu_cgroup_v1;
  std::optional<double> cpus;
  std::string app_url;
  std::string app_command;
  std::string app_timeout = "1s";
  bool once = false;
  bool dry_run = false;
  bool verbose = false;
};

volatile sig_atomic_t g_stop_signal = 0;

void on_stop_signal(int signal_number) {
  g_stop_signal = signal_number;
}

int64_t clock_ns(clockid_t clock) {
  timespec ts;
  ::clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
int64_t monotonic_us() {
  return clock_ns(CLOCK_MONOTONIC) / 1000;
}
int64_t monotonic_ms() {
  return clock_ns(CLOCK_MONOTONIC) / 1'000'000;
}
int64_t wall_clock_ms() {
  return clock_ns(CLOCK_REALTIME) / 1'000'000;
}

// SIGTERM and SIGINT stay blocked except inside ppoll(), so a signal can only arrive while the
// agent sleeps (it wakes at once) and never interrupts a send or a read halfway.
sigset_t block_stop_signals() {
  struct sigaction action = {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);
  ::signal(SIGPIPE, SIG_IGN);  // a server closing the connection is an error, not a death
  sigset_t stop_signals, previous;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  ::sigprocmask(SIG_BLOCK, &stop_signals, &previous);
  sigdelset(&previous, SIGTERM);
  sigdelset(&previous, SIGINT);
  return previous;  // the mask to sleep with
}

// Sleeps until `deadline_ms` (monotonic) or a stop signal.
void sleep_until(int64_t deadline_ms, const sigset_t& sleep_mask) {
  while (!g_stop_signal) {
    const int64_t left_ms = deadline_ms - monotonic_ms();
    if (left_ms <= 0) return;
    timespec timeout = {.tv_sec = left_ms / 1000, .tv_nsec = (left_ms % 1000) * 1'000'000};
    ::ppoll(nullptr, 0, &timeout, &sleep_mask);
  }
}

// Lower priority than the server's own work; already nicer (or not allowed) is fine.
void lower_priority() {
  errno = 0;
  const int nice = ::getpriority(PRIO_PROCESS, 0);
  if (errno == 0 && nice < 10) ::setpriority(PRIO_PROCESS, 0, 10);
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "unknown";
  return name;
}

// Measures, adds the application's figures and signs; one report per call, each with the next
// sequence number. A failing source is logged once per episode, not once per interval.
class ReportBuilder {
 public:
  ReportBuilder(const Options& options, uint64_t interval_ms, std::string key, LoadSampler& sampler,
                std::optional<AppStatsSource> app)
      : options_(options),
        // --address was checked to be an IP address when the arguments were read.
        address_(IpAddress::parse(options.address).value_or(IpAddress{})),
        interval_ms_(interval_ms),
        key_(std::move(key)),
        sampler_(sampler),
        app_(std::move(app)),
        next_sequence_(static_cast<uint64_t>(wall_clock_ms())) {}

  std::optional<SignedReport> build() {
    LoadResult measured = sampler_.measure(monotonic_us());
    if (!measured.load) {
      if (measured.error != load_error_) {
        spdlog::error("cannot measure the load, no report this interval: {}", measured.error);
      }
      load_error_ = measured.error;
      return std::nullopt;
    }
    if (!load_error_.empty()) spdlog::info("measuring the load again");
    load_error_.clear();

    LoadReport report{
        .agent = options_.name,
        .address = address_,
        .timestamp_ms = static_cast<uint64_t>(wall_clock_ms()),
        .sequence = next_sequence_++,
        .interval_ms = interval_ms_,
        .cpu_percent = measured.load->cpu_percent,
        .memory_percent = measured.load->memory_percent,
        .active_clients = measured.load->active_clients,
    };
    if (app_) add_app_stats(report);
    SignedReport signed_report{.sequence = report.sequence, .body = to_json(report)};
    signed_report.signature = signature_header(key_, signed_report.body);
    signed_report.address = report.address.to_string();
    spdlog::debug("report {}: {}", report.sequence, signed_report.body);
    return signed_report;
  }

 private:
  void add_app_stats(LoadReport& report) {
    AppStatsResult fetched = app_->fetch();
    if (!fetched.stats) {
      if (!app_failing_) {
        spdlog::warn("no application figures from {}: {}; reporting without them", app_->describe(),
                     fetched.error);
      }
      app_failing_ = true;
      return;
    }
    if (app_failing_) spdlog::info("application figures from {} are back", app_->describe());
    app_failing_ = false;
    report.requests_per_second = fetched.stats->requests_per_second;
    report.mean_response_ms = fetched.stats->mean_response_ms;
  }

  const Options& options_;
  IpAddress address_;
  uint64_t interval_ms_;
  std::string key_;
  LoadSampler& sampler_;
  std::optional<AppStatsSource> app_;
  uint64_t next_sequence_;
  std::string load_error_;
  bool app_failing_ = false;
};

void print_report(const SignedReport& report) {
  std::fwrite(report.body.data(), 1, report.body.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

int run_once(ReportBuilder& builder, const HostPort& server, const Options& options,
             uint64_t interval_ms, const sigset_t& sleep_mask) {
  // CPU utilization needs two readings: the sampler took one at start, this is one interval on.
  sleep_until(monotonic_ms() + static_cast<int64_t>(interval_ms), sleep_mask);
  if (g_stop_signal) return 1;
  std::optional<SignedReport> report = builder.build();
  if (!report) return 1;
  print_report(*report);
  if (options.dry_run) return 0;
  SendOutcome outcome = send_over_http(server, *report);
  if (outcome.status == SendStatus::accepted) return 0;
  if (outcome.http_status) {
    spdlog::error("fairwayd at {} refused the report: HTTP {}: {}", host_port_text(server),
                  outcome.http_status, outcome.message);
  } else {
    spdlog::error("fairwayd at {}: {}", host_port_text(server), outcome.message);
  }
  return 1;
}

int run_loop(ReportBuilder& builder, ReportSender& sender, const Options& options,
             uint64_t interval_ms, const sigset_t& sleep_mask) {
  const auto interval = static_cast<int64_t>(interval_ms);
  int64_t next_report_ms = monotonic_ms() + interval;
  while (!g_stop_signal) {
    int64_t wake_ms = next_report_ms;
    if (auto retry_ms = sender.next_attempt_ms()) wake_ms = std::min(wake_ms, *retry_ms);
    sleep_until(wake_ms, sleep_mask);
    if (g_stop_signal) break;
    const int64_t now_ms = monotonic_ms();
    if (now_ms >= next_report_ms) {
      if (std::optional<SignedReport> report = builder.build()) {
        if (options.dry_run) {
          print_report(*report);
        } else {
          sender.submit(std::move(*report));
        }
      }
      next_report_ms += interval;
      // Fell more than an interval behind (a slow send, a suspended machine): start afresh
      // rather than firing a burst of reports to catch up.
      if (next_report_ms <= monotonic_ms()) next_report_ms = monotonic_ms() + interval;
    }
    if (!options.dry_run) sender.poll();
  }
  spdlog::info("stopping on signal {}", static_cast<int>(g_stop_signal));
  return 0;
}

void define_options(CLI::App& app, Options& options) {
  app.set_version_flag("--version", FAIRWAY_VERSION);
  app.add_option("--address", options.address,
                 "this server's back-end address as configured in fairwayd (IPv4 or IPv6)")
      ->required();
  app.add_option("--key-file", options.key_file,
                 "file holding the HMAC key: this back-end's own (load_feedback.agents) or the "
                 "shared one (trailing whitespace ignored)")
      ->required();
  app.add_option("--server", options.server, "fairwayd's control API, HOST:PORT or [IPv6]:PORT")
      ->capture_default_str();
  app.add_option("--name", options.name, "agent name in the reports (default: the host name)");
  app.add_option("--interval", options.interval, "time between reports: 500ms, 1s, 2s...")
      ->capture_default_str();
  app.add_option("--port", options.ports,
                 "count ESTABLISHED connections on this local port (repeatable; none: all)")
      ->check(CLI::Range(1, 65535));
  CLI::Option* cgroup =
      app.add_option("--cgroup", options.cgroup,
                     "measure CPU (and memory, v2) of this cgroup directory (v2, or v1 cpuacct)");
  app.add_option("--cpu-cgroup-v1", options.cpu_cgroup_v1,
                 "cgroup v1: the cpu controller's directory with cpu.cfs_quota_us (default: the "
                 "--cgroup directory, else its path with /cpuacct/ replaced by /cpu/)")
      ->needs(cgroup);
  app.add_option("--cpus", options.cpus, "CPUs available to the cgroup (overrides its quota)")
      ->check(CLI::PositiveNumber)
      ->needs(cgroup);
  CLI::Option* app_url =
      app.add_option("--app-url", options.app_url,
                     "http://... answering {\"requests_per_second\":X,\"mean_response_ms\":Y}");
  app.add_option("--app-command", options.app_command, "shell command printing the same JSON")
      ->excludes(app_url);
  app.add_option("--app-timeout", options.app_timeout,
                 "how long --app-url/--app-command may take (at most the interval)")
      ->capture_default_str();
  app.add_flag("--once", options.once, "print (and send) one report, then exit 0 or 1");
  app.add_flag("--dry-run", options.dry_run, "print reports on stdout instead of sending them");
  app.add_flag("-v,--verbose", options.verbose, "log every report");
}

// What the options mean once checked; the error says which was wrong.
struct Settings {
  HostPort server;
  uint64_t interval_ms = 0;
  std::optional<AppStatsSource> app_source;
};

Result<Settings> check_options(Options& options) {
  if (!is_ip_address(options.address)) {
    return Error{"--address " + options.address + ": expected an IPv4 or IPv6 address"};
  }
  Settings settings;
  std::optional<HostPort> server = parse_host_port(options.server);
  if (!server) {
    return Error{"--server " + options.server + ": expected HOST:PORT or [IPv6]:PORT"};
  }
  settings.server = *server;
  std::optional<uint64_t> interval_ms = parse_duration_ms(options.interval);
  if (!interval_ms || *interval_ms < kMinIntervalMs) {
    return Error{"--interval " + options.interval + ": expected a duration of at least 100ms"};
  }
  settings.interval_ms = *interval_ms;
  std::optional<uint64_t> app_timeout_ms = parse_duration_ms(options.app_timeout);
  if (!app_timeout_ms) {
    return Error{"--app-timeout " + options.app_timeout + ": not a duration"};
  }
  const int app_timeout = static_cast<int>(std::min(*app_timeout_ms, *interval_ms));
  if (!options.app_url.empty()) {
    std::optional<HttpUrl> url = parse_http_url(options.app_url);
    if (!url) {
      return Error{"--app-url " + options.app_url + ": expected http://HOST[:PORT]/PATH"};
    }
    settings.app_source = AppStatsSource::from_url(*url, app_timeout);
  } else if (!options.app_command.empty()) {
    settings.app_source = AppStatsSource::from_command(options.app_command, app_timeout);
  }
  if (options.name.empty()) options.name = host_name();
  return settings;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"fairway-agent - reports this server's load to fairwayd"};
  define_options(app, options);
  app.set_version_flag("--version", FAIRWAY_VERSION_LINE("fairway-agent"));
  CLI11_PARSE(app, argc, argv);

  // stdout carries reports (--once, --dry-run); the log goes to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("fairway-agent"));
  spdlog::set_level(options.verbose ? spdlog::level::debug : spdlog::level::info);
  auto fail = [](const std::string& message) {
    spdlog::critical("{}", message);
    return 1;
  };
  Result<Settings> settings = check_options(options);
  if (!settings) return fail(settings.error().message);
  const HostPort& server = settings->server;
  const uint64_t interval_ms = settings->interval_ms;

  Result<KeyFile> key = load_key_file(options.key_file);
  if (!key) return fail(key.error().message);
  if (!key->warning.empty()) spdlog::warn("{}", key->warning);

  lower_priority();
  const sigset_t sleep_mask = block_stop_signals();

  LoadSampler sampler(LoadSources{
      .cgroup_dir = options.cgroup,
      .cpu_cgroup_v1_dir = options.cpu_cgroup_v1,
      .cpus = options.cpus,
      .ports = options.ports,
  });
  if (std::string sampler_error = sampler.start(monotonic_us()); !sampler_error.empty()) {
    return fail(sampler_error);
  }

  const std::string server_text = host_port_text(server);
  std::string destination =
      options.dry_run ? std::string("stdout (dry run)") : "http://" + server_text + kReportPath;
  std::optional<AppStatsSource>& app_source = settings->app_source;
  spdlog::info("fairway-agent {}: reporting {} as '{}' every {} ms to {}; {}; app: {}",
               FAIRWAY_VERSION, options.address, options.name, interval_ms, destination,
               sampler.describe(), app_source ? app_source->describe() : std::string("none"));

  ReportBuilder builder(options, interval_ms, std::move(key->key), sampler, std::move(app_source));
  if (options.once) return run_once(builder, server, options, interval_ms, sleep_mask);

  std::mt19937_64 random_engine{std::random_device{}()};
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  ReportSender sender([&](const SignedReport& report) { return send_over_http(server, report); },
                      monotonic_ms, [&] { return uniform(random_engine); }, server_text);
  return run_loop(builder, sender, options, interval_ms, sleep_mask);
}
