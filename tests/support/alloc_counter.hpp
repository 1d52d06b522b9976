// Counts every heap allocation of the test binary that includes this header (in exactly one
// translation unit): the global operator new/delete are replaced. All forms are replaced so that
// allocation and release always pair up (AddressSanitizer checks that).
#pragma once

#include <atomic>
#include <cstdlib>
#include <new>

namespace smpp::testing {
inline std::atomic<long> g_allocations{0};
inline long allocations() noexcept {
  return g_allocations.load(std::memory_order_relaxed);
}
inline void* counted_alloc(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
}  // namespace smpp::testing

// GCC cannot see that these replacements pair up and warns about free() after new.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t n) {
  return smpp::testing::counted_alloc(n);
}
void* operator new[](std::size_t n) {
  return smpp::testing::counted_alloc(n);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
