#include "smpp/codec/concat.hpp"

#include <algorithm>
#include <cstring>

namespace smpp::codec {
namespace {

// UDH lengths including the UDHL octet: UDHL, IEI, IEDL and the IE data.
constexpr std::size_t udh_ref8_size = 6;   // TS 23.040 §9.2.3.24.1
constexpr std::size_t udh_ref16_size = 7;  // TS 23.040 §9.2.3.24.8

// One character's encoded octets: the unit a split never cuts.
struct unit {
  std::array<std::byte, 4> bytes{};
  std::size_t size = 0;
};

concat_status to_concat_status(text_status status) noexcept {
  switch (status) {
    case text_status::invalid_utf8:
      return concat_status::invalid_utf8;
    case text_status::unmappable:
      return concat_status::unmappable;
    case text_status::unsupported_coding:
      return concat_status::unsupported_coding;
    default:
      return concat_status::invalid_input;
  }
}

// Characters of a UTF-8 text, encoded one at a time.
class text_units {
 public:
  text_units(std::string_view utf8, text_coding coding, unmappable_policy policy) noexcept
      : utf8_(utf8), coding_(coding), policy_(policy) {}

  bool next(unit& u, concat_status& status) noexcept {
    if (pos_ >= utf8_.size()) return false;
    const utf8_char c = next_utf8_char(utf8_, pos_);
    // An ill-formed sequence is its maximal subpart: encode() fails on it or replaces it whole.
    const text_result r = encode(coding_, utf8_.substr(pos_, c.length), u.bytes, policy_);
    pos_ += c.length;
    if (!r.ok()) {
      status = to_concat_status(r.status);
      return false;
    }
    u.size = r.written;
    return true;
  }

 private:
  std::string_view utf8_;
  text_coding coding_;
  unmappable_policy policy_;
  std::size_t pos_ = 0;
};

// Characters of already encoded octets.
class encoded_units {
 public:
  encoded_units(std::span<const std::byte> coded, text_coding coding) noexcept
      : coded_(coded), coding_(coding) {}

  bool next(unit& u, concat_status& /*status*/) noexcept {
    if (pos_ >= coded_.size()) return false;
    std::size_t size = 1;
    if (coding_ == text_coding::gsm7) {
      // TS 23.038 §6.2.1.1: 0x1B and the septet it escapes are one character.
      if (coded_[pos_] == std::byte{0x1B} && pos_ + 1 < coded_.size()) size = 2;
    } else if (coding_ == text_coding::ucs2) {
      size = 2;  // the caller checked that the length is even
      if (is_high_surrogate(pos_) && pos_ + 3 < coded_.size() && is_low_surrogate(pos_ + 2)) {
        size = 4;
      }
    }
    std::copy_n(coded_.begin() + static_cast<std::ptrdiff_t>(pos_), size, u.bytes.begin());
    u.size = size;
    pos_ += size;
    return true;
  }

 private:
  [[nodiscard]] bool is_high_surrogate(std::size_t at) const noexcept {
    return (std::to_integer<unsigned>(coded_[at]) & 0xFC) == 0xD8;
  }
  [[nodiscard]] bool is_low_surrogate(std::size_t at) const noexcept {
    return (std::to_integer<unsigned>(coded_[at]) & 0xFC) == 0xDC;
  }

