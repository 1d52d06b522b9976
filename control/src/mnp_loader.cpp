#include "mnp_loader.hpp"

#include <algorithm>

#include "mapped_file.hpp"

namespace smpp::control::detail {
namespace {

std::vector<mnp_text> texts_of(const std::vector<std::unique_ptr<mapped_file>>& files,
                               const std::vector<std::string>& paths) {
  std::vector<mnp_text> out;
  for (size_t i = 0; i < files.size(); ++i) out.push_back({paths[i], files[i]->text()});
  return out;
}

}  // namespace

mnp_load_result load_mnp(const router_config& config, const network_ids& networks,
                         const dataplane::router_snapshot* previous) {
  mnp_load_result out;
  if (config.number_portability.empty()) return out;
  std::vector<std::string> base_paths;
  std::vector<std::string> delta_paths;
  for (const number_portability_config& p : config.number_portability) {
    base_paths.push_back(p.file);
    delta_paths.insert(delta_paths.end(), p.deltas.begin(), p.deltas.end());
  }
  std::vector<std::unique_ptr<mapped_file>> bases;
  std::vector<std::unique_ptr<mapped_file>> deltas;
  for (const std::string& path : base_paths) bases.push_back(std::make_unique<mapped_file>(path));
  for (const std::string& path : delta_paths) deltas.push_back(std::make_unique<mapped_file>(path));
  for (const auto* list : {&bases, &deltas}) {
    for (const auto& f : *list) {
      if (!f->error().empty()) {
        out.error = "number_portability: " + f->error();
        return out;
      }
    }
  }
  // What the index is made of: the networks (their ids are in it), the files, the deltas.
  std::string names = "networks:";
  for (const network_config& n : config.networks) names += n.name + ",";
  out.sources.push_back(std::move(names));
  for (const auto& f : bases) out.sources.push_back("file:" + f->stamp());
  for (const auto& f : deltas) out.sources.push_back("delta:" + f->stamp());

  const std::vector<mnp_text> base_texts = texts_of(bases, base_paths);
  const std::vector<mnp_text> delta_texts = texts_of(deltas, delta_paths);

  const size_t fixed = 1 + bases.size();  // networks and base files
  size_t applied = 0;                     // deltas already in the reused index
  std::shared_ptr<const dataplane::mnp_index> start;
  if (previous != nullptr && previous->networks.ported() != nullptr) {
    const std::vector<std::string>& before = previous->mnp_sources;
    if (before.size() >= fixed && before.size() <= out.sources.size() &&
        std::equal(before.begin(), before.end(), out.sources.begin())) {
      start = previous->networks.ported();
      applied = before.size() - fixed;
    }
  }
  if (start == nullptr) {
    mnp_build_result built = build_mnp_index(base_texts, networks);
    if (!built.ok()) {
      out.error = "number_portability: " + built.error;
      return out;
    }
    start = std::move(built.index);
  }
  if (applied < delta_texts.size()) {
    const std::span<const mnp_text> rest(delta_texts.data() + applied,
                                         delta_texts.size() - applied);
    mnp_build_result updated = apply_mnp_deltas(*start, rest, networks);
    if (!updated.ok()) {
      out.error = "number_portability: " + updated.error;
      return out;
    }
    start = std::move(updated.index);
  }
  out.index = std::move(start);
  return out;
}

}  // namespace smpp::control::detail
