// libFuzzer target: admin API request bodies through the change path the server runs after the
// token check (control/src/admin_changes.hpp), without HTTP: the JSON body, the edit of the
// configuration's TOML document (admin_edits.hpp), validation by the loader and the snapshot
// builder, publication. The first octet picks the endpoint, the second the name in its path;
// the rest is the body. Checked: nothing crashes; every answer is a JSON object with a status
// the API documents; a refusal says why ("error"), and validation errors point inside the
// edited text; an applied change leaves a document that loads again.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "admin_changes.hpp"
#include "smpp/control/admin.hpp"
#include "smpp/control/config.hpp"
#include "smpp/control/snapshot_builder.hpp"

namespace {

using namespace smpp::control;
using json = nlohmann::json;

// Two tenants, two upstreams (one gated with shares), routes: what the API edits.
std::string base_text() {
  const std::string hash = hash_password("secret");
  return "[router]\nlisten = [\"127.0.0.1:2775\"]\n\n"
         "[[tenants]]\nname = \"acme\"\nsystem_id = \"acme\"\npassword_hash = \"" +
         hash +
         "\"\nwindow = 16\n\n"
         "[[tenants]]\nname = \"gold\"\nsystem_id = \"gold\"\npassword_hash = \"" +
         hash +
         "\"\nweight = 3\n\n"
         "[[upstreams]]\nname = \"sim\"\naddress = \"127.0.0.1:2776\"\nrate_per_s = 100\n"
         "[[upstreams.binds]]\nsystem_id = \"router\"\npassword = \"router\"\ncount = 2\n"
         "[[upstreams.shares]]\ntenant = \"gold\"\ncap_per_s = 80\n\n"
         "[[upstreams]]\nname = \"backup\"\naddress = \"127.0.0.1:2777\"\n"
         "[[upstreams.binds]]\nsystem_id = \"router\"\npassword = \"router\"\n\n"
         "[[routes]]\ntenant = \"*\"\nupstreams = [\"sim\", \"backup\"]\n\n"
         "[[routes]]\ntenant = \"acme\"\ndestination_prefix = \"44\"\nupstreams = [\"backup\"]\n";
}

std::shared_ptr<const detail::admin_state> base_state() {
  static const std::shared_ptr<const detail::admin_state> base = [] {
    const std::string text = base_text();
    const config_result loaded = load_config_string(text, "/nonexistent-fuzz-dir/router.toml");
    if (!loaded.ok()) std::abort();
    auto s = std::make_shared<detail::admin_state>();
    s->config = *loaded.config;
    std::string why;
    s->snapshot = build_snapshot(s->config, why);
    if (!s->snapshot) std::abort();
    s->document = toml::parse(text);
    return s;
  }();
  return base;
}

// The server refuses bodies nested deeper than max_json_depth before parsing them
// (admin_server.cpp): the same limit here, so the edits see only what the API lets through.
size_t json_depth(std::string_view text) {
  size_t depth = 0;
  size_t deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

constexpr std::array<const char*, 6> kNames = {"acme", "gold", "sim", "backup", "new", "a\"b"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const std::string name = kNames[(data[1] & 0x0F) % kNames.size()];
  const std::string other = kNames[(data[1] >> 4) % kNames.size()];
  const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
  if (json_depth(text) > admin_server::max_json_depth) return 0;  // 400 before any edit
  const json body = json::parse(text, nullptr, false);
  if (body.is_discarded()) return 0;  // 400 before any edit

  detail::editor edit;
  switch (data[0] % 6) {
    case 0:
      edit = [&](toml::table& d, const json& b) {
        return detail::merge_entry(d, "tenants", name, b);
      };
      break;
    case 1:
      edit = [&](toml::table& d, const json& b) {
        return detail::merge_entry(d, "upstreams", name, b);
      };
      break;
    case 2:
      edit = [](toml::table& d, const json& b) { return detail::replace_routes(d, b); };
      break;
    case 3:
      edit = [&](toml::table& d, const json& b) { return detail::set_share(d, name, other, b); };
      break;
    case 4:
      edit = [&](toml::table& d, const json&) {
        return detail::delete_entry(d, "tenants", name, "tenant");
      };
      break;
    default:
      edit = [&](toml::table& d, const json&) {
        return detail::delete_entry(d, "upstreams", name, "upstream");
      };
      break;
  }

  detail::current_state state;
  state.set(base_state());
  detail::change_pipeline changes(state, [](const router_config&, const auto& snap) {
    if (!snap) std::abort();  // published only what the snapshot builder built
    return publish_result{200, ""};
  });
  const detail::change_answer a = changes.edit(edit, body);
  if (!a.body.is_object()) std::abort();
  if (a.status != 200 && a.status != 400 && a.status != 404) std::abort();
  if (a.status != 200) {
    const auto e = a.body.find("error");
    if (e == a.body.end() || !e->is_string() || e->get<std::string>().empty()) std::abort();
    if (state.get() != base_state()) std::abort();  // a refused change changes nothing
    // Validation errors quote the line they point at: it is inside the edited text.
    for (const json& err : a.body.value("errors", json::array())) {
      if (err.value("line", 0) != 0 && !err.contains("source_line")) std::abort();
    }
    return 0;
  }
  // Applied: the document the API now answers from loads as it is.
  const auto now = state.get();
  if (now == base_state()) std::abort();
  std::ostringstream again;
  again << now->document << "\n";
  if (!load_config_string(again.str(), now->config.source_file).ok()) std::abort();
  return 0;
}
