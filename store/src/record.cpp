// The records' encoding (record.hpp). Layout of each body after the 4-octet header:
//   note      key.lo u64, key.hi u64, submit_ms u64, tenant u16, upstream u16, tag u32,
//             source (length u8, octets), destination (length u8, octets)      38..80 octets
//   receipt   key.lo u64, key.hi u64, time_ms u64, upstream u16, state u8, delivered u8  32
//   final     key.lo u64, key.hi u64, time_ms u64, upstream u16                          30
//   held      id u64, received_ms u64, tenant u16, kind u8, pdu (the rest)        23..4119
//   held_done id u64                                                                     12
// Sizes are of the whole record, header included. A held record's PDU needs no length of its
// own: it is the rest of the record, whose size the header gives.
#include "smpp/store/record.hpp"

#include <cstring>

namespace smpp::store {

namespace {

constexpr std::size_t note_fixed = record_header_bytes + 8 + 8 + 8 + 2 + 2 + 4 + 1 + 1;
constexpr std::size_t receipt_size = record_header_bytes + 8 + 8 + 8 + 2 + 1 + 1;
constexpr std::size_t final_size = record_header_bytes + 8 + 8 + 8 + 2;
constexpr std::size_t held_fixed = record_header_bytes + 8 + 8 + 2 + 1;
constexpr std::size_t held_done_size = record_header_bytes + 8;
static_assert(note_fixed + 2 * max_address_bytes <= max_record_bytes);
static_assert(held_fixed + max_held_pdu <= max_record_bytes);
static_assert(max_record_bytes <= 0xFFFF, "the header's size is a u16");

// Sequential little-endian writer over a buffer the caller has checked is large enough.
class writer {
 public:
  explicit writer(std::byte* at) noexcept : at_(at) {}
  template <typename U>
  void put(U v) noexcept {
    for (std::size_t i = 0; i < sizeof(U); ++i) {
      at_[i] = static_cast<std::byte>(static_cast<std::uint64_t>(v) >> (8 * i));
    }
    at_ += sizeof(U);
  }
  void put_bytes(const void* p, std::size_t n) noexcept {
    if (n != 0) std::memcpy(at_, p, n);
    at_ += n;
  }
  void put_string(std::string_view s) noexcept {
    put(static_cast<std::uint8_t>(s.size()));
    put_bytes(s.data(), s.size());
  }

 private:
  std::byte* at_;
};

// Sequential little-endian reader; every read checks the end (a malformed size cannot lead it
// past the record).
class reader {
 public:
  reader(const std::byte* at, const std::byte* end) noexcept : at_(at), end_(end) {}
  template <typename U>
  [[nodiscard]] bool get(U& v) noexcept {
    if (static_cast<std::size_t>(end_ - at_) < sizeof(U)) return false;
    std::uint64_t x = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i) {
      x |= static_cast<std::uint64_t>(at_[i]) << (8 * i);
    }
    v = static_cast<U>(x);
    at_ += sizeof(U);
    return true;
  }
  [[nodiscard]] bool get_string(std::string_view& s) noexcept {
    std::uint8_t n = 0;
    if (!get(n) || n > max_address_bytes || static_cast<std::size_t>(end_ - at_) < n) return false;
    s = std::string_view(reinterpret_cast<const char*>(at_), n);
    at_ += n;
    return true;
  }
  [[nodiscard]] std::span<const std::byte> rest() noexcept {
    std::span<const std::byte> r(at_, end_);
    at_ = end_;
    return r;
  }
  [[nodiscard]] bool done() const noexcept { return at_ == end_; }

 private:
  const std::byte* at_;
  const std::byte* end_;
};

void put_header(writer& w, std::size_t size, record_kind kind) noexcept {
  w.put(static_cast<std::uint16_t>(size));
  w.put(static_cast<std::uint8_t>(kind));
  w.put(std::uint8_t{0});
}

void put_key(writer& w, const message_key& k) noexcept {
  w.put(k.lo);
  w.put(k.hi);
}

// The common front of a receipt and a final: which message, when, from which upstream.
void put_event(writer& w, std::size_t size, record_kind kind, const message_key& k,
               std::uint64_t time_ms, std::uint16_t upstream) noexcept {
  put_header(w, size, kind);
  put_key(w, k);
  w.put(time_ms);
  w.put(upstream);
}

[[nodiscard]] bool get_key(reader& r, message_key& k) noexcept {
  return r.get(k.lo) && r.get(k.hi);
}

[[nodiscard]] bool valid(receipt_state s) noexcept {
  return static_cast<std::uint8_t>(s) <= static_cast<std::uint8_t>(receipt_state::rejected);
}

[[nodiscard]] bool valid(held_kind k) noexcept {
  return static_cast<std::uint8_t>(k) <= static_cast<std::uint8_t>(held_kind::alert);
}

}  // namespace

