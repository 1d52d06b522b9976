// Which network a destination belongs to: the ported network when the number is in the number
// portability index, else the home network of its longest matching prefix ([[networks]]).
// Part of the snapshot; immutable once built, lookups allocate nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "smpp/dataplane/digit_trie.hpp"
#include "smpp/dataplane/mnp_index.hpp"

namespace smpp::dataplane {

class network_map {
 public:
  network_map() = default;
  // names[i] is network i; prefixes[i] its home prefixes (digits, optional leading '+').
  network_map(std::vector<std::string> names, const std::vector<std::vector<std::string>>& prefixes,
              std::shared_ptr<const mnp_index> ported);

  [[nodiscard]] uint16_t network_of(std::string_view destination) const noexcept {
    if (ported_ != nullptr) {
      if (const uint16_t n = ported_->lookup(destination); n != no_network) return n;
    }
    return home_network(destination);
  }
  // The home network of the longest prefix of `destination`; no_network when none matches.
  [[nodiscard]] uint16_t home_network(std::string_view destination) const noexcept;

  [[nodiscard]] const std::vector<std::string>& names() const noexcept { return names_; }
  // no_network when there is no network of that name.
  [[nodiscard]] uint16_t id_of(std::string_view name) const noexcept;
  [[nodiscard]] const std::shared_ptr<const mnp_index>& ported() const noexcept { return ported_; }

 private:
  std::vector<std::string> names_;
  digit_trie prefixes_;
  std::vector<uint16_t> home_;  // per node of prefixes_: the network whose prefix ends there
  std::shared_ptr<const mnp_index> ported_;
};

}  // namespace smpp::dataplane
