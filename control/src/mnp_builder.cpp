#include "smpp/control/mnp_builder.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_reduce.h>
#include <tbb/parallel_sort.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

namespace smpp::control {
namespace {

using dataplane::huge_array;
using dataplane::mnp_index;

constexpr uint64_t key_of_entry(uint64_t e) noexcept {
  return e >> mnp_index::network_bits;
}

struct line_error {
  uint64_t line = 0;  // 1-based within the piece of text parsed
  std::string message;
};

// One `MSISDN,NETWORK` line (without its '\n') -> its entry; nullopt for a line to skip.
// `delta`: `MSISDN,-` is a removal.
std::optional<uint64_t> parse_line(std::string_view line, const network_ids& networks, bool delta,
                                   std::optional<line_error>& error, uint64_t line_no) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty() || line.front() == '#') return std::nullopt;
  const size_t comma = line.find(',');
  if (comma == std::string_view::npos) {
    error = line_error{line_no, "expected MSISDN,NETWORK"};
    return std::nullopt;
  }
  const uint64_t key = mnp_index::key_of(line.substr(0, comma));
  if (key == 0) {
    error = line_error{line_no,
                       "the MSISDN must be 1..15 digits without a leading zero (an "
                       "optional '+' first), got \"" +
                           std::string(line.substr(0, comma)) + "\""};
    return std::nullopt;
  }
  const std::string_view name = line.substr(comma + 1);
  if (delta && name == "-") return mnp_index::pack(key, mnp_index::removed);
  const auto it = networks.find(name);
  if (it == networks.end()) {
    error = line_error{line_no, "unknown network \"" + std::string(name) +
                                    "\": not the name of a [[networks]] entry" +
                                    (delta ? " (\"-\" removes the number)" : "")};
    return std::nullopt;
  }
  return mnp_index::pack(key, it->second);
}

// The entries of `text`, in file order; the first error stops it.
struct parsed_piece {
  std::vector<uint64_t> entries;
  uint64_t lines = 0;
  std::optional<line_error> error;
};

parsed_piece parse_piece(std::string_view text, const network_ids& networks, bool delta) {
  parsed_piece out;
  out.entries.reserve(text.size() / 14);
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    ++out.lines;
    const auto e = parse_line(text.substr(at, end - at), networks, delta, out.error, out.lines);
    if (out.error) return out;
    if (e) out.entries.push_back(*e);
    at = end + 1;
  }
  return out;
}

// A piece of one file for the parallel parse: it starts at a line's beginning and ends after a
// '\n' (or at the file's end).
struct chunk {
  size_t file = 0;
  std::string_view text;
  parsed_piece parsed;
};

std::vector<chunk> chunks_of(std::span<const mnp_text> files, size_t chunk_bytes) {
  std::vector<chunk> out;
  for (size_t f = 0; f < files.size(); ++f) {
    const std::string_view t = files[f].text;
    size_t at = 0;
    while (at < t.size()) {
      size_t end = std::min(t.size(), at + std::max<size_t>(chunk_bytes, 1));
      if (end < t.size()) {
        const size_t nl = t.find('\n', end - 1);
        end = nl == std::string_view::npos ? t.size() : nl + 1;
      }
      out.push_back(chunk{f, t.substr(at, end - at), {}});
      at = end;
    }
  }
  return out;
}

// Every chunk parsed in parallel; the first error in file order, as "FILE:LINE: what".
std::string parse_chunks(std::vector<chunk>& chunks, std::span<const mnp_text> files,
                         const network_ids& networks, bool delta) {
  tbb::parallel_for(size_t{0}, chunks.size(), [&](size_t i) {
    chunks[i].parsed = parse_piece(chunks[i].text, networks, delta);
  });
  uint64_t lines_before = 0;  // in the same file
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (i > 0 && chunks[i].file != chunks[i - 1].file) lines_before = 0;
    if (const auto& e = chunks[i].parsed.error) {
      return files[chunks[i].file].name + ":" + std::to_string(lines_before + e->line) + ": " +
             e->message;
    }
    lines_before += chunks[i].parsed.lines;
  }
  return {};
}

std::string too_many(uint64_t max_entries) {
  return "more than " + std::to_string(max_entries) + " numbers in the number portability table";
}

