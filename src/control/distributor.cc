#include "control/distributor.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <set>
#include <string_view>

namespace fairway {
namespace {

// Added to both sides of e = mean / load, so that a zero load (a back-end that gets nothing)
// gives a large finite ratio and 0 / 0 gives 1. Load units; far below any meaningful load.
constexpr double kLoadEpsilon = 1e-9;
// e is kept within [1/kMaxRatio, kMaxRatio]; the step bound makes anything beyond irrelevant.
constexpr double kMaxRatio = 1e6;
// Loads (after dividing by capacity) above this are not a utilisation but a broken report; they
// count as no report, which also keeps every sum and product below finite.
constexpr double kMaxLoad = 1e12;

struct RangeCheck {
  const char* field;
  double value;
  double low;
  bool low_open;  // (low, ... rather than [low, ...
  double high;
  const char* expected;
};

bool within(const RangeCheck& c) {
  if (!std::isfinite(c.value)) return false;
  return (c.low_open ? c.value > c.low : c.value >= c.low) && c.value <= c.high;
}

}  // namespace

bool valid(const LeastLoadParams& p, std::string& error) {
  constexpr double kFinite = std::numeric_limits<double>::max();
  const RangeCheck checks[] = {
      {"smoothing", p.smoothing, 0, true, 1, "a number in (0, 1]"},
      {"gain", p.gain, 0, true, 1, "a number in (0, 1]"},
      {"max_step", p.max_step, 0, true, 10, "a number in (0, 10]"},
      {"dead_band", p.dead_band, 0.001, false, 0.5, "a number in [0.001, 0.5]"},
      {"min_factor", p.min_factor, 0, true, 1, "a number in (0, 1]"},
      {"max_factor", p.max_factor, 1, false, 100, "a number in [1, 100]"},
      {"idle_load", p.idle_load, 0, false, kFinite, "a finite number >= 0"},
      {"response", p.response, 0, true, 1, "a number in (0, 1]"},
  };
  for (const RangeCheck& c : checks) {
    if (!within(c)) {
      error =
          fmt::format("{}: value {:g} is out of range, expected {}", c.field, c.value, c.expected);
      return false;
    }
  }
  return true;
}

LeastLoadDistributor::LeastLoadDistributor(LeastLoadParams params) : params_(params) {
  [[maybe_unused]] std::string error;
  assert(valid(params_, error));
}

// What happened to one back-end in this round.
struct LeastLoadDistributor::Work {
  enum class Kind : uint8_t {
    // At the admin weight:
    admin_zero,
    duplicate,
    no_report,
    invalid_load,
    invalid_capacity,
    // Reporting:
    idle,       // all idle: stepping toward factor 1
    held,       // at min_factor / max_factor and unable to move toward the mean
    in_band,    // within the dead band
    in_flight,  // the last change has not shown in the load yet
    stepped,
  };
  const DistributorInput* input = nullptr;
  State* state = nullptr;  // nullptr for a duplicate key
  Kind kind = Kind::no_report;
  double mean = 0;  // what the load was compared with
  bool step_bounded = false;
  bool at_limit = false;  // the step stopped at min_factor / max_factor
};

double LeastLoadDistributor::mean_load(const std::vector<Work*>& set) {
  double sum = 0;
  for (const Work* w : set) sum += *w->state->smoothed;
  return sum / static_cast<double>(set.size());
}

namespace {

double bounded_step(double ratio, double max_step, bool& bounded) {
  const double high = 1 + max_step;
  bounded = ratio > high || ratio < 1 / high;
  return std::clamp(ratio, 1 / high, high);
}

}  // namespace

LeastLoadDistributor::Round LeastLoadDistributor::round(
    const std::vector<DistributorInput>& inputs) {
  Round out;
  out.changed = first_round_;
  first_round_ = false;

  std::vector<Work> work(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) work[i].input = &inputs[i];
  std::vector<Work*> active;  // fresh, valid report and admin weight > 0
  bool moved = admit(work, active, out.changed);
  if (!active.empty()) {
    moved |= mean_load(active) < params_.idle_load ? step_toward_admin(active) : equalize(active);
  }
  if (moved) rescale(active);

  out.backends.reserve(work.size());
  for (const Work& w : work) {
    DistributorOutput o;
    o.backend = w.input->backend;
    o.reason = reason(w);
    if (w.state != nullptr) {
      State& s = *w.state;
      o.factor = s.factor;
      o.smoothed_load = s.smoothed;
      if (s.admin_weight > 0) {
        const double weight = std::round(s.admin_weight * s.factor * kWeightScale);
        o.effective_weight = static_cast<uint32_t>(
            std::clamp(weight, 1.0, static_cast<double>(std::numeric_limits<uint32_t>::max())));
      }
      if (o.effective_weight != s.effective_weight) out.changed = true;
      s.effective_weight = o.effective_weight;
    }
    out.backends.push_back(std::move(o));
  }
  return out;
}

// Membership (a back-end that is gone is forgotten, one that appears starts at factor 1), then
// each back-end's report: usable ones are smoothed and listed in `active`, the others go back to
// the admin weight.
bool LeastLoadDistributor::admit(std::vector<Work>& work, std::vector<Work*>& active,
                                 bool& changed) {
  const LeastLoadParams& p = params_;
  bool moved = false;
  std::set<std::string_view> keys;
  for (Work& w : work) {
    if (!keys.insert(w.input->backend).second) w.kind = Work::Kind::duplicate;
  }
  for (auto it = states_.begin(); it != states_.end();) {
    if (keys.count(it->first) == 0) {
      if (it->second.factor != 1.0) moved = true;  // the others' mean factor is no longer 1
      it = states_.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }

  for (Work& w : work) {
    if (w.kind == Work::Kind::duplicate) continue;
    const DistributorInput& in = *w.input;
    auto [it, inserted] = states_.try_emplace(in.backend);
    if (inserted) changed = true;
    State& s = it->second;
    w.state = &s;
    s.admin_weight = in.admin_weight;
    const double load = in.load.value_or(0.0);
    const bool capacity_ok = std::isfinite(in.capacity) && in.capacity > 0;
    const double scaled = capacity_ok ? load / in.capacity : 0.0;
    if (in.admin_weight == 0) {
      w.kind = Work::Kind::admin_zero;
    } else if (!in.load) {
      w.kind = Work::Kind::no_report;
    } else if (!std::isfinite(load) || load < 0) {
      w.kind = Work::Kind::invalid_load;
    } else if (!capacity_ok) {
      w.kind = Work::Kind::invalid_capacity;
    } else if (!std::isfinite(scaled) || scaled > kMaxLoad) {
      w.kind = Work::Kind::invalid_load;
    } else {
      w.kind = Work::Kind::in_band;  // decided by the step that follows
      if (!s.smoothed) {
        s.smoothed = scaled;
        s.applied = s.seen = s.factor;
      } else {
        s.smoothed = p.smoothing * scaled + (1 - p.smoothing) * *s.smoothed;
        s.applied += p.response * (s.factor - s.applied);
        s.seen = p.smoothing * s.applied + (1 - p.smoothing) * s.seen;
      }
      active.push_back(&w);
      continue;
    }
    if (s.factor != 1.0) moved = true;
    s.factor = 1.0;
    s.smoothed.reset();
    s.applied = s.seen = 1.0;
  }
  return moved;
}

// All idle: the loads say nothing about capacity; step back toward the admin weights.
bool LeastLoadDistributor::step_toward_admin(const std::vector<Work*>& active) {
  const LeastLoadParams& p = params_;
  bool moved = false;
  const double mean = mean_load(active);
  for (Work* w : active) {
    State& s = *w->state;
    w->kind = Work::Kind::idle;
    w->mean = mean;
    const double next =
        std::abs(s.factor - 1) < p.dead_band
            ? 1.0
            : s.factor * bounded_step(std::pow(1 / s.factor, p.gain), p.max_step, w->step_bounded);
    if (next != s.factor) moved = true;
    s.factor = next;
  }
  return moved;
}

bool LeastLoadDistributor::equalize(const std::vector<Work*>& active) {
  const LeastLoadParams& p = params_;
  // The mean over the back-ends that can still move toward it: one held at min_factor with a
  // load above the mean (or at max_factor below it) cannot, and left in, it would keep the others
  // "below the mean" for ever and drive them up round after round.
  std::vector<Work*> free = active;
  for (;;) {
    const double mean = mean_load(free);
    std::vector<Work*> keep;
    for (Work* w : free) {
      const State& s = *w->state;
      const bool held = (s.factor <= p.min_factor && *s.smoothed > mean) ||
                        (s.factor >= p.max_factor && *s.smoothed < mean);
      if (!held) keep.push_back(w);
    }
    if (keep.size() == free.size() || keep.empty()) break;
    free = std::move(keep);
  }
  const double mean = mean_load(free);

  bool moved = false;
  for (Work* w : active) {
    State& s = *w->state;
    w->mean = mean;
    if (std::find(free.begin(), free.end(), w) == free.end()) {
      w->kind = Work::Kind::held;
      continue;
    }
    const double load_ratio =
        std::clamp((mean + kLoadEpsilon) / (*s.smoothed + kLoadEpsilon), 1 / kMaxRatio, kMaxRatio);
    if (std::abs(load_ratio - 1) < p.dead_band) {
      w->kind = Work::Kind::in_band;
      continue;
    }
    // The factor that would have made this load equal to the mean, given the factor the load
    // reflects; compared with the current factor, not the reflected one, so that a step already
    // taken and still on its way is not taken again.
    const double target = s.seen * load_ratio;
    const double ratio = target / s.factor;
    if (std::abs(ratio - 1) < p.dead_band) {
      w->kind = Work::Kind::in_flight;
      continue;
    }
    w->kind = Work::Kind::stepped;
    const double step = bounded_step(std::pow(ratio, p.gain), p.max_step, w->step_bounded);
    double next = s.factor * step;
    // Never past a limit, and never back from beyond one (rescaling can leave a factor there).
    if (step < 1 && next <= p.min_factor) {
      next = std::min(s.factor, p.min_factor);
      w->at_limit = true;
    } else if (step > 1 && next >= p.max_factor) {
      next = std::max(s.factor, p.max_factor);
      w->at_limit = true;
    }
    if (next != s.factor) moved = true;
    s.factor = next;
  }
  return moved;
}

// Shares depend only on the ratios of the weights, so the factors have a free common scale. Fix
// it by keeping the admin-weighted mean factor of the reporting back-ends at 1, leaving the ones
// at a limit where they are. Called only in rounds where something moved, so that a quiet round
// changes nothing at all.
void LeastLoadDistributor::rescale(const std::vector<Work*>& active) {
  const LeastLoadParams& p = params_;
  auto at_limit = [&](const State& s) {
    return s.factor <= p.min_factor || s.factor >= p.max_factor;
  };
  double total = 0, fixed = 0, movable = 0;
  for (const Work* w : active) {
    const State& s = *w->state;
    total += s.admin_weight;
    (at_limit(s) ? fixed : movable) += s.admin_weight * s.factor;
  }
  if (movable <= 0 || total - fixed <= 0) return;
  const double scale = (total - fixed) / movable;
  for (Work* w : active) {
    State& s = *w->state;
    if (at_limit(s)) continue;
    s.factor = std::clamp(s.factor * scale, p.min_factor, p.max_factor);
    s.applied *= scale;
    s.seen *= scale;
  }
}

std::string LeastLoadDistributor::reason(const Work& w) const {
  const LeastLoadParams& p = params_;
  using Kind = Work::Kind;
  const double factor = w.state != nullptr ? w.state->factor : 1.0;
  const double load = w.state != nullptr ? w.state->smoothed.value_or(0) : 0.0;
  switch (w.kind) {
    case Kind::admin_zero:
      return "admin weight 0: no new flows";
    case Kind::duplicate:
      return "duplicate back-end key: ignored";
    case Kind::no_report:
      return "no fresh report: admin weight";
    case Kind::invalid_load:
      return fmt::format("invalid load report ({:g}): admin weight", *w.input->load);
    case Kind::invalid_capacity:
      return fmt::format("invalid capacity ({:g}): admin weight", w.input->capacity);
    case Kind::idle:
      if (factor == 1.0) {
        return fmt::format("all idle (mean {:.1f} < {:g}): admin weight", w.mean, p.idle_load);
      }
      return fmt::format("all idle (mean {:.1f} < {:g}): drifting to admin weight, factor {:.2f}",
                         w.mean, p.idle_load, factor);
    case Kind::held:
      return fmt::format(
          "least-load: load {:.1f} vs mean {:.1f} of the others, held at {}, "
          "factor {:.2f}",
          load, w.mean, factor <= p.min_factor ? "min_factor" : "max_factor", factor);
    case Kind::in_band:
      return fmt::format("least-load: load {:.1f} vs mean {:.1f}, within dead band, factor {:.2f}",
                         load, w.mean, factor);
    case Kind::in_flight:
      return fmt::format(
          "least-load: load {:.1f} vs mean {:.1f}, last change still taking "
          "effect, factor {:.2f}",
          load, w.mean, factor);
    case Kind::stepped:
      return fmt::format("least-load: load {:.1f} vs mean {:.1f}, factor {:.2f}{}{}", load, w.mean,
                         factor, w.step_bounded ? " (step bounded)" : "",
                         w.at_limit ? " (at limit)" : "");
  }
  return {};
}

}  // namespace fairway
