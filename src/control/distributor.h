#pragma once
// The `least-load` distributor: a damped closed loop that turns each back-end's admin weight and
// latest load report into an effective weight for weighted Maglev, driving the back-ends' load
// (the reported metric divided by the back-end's capacity) toward equality. Pure: no I/O, no
// clock; the daemon calls round() once per report interval (~1 s) per `least-load` service.
// docs/DISTRIBUTION.md explains the algorithm, the parameters and the figures from the tests.
//
// Each back-end carries a `factor`, a multiplier on its admin weight (1 = the admin weight).
// Per round, over the back-ends with a fresh report and an admin weight above zero:
//  1. smoothed load  s_i <- smoothing * load_i + (1 - smoothing) * s_i;
//  2. mean M = simple mean of s_i (over the back-ends not held at min_factor/max_factor);
//     M < idle_load: no information, every factor steps toward 1 instead;
//  3. e_i = M / s_i; nothing moves while |e_i - 1| < dead_band;
//  4. target f*_i = seen_i * e_i, where seen_i is the factor the smoothed load reflects (the
//     recent factors, delayed by `response` and smoothed like the load), so a step still on its
//     way is not repeated; no step while |f*_i / f_i - 1| < dead_band;
//  5. f_i <- f_i * (f*_i / f_i)^gain, the ratio bounded to [1/(1+max_step), 1+max_step], f_i kept
//     within [min_factor, max_factor];
//  6. in a round where a factor moved, the factors not at a limit are rescaled together so that
//     the admin-weighted mean factor is 1 (shares depend only on ratios; this pins the scale).
// A back-end without a fresh or valid report, or with admin weight 0, has factor 1 and no state.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fairway {

// Effective weight = round(admin weight x factor x kWeightScale): Maglev weights are relative, the
// scale keeps the resolution of factors below 1 (min_factor 0.05 of admin weight 1 is weight 5).
inline constexpr double kWeightScale = 100;

struct LeastLoadParams {
  double smoothing = 0.5;    // (0, 1]: weight of the newest report in the smoothed load; 1 = none
  double gain = 0.5;         // (0, 1]: fraction (in log terms) of the way to the target per round
  double max_step = 0.25;    // (0, 10]: a factor changes by at most x(1+max_step) or /(1+max_step)
  double dead_band = 0.05;   // [0.001, 0.5]: relative distance of load to mean that is left alone
  double min_factor = 0.05;  // (0, 1]: a back-end keeps at least this fraction of its admin share
  double max_factor = 20;    // [1, 100]
  double idle_load = 5.0;    // >= 0, in load units: a mean below it means "all idle"
  double response = 0.5;     // (0, 1]: fraction of the way a back-end's load moves toward its new
                             // level in one round after its weight changed (1 = at once)
  friend bool operator==(const LeastLoadParams&, const LeastLoadParams&) = default;
};

// Whether `params` is usable; when not, `error` names the field and the range, e.g.
// "gain: value 0 is out of range, expected a number in (0, 1]".
bool valid(const LeastLoadParams& params, std::string& error);

struct DistributorInput {
  std::string backend;         // stable key, e.g. endpoint_text(): unique within a service
  uint32_t admin_weight = 0;   // 0 for a drained, down or weight-0 back-end
  std::optional<double> load;  // the chosen metric (e.g. CPU %); nullopt = no fresh report
  double capacity = 1.0;       // load is load / capacity; > 0
};

struct DistributorOutput {
  std::string backend;
  uint32_t effective_weight = 0;        // for Maglev; 0 only when the admin weight is 0
  double factor = 1.0;                  // effective / (admin x kWeightScale), before rounding
  std::optional<double> smoothed_load;  // load / capacity, smoothed; nullopt without a report
  std::string reason;                   // one line for people, e.g. "least-load: load 82.0 vs
                                        // mean 41.0, factor 0.80 (step bounded)"
};

// One per `least-load` service, living as long as the service.
class LeastLoadDistributor {
 public:
  // `params` must be valid().
  explicit LeastLoadDistributor(LeastLoadParams params = {});

  struct Round {
    std::vector<DistributorOutput> backends;  // in input order
    // Whether any effective weight (or the set of back-ends) differs from the previous round's:
    // the daemon republishes the snapshot only then. A round in which no factor moves leaves
    // every weight exactly as it was, and a factor moves only when a load is outside the dead
    // band, so a settled pool does not republish. True on the first round.
    bool changed = false;
  };

  // One round. Back-ends are matched to the previous rounds by `backend`; a back-end missing
  // from `inputs` is forgotten (it starts again from factor 1 if it comes back). A repeated key
  // after its first occurrence gets weight 0. Loads that are negative, NaN, infinite or absurd
  // (> 1e12 after dividing by capacity), and capacities that are not positive and finite, count
  // as no report. Not thread-safe: call it from the control thread.
  Round round(const std::vector<DistributorInput>& inputs);

  const LeastLoadParams& params() const { return params_; }

 private:
  struct State {
    uint32_t admin_weight = 0;
    uint32_t effective_weight = 0;  // last round's output
    double factor = 1.0;
    std::optional<double> smoothed;  // nullopt: no usable report last round
    double applied = 1.0;            // the factor the back-end's load currently reflects
    double seen = 1.0;               // `applied` smoothed like the load
  };

  struct Work;  // one back-end's round (distributor.cc)

  // Each returns whether a factor moved.
  bool admit(std::vector<Work>& work, std::vector<Work*>& active, bool& changed);
  bool step_toward_admin(const std::vector<Work*>& active);
  bool equalize(const std::vector<Work*>& active);
  void rescale(const std::vector<Work*>& active);
  std::string reason(const Work& work) const;
  static double mean_load(const std::vector<Work*>& set);  // of the smoothed loads; set not empty

  LeastLoadParams params_;
  std::map<std::string, State> states_;
  bool first_round_ = true;
};

}  // namespace fairway
