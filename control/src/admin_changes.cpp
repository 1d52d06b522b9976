#include "admin_changes.hpp"

#include <fstream>
#include <iterator>
#include <sstream>
#include <string_view>
#include <vector>

#include "smpp/control/snapshot_builder.hpp"

namespace smpp::control::detail {
namespace {

using json = nlohmann::json;

// The loader's errors as the API answers them, each with the offending line of `text`.
json errors_json(const std::vector<config_error>& errors, const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  json out = json::array();
  for (const auto& e : errors) {
    json j = {{"file", e.file}, {"line", e.line},       {"column", e.column},
              {"key", e.key},   {"message", e.message}, {"text", e.to_string()}};
    if (e.line >= 1 && e.line <= lines.size()) j["source_line"] = lines[e.line - 1];
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace

json error_body(const std::string& message, json extra) {
  extra["error"] = message;
  return extra;
}

change_answer change_pipeline::edit(const editor& edit, const json& body) {
  std::lock_guard lock(change_mu_);
  const auto s = state_.get();
  toml::table doc = s->document;
  if (edit_result r = edit(doc, body); r.status != 0) {
    return {r.status, error_body(r.error), r.error};
  }
  std::ostringstream text;
  text << doc << "\n";
  // No '/' in the suffix: relative paths in the configuration still start at its directory.
  return validate_and_publish(
      text.str(), s->config.source_file + " (as changed through the admin API)", std::move(doc));
}

change_answer change_pipeline::reload() {
  std::lock_guard lock(change_mu_);
  const std::string path = state_.get()->config.source_file;
  std::ifstream in(path, std::ios::binary);
  if (!in) return {400, error_body("cannot read " + path), "cannot read " + path};
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  toml::table doc;
  try {
    doc = toml::parse(text, std::string_view{path});
  } catch (const toml::parse_error&) {
    // The loader reports the same syntax error with its line; doc stays empty.
  }
  return validate_and_publish(text, path, std::move(doc));
}

change_answer change_pipeline::validate_and_publish(const std::string& text,
                                                    const std::string& source, toml::table doc) {
  const config_result loaded = load_config_string(text, source);
  if (!loaded.ok()) {
    return {400,
            error_body("the configuration is not valid; nothing was changed",
                       {{"errors", errors_json(loaded.errors, text)}}),
            "refused by validation"};
  }
  std::string why;
  // Indices of tenants, upstreams and binds stay those of the running snapshot.
  auto snap = build_snapshot(*loaded.config, why, state_.get()->snapshot.get());
  if (!snap) {
    return {400, error_body("the configuration is not valid: " + why + "; nothing was changed"),
            "refused by the snapshot builder"};
  }
  const publish_result published =
      publish_ ? publish_(*loaded.config, snap) : publish_result{501, "no publisher"};
  if (published.http_status != 200) {
    return {published.http_status,
            error_body(published.error, {{"validated", true}, {"applied", false}}),
            "validated, not applied: " + published.error};
  }
  auto next = std::make_shared<admin_state>();
  next->config = *loaded.config;
  next->config.source_file = state_.get()->config.source_file;
  next->snapshot = std::move(snap);
  next->document = std::move(doc);
  state_.set(std::move(next));
  return {200, {{"validated", true}, {"applied", true}}, "applied"};
}

}  // namespace smpp::control::detail
