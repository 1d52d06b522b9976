// The admin API's change pipeline: a candidate configuration (an edited document, or the file
// again) is validated by the same loader and snapshot builder as at start, then offered to the
// publisher; only when the publisher applied it does it become the state the API answers from.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include "admin_edits.hpp"
#include "smpp/control/admin.hpp"
#include "smpp/control/config.hpp"
#include "smpp/dataplane/snapshot.hpp"

namespace smpp::control::detail {

// What the API answers from: the configuration the workers run, its snapshot and its TOML.
struct admin_state {
  router_config config;
  std::shared_ptr<const dataplane::router_snapshot> snapshot;
  toml::table document;
};

// The current admin_state, replaced whole by an applied change; a reader keeps the one it took.
class current_state {
 public:
  [[nodiscard]] std::shared_ptr<const admin_state> get() const {
    std::lock_guard lock(mu_);
    return state_;
  }
  void set(std::shared_ptr<const admin_state> next) {
    std::lock_guard lock(mu_);
    state_ = std::move(next);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const admin_state> state_;
};

// {"error": message} with the fields of `extra`: the shape of every refusal the API answers.
[[nodiscard]] nlohmann::json error_body(const std::string& message,
                                        nlohmann::json extra = nlohmann::json::object());

// A change's answer: the HTTP status, the JSON body, and what the log line says of it.
struct change_answer {
  int status = 200;
  nlohmann::json body;
  std::string log;
};

using editor = std::function<edit_result(toml::table&, const nlohmann::json&)>;

// One change at a time; the caller has checked the token and parsed the body.
class change_pipeline {
 public:
  change_pipeline(current_state& state, snapshot_publisher publish)
      : state_(state), publish_(std::move(publish)) {}

  // The current document edited by `edit` with `body`, serialised, validated, published.
  [[nodiscard]] change_answer edit(const editor& edit, const nlohmann::json& body);
  // POST /api/reload: the configuration file again.
  [[nodiscard]] change_answer reload();

 private:
  change_answer validate_and_publish(const std::string& text, const std::string& source,
                                     toml::table doc);

  current_state& state_;
  snapshot_publisher publish_;
  std::mutex change_mu_;
};

}  // namespace smpp::control::detail
