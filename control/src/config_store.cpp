// [store]: the router's message state on disk (store/README.md for the engines and their
// guarantees, docs/architecture.md "Durable message state" for what the router keeps).
#include "config_sections.hpp"
#include "smpp/store/backend.hpp"
#include "smpp/store/engines.hpp"

namespace smpp::control::detail {
namespace {

constexpr int_range capacity_mb_range{64, 1'000'000'000};

}  // namespace

void load_store(config_reader& r, const toml::table& root, store_config& c) {
  const toml::table* t = r.table_of(root, "store", "");
  if (t == nullptr) return;
  const std::string path = "store";
  r.check_keys(*t, path, {"path", "sync", "engine", "capacity_mb"});
  if (const auto* s = r.read_string(*t, "path", path, "a directory")) {
    if (s->get().empty()) {
      r.wrong(*s, join(path, "path"), "a directory (leave the key out for the default)");
    } else {
      c.path = s->get();
    }
  }
  constexpr std::string_view sync_accepted = "\"batch\", \"fsync\" or \"off\"";
  if (const auto* s = r.read_string(*t, "sync", path, sync_accepted)) {
    if (store::parse_sync_policy(s->get())) {
      c.sync = s->get();
    } else {
      r.wrong(*s, join(path, "sync"), sync_accepted);
    }
  }
  constexpr std::string_view engine_accepted = "\"log\", \"rocksdb\" or \"lmdb\"";
  if (const auto* s = r.read_string(*t, "engine", path, engine_accepted)) {
    if (store::parse_engine(s->get())) {
      c.engine = s->get();
    } else {
      r.wrong(*s, join(path, "engine"), engine_accepted);
    }
  }
  r.read_int(*t, "capacity_mb", path, capacity_mb_range, c.capacity_mb);
}

}  // namespace smpp::control::detail
