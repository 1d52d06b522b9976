#include "store_bringup.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>

#include "smpp/dataplane/correlation.hpp"
#include "smpp/dataplane/store_keys.hpp"
#include "smpp/store/engines.hpp"

namespace smpp::router_daemon {
namespace fs = std::filesystem;

namespace {

std::mutex manifest_mutex;  // record_names runs on the admin threads

struct manifest {
  uint64_t generation = 0;
  uint32_t workers = 0;
  std::vector<std::string> tenants;  // by index
  std::vector<std::string> upstreams;
};

std::string system_error(const std::string& what, const fs::path& p, int err) {
  return what + " " + p.string() + ": " + std::strerror(err);
}

std::optional<manifest> read_manifest(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  manifest m;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string kind;
    words >> kind;
    if (kind == "generation") {
      words >> m.generation;
    } else if (kind == "workers") {
      words >> m.workers;
    } else if (kind == "tenant" || kind == "upstream") {
      size_t index = 0;
      std::string name;
      words >> index >> name;
      auto& names = kind == "tenant" ? m.tenants : m.upstreams;
      if (index < 1'000'000) {
        if (names.size() <= index) names.resize(index + 1);
        names[index] = name;
      }
    }
  }
  return m;
}

// Written to a temporary file, synced, renamed over the manifest: the old one or the new one.
bool write_manifest(const fs::path& dir, const manifest& m, std::string& error) {
  std::ostringstream text;
  text << "generation " << m.generation << "\nworkers " << m.workers << "\n";
  for (size_t i = 0; i < m.tenants.size(); ++i)
    text << "tenant " << i << " " << m.tenants[i] << "\n";
  for (size_t i = 0; i < m.upstreams.size(); ++i)
    text << "upstream " << i << " " << m.upstreams[i] << "\n";
  const fs::path tmp = dir / "manifest.tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = system_error("cannot write", tmp, errno);
    return false;
  }
  const std::string s = text.str();
  const bool ok =
      ::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size()) && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) {
    error = system_error("cannot write", tmp, err);
    return false;
  }
  std::error_code ec;
  fs::rename(tmp, dir / "manifest", ec);
  if (ec) {
    error = "cannot replace " + (dir / "manifest").string() + ": " + ec.message();
    return false;
  }
  return true;
}

manifest names_of(const dataplane::router_snapshot& snap, uint64_t generation, uint32_t workers) {
  manifest m;
  m.generation = generation;
  m.workers = workers;
  for (const auto& t : snap.tenants) m.tenants.push_back(t.name);
  for (const auto& u : snap.upstreams) m.upstreams.push_back(u.name);
  return m;
}

// The secret of text message ids: the one the store was written with, or a new one.
bool load_secret(const fs::path& dir, dataplane::correlation_secret& secret, std::string& error) {
  const fs::path file = dir / "secret";
  if (std::ifstream in(file, std::ios::binary); in) {
    in.read(reinterpret_cast<char*>(secret.bytes.data()),
            static_cast<std::streamsize>(secret.bytes.size()));
    if (in.gcount() == static_cast<std::streamsize>(secret.bytes.size())) return true;
    error = file.string() + ": shorter than 16 octets (remove the store to start afresh)";
    return false;
  }
  secret = dataplane::correlation_secret::random();
  const fs::path tmp = dir / "secret.tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 ||
      ::write(fd, secret.bytes.data(), secret.bytes.size()) !=
          static_cast<ssize_t>(secret.bytes.size()) ||
      ::fsync(fd) != 0) {
    error = system_error("cannot write", tmp, errno);
    if (fd >= 0) ::close(fd);
    return false;
  }
  ::close(fd);
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (ec) {
    error = "cannot write " + file.string() + ": " + ec.message();
    return false;
  }
  return true;
}

fs::path generation_dir(const fs::path& dir, uint64_t generation) {
  return dir / ("gen-" + std::to_string(generation));
}

fs::path shard_dir(const fs::path& dir, uint64_t generation, uint32_t shard) {
  return generation_dir(dir, generation) / ("shard-" + std::to_string(shard));
}

