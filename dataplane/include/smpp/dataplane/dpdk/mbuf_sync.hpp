// DPDK's mempools, rings and drivers are not built with ThreadSanitizer, so it cannot see that an
// mbuf freed on one worker and taken again on another passed through DPDK's own synchronisation.
// Every mbuf handed to DPDK is released and every mbuf taken from it acquired, which tells TSan
// what DPDK already guarantees. Outside TSan builds these are nothing.
#pragma once

#include <rte_mbuf.h>

#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace smpp::dataplane::dpdk {

// An mbuf just taken from DPDK (allocated, received).
inline void mbuf_taken(rte_mbuf* m) noexcept {
#if defined(__SANITIZE_THREAD__)
  if (m != nullptr) __tsan_acquire(m);
#else
  (void)m;
#endif
}

// An mbuf about to be handed to DPDK (freed, transmitted).
inline void mbuf_handed(rte_mbuf* m) noexcept {
#if defined(__SANITIZE_THREAD__)
  if (m != nullptr) __tsan_release(m);
#else
  (void)m;
#endif
}

inline rte_mbuf* mbuf_alloc(rte_mempool* pool) noexcept {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  mbuf_taken(m);
  return m;
}

inline void mbuf_free(rte_mbuf* m) noexcept {
  mbuf_handed(m);
  rte_pktmbuf_free(m);
}

}  // namespace smpp::dataplane::dpdk