std::size_t encoded_size(const note_record& r) noexcept {
  return note_fixed + r.source.size() + r.destination.size();
}
std::size_t encoded_size(const receipt_record&) noexcept {
  return receipt_size;
}
std::size_t encoded_size(const final_record&) noexcept {
  return final_size;
}
std::size_t encoded_size(const held_record& r) noexcept {
  return held_fixed + r.pdu.size();
}
std::size_t encoded_size(const held_done_record&) noexcept {
  return held_done_size;
}

std::size_t encode(const note_record& r, std::span<std::byte> out) noexcept {
  if (r.source.size() > max_address_bytes || r.destination.size() > max_address_bytes) return 0;
  const std::size_t size = encoded_size(r);
  if (out.size() < size) return 0;
  writer w(out.data());
  put_header(w, size, record_kind::note);
  put_key(w, r.key);
  w.put(r.submit_ms);
  w.put(r.tenant);
  w.put(r.upstream);
  w.put(r.tag);
  w.put_string(r.source);
  w.put_string(r.destination);
  return size;
}

std::size_t encode(const receipt_record& r, std::span<std::byte> out) noexcept {
  if (out.size() < receipt_size || !valid(r.state)) return 0;
  writer w(out.data());
  put_event(w, receipt_size, record_kind::receipt, r.key, r.time_ms, r.upstream);
  w.put(static_cast<std::uint8_t>(r.state));
  w.put(static_cast<std::uint8_t>(r.delivered ? 1 : 0));
  return receipt_size;
}

std::size_t encode(const final_record& r, std::span<std::byte> out) noexcept {
  if (out.size() < final_size) return 0;
  writer w(out.data());
  put_event(w, final_size, record_kind::final_, r.key, r.time_ms, r.upstream);
  return final_size;
}

std::size_t encode(const held_record& r, std::span<std::byte> out) noexcept {
  if (r.pdu.size() > max_held_pdu || !valid(r.kind)) return 0;
  const std::size_t size = encoded_size(r);
  if (out.size() < size) return 0;
  writer w(out.data());
  put_header(w, size, record_kind::held);
  w.put(r.id);
  w.put(r.received_ms);
  w.put(r.tenant);
  w.put(static_cast<std::uint8_t>(r.kind));
  w.put_bytes(r.pdu.data(), r.pdu.size());
  return size;
}

std::size_t encode(const held_done_record& r, std::span<std::byte> out) noexcept {
  if (out.size() < held_done_size) return 0;
  writer w(out.data());
  put_header(w, held_done_size, record_kind::held_done);
  w.put(r.id);
  return held_done_size;
}

std::optional<record_view> decode(std::span<const std::byte> in) noexcept {
  if (in.size() < record_header_bytes) return std::nullopt;
  reader h(in.data(), in.data() + record_header_bytes);
  std::uint16_t size = 0;
  std::uint8_t kind = 0;
  std::uint8_t zero = 0;
  if (!h.get(size) || !h.get(kind) || !h.get(zero) || zero != 0) return std::nullopt;
  if (size < record_header_bytes || size > max_record_bytes || size > in.size()) {
    return std::nullopt;
  }
  reader r(in.data() + record_header_bytes, in.data() + size);
  record_view v;
  v.size = size;
  switch (static_cast<record_kind>(kind)) {
    case record_kind::note: {
      note_record& n = v.note;
      if (size < note_fixed || !get_key(r, n.key) || !r.get(n.submit_ms) || !r.get(n.tenant) ||
          !r.get(n.upstream) || !r.get(n.tag) || !r.get_string(n.source) ||
          !r.get_string(n.destination)) {
        return std::nullopt;
      }
      break;
    }
    case record_kind::receipt: {
      receipt_record& c = v.receipt;
      std::uint8_t state = 0;
      std::uint8_t delivered = 0;
      if (size != receipt_size || !get_key(r, c.key) || !r.get(c.time_ms) || !r.get(c.upstream) ||
          !r.get(state) || !r.get(delivered) || delivered > 1) {
        return std::nullopt;
      }
      c.state = static_cast<receipt_state>(state);
      if (!valid(c.state)) return std::nullopt;
      c.delivered = delivered == 1;
      break;
    }
    case record_kind::final_: {
      final_record& f = v.final_;
      if (size != final_size || !get_key(r, f.key) || !r.get(f.time_ms) || !r.get(f.upstream)) {
        return std::nullopt;
      }
      break;
    }
    case record_kind::held: {
      held_record& m = v.held;
      std::uint8_t k = 0;
      if (size < held_fixed || size > held_fixed + max_held_pdu || !r.get(m.id) ||
          !r.get(m.received_ms) || !r.get(m.tenant) || !r.get(k)) {
        return std::nullopt;
      }
      m.kind = static_cast<held_kind>(k);
      if (!valid(m.kind)) return std::nullopt;
      m.pdu = r.rest();
      break;
    }
    case record_kind::held_done:
      if (size != held_done_size || !r.get(v.held_done.id)) return std::nullopt;
      break;
    default:
      return std::nullopt;
  }
  if (!r.done()) return std::nullopt;  // a size larger than its kind's fields
  v.kind = static_cast<record_kind>(kind);
  return v;
}

}  // namespace smpp::store
