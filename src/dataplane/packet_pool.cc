#include "dataplane/packet_pool.h"

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_mempool.h>

namespace fairway {
namespace {

constexpr unsigned kPerLcoreCache = 256;

}  // namespace

rte_mempool* create_packet_pool(const char* name, unsigned count, int socket, std::string& error) {
  const uint16_t data_room = RTE_MBUF_DEFAULT_BUF_SIZE;
  rte_pktmbuf_pool_private pool_private{};
  pool_private.mbuf_data_room_size = data_room;
  pool_private.mbuf_priv_size = 0;
  const unsigned object_size = sizeof(rte_mbuf) + data_room;
  // No IOVA-contiguous objects: lets objects straddle page boundaries, i.e. pack them.
  rte_mempool* pool =
      rte_mempool_create_empty(name, count, object_size, kPerLcoreCache, sizeof(pool_private),
                               socket, RTE_MEMPOOL_F_NO_IOVA_CONTIG);
  if (pool == nullptr) {
    error = std::string("cannot create the mbuf pool: ") + rte_strerror(rte_errno);
    return nullptr;
  }
  if (rte_mempool_set_ops_byname(pool, rte_mbuf_best_mempool_ops(), nullptr) != 0) {
    error = "cannot set the mbuf pool's ops";
    rte_mempool_free(pool);
    return nullptr;
  }
  rte_pktmbuf_pool_init(pool, &pool_private);
  if (rte_mempool_populate_default(pool) < 0) {
    error = "cannot allocate " + std::to_string(count) +
            " mbufs (raise the EAL memory, e.g. -m, or lower mbufs)";
    rte_mempool_free(pool);
    return nullptr;
  }
  rte_mempool_obj_iter(pool, rte_pktmbuf_init, nullptr);
  return pool;
}

}  // namespace fairway
