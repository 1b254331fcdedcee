#pragma once
// The control core's side of flow queries: one FlowQuery per worker (WorkerContext::flow_query),
// posted to every worker at once and collected (see pipeline/flow_query.h for the protocol).
#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "dataplane/worker.h"
#include "pipeline/flow_query.h"

namespace fairway {

// Lists (up to `limit`; 0 counts only) and counts the live flows matching `filter` on every
// worker. Sleeps ~1 ms between looks and returns after `timeout` at the latest: a worker that
// has not answered by then (stopped, or still busy with a query that timed out before) is left
// out and the listing marked incomplete; its query is cancelled, never freed under it.
// Blocks for a few milliseconds per million flows per worker (64 buckets per poll iteration).
// Thread-safe: concurrent calls run one after the other. Call it without holding a lock the
// workers need (they need none).
// `posted` runs after each round of posts (it wakes sleeping workers).
FlowListing query_flows(const std::vector<WorkerContext*>& workers, const FlowFilter& filter,
                        size_t limit, std::chrono::milliseconds timeout,
                        const std::function<void()>& posted = {});

}  // namespace fairway
