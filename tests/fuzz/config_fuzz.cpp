// libFuzzer target: the configuration loader on arbitrary TOML text (control/config.hpp), the
// text an operator or the admin API hands the router. Checked: it never crashes; it either
// loads a configuration or reports errors, each naming the file and a line or a key (style
// guide: config errors name file, line, key and the accepted values) within the text; and a
// configuration it loads builds a snapshot (unless a TLS file it names cannot be read).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "smpp/control/config.hpp"
#include "smpp/control/snapshot_builder.hpp"

namespace {

constexpr const char* kName = "/nonexistent-fuzz-dir/router.toml";

// token_file is read when the configuration loads: keep the fuzzer away from device files
// that block or never end (TOML escapes could spell any path, so any escape counts too).
bool reads_risky_file(std::string_view text) {
  if (text.find("token_file") == std::string_view::npos) return false;
  for (const std::string_view risky : {"/dev", "/proc", "/sys", "..", "\\u", "\\U"}) {
    if (text.find(risky) != std::string_view::npos) return true;
  }
  return false;
}

bool uses_tls(const smpp::control::router_config& c) {
  return std::any_of(c.listeners.begin(), c.listeners.end(), [](const auto& l) { return l.tls; }) ||
         std::any_of(c.upstreams.begin(), c.upstreams.end(),
                     [](const auto& u) { return u.tls.enabled; });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace smpp::control;
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (reads_risky_file(text)) return 0;
  const config_result r = load_config_string(text, kName);
  const auto lines = static_cast<uint32_t>(std::count(text.begin(), text.end(), '\n') + 1);
  for (const config_error& e : r.errors) {
    if (e.file != kName || e.message.empty()) std::abort();
    if (e.line == 0 && e.key.empty()) std::abort();  // says neither where nor what
    if (e.line > lines) std::abort();
  }
  if (r.config.has_value() != r.errors.empty()) std::abort();
  if (!r.ok()) return 0;
  std::string why;
  const auto snapshot = build_snapshot(*r.config, why);
  // The builder loads the TLS certificates, which the loader only names: a missing file is
  // the builder's error to report. Anything else it refuses, the loader let through.
  if (!snapshot && !uses_tls(*r.config)) std::abort();
  return 0;
}
