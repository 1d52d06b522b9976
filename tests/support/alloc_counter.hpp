// Counts every heap allocation of the test binary that includes this header (in exactly one
// translation unit): the global operator new/delete are replaced. All forms are replaced so that
// allocation and release always pair up (AddressSanitizer checks that).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace smpp::testing {
inline std::atomic<long> g_allocations{0};
inline long allocations() noexcept {
  return g_allocations.load(std::memory_order_relaxed);
}
inline void* counted_alloc_nothrow(std::size_t n, std::size_t align = 0) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (align > alignof(std::max_align_t)) {
    return std::aligned_alloc(align, (n + align - 1) / align * align + (n == 0 ? align : 0));
  }
  return std::malloc(n ? n : 1);
}
inline void* counted_alloc(std::size_t n, std::size_t align = 0) {
  if (void* p = counted_alloc_nothrow(n, align)) return p;
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
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return smpp::testing::counted_alloc_nothrow(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return smpp::testing::counted_alloc_nothrow(n);
}
void* operator new(std::size_t n, std::align_val_t a) {
  return smpp::testing::counted_alloc(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return smpp::testing::counted_alloc(n, static_cast<std::size_t>(a));
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
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