// Where a number listed twice is listed the second time: "FILE:LINE: ...". Runs only on the
// error path, sequentially.
std::string duplicate_error(std::span<const mnp_text> files, const network_ids& networks,
                            uint64_t key) {
  bool seen = false;
  for (const mnp_text& f : files) {
    uint64_t line_no = 0;
    size_t at = 0;
    while (at < f.text.size()) {
      size_t end = f.text.find('\n', at);
      if (end == std::string_view::npos) end = f.text.size();
      ++line_no;
      std::optional<line_error> ignored;
      const auto e = parse_line(f.text.substr(at, end - at), networks, false, ignored, line_no);
      if (e && key_of_entry(*e) == key) {
        if (seen) {
          return f.name + ":" + std::to_string(line_no) + ": the MSISDN " + std::to_string(key) +
                 " is listed a second time (a full file lists each number once)";
        }
        seen = true;
      }
      at = end + 1;
    }
  }
  return "the MSISDN " + std::to_string(key) + " is listed twice";
}

struct directory {
  huge_array<mnp_index::bucket> buckets;
  huge_array<uint32_t> slots;
  unsigned bucket_shift = 0;
};

// The directory (mnp_index.hpp) of sorted, distinct entries, in parallel: each bucket's first
// entry is written by the entry that starts the bucket (and the empty buckets before it), then
// each bucket's slots by one task per bucket.
directory directory_of(const huge_array<uint64_t>& entries) {
  directory d;
  const size_t n = entries.size();
  if (n == 0) return d;
  const uint64_t min_key = key_of_entry(entries[0]);
  const uint64_t max_key = key_of_entry(entries[n - 1]);
  d.bucket_shift = mnp_index::bucket_shift_for(n, min_key, max_key);
  const auto bucket_of = [&](size_t i) {
    return (key_of_entry(entries[i]) - min_key) >> d.bucket_shift;
  };
  const uint64_t count = ((max_key - min_key) >> d.bucket_shift) + 1;
  std::vector<uint32_t> first(count + 1);
  tbb::parallel_for(tbb::blocked_range<size_t>(0, n), [&](const tbb::blocked_range<size_t>& r) {
    for (size_t i = r.begin(); i != r.end(); ++i) {
      const uint64_t from = i == 0 ? 0 : bucket_of(i - 1) + 1;
      for (uint64_t b = from, to = bucket_of(i); b <= to; ++b) first[b] = static_cast<uint32_t>(i);
    }
  });
  first[count] = static_cast<uint32_t>(n);
  d.buckets = huge_array<mnp_index::bucket>(count);
  tbb::parallel_for(uint64_t{0}, count, [&](uint64_t b) {
    mnp_index::bucket bk;
    bk.first = first[b];
    const uint32_t end = first[b + 1];
    if (end > bk.first) {
      bk.base = key_of_entry(entries[bk.first]);
      const uint64_t last = key_of_entry(entries[end - 1]);
      bk.shift = mnp_index::shift_for(end - bk.first, bk.base, last);
      bk.slot_count = static_cast<uint32_t>(((last - bk.base) >> bk.shift) + 1);
    }
    d.buckets[b] = bk;
  });
  uint64_t slots = 0;
  for (uint64_t b = 0; b < count; ++b) {
    d.buckets[b].slot = static_cast<uint32_t>(slots);
    if (d.buckets[b].slot_count > 0) slots += d.buckets[b].slot_count + 1;
  }
  d.slots = huge_array<uint32_t>(slots);
  tbb::parallel_for(uint64_t{0}, count, [&](uint64_t b) {
    const mnp_index::bucket& bk = d.buckets[b];
    size_t i = bk.first;
    for (uint32_t k = 0; k < bk.slot_count; ++k) {
      d.slots[bk.slot + k] = static_cast<uint32_t>(i);
      while (i < first[b + 1] && ((key_of_entry(entries[i]) - bk.base) >> bk.shift) == k) ++i;
    }
    if (bk.slot_count > 0) d.slots[bk.slot + bk.slot_count] = first[b + 1];
  });
  return d;
}

// The first i > 0 whose key equals the one before (n when none), found in parallel.
size_t first_duplicate(const huge_array<uint64_t>& entries) {
  const size_t n = entries.size();
  return tbb::parallel_reduce(
      tbb::blocked_range<size_t>(1, std::max<size_t>(n, 1)), n,
      [&](const tbb::blocked_range<size_t>& r, size_t found) {
        for (size_t i = r.begin(); i != r.end() && i < found; ++i) {
          if (key_of_entry(entries[i]) == key_of_entry(entries[i - 1])) return i;
        }
        return found;
      },
      [](size_t a, size_t b) { return std::min(a, b); });
}