  std::span<const std::byte> coded_;
  text_coding coding_;
  std::size_t pos_ = 0;
};

// Two passes over the same units: the first sizes the split (parts are filled greedily, a unit
// that does not fit starts the next part), the second writes it. Nothing is written unless the
// whole split fits.
template <class Units>
split_result split_units(const Units& units, const split_options& options,
                         std::span<message_part> parts, std::span<std::byte> arena) noexcept {
  const bool udh_method =
      options.method == concat_method::udh_ref8 || options.method == concat_method::udh_ref16;
  if (options.method == concat_method::udh_ref8 && options.ref > 0xFF) {
    return {concat_status::reference_out_of_range, 0, 0};
  }
  const std::size_t per_part = part_capacity(options.coding, options.method);

  std::size_t total_octets = 0;
  std::size_t greedy_parts = 1;
  std::size_t fill = 0;
  unit u;
  concat_status status = concat_status::ok;
  Units sizing = units;
  while (sizing.next(u, status)) {
    total_octets += u.size;
    if (fill + u.size > per_part) {
      ++greedy_parts;
      fill = 0;
    }
    fill += u.size;
  }
  if (status != concat_status::ok) return {status, 0, 0};

  bool split = false;
  std::size_t count = 1;
  if (options.method == concat_method::message_payload) {
    if (total_octets > max_message_payload_octets) return {concat_status::too_long, 0, 0};
  } else if (total_octets > single_part_capacity(options.coding)) {
    split = true;
    count = greedy_parts;
    if (count > max_concat_parts) return {concat_status::too_many_parts, count, 0};
  }
  const std::size_t udh_size = !split || !udh_method                       ? 0
                               : options.method == concat_method::udh_ref8 ? udh_ref8_size
                                                                           : udh_ref16_size;
  const std::size_t arena_needed = total_octets + count * udh_size;
  if (parts.size() < count || arena.size() < arena_needed) {
    return {concat_status::buffer_too_small, count, arena_needed};
  }

  std::size_t cursor = 0;
  std::size_t payload_start = 0;
  std::size_t index = 0;
  const auto begin_part = [&] {
    const auto seq = static_cast<std::uint8_t>(index + 1);
    const auto total = static_cast<std::uint8_t>(count);
    const auto ref_low = static_cast<std::byte>(options.ref & 0xFF);
    std::byte* udh = arena.data() + cursor;
    if (udh_size == udh_ref8_size) {
      // UDHL 5, IEI 0x00, IEDL 3, reference, total, sequence (TS 23.040 §9.2.3.24.1).
      const std::array<std::byte, udh_ref8_size> header = {
          std::byte{5},  std::byte{iei::concat_ref8}, std::byte{3}, ref_low, std::byte{total},
          std::byte{seq}};
      std::memcpy(udh, header.data(), header.size());
    } else if (udh_size == udh_ref16_size) {
      // UDHL 6, IEI 0x08, IEDL 4, reference (big-endian), total, sequence (§9.2.3.24.8).
      const std::array<std::byte, udh_ref16_size> header = {
          std::byte{6},  std::byte{iei::concat_ref16},
          std::byte{4},  static_cast<std::byte>(options.ref >> 8),
          ref_low,       std::byte{total},
          std::byte{seq}};
      std::memcpy(udh, header.data(), header.size());
    }
    parts[index].udh = arena.subspan(cursor, udh_size);
    cursor += udh_size;
    payload_start = cursor;
  };
  const auto end_part = [&] {
    message_part& p = parts[index];
    p.payload = arena.subspan(payload_start, cursor - payload_start);
    p.ref = options.ref;
    p.total = static_cast<std::uint8_t>(count);
    p.seq = static_cast<std::uint8_t>(index + 1);
  };

  Units writing = units;
  fill = 0;
  begin_part();
  while (writing.next(u, status)) {
    if (split && fill + u.size > per_part) {
      end_part();
      ++index;
      begin_part();
      fill = 0;
    }
    std::memcpy(arena.data() + cursor, u.bytes.data(), u.size);
    cursor += u.size;
    fill += u.size;
  }
  end_part();
  return {concat_status::ok, count, arena_needed};
}

owned_split to_owned(std::span<const message_part> parts, concat_status status) {
  owned_split result;
  result.status = status;
  for (const message_part& p : parts) {
    owned_message_part& owned = result.parts.emplace_back();
    owned.udh.assign(p.udh.begin(), p.udh.end());
    owned.payload.assign(p.payload.begin(), p.payload.end());
    owned.ref = p.ref;
    owned.total = p.total;
    owned.seq = p.seq;
  }
  return result;
}

template <class Split>
owned_split split_to_vector(Split split) {
  split_result sized = split(std::span<message_part>{}, std::span<std::byte>{});
  if (sized.status != concat_status::buffer_too_small) return {sized.status, {}};
  std::vector<message_part> parts(sized.parts);
  std::vector<std::byte> arena(sized.arena_needed);
  const split_result done = split(parts, arena);
  return to_owned(std::span(parts).first(done.parts), done.status);
}

std::uint16_t be16(std::span<const std::byte> data) noexcept {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(data[0]) << 8) |
                                    std::to_integer<unsigned>(data[1]));
}

}  // namespace

split_result split_text(std::string_view utf8, const split_options& options,
                        std::span<message_part> parts, std::span<std::byte> arena) noexcept {
  if (options.coding == text_coding::binary || options.coding == text_coding::unsupported) {
    return {concat_status::unsupported_coding, 0, 0};
  }
  return split_units(text_units(utf8, options.coding, options.policy), options, parts, arena);
}

split_result split_encoded(std::span<const std::byte> coded, const split_options& options,
                           std::span<message_part> parts, std::span<std::byte> arena) noexcept {
  if (options.coding == text_coding::ucs2 && coded.size() % 2 != 0) {
    return {concat_status::invalid_input, 0, 0};
  }
  return split_units(encoded_units(coded, options.coding), options, parts, arena);
}

