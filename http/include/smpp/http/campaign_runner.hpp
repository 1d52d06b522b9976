// The campaigns of smpp-http: each recipient is handed to the message store as a message of its
// own (its text filled from its row), in row order, by one feeder thread, at no more than the
// campaign's rate_per_s (successive hand-overs at least 1/rate apart; without a rate, 1,000 at
// once, sharing the journal's commits) and only inside its send window. Pause stops the hand-over,
// resume restarts it, cancel ends it; recipients already handed over go on to their final state.
// Progress and the per-recipient report are read from the message store. With a journal every
// campaign, its state and each hand-over are on disk, so a restart goes on where it stopped without
// handing any recipient over twice.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "smpp/http/campaign_journal.hpp"
#include "smpp/http/message_store.hpp"

namespace smpp::http {

struct campaign_runner_config {
  std::size_t max_campaigns = 1000;  // kept; beyond, the oldest done or cancelled is forgotten
  std::size_t max_parts = 10;
  std::uint32_t retry_ms = 100;  // after the store refused a hand-over (queue or table full)
};

class campaign_runner {
 public:
  // `journal` may be null (nothing kept). `client_from(client)` is the client's sender.
  campaign_runner(const campaign_runner_config& config, message_store& store,
                  campaign_journal* journal, std::function<sme_address(std::uint32_t)> client_from);
  ~campaign_runner();
  campaign_runner(const campaign_runner&) = delete;
  campaign_runner& operator=(const campaign_runner&) = delete;

  // Before start(): the campaigns read back from the journal.
  void restore(std::vector<stored_campaign> campaigns);
  void start();
  void stop();

  enum class create_status : std::uint8_t { ok, full, not_stored };
  struct create_result {
    create_status status = create_status::ok;
    std::uint64_t id = 0;
  };
  // Stored (with a journal) before it is returned and before any recipient is handed over.
  [[nodiscard]] create_result create(std::uint32_t client, campaign_spec spec, std::int64_t now_ms);

  enum class change_status : std::uint8_t { ok, not_found, conflict, not_stored };
  // pause (running or paused), resume (paused or running), cancel (running or paused): `to` is
  // paused, running or cancelled. Done and cancelled campaigns change no more (conflict).
  [[nodiscard]] change_status change(std::uint64_t id, std::uint32_t client, campaign_state to);

  // GET /v1/campaigns/{id} and its report.csv; nullopt for an unknown id or another client's.
  [[nodiscard]] std::optional<std::string> progress_json(std::uint64_t id, std::uint32_t client,
                                                         std::int64_t now_ms) const;
  [[nodiscard]] std::optional<std::string> report_csv(std::uint64_t id, std::uint32_t client) const;

  struct counters {
    std::size_t campaigns = 0;
    std::uint64_t handed_over = 0;
    std::uint64_t store_refusals = 0;  // hand-overs the store refused, tried again
  };
  [[nodiscard]] counters stats() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace smpp::http
