#include "pipeline/counters.h"

namespace fairway {

WorkerCounters& WorkerCounters::operator+=(const WorkerCounters& other) {
#define FAIRWAY_EVENT_ADD(name) name += other.name;
  FAIRWAY_EVENT_COUNTERS(FAIRWAY_EVENT_ADD)
#undef FAIRWAY_EVENT_ADD
  for (size_t i = 0; i < drops.size(); ++i) drops[i] += other.drops[i];
  return *this;
}

}  // namespace fairway