std::vector<std::byte> owned_message_part::short_message() const {
  std::vector<std::byte> out(udh);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

owned_split split_text_to_vector(std::string_view utf8, const split_options& options) {
  return split_to_vector([&](std::span<message_part> parts, std::span<std::byte> arena) {
    return split_text(utf8, options, parts, arena);
  });
}

owned_split split_encoded_to_vector(std::span<const std::byte> coded,
                                    const split_options& options) {
  return split_to_vector([&](std::span<message_part> parts, std::span<std::byte> arena) {
    return split_encoded(coded, options, parts, arena);
  });
}

udh_parse_result parse_udh(std::span<const std::byte> short_message) noexcept {
  if (short_message.empty()) return {udh_status::empty_message, {}};
  const std::size_t udh_size = 1 + std::to_integer<std::size_t>(short_message[0]);
  if (udh_size > short_message.size()) return {udh_status::udh_beyond_message, {}};

  udh_view view;
  view.header = short_message.first(udh_size);
  view.payload = short_message.subspan(udh_size);
  const std::span<const std::byte> ies = view.header.subspan(1);
  std::size_t pos = 0;
  while (pos < ies.size()) {
    if (pos + 2 > ies.size()) return {udh_status::ie_header_beyond_udh, {}};
    const auto id = std::to_integer<std::uint8_t>(ies[pos]);
    const auto length = std::to_integer<std::size_t>(ies[pos + 1]);
    if (pos + 2 + length > ies.size()) return {udh_status::ie_beyond_udh, {}};
    const std::span<const std::byte> data = ies.subspan(pos + 2, length);
    pos += 2 + length;

    switch (id) {
      case iei::concat_ref8:
      case iei::concat_ref16: {
        const bool ref16 = id == iei::concat_ref16;
        if (length != (ref16 ? 4U : 3U)) return {udh_status::bad_ie_length, {}};
        const std::uint16_t ref = ref16 ? be16(data) : std::to_integer<std::uint16_t>(data[0]);
        const auto total = std::to_integer<std::uint8_t>(data[ref16 ? 2 : 1]);
        const auto seq = std::to_integer<std::uint8_t>(data[ref16 ? 3 : 2]);
        // TS 23.040 §9.2.3.24.1: total 0, seq 0 or seq > total -> ignore the IE.
        if (total != 0 && seq != 0 && seq <= total)
          view.concat = udh_concat{ref, total, seq, ref16};
        break;
      }
      case iei::port_8bit:
        if (length != 2) return {udh_status::bad_ie_length, {}};
        view.ports = udh_ports{std::to_integer<std::uint16_t>(data[0]),
                               std::to_integer<std::uint16_t>(data[1]), false};
        break;
      case iei::port_16bit:
        if (length != 4) return {udh_status::bad_ie_length, {}};
        view.ports = udh_ports{be16(data), be16(data.subspan(2)), true};
        break;
      default:
        break;  // kept raw: udh_view::ies() walks it
    }
  }
  return {udh_status::ok, view};
}

// ---- reassembler ----------------------------------------------------------------------------

namespace {

// FNV-1a over the originator and the reference.
std::uint32_t key_hash(std::string_view originator, std::uint16_t ref) noexcept {
  std::uint32_t h = 2166136261U;
  const auto mix = [&h](unsigned char b) {
    h ^= b;
    h *= 16777619U;
  };
  for (const char c : originator) mix(static_cast<unsigned char>(c));
  mix(static_cast<unsigned char>(ref >> 8));
  mix(static_cast<unsigned char>(ref & 0xFF));
  return h;
}

}  // namespace

reassembler::reassembler(const reassembler_config& config)
    : max_parts_(std::min(config.max_parts_per_message, max_concat_parts)),
      timeout_ms_(config.timeout_ms) {
  slots_.resize(config.max_messages);
  free_slots_.reserve(config.max_messages);
  for (std::size_t i = config.max_messages; i > 0; --i) {
    free_slots_.push_back(static_cast<std::uint32_t>(i - 1));
  }
  parts_.resize(config.max_messages * max_parts_);

  const std::size_t chunk_count = config.max_total_bytes / chunk_size;
  chunks_.resize(chunk_count * chunk_size);
  chunk_next_.resize(chunk_count);
  for (std::size_t i = 0; i < chunk_count; ++i) {
    chunk_next_[i] = i + 1 < chunk_count ? static_cast<std::uint32_t>(i + 1) : none;
  }
  free_chunk_ = chunk_count > 0 ? 0 : none;
  free_chunk_count_ = chunk_count;

  // At most half full, so a probe always meets an empty entry.
  std::size_t index_size = 2;
  while (index_size < 2 * config.max_messages) index_size <<= 1;
  index_.assign(index_size, 0);
  index_mask_ = index_size - 1;

  // A message can be no larger than the chunks that hold it nor than its parts allow.
  output_.resize(std::min(chunks_.size(), max_parts_ * max_part_bytes));
}

std::size_t reassembler::messages_in_progress() const noexcept {
  return slots_.size() - free_slots_.size();
}

std::size_t reassembler::bytes_in_use() const noexcept {
  return (chunk_next_.size() - free_chunk_count_) * chunk_size;
}

reassembler::lookup reassembler::find(std::string_view originator, std::uint16_t ref,
                                      std::uint32_t hash) const noexcept {
  std::size_t pos = hash & index_mask_;
  while (index_[pos] != 0) {
    const std::uint32_t slot = index_[pos] - 1;
    const message_slot& m = slots_[slot];
    if (m.hash == hash && m.ref == ref &&
        std::string_view(m.originator.data(), m.originator_length) == originator) {
      return {slot, pos};
    }
    pos = (pos + 1) & index_mask_;
  }
  return {none, pos};
}

std::uint32_t reassembler::open_message(const concat_key& key, std::uint32_t hash,
                                        std::size_t index_pos, std::uint64_t now_ms) noexcept {
  const std::uint32_t slot = free_slots_.back();
  free_slots_.pop_back();
  message_slot& m = slots_[slot];
  std::copy(key.originator.begin(), key.originator.end(), m.originator.begin());
  m.originator_length = static_cast<std::uint8_t>(key.originator.size());
  m.ref = key.ref;
  m.total = key.total;
  m.received = 0;
  m.payload_bytes = 0;
  m.first_ms = now_ms;
  m.hash = hash;
  index_[index_pos] = slot + 1;
  // Newest at the tail: with monotonic now_ms the list is in expiry order.
  m.older = newest_;
  m.newer = none;
  if (newest_ != none) slots_[newest_].newer = slot;
  newest_ = slot;
  if (oldest_ == none) oldest_ = slot;
  return slot;
}

void reassembler::unindex(std::uint32_t slot) noexcept {
  std::size_t hole = slots_[slot].hash & index_mask_;
  while (index_[hole] != slot + 1) hole = (hole + 1) & index_mask_;
  // Backward-shift deletion: pull later entries of the probe run into the hole when their home
  // position does not lie cyclically in (hole, pos].
  std::size_t pos = hole;
  for (;;) {
    pos = (pos + 1) & index_mask_;
    if (index_[pos] == 0) break;
    const std::size_t home = slots_[index_[pos] - 1].hash & index_mask_;
    const bool stays = hole < pos ? (home > hole && home <= pos) : (home > hole || home <= pos);
    if (!stays) {
      index_[hole] = index_[pos];
      hole = pos;
    }
  }
  index_[hole] = 0;
}

void reassembler::release(std::uint32_t slot) noexcept {
  message_slot& m = slots_[slot];
  for (std::size_t i = 0; i < m.total; ++i) {
    part_entry& p = parts_[slot * max_parts_ + i];
    std::uint32_t chunk = p.first_chunk;
    while (chunk != none) {
      const std::uint32_t next = chunk_next_[chunk];
      chunk_next_[chunk] = free_chunk_;
      free_chunk_ = chunk;
      ++free_chunk_count_;
      chunk = next;
    }
    p = part_entry{};
  }
  unindex(slot);
  if (m.older != none) slots_[m.older].newer = m.newer;
  if (m.newer != none) slots_[m.newer].older = m.older;
  if (oldest_ == slot) oldest_ = m.newer;
  if (newest_ == slot) newest_ = m.older;
  m = message_slot{};
  free_slots_.push_back(slot);
}

bool reassembler::store(std::uint32_t slot, std::uint8_t seq,
                        std::span<const std::byte> part) noexcept {
  const std::size_t chunk_count = chunks_for(part.size());
  if (chunk_count > free_chunk_count_) return false;
  part_entry& p = parts_[slot * max_parts_ + (seq - 1U)];
  std::uint32_t previous = none;
  for (std::size_t offset = 0; offset < part.size(); offset += chunk_size) {
    const std::uint32_t chunk = free_chunk_;
    free_chunk_ = chunk_next_[chunk];
    const std::size_t n = std::min(chunk_size, part.size() - offset);
    std::memcpy(chunks_.data() + std::size_t{chunk} * chunk_size, part.data() + offset, n);
    chunk_next_[chunk] = none;
    if (previous == none) {
      p.first_chunk = chunk;
    } else {
      chunk_next_[previous] = chunk;
    }
    previous = chunk;
  }
  free_chunk_count_ -= chunk_count;
  p.length = static_cast<std::uint16_t>(part.size());
  p.present = true;
  message_slot& m = slots_[slot];
  ++m.received;
  m.payload_bytes += static_cast<std::uint32_t>(part.size());
  return true;
}

std::span<const std::byte> reassembler::assemble(std::uint32_t slot) noexcept {
  const message_slot& m = slots_[slot];
  std::size_t offset = 0;
  for (std::size_t i = 0; i < m.total; ++i) {
    const part_entry& p = parts_[slot * max_parts_ + i];
    std::uint32_t chunk = p.first_chunk;
    for (std::size_t left = p.length; left > 0;) {
      const std::size_t n = std::min(chunk_size, left);
      std::memcpy(output_.data() + offset, chunks_.data() + std::size_t{chunk} * chunk_size, n);
      offset += n;
      left -= n;
      chunk = chunk_next_[chunk];
    }
  }
  return {output_.data(), offset};
}

std::size_t reassembler::expire(std::uint64_t now_ms) noexcept {
  std::size_t count = 0;
  while (oldest_ != none) {
    const std::uint64_t first_ms = slots_[oldest_].first_ms;
    if (now_ms < first_ms || now_ms - first_ms < timeout_ms_) break;
    release(oldest_);
    ++count;
  }
  stats_.expired += count;
  return count;
}

reassembly_result reassembler::add_part(const concat_key& key, std::uint8_t seq,
                                        std::span<const std::byte> part,
                                        std::uint64_t now_ms) noexcept {
  expire(now_ms);

  const auto reject = [this](reassembly_status status) -> reassembly_result {
    switch (status) {
      case reassembly_status::inconsistent_total:
        ++stats_.rejected_inconsistent;
        break;
      case reassembly_status::table_full:
        ++stats_.rejected_table_full;
        break;
      case reassembly_status::memory_full:
        ++stats_.rejected_memory_full;
        break;
      case reassembly_status::duplicate:
        ++stats_.duplicates;
        break;
      default:
        ++stats_.rejected_invalid;
        break;
    }
    return {status, {}};
  };
  if (key.total == 0) return reject(reassembly_status::invalid_total);
  if (seq == 0 || seq > key.total) return reject(reassembly_status::invalid_seq);
  if (key.total > max_parts_) return reject(reassembly_status::too_many_parts);
  if (part.size() > max_part_bytes) return reject(reassembly_status::part_too_large);
  if (key.originator.size() > max_originator_length) {
    return reject(reassembly_status::originator_too_long);
  }

  const std::uint32_t hash = key_hash(key.originator, key.ref);
  const lookup found = find(key.originator, key.ref, hash);
  if (found.slot != none) {
    const message_slot& m = slots_[found.slot];
    if (m.total != key.total) return reject(reassembly_status::inconsistent_total);
    if (parts_[found.slot * max_parts_ + (seq - 1U)].present) {
      return reject(reassembly_status::duplicate);
    }
    if (!store(found.slot, seq, part)) return reject(reassembly_status::memory_full);
    ++stats_.parts_stored;
    if (m.received < m.total) return {reassembly_status::stored, {}};
    const std::span<const std::byte> message = assemble(found.slot);
    release(found.slot);
    ++stats_.messages_completed;
    return {reassembly_status::complete, message};
  }

  if (key.total == 1) {  // nothing to wait for: no slot, same byte bound
    if (part.size() > output_.size()) return reject(reassembly_status::memory_full);
    std::copy(part.begin(), part.end(), output_.begin());
    ++stats_.parts_stored;
    ++stats_.messages_completed;
    return {reassembly_status::complete, {output_.data(), part.size()}};
  }
  if (free_slots_.empty()) return reject(reassembly_status::table_full);
  if (chunks_for(part.size()) > free_chunk_count_) return reject(reassembly_status::memory_full);
  const std::uint32_t slot = open_message(key, hash, found.index_pos, now_ms);
  if (!store(slot, seq, part)) {  // not reached: the chunks were counted above
    release(slot);
    return reject(reassembly_status::memory_full);
  }
  ++stats_.parts_stored;
  return {reassembly_status::stored, {}};
}

}  // namespace smpp::codec
