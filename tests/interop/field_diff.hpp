// A decoded PDU flattened to (field name, value) pairs in wire order, and the ordered comparison
// of our flattening against a peer's. Both differential tests report through this one type, so a
// mismatch always reads "field: ours=... peer=...".
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace smpp::interop {

struct field {
  std::string name;
  std::string value;
  friend bool operator==(const field&, const field&) = default;
};
using field_list = std::vector<field>;

// Every difference between ours and theirs, compared position by position (a peer must see the
// same fields in the same order), at most max_reported of them.
[[nodiscard]] inline std::vector<std::string> diff_fields(const field_list& ours,
                                                          const field_list& theirs,
                                                          size_t max_reported = 8) {
  std::vector<std::string> out;
  const size_t n = std::max(ours.size(), theirs.size());
  for (size_t i = 0; i < n && out.size() < max_reported; ++i) {
    const field* a = i < ours.size() ? &ours[i] : nullptr;
    const field* b = i < theirs.size() ? &theirs[i] : nullptr;
    if (a != nullptr && b != nullptr && *a == *b) continue;
    std::string line = "#" + std::to_string(i) + " ";
    if (a == nullptr) {
      line += "missing in ours; peer has " + b->name + "=" + b->value;
    } else if (b == nullptr) {
      line += "missing in peer; ours has " + a->name + "=" + a->value;
    } else if (a->name != b->name) {
      line +=
          "field order: ours " + a->name + "=" + a->value + ", peer " + b->name + "=" + b->value;
    } else {
      line += a->name + ": ours=" + a->value + " peer=" + b->value;
    }
    out.push_back(std::move(line));
  }
  return out;
}

}  // namespace smpp::interop