mnp_build_result finish(huge_array<uint64_t> entries, directory d) {
  mnp_build_result out;
  out.index = std::make_shared<const mnp_index>(std::move(entries), std::move(d.buckets),
                                                std::move(d.slots), d.bucket_shift);
  return out;
}

}  // namespace

mnp_build_result build_mnp_index(std::span<const mnp_text> files, const network_ids& networks,
                                 const mnp_build_options& options) {
  mnp_build_result out;
  std::vector<chunk> chunks = chunks_of(files, options.chunk_bytes);
  if (out.error = parse_chunks(chunks, files, networks, false); !out.error.empty()) return out;
  std::vector<size_t> offset(chunks.size() + 1, 0);
  for (size_t i = 0; i < chunks.size(); ++i) {
    offset[i + 1] = offset[i] + chunks[i].parsed.entries.size();
  }
  const size_t n = offset.back();
  if (n > options.max_entries) {
    out.error = too_many(options.max_entries);
    return out;
  }
  huge_array<uint64_t> entries(n);
  tbb::parallel_for(size_t{0}, chunks.size(), [&](size_t i) {
    std::vector<uint64_t>& from = chunks[i].parsed.entries;
    if (!from.empty())
      std::memcpy(&entries[offset[i]], from.data(), from.size() * sizeof(uint64_t));
    std::vector<uint64_t>().swap(from);
  });
  // Sorting whole entries sorts by key (the high bits); equal keys are caught below.
  tbb::parallel_sort(entries.data(), entries.data() + n);
  if (const size_t d = first_duplicate(entries); d < n) {
    out.error = duplicate_error(files, networks, key_of_entry(entries[d]));
    return out;
  }
  directory d = directory_of(entries);
  return finish(std::move(entries), std::move(d));
}

mnp_build_result build_mnp_index_sequential(std::span<const mnp_text> files,
                                            const network_ids& networks,
                                            const mnp_build_options& options) {
  mnp_build_result out;
  std::vector<uint64_t> all;
  for (const mnp_text& f : files) {
    parsed_piece p = parse_piece(f.text, networks, false);
    if (p.error) {
      out.error = f.name + ":" + std::to_string(p.error->line) + ": " + p.error->message;
      return out;
    }
    all.insert(all.end(), p.entries.begin(), p.entries.end());
  }
  if (all.size() > options.max_entries) {
    out.error = too_many(options.max_entries);
    return out;
  }
  std::sort(all.begin(), all.end());
  for (size_t i = 1; i < all.size(); ++i) {
    if (key_of_entry(all[i]) == key_of_entry(all[i - 1])) {
      out.error = duplicate_error(files, networks, key_of_entry(all[i]));
      return out;
    }
  }
  const size_t n = all.size();
  huge_array<uint64_t> entries(n);
  std::copy(all.begin(), all.end(), entries.data());
  directory d;
  if (n > 0) {
    // Bucket by bucket, walking the entries once.
    const uint64_t min_key = key_of_entry(all.front());
    d.bucket_shift = mnp_index::bucket_shift_for(n, min_key, key_of_entry(all.back()));
    const uint64_t count = ((key_of_entry(all.back()) - min_key) >> d.bucket_shift) + 1;
    d.buckets = huge_array<mnp_index::bucket>(count);
    std::vector<uint32_t> slots;
    size_t i = 0;
    for (uint64_t b = 0; b < count; ++b) {
      mnp_index::bucket bk;
      bk.first = static_cast<uint32_t>(i);
      bk.slot = static_cast<uint32_t>(slots.size());
      size_t end = i;
      while (end < n && ((key_of_entry(all[end]) - min_key) >> d.bucket_shift) == b) ++end;
      if (end > i) {
        bk.base = key_of_entry(all[i]);
        bk.shift = mnp_index::shift_for(end - i, bk.base, key_of_entry(all[end - 1]));
        bk.slot_count =
            static_cast<uint32_t>(((key_of_entry(all[end - 1]) - bk.base) >> bk.shift) + 1);
        for (uint64_t k = 0; k <= bk.slot_count; ++k) {
          while (i < end && ((key_of_entry(all[i]) - bk.base) >> bk.shift) < k) ++i;
          slots.push_back(static_cast<uint32_t>(i));
        }
      }
      i = end;
      d.buckets[b] = bk;
    }
    d.slots = huge_array<uint32_t>(slots.size());
    std::copy(slots.begin(), slots.end(), d.slots.data());
  }
  return finish(std::move(entries), std::move(d));
}

