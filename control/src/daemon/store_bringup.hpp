// The router's store at start and stop ([store], docs/architecture.md "Durable message
// state"): the directory (locked: one router per store), the key of text message ids kept
// there, the manifest (the shards' generation, the number of workers, the names behind the
// tenant and upstream indices the records carry), one backend and journal per worker.
//
// When the workers or the names behind the indices changed since the store was written, the
// live state is rewritten into a new generation of shards, each id in the shard of the worker
// that owns it now and each index renumbered by name (records of tenants or upstreams that
// are gone are dropped and counted), before the old generation is removed; a crash half-way
// leaves the old generation in force.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "smpp/control/config.hpp"
#include "smpp/dataplane/shared_state.hpp"
#include "smpp/dataplane/snapshot.hpp"
#include "smpp/store/journal.hpp"

namespace smpp::router_daemon {

class store_setup {
 public:
  store_setup() = default;
  ~store_setup() { stop(); }
  store_setup(const store_setup&) = delete;
  store_setup& operator=(const store_setup&) = delete;

  // Opens the store for `workers` workers and sets shared.secret and shared.journals (nothing
  // with sync = "off"). False with error set when it cannot.
  [[nodiscard]] bool start(const control::router_config& cfg,
                           const dataplane::router_snapshot& snap, uint32_t workers,
                           dataplane::shared_state& shared, std::string& error);
  // A new snapshot: its names go into the manifest (indices only ever append within a run).
  void record_names(const dataplane::router_snapshot& snap);
  // After the workers stopped: every journal writes what it holds, then the store closes.
  void stop();

  [[nodiscard]] bool active() const noexcept { return !journals_.empty(); }
  [[nodiscard]] const std::filesystem::path& directory() const noexcept { return dir_; }
  [[nodiscard]] const std::vector<std::unique_ptr<store::journal>>& journals() const noexcept {
    return journals_;
  }
  // Records dropped by a rewrite at start because their tenant or upstream is gone.
  [[nodiscard]] uint64_t dropped_at_start() const noexcept { return dropped_; }

 private:
  std::filesystem::path dir_;
  int lock_fd_ = -1;
  uint64_t generation_ = 0;
  uint32_t workers_ = 0;
  uint64_t dropped_ = 0;
  std::vector<std::unique_ptr<store::journal>> journals_;
};

// The directory [store] path names for a configuration file (resolved as config.hpp says).
[[nodiscard]] std::filesystem::path store_directory(const control::router_config& cfg);

}  // namespace smpp::router_daemon