// Whether the records written under `old` mean the same under the new snapshot and workers.
bool same_layout(const manifest& old, const manifest& now) {
  if (old.workers != now.workers) return false;
  for (size_t i = 0; i < old.tenants.size(); ++i) {
    if (i >= now.tenants.size() || old.tenants[i] != now.tenants[i]) return false;
  }
  for (size_t i = 0; i < old.upstreams.size(); ++i) {
    if (i >= now.upstreams.size() || old.upstreams[i] != now.upstreams[i]) return false;
  }
  return true;
}

std::optional<uint16_t> renumber(const std::vector<std::string>& old_names, uint16_t old_index,
                                 const std::vector<std::string>& new_names) {
  if (old_index >= old_names.size()) return std::nullopt;
  for (size_t i = 0; i < new_names.size(); ++i) {
    if (new_names[i] == old_names[old_index]) return static_cast<uint16_t>(i);
  }
  return std::nullopt;
}

// The live state of the old generation into the new one: notes to the shard of their owner,
// held messages spread over the new shards, indices renumbered by name.
class rewriter final : public store::recovery_visitor {
 public:
  rewriter(const manifest& old, const manifest& now,
           std::vector<std::unique_ptr<store::backend>>& shards)
      : old_(old), now_(now), shards_(shards), groups_(shards.size()) {}

  void on_note(const store::note_record& note) override {
    const auto tenant = renumber(old_.tenants, note.tenant, now_.tenants);
    const auto upstream = renumber(old_.upstreams, note.upstream, now_.upstreams);
    if (!tenant || !upstream) {
      ++dropped;
      return;
    }
    const dataplane::correlation_key key = dataplane::table_key(note.key, note.upstream);
    store::note_record n = note;
    n.tenant = *tenant;
    n.upstream = *upstream;
    n.key = dataplane::store_key(key, *upstream);
    add(dataplane::correlation_owner(key, shards_.size()), n);
  }
  void on_held(const store::held_record& held) override {
    const auto tenant = renumber(old_.tenants, held.tenant, now_.tenants);
    if (!tenant) {
      ++dropped;
      return;
    }
    store::held_record h = held;
    h.tenant = *tenant;
    add(held_turn_++ % shards_.size(), h);
  }
  void flush() {
    for (size_t i = 0; i < groups_.size(); ++i) {
      if (!groups_[i].empty()) shards_[i]->append(groups_[i]);
      groups_[i].clear();
    }
  }
  uint64_t dropped = 0;

 private:
  template <typename Record>
  void add(size_t shard, const Record& r) {
    auto& g = groups_[shard];
    const size_t at = g.size();
    g.resize(at + store::encoded_size(r));
    if (store::encode(r, std::span<std::byte>(g).subspan(at)) == 0) {
      g.resize(at);
      ++dropped;
      return;
    }
    if (g.size() >= (1u << 20)) {
      shards_[shard]->append(g);
      g.clear();
    }
  }

  const manifest& old_;
  const manifest& now_;
  std::vector<std::unique_ptr<store::backend>>& shards_;
  std::vector<std::vector<std::byte>> groups_;
  size_t held_turn_ = 0;
};

}  // namespace

fs::path store_directory(const control::router_config& cfg) {
  if (!cfg.store.path.empty()) {
    const fs::path p(cfg.store.path);
    if (p.is_absolute()) return p;
    return fs::absolute(cfg.source_file).parent_path() / p;
  }
  if (const char* state = std::getenv("STATE_DIRECTORY"); state != nullptr && *state != '\0') {
    // systemd may list several directories, separated by colons: the first is ours.
    std::string first(state);
    first = first.substr(0, first.find(':'));
    return fs::path(first) / "store";
  }
  // Beside the configuration file and named after it, so that routers started from different
  // files in one directory keep their own state.
  const fs::path file = fs::absolute(cfg.source_file);
  return file.parent_path() / (file.stem().string() + ".state");
}