mnp_build_result apply_mnp_deltas(const mnp_index& base, std::span<const mnp_text> deltas,
                                  const network_ids& networks, const mnp_build_options& options) {
  mnp_build_result out;
  std::vector<chunk> chunks = chunks_of(deltas, options.chunk_bytes);
  if (out.error = parse_chunks(chunks, deltas, networks, true); !out.error.empty()) return out;
  // Every change with its place in the deltas; sorted by key, then place: the last one wins.
  struct change {
    uint64_t entry;
    uint64_t order;
  };
  std::vector<change> all;
  for (const chunk& c : chunks) {
    for (uint64_t e : c.parsed.entries) all.push_back({e, all.size()});
  }
  tbb::parallel_sort(all.begin(), all.end(), [](const change& a, const change& b) {
    const uint64_t ka = key_of_entry(a.entry);
    const uint64_t kb = key_of_entry(b.entry);
    return ka != kb ? ka < kb : a.order < b.order;
  });
  std::vector<uint64_t> changes;  // one per key, the last
  changes.reserve(all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    if (i + 1 < all.size() && key_of_entry(all[i + 1].entry) == key_of_entry(all[i].entry)) {
      continue;
    }
    changes.push_back(all[i].entry);
  }
  std::vector<change>().swap(all);
  out.changes = changes.size();

  // Each change's place in base and what it does to the count: +1 a new number, -1 a removed
  // one, 0 a changed network (or a removal of a number that is not there, counted).
  const std::span<const uint64_t> old = base.entries();
  const size_t m = changes.size();
  std::vector<size_t> place(m);
  std::vector<int8_t> growth(m);
  std::atomic<uint64_t> absent{0};
  tbb::parallel_for(size_t{0}, m, [&](size_t j) {
    const uint64_t key = key_of_entry(changes[j]);
    place[j] = base.lower_bound(key);
    const bool present = place[j] < old.size() && key_of_entry(old[place[j]]) == key;
    const bool removal = (changes[j] & mnp_index::network_mask) == mnp_index::removed;
    growth[j] = static_cast<int8_t>(present ? (removal ? -1 : 0) : (removal ? 0 : 1));
    if (removal && !present) absent.fetch_add(1, std::memory_order_relaxed);
  });
  out.removals_absent = absent.load();

  // The merge in blocks of changes: block k owns base [start_k, start_k+1) and its changes.
  const size_t blocks = std::max<size_t>(1, std::min<size_t>(m, 1024));
  std::vector<size_t> first_change(blocks + 1);
  std::vector<size_t> start(blocks + 1);
  std::vector<size_t> out_at(blocks + 1, 0);
  for (size_t k = 0; k <= blocks; ++k) {
    first_change[k] = m * k / blocks;
    start[k] = k == 0 ? 0 : (k == blocks ? old.size() : place[first_change[k]]);
  }
  for (size_t k = 0; k < blocks; ++k) {
    int64_t size = static_cast<int64_t>(start[k + 1] - start[k]);
    for (size_t j = first_change[k]; j < first_change[k + 1]; ++j) size += growth[j];
    out_at[k + 1] = out_at[k] + static_cast<size_t>(size);
  }
  const size_t n = out_at[blocks];
  if (n > options.max_entries) {
    out.error = too_many(options.max_entries);
    return out;
  }
  huge_array<uint64_t> entries(n);
  tbb::parallel_for(size_t{0}, blocks, [&](size_t k) {
    size_t from = start[k];
    size_t to = out_at[k];
    for (size_t j = first_change[k]; j < first_change[k + 1]; ++j) {
      const size_t copy = place[j] - from;
      if (copy > 0) std::memcpy(&entries[to], &old[from], copy * sizeof(uint64_t));
      to += copy;
      from = place[j];
      const bool present = from < old.size() && key_of_entry(old[from]) == key_of_entry(changes[j]);
      if (present) ++from;  // replaced or removed
      if ((changes[j] & mnp_index::network_mask) != mnp_index::removed) entries[to++] = changes[j];
    }
    const size_t rest = start[k + 1] - from;
    if (rest > 0) std::memcpy(&entries[to], &old[from], rest * sizeof(uint64_t));
  });
  directory d = directory_of(entries);
  mnp_build_result done = finish(std::move(entries), std::move(d));
  done.changes = out.changes;
  done.removals_absent = out.removals_absent;
  return done;
}

}  // namespace smpp::control
