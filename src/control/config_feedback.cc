// Load feedback: the `load_feedback` section (agents' reports), and per service the scheduler,
// the least-load parameters and the capability pools.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>

#include "control/config_loader.h"
#include "util/key_file.h"

namespace fairway::config_detail {
namespace {

constexpr uint64_t kMinReportIntervalMs = 100;
constexpr uint64_t kMaxReportIntervalMs = 3'600'000;
constexpr size_t kMinKeyBytes = 16;  // HMAC-SHA256 keys shorter than this are guessable
constexpr size_t kMaxPools = 16;

struct SharedSecret {
  std::string file;  // empty when given inline
  std::string key;
};

// A shared secret given as `key_file` (read with the one key-file reader) or inline as `key`, at
// least kMinKeyBytes long. `what` names it in the error for neither; with `optional`, neither
// is an empty secret.
SharedSecret read_shared_secret(const MapReader& map, const char* what, bool optional = false) {
  SharedSecret secret;
  auto key_file = map.get("key_file");
  auto key = map.get("key");
  if (key_file && key) key->fail("give either key or key_file, not both");
  if (key_file) {
    secret.file = key_file->string();
    Result<KeyFile> read = load_key_file(secret.file);
    if (!read) key_file->fail(read.error().message);
    secret.key = read->key;
  } else if (key) {
    secret.key = key->string();
  } else if (optional) {
    return secret;
  } else {
    map.self().fail_at("key_file", std::string("missing, expected the file with ") + what);
  }
  if (secret.key.size() < kMinKeyBytes) {
    (key_file ? *key_file : *key)
        .fail("the key has " + std::to_string(secret.key.size()) + " bytes, expected at least " +
              std::to_string(kMinKeyBytes) + " (e.g. `openssl rand -hex 32`)");
  }
  return secret;
}

}  // namespace

void ConfigLoader::read_load_feedback(const Field& field) {
  MapReader map =
      field.map({"key_file", "key", "agents", "report_interval", "stale_after", "max_clock_skew"});
  LoadFeedbackConfig& feedback = config_.load_feedback;
  auto agents = map.get("agents");
  // With keys per back-end the shared key is optional: every agent may have its own.
  SharedSecret secret = read_shared_secret(
      map, "the agents' shared key (or `agents` with a key each)", agents.has_value());
  feedback.key_file = std::move(secret.file);
  feedback.key = std::move(secret.key);
  if (agents) {
    for (const Field& item : agents->items()) {
      MapReader agent = item.map({"address", "key_file", "key"});
      Field address = agent.require("address", "the back-end address the agent reports for");
      LoadFeedbackConfig::AgentKey own{address.ip(), {}, {}};
      if (feedback.own_key(own.address) != nullptr) {
        address.fail("a second key for " + own.address.to_string() +
                     ", expected one entry per back-end address");
      }
      SharedSecret k = read_shared_secret(agent, "this back-end's key");
      own.key = std::move(k.key);
      own.key_file = std::move(k.file);
      feedback.agent_keys.push_back(std::move(own));
    }
    if (feedback.agent_keys.empty() && feedback.key.empty()) {
      agents->fail("an empty list and no shared key, expected at least one agent or key_file");
    }
  }
  if (auto f = map.get("report_interval")) {
    feedback.report_interval_ms = f->duration_ms(kMinReportIntervalMs, kMaxReportIntervalMs);
  }
  if (auto f = map.get("stale_after"))
    feedback.stale_after = static_cast<uint32_t>(f->uint(1, 100));
  if (auto f = map.get("max_clock_skew"))
    feedback.max_clock_skew_ms = f->duration_ms(100, 3'600'000);
}

namespace {
// "ADDRESS:PORT" / "[IPv6]:PORT", the port required.
FlowSyncConfig::Peer sync_endpoint(const Field& field) {
  const char* problem = "is not an address";
  auto endpoint = parse_endpoint_text(field.string(), &problem);
  if (!endpoint || !endpoint->port) {
    field.fail("'" + field.string() + "' " + (endpoint ? "has no port" : problem) +
               "; expected ADDRESS:PORT, e.g. 198.18.1.2:7470");
  }
  return {endpoint->address, *endpoint->port};
}
}  // namespace

void ConfigLoader::read_flow_sync(const Field& field) {
  MapReader map = field.map({"listen", "peers", "key_file", "key", "max_records_per_second"});
  FlowSyncConfig& sync = config_.flow_sync;
  const FlowSyncConfig::Peer self =
      sync_endpoint(map.require("listen", "this node's ADDRESS:PORT for flow sync"));
  sync.listen_address = self.address;
  sync.listen_port = self.port;
  Field peers = map.require("peers", "the other nodes' ADDRESS:PORT");
  for (const Field& item : peers.items()) {
    sync.peers.push_back(sync_endpoint(item));
    if (sync.peers.back() == self) item.fail("is this node's own listen address");
  }
  if (sync.peers.empty()) peers.fail("expected at least one peer, got an empty list");
  SharedSecret secret = read_shared_secret(map, "the nodes' shared flow-sync key");
  sync.key_file = std::move(secret.file);
  sync.key = std::move(secret.key);
  if (auto f = map.get("max_records_per_second")) {
    sync.max_records_per_second = static_cast<uint32_t>(f->uint(100, 10'000'000));
  }
}

void ConfigLoader::read_syn_cookies(const Field& field) {
  MapReader map = field.map({"key_file", "key"});
  SharedSecret secret = read_shared_secret(map, "the nodes' shared cookie secret");
  config_.syn_cookie_key_file = std::move(secret.file);
  config_.syn_cookie_secret = std::move(secret.key);
}

void ConfigLoader::read_scheduling(const MapReader& map, ServiceConfig& service) const {
  if (auto f = map.get("scheduler")) {
    constexpr Scheduler kSchedulers[] = {Scheduler::maglev, Scheduler::least_load,
                                         Scheduler::source_hash};
    service.scheduler =
        kSchedulers[f->choice({scheduler_name(kSchedulers[0]), scheduler_name(kSchedulers[1]),
                               scheduler_name(kSchedulers[2])})];
    if (service.scheduler == Scheduler::least_load && !config_.load_feedback.enabled()) {
      f->fail(
          "least-load follows the agents' load reports, expected a load_feedback section "
          "with their key");
    }
  }
  if (auto f = map.get("least_load")) {
    if (service.scheduler != Scheduler::least_load) {
      f->fail("only for scheduler: least-load, expected scheduler: least-load or no least_load");
    }
    service.least_load = read_least_load(*f);
  }
  if (auto f = map.get("pools")) {
    std::set<std::string> names;
    for (const Field& item : f->items()) {
      ClientPoolConfig pool = read_pool(item, service);
      if (!names.insert(pool.name).second) item.fail("duplicate pool name '" + pool.name + "'");
      service.pools.push_back(std::move(pool));
    }
    if (service.pools.size() > kMaxPools) {
      f->fail(std::to_string(service.pools.size()) + " pools, expected at most " +
              std::to_string(kMaxPools));
    }
  }
}

LeastLoadConfig ConfigLoader::read_least_load(const Field& field) const {
  MapReader map = field.map({"metric", "smoothing", "gain", "max_step", "dead_band", "min_factor",
                             "max_factor", "idle_load", "response"});
  LeastLoadConfig c;
  if (auto f = map.get("metric")) {
    c.metric = static_cast<LoadMetric>(f->choice({"cpu", "memory", "clients", "response_time"}));
  }
  if (auto f = map.get("smoothing")) c.params.smoothing = f->number(0.01, 1);
  if (auto f = map.get("gain")) c.params.gain = f->number(0.01, 1);
  if (auto f = map.get("max_step")) c.params.max_step = f->number(0.01, 1);
  if (auto f = map.get("dead_band")) c.params.dead_band = f->number(0.001, 0.5);
  if (auto f = map.get("min_factor")) c.params.min_factor = f->number(0.001, 1);
  if (auto f = map.get("max_factor")) c.params.max_factor = f->number(1, 100);
  if (auto f = map.get("idle_load")) c.params.idle_load = f->number(0, 1e6);
  if (auto f = map.get("response")) c.params.response = f->number(0.01, 1);
  return c;
}

ClientPoolConfig ConfigLoader::read_pool(const Field& field, const ServiceConfig& service) const {
  MapReader map = field.map({"name", "clients", "backends"});
  ClientPoolConfig pool;
  pool.name = map.require("name", "the pool's name, e.g. ipv6-capable").string();
  Field clients = map.require("clients", "a list of client prefixes, e.g. [198.18.0.0/24]");
  for (const Field& item : clients.items()) {
    IpPrefix prefix = item.prefix();
    if (prefix.address.is_v4() != service.vip.is_v4()) {
      item.fail("client prefix " + prefix.to_string() + " is " + family(prefix.address) +
                " but VIP " + service.vip.to_string() + " is " + family(service.vip) +
                ", expected the same family");
    }
    pool.clients.push_back(prefix);
  }
  if (pool.clients.empty()) clients.fail("expected at least one client prefix");
  Field backends = map.require("backends", "the addresses of the back-ends with the capability");
  for (const Field& item : backends.items()) {
    IpAddress address = item.ip();
    bool known = false;
    for (const BackendConfig& b : service.backends) known = known || b.address == address;
    if (!known) {
      item.fail(address.to_string() + " is not a back-end of service '" + service.name +
                "', expected one of its back-end addresses");
    }
    pool.backends.push_back(address);
  }
  if (pool.backends.empty()) backends.fail("expected at least one back-end");
  return pool;
}

}  // namespace fairway::config_detail
