// The factory over the engines, and the memory-only backend of sync_policy::off.
#include "smpp/store/engines.hpp"

#include <atomic>

#include "engine_support.hpp"

namespace smpp::store {

namespace detail {
namespace {

// sync_policy::off: the router as it was before the store; appends are counted, not kept.
class memory_only_backend final : public backend {
 public:
  void recover(recovery_visitor&) override {}
  void append(std::span<const std::byte> records) override {
    stats_.groups.fetch_add(1, std::memory_order_relaxed);
    std::uint64_t n = 0;
    for (auto in = records; !in.empty();) {
      const auto v = decode(in);
      if (!v) throw store_error("store (memory only): append: the group holds an invalid record");
      in = in.subspan(v->size);
      ++n;
    }
    stats_.records.fetch_add(n, std::memory_order_relaxed);
  }
  std::optional<message_status> lookup(const message_key&) override { return std::nullopt; }
  std::vector<message_status> list(std::uint16_t, std::uint64_t, std::size_t) override {
    return {};
  }
  backend_stats stats() const override { return stats_.snapshot(); }

 private:
  stats_counters stats_;
};

}  // namespace

std::unique_ptr<backend> make_memory_only_backend() {
  return std::make_unique<memory_only_backend>();
}

}  // namespace detail

std::string_view to_string(engine e) noexcept {
  switch (e) {
    case engine::log:
      return "log";
    case engine::rocksdb:
      return "rocksdb";
    case engine::lmdb:
      return "lmdb";
  }
  return "unknown";
}

std::optional<engine> parse_engine(std::string_view text) noexcept {
  for (auto e : {engine::log, engine::rocksdb, engine::lmdb}) {
    if (to_string(e) == text) return e;
  }
  return std::nullopt;
}

std::unique_ptr<backend> open_backend(engine e, const store_config& config) {
  if (config.sync == sync_policy::off) return detail::make_memory_only_backend();
  switch (e) {
    case engine::log:
      return detail::make_log_backend(config);
    case engine::rocksdb:
      return detail::make_rocksdb_backend(config);
    case engine::lmdb:
      return detail::make_lmdb_backend(config);
  }
  throw store_error("store " + config.path.string() + ": unknown engine");
}

}  // namespace smpp::store
