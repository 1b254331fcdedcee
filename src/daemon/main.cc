// fairwayd: the load balancer daemon. `fairwayd -c FILE` runs it; `fairwayd --check -c FILE`
// validates the configuration and exits (like `nginx -t`).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "control/config.h"
#include "dataplane/daemon.h"

int main(int argc, char** argv) {
  CLI::App app{"fairwayd - Fairway Layer-4 load balancer"};
  std::string config_path;
  bool check_only = false;
  fairway::DaemonOptions options;
  app.add_option("-c,--config", config_path, "configuration file (YAML)")->required();
  app.add_flag("--check", check_only, "validate the configuration and exit");
  app.add_option("--idle-exit-ms", options.idle_exit_ms,
                 "exit once no packet has arrived for this many ms (for capture replays)");
  app.add_option("--stats-file", options.stats_file, "write the final counters here as JSON");
  CLI11_PARSE(app, argc, argv);

  fairway::ConfigResult loaded = fairway::load_config_file(config_path);
  if (!loaded) {
    std::fprintf(stderr, "fairwayd: %s\n", loaded.error().message.c_str());
    return 1;
  }
  if (check_only) {
    std::printf("fairwayd: configuration %s is valid\n", config_path.c_str());
    return 0;
  }
  // Logs go to stderr; stdout carries the counters as JSON.
  spdlog::set_default_logger(spdlog::stderr_color_mt("fairwayd"));
  return fairway::run_daemon(*loaded, options);
}
