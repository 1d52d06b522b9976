// The worker's sessions by connection: one entry per transport slot, an ESME session or one of
// the worker's upstream binds. A stale conn_id (an older generation in the same slot) finds
// nothing.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "esme_session.hpp"
#include "smpp/dataplane/conn_id.hpp"
#include "upstream_link.hpp"

namespace smpp::dataplane::router {

class conn_table {
 public:
  struct entry {
    conn_id conn = invalid_conn;
    std::unique_ptr<esme_session> esme;
    upstream_link* link = nullptr;
  };

  [[nodiscard]] entry* find(conn_id c) noexcept {
    const uint32_t i = conn_slot(c);
    if (i >= slots_.size() || !slots_[i] || slots_[i]->conn != c) return nullptr;
    return slots_[i].get();
  }
  // The live ESME session on c, or nullptr.
  [[nodiscard]] esme_session* esme(conn_id c) noexcept {
    entry* e = find(c);
    return e != nullptr ? e->esme.get() : nullptr;
  }
  esme_session& add_esme(conn_id c, uint32_t max_command_length) {
    entry& e = add(c);
    e.esme = std::make_unique<esme_session>(max_command_length);
    e.esme->conn = c;
    return *e.esme;
  }
  void add_link(conn_id c, upstream_link& l) { add(c).link = &l; }
  // Forgets c (its session object goes with it).
  void erase(conn_id c) noexcept {
    const uint32_t i = conn_slot(c);
    if (i < slots_.size()) slots_[i].reset();
  }

  template <class F>
  void for_each_esme(F&& f) {
    for (auto& e : slots_) {
      if (e && e->esme) f(*e->esme);
    }
  }
  [[nodiscard]] uint32_t esme_count() const noexcept {
    return static_cast<uint32_t>(
        std::count_if(slots_.begin(), slots_.end(), [](const auto& e) { return e && e->esme; }));
  }

 private:
  entry& add(conn_id c) {
    const uint32_t i = conn_slot(c);
    if (i >= slots_.size()) slots_.resize(std::max<size_t>(i + 1, slots_.size() * 2));
    slots_[i] = std::make_unique<entry>();
    slots_[i]->conn = c;
    return *slots_[i];
  }

  std::vector<std::unique_ptr<entry>> slots_;  // indexed by the conn_id slot
};

}  // namespace smpp::dataplane::router
