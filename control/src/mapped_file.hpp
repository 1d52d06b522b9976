// A file mapped read-only into memory, for the large data files the control plane parses (the
// number portability tables): no copy, and the kernel reads ahead as the parse goes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace smpp::control::detail {

class mapped_file {
 public:
  // Maps `path`; on failure text() is empty and error() says why.
  explicit mapped_file(const std::string& path);
  ~mapped_file();
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;

  [[nodiscard]] std::string_view text() const noexcept { return {data_, size_}; }
  [[nodiscard]] const std::string& error() const noexcept { return error_; }
  // "PATH:SIZE:MTIME_NS": changes when the file is rewritten (taken when it was mapped).
  [[nodiscard]] const std::string& stamp() const noexcept { return stamp_; }

 private:
  const char* data_ = nullptr;
  size_t size_ = 0;
  std::string error_;
  std::string stamp_;
};

}  // namespace smpp::control::detail
