// A trie over the decimal digits of address prefixes: the shape under the route table and the
// networks' home prefixes. It holds only the shape; each user keeps what a node means in its
// own array, indexed by node. Lookups allocate nothing.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace smpp::dataplane {

class digit_trie {
 public:
  digit_trie() { add_node(); }

  // An address without its optional leading '+'.
  [[nodiscard]] static std::string_view digits_of(std::string_view s) noexcept {
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    return s;
  }

  // The node of `prefix` (its digits up to the first non-digit), created with the nodes before
  // it when new. The root (0) is the empty prefix.
  uint32_t insert(std::string_view prefix) {
    uint32_t at = 0;
    for (char ch : digits_of(prefix)) {
      if (ch < '0' || ch > '9') break;  // the config loader allows digits only
      const auto d = static_cast<size_t>(ch - '0');
      if (child_[at][d] < 0) child_[at][d] = static_cast<int32_t>(add_node());
      at = static_cast<uint32_t>(child_[at][d]);
    }
    return at;
  }

  // visit(node) for the root, then for each node along `address`'s digits, shortest first.
  template <typename Visit>
  void walk(std::string_view address, Visit&& visit) const noexcept {
    uint32_t at = 0;
    visit(at);
    for (char ch : digits_of(address)) {
      if (ch < '0' || ch > '9') break;
      const int32_t next = child_[at][static_cast<size_t>(ch - '0')];
      if (next < 0) break;
      at = static_cast<uint32_t>(next);
      visit(at);
    }
  }

  [[nodiscard]] size_t size() const noexcept { return child_.size(); }

 private:
  size_t add_node() {
    child_.emplace_back();
    child_.back().fill(-1);
    return child_.size() - 1;
  }
  std::vector<std::array<int32_t, 10>> child_;
};

}  // namespace smpp::dataplane
