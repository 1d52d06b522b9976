// A fixed-size array of trivially copyable elements for tables of hundreds of megabytes (the
// number portability index): aligned to 2 MiB and advised to the kernel as transparent huge
// pages, so a random lookup pays one TLB miss per 2 MiB instead of per 4 KiB. Elements are left
// uninitialised; the builder writes every one.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>
#include <span>
#include <type_traits>

namespace smpp::dataplane {

template <typename T>
class huge_array {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>,
                "huge_array holds plain values only");

 public:
  static constexpr size_t alignment = size_t{2} << 20;  // one x86-64 huge page

  huge_array() = default;
  // Throws std::bad_alloc when the memory is not there (control plane only).
  explicit huge_array(size_t n) : size_(n) {
    if (n == 0) return;
    const size_t bytes = (n * sizeof(T) + alignment - 1) / alignment * alignment;
    void* p = std::aligned_alloc(alignment, bytes);
    if (p == nullptr) throw std::bad_alloc();
    // Advice only: without transparent huge pages the table works on 4 KiB pages.
    (void)::madvise(p, bytes, MADV_HUGEPAGE);
    data_.reset(static_cast<T*>(p));
  }

  [[nodiscard]] T* data() noexcept { return data_.get(); }
  [[nodiscard]] const T* data() const noexcept { return data_.get(); }
  [[nodiscard]] size_t size() const noexcept { return size_; }
  [[nodiscard]] T& operator[](size_t i) noexcept { return data_.get()[i]; }
  [[nodiscard]] const T& operator[](size_t i) const noexcept { return data_.get()[i]; }
  [[nodiscard]] std::span<T> span() noexcept { return {data_.get(), size_}; }
  [[nodiscard]] std::span<const T> span() const noexcept { return {data_.get(), size_}; }

 private:
  struct release {
    void operator()(T* p) const noexcept { std::free(p); }
  };
  std::unique_ptr<T, release> data_;
  size_t size_ = 0;
};

}  // namespace smpp::dataplane
