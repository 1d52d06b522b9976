// libFuzzer target: the delivery-receipt text parser and id normalisation. Views stay inside the
// input; a parsed receipt rebuilt into the standard form parses back to the same id and state.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "smpp/codec/receipt.hpp"

namespace {

void inside(std::string_view part, std::string_view whole) {
  if (part.empty()) return;
  if (part.data() < whole.data() || part.data() + part.size() > whole.data() + whole.size()) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace smpp::codec;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const receipt_parse_result r = parse_receipt_text(in);
  (void)normalize_message_id(in.substr(0, 80));
  if (!r.ok()) return 0;
  const receipt_text& t = r.receipt;
  if (t.id.empty()) std::abort();
  inside(t.id, in);
  inside(t.text, in);
  inside(t.stat.raw, in);
  inside(t.submit_date.raw, in);
  const auto key = normalize_message_id(t.id);
  if (key.ok() && key.key.view().empty()) std::abort();

  receipt_fields f;
  f.id = t.id;
  if (t.stat.value) f.stat = *t.stat.value;
  f.submit_date = {2026, 11, 26, 12, 0, 0};
  f.done_date = {2026, 11, 26, 12, 1, 0};
  std::array<char, 512> out{};
  const receipt_build_result b = build_receipt_text(f, out);
  if (!b.ok()) return 0;  // ids the standard form cannot carry (blanks, too long)
  const receipt_parse_result again = parse_receipt_text(std::string_view(out.data(), b.size));
  if (!again.ok() || again.receipt.id != t.id) std::abort();
  if (!again.receipt.stat.value || *again.receipt.stat.value != f.stat) std::abort();
  return 0;
}
