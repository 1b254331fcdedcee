// fairwayd: the load balancer daemon. `fairwayd` runs /etc/fairway/fairway.yaml (or -c FILE);
// `fairwayd --check` validates the configuration and exits (like `nginx -t`).
//
// Exit status: 0 stopped by SIGTERM/SIGINT (or --check: valid); 1 the configuration or the start
// failed; 2 a usage error (an unknown option, a bad value).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>

#include "build_info.h"
#include "control/config.h"
#include "dataplane/daemon.h"

namespace {

constexpr const char* kDefaultConfig = "/etc/fairway/fairway.yaml";

// Whether the API's address reaches beyond this host ("127.0.0.1:9180", "[::1]:9180" do not).
bool listens_beyond_loopback(const std::string& listen) {
  return listen.rfind("127.", 0) != 0 && listen.rfind("[::1]", 0) != 0 &&
         listen.rfind("localhost:", 0) != 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fairwayd - Fairway Layer-4 load balancer"};
  std::string config_path = kDefaultConfig;
  bool check_only = false;
  spdlog::level::level_enum log_level = spdlog::level::info;
  fairway::DaemonOptions options;
  app.set_version_flag("--version", FAIRWAY_VERSION_LINE("fairwayd"));
  app.add_option("-c,--config", config_path, "configuration file (YAML)")->capture_default_str();
  app.add_flag("--check", check_only, "validate the configuration and exit");
  const std::map<std::string, spdlog::level::level_enum> levels{
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
      {"error", spdlog::level::err},   {"critical", spdlog::level::critical},
      {"off", spdlog::level::off}};
  app.add_option("--log-level", log_level,
                 "trace, debug, info (default), warn, error, critical, off")
      ->transform(CLI::CheckedTransformer(levels, CLI::ignore_case));
  app.add_option("--idle-exit-ms", options.idle_exit_ms,
                 "exit once no packet has arrived for this many ms (for capture replays)");
  app.add_option("--stats-file", options.stats_file, "write the final counters here as JSON");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are successes; every other parse error is a usage error: exit 2.
    return app.exit(e) == 0 ? 0 : 2;
  }

  fairway::ConfigResult loaded = fairway::load_config_file(config_path);
  if (!loaded) {
    std::fprintf(stderr, "fairwayd: %s\n", loaded.error().message.c_str());
    return 1;
  }
  if (check_only) {
    std::printf("fairwayd: configuration %s is valid\n", config_path.c_str());
    return 0;
  }
  // Logs go to stderr, one line per event, coloured only on a terminal (journald gets plain
  // lines); stdout carries the counters as JSON.
  spdlog::set_default_logger(spdlog::stderr_color_mt("fairwayd"));
  spdlog::set_level(log_level);
  spdlog::info("{}", FAIRWAY_VERSION_LINE("fairwayd"));
  const fairway::Config& config = *loaded;
  if (!config.control_listen.empty() && config.control_token.empty() &&
      listens_beyond_loopback(config.control_listen)) {
    spdlog::warn(
        "the control API listens on {} without a token: anyone who reaches it can "
        "change the services (set control.token_file)",
        config.control_listen);
  }
  return fairway::run_daemon(config, options);
}