bool store_setup::start(const control::router_config& cfg, const dataplane::router_snapshot& snap,
                        uint32_t workers, dataplane::shared_state& shared, std::string& error) {
  const auto policy = store::parse_sync_policy(cfg.store.sync).value_or(store::sync_policy::batch);
  if (policy == store::sync_policy::off) return true;
  const store::engine engine =
      cfg.store.engine.empty()
          ? store::default_engine
          : store::parse_engine(cfg.store.engine).value_or(store::default_engine);
  dir_ = store_directory(cfg);
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) {
    error = "[store] cannot create " + dir_.string() + ": " + ec.message();
    return false;
  }
  const fs::path lock = dir_ / "LOCK";
  lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) {
    error = "[store] " + system_error("cannot open", lock, errno);
    return false;
  }
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    error = "[store] " + dir_.string() +
            " is in use by another smpp-router (give each its own "
            "[store] path)";
    return false;
  }
  if (!load_secret(dir_, shared.secret, error)) {
    error = "[store] " + error;
    return false;
  }
  workers_ = workers;
  const std::optional<manifest> old = read_manifest(dir_ / "manifest");
  generation_ = old ? old->generation : 1;
  manifest now = names_of(snap, generation_, workers);

  store::store_config base;
  base.capacity_bytes = cfg.store.capacity_mb * (1ull << 20) / workers;
  base.ttl_ms = static_cast<uint64_t>(cfg.correlation.ttl_s) * 1000;
  base.keep_final_ms = static_cast<uint64_t>(cfg.correlation.keep_final_s) * 1000;
  base.sync = policy;
  const auto open_generation = [&](uint64_t generation, uint32_t count,
                                   std::vector<std::unique_ptr<store::backend>>& out) {
    for (uint32_t i = 0; i < count; ++i) {
      store::store_config c = base;
      c.path = shard_dir(dir_, generation, i);
      out.push_back(store::open_backend(engine, c));
    }
  };
  try {
    // A generation a rewrite left half-made (a crash before its manifest) is garbage.
    for (const auto& entry : fs::directory_iterator(dir_)) {
      const std::string name = entry.path().filename().string();
      if (name.starts_with("gen-") && name != "gen-" + std::to_string(generation_)) {
        fs::remove_all(entry.path());
      }
    }
    if (old && !same_layout(*old, now)) {
      std::vector<std::unique_ptr<store::backend>> from;
      std::vector<std::unique_ptr<store::backend>> to;
      open_generation(old->generation, old->workers, from);
      open_generation(old->generation + 1, workers, to);
      rewriter r(*old, now, to);
      for (auto& b : from) b->recover(r);
      r.flush();
      dropped_ = r.dropped;
      from.clear();
      to.clear();
      now.generation = old->generation + 1;
      if (!write_manifest(dir_, now, error)) {
        error = "[store] " + error;
        return false;
      }
      fs::remove_all(generation_dir(dir_, old->generation));
      generation_ = now.generation;
      std::fprintf(stderr,
                   "smpp-router: [store] %s rewritten for %u workers and the current names "
                   "(%llu records of tenants or upstreams that are gone dropped)\n",
                   dir_.c_str(), workers, static_cast<unsigned long long>(dropped_));
    } else if (!write_manifest(dir_, now, error)) {
      error = "[store] " + error;
      return false;
    }
    std::vector<std::unique_ptr<store::backend>> shards;
    open_generation(generation_, workers, shards);
    for (uint32_t i = 0; i < workers; ++i) {
      journals_.push_back(
          std::make_unique<store::journal>(std::move(shards[i]), store::journal_config{}));
      shared.journals[i] = journals_.back().get();
    }
  } catch (const std::exception& e) {
    error = std::string("[store] ") + e.what();
    journals_.clear();
    return false;
  }
  for (auto& j : journals_) j->start();
  std::fprintf(stderr, "smpp-router: [store] %s: engine %s, sync %s, %u shards\n", dir_.c_str(),
               std::string(store::to_string(engine)).c_str(), cfg.store.sync.c_str(), workers);
  return true;
}

void store_setup::record_names(const dataplane::router_snapshot& snap) {
  if (journals_.empty()) return;
  std::lock_guard lock(manifest_mutex);
  std::string error;
  if (!write_manifest(dir_, names_of(snap, generation_, workers_), error)) {
    std::fprintf(stderr, "smpp-router: [store] %s\n", error.c_str());
  }
}

void store_setup::stop() {
  for (auto& j : journals_) j->stop();
  for (auto& j : journals_) {
    const auto st = j->stats();
    if (st.lost_bytes != 0) {
      std::fprintf(stderr, "smpp-router: [store] %llu octets of records could not be written: %s\n",
                   static_cast<unsigned long long>(st.lost_bytes), j->last_error().c_str());
    }
  }
  journals_.clear();
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
  }
}

}  // namespace smpp::router_daemon
