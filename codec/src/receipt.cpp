#include "smpp/codec/receipt.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

namespace smpp::codec {

namespace {

// ASCII only: receipt text is plain SMSC-generated ASCII, and <cctype> depends on the locale.
constexpr bool is_blank(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}
constexpr bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}
constexpr bool is_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr char to_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
constexpr int hex_value(char c) noexcept {
  if (is_digit(c)) return c - '0';
  const char l = to_lower(c);
  if (l >= 'a' && l <= 'f') return l - 'a' + 10;
  return -1;
}
// hex_value() of every octet, as a table.
constexpr auto hex_digit_values = [] {
  std::array<std::int8_t, 256> t{};
  for (int c = 0; c < 256; ++c)
    t[static_cast<std::size_t>(c)] = static_cast<std::int8_t>(hex_value(static_cast<char>(c)));
  return t;
}();
constexpr bool is_key_char(char c) noexcept {
  return is_alpha(c) || is_digit(c) || c == '_' || c == '-';
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return to_lower(x) == y; });
}

std::string_view up_to_nul(std::string_view s) noexcept {
  const auto nul = s.find('\0');
  return nul == std::string_view::npos ? s : s.substr(0, nul);
}

std::string_view trim_blanks(std::string_view s) noexcept {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<std::uint32_t> parse_decimal_u32(std::string_view s) noexcept {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (const char c : s) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
    if (v > std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
  }
  return static_cast<std::uint32_t>(v);
}

std::uint8_t two_digits(std::string_view s, std::size_t at) noexcept {
  return static_cast<std::uint8_t>((s[at] - '0') * 10 + (s[at + 1] - '0'));
}

// ---------------------------------------------------------------------------------------------
// Receipt text keys (Appendix B), matched on their letters and digits only.

enum class receipt_key : std::uint8_t {
  unknown,
  id,
  sub,
  dlvrd,
  submit_date,
  done_date,
  stat,
  err,
  text,
};

// Compares a key as sent with a canonical spelling (lower case letters, no separators),
// skipping '_', '-' and blanks in the key as sent.
bool key_equals(std::string_view sent, std::string_view canonical) noexcept {
  std::size_t j = 0;
  for (const char c : sent) {
    if (c == '_' || c == '-' || is_blank(c)) continue;
    if (j == canonical.size() || to_lower(c) != canonical[j]) return false;
    ++j;
  }
  return j == canonical.size();
}

receipt_key classify_key(std::string_view sent) noexcept {
  struct entry {
    std::string_view canonical;
    receipt_key key;
  };
  static constexpr entry kKeys[] = {
      {"id", receipt_key::id},
      {"sub", receipt_key::sub},
      {"dlvrd", receipt_key::dlvrd},
      {"submitdate", receipt_key::submit_date},
      {"donedate", receipt_key::done_date},
      {"stat", receipt_key::stat},
      {"status", receipt_key::stat},
      {"err", receipt_key::err},
      {"error", receipt_key::err},
      {"text", receipt_key::text},
  };
  for (const entry& e : kKeys) {
    if (key_equals(sent, e.canonical)) return e.key;
  }
  return receipt_key::unknown;
}

struct key_match {
  receipt_key key = receipt_key::unknown;
  std::size_t value_begin = 0;  // just after the ':'
};

std::size_t skip_blanks(std::string_view s, std::size_t p) noexcept {
  while (p < s.size() && is_blank(s[p])) ++p;
  return p;
}

std::size_t skip_key_chars(std::string_view s, std::size_t p) noexcept {
  while (p < s.size() && is_key_char(s[p])) ++p;
  return p;
}

// Does a key start at p? A key is a word followed by ':', or one of the two-word keys of
// Appendix B ("submit date", "done date") with any blanks between the words.
std::optional<key_match> match_key(std::string_view s, std::size_t p) noexcept {
  const std::size_t word1_end = skip_key_chars(s, p);
  if (word1_end == p || word1_end == s.size()) return std::nullopt;
  if (s[word1_end] == ':') {
    return key_match{classify_key(s.substr(p, word1_end - p)), word1_end + 1};
  }
  const std::string_view word1 = s.substr(p, word1_end - p);
  if (!is_blank(s[word1_end]) || !(key_equals(word1, "submit") || key_equals(word1, "done"))) {
    return std::nullopt;
  }
  const std::size_t word2_begin = skip_blanks(s, word1_end);
  const std::size_t word2_end = skip_key_chars(s, word2_begin);
  if (word2_end == word2_begin || word2_end == s.size() || s[word2_end] != ':') {
    return std::nullopt;
  }
  const receipt_key key = classify_key(s.substr(p, word2_end - p));
  if (key != receipt_key::submit_date && key != receipt_key::done_date) return std::nullopt;
  return key_match{key, word2_end + 1};
}

void set_number(receipt_field<std::uint32_t>& field, std::string_view raw) noexcept {
  field.present = true;
  field.raw = raw;
  field.value = parse_decimal_u32(raw);
}

void set_date(receipt_field<receipt_date>& field, std::string_view raw) noexcept {
  field.present = true;
  field.raw = raw;
  field.value = parse_receipt_date(raw);
}

bool already_seen(const receipt_text& r, receipt_key key, bool id_seen) noexcept {
  switch (key) {
    case receipt_key::id:
      return id_seen;
    case receipt_key::sub:
      return r.sub.present;
    case receipt_key::dlvrd:
      return r.dlvrd.present;
    case receipt_key::submit_date:
      return r.submit_date.present;
    case receipt_key::done_date:
      return r.done_date.present;
    case receipt_key::stat:
      return r.stat.present;
    case receipt_key::err:
      return r.err.present;
    case receipt_key::text:
      return r.has_text;
    case receipt_key::unknown:
      return true;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Bounded output for build_receipt_text: counts every octet, stores only what fits.

class bounded_writer {
 public:
  explicit bounded_writer(std::span<char> out) noexcept : out_(out) {}

  void put(char c) noexcept {
    if (size_ < out_.size()) out_[size_] = c;
    ++size_;
  }
  void put(std::string_view s) noexcept {
    for (const char c : s) put(c);
  }
  void put_two_digits(unsigned v) noexcept {
    put(static_cast<char>('0' + v / 10));
    put(static_cast<char>('0' + v % 10));
  }
  void put_padded(std::uint32_t v, std::size_t min_digits) noexcept {
    std::array<char, 10> digits{};  // 2^32 - 1 has 10 digits
    std::size_t n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    for (std::size_t i = n; i < min_digits; ++i) put('0');
    while (n > 0) put(digits[--n]);
  }
  void put_date(const receipt_date& d, bool with_seconds) noexcept {
    put_two_digits(static_cast<unsigned>(d.year - 2000));
    put_two_digits(d.month);
    put_two_digits(d.day);
    put_two_digits(d.hour);
    put_two_digits(d.minute);
    if (with_seconds) put_two_digits(d.second);
  }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  std::span<char> out_;
  std::size_t size_ = 0;
};

void write_receipt(bounded_writer& w, const receipt_fields& f, std::string_view text,
                   bool with_seconds) noexcept {
  // SMPP 3.4 Appendix B field order and spelling.
  w.put("id:");
  w.put(f.id);
  w.put(" sub:");
  w.put_padded(f.sub, 3);
  w.put(" dlvrd:");
  w.put_padded(f.dlvrd, 3);
  w.put(" submit date:");
  w.put_date(f.submit_date, with_seconds);
  w.put(" done date:");
  w.put_date(f.done_date, with_seconds);
  w.put(" stat:");
  w.put(stat_abbreviation(f.stat));
  w.put(" err:");
  w.put_padded(f.err, 3);
  w.put(" text:");
  w.put(text);
}

bool buildable_date(const receipt_date& d) noexcept {
  return d.year >= 2000 && d.year <= 2099 && is_valid(d);
}

// The id as normalize_message_id and parse_message_id_number see it.
std::string_view clean_id(std::string_view id) noexcept {
  return trim_blanks(up_to_nul(id));
}

std::string_view strip_hex_prefix(std::string_view id) noexcept {
  if (id.size() > 2 && id[0] == '0' && (id[1] == 'x' || id[1] == 'X')) return id.substr(2);
  return id;
}

bool all_of_radix(std::string_view digits, int base) noexcept {
  return !digits.empty() && std::all_of(digits.begin(), digits.end(), [base](char c) {
    const int v = hex_value(c);
    return v >= 0 && v < base;
  });
}

std::optional<std::uint64_t> accumulate(std::string_view digits, unsigned base) noexcept {
  std::uint64_t v = 0;
  for (const char c : digits) {
    const auto d = static_cast<std::uint64_t>(hex_value(c));
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / base) return std::nullopt;
    v = v * base + d;
  }
  return v;
}

// The digits of an id and the base to read them in, or base 0 when the id is not a number in
// that radix.
struct id_digits {
  std::string_view digits;
  unsigned base = 0;
};

id_digits classify_id(std::string_view id, id_radix radix) noexcept {
  switch (radix) {
    case id_radix::auto_detect:
      if (all_of_radix(id, 10)) return {id, 10};
      [[fallthrough]];
    case id_radix::hex: {
      const std::string_view digits = strip_hex_prefix(id);
      if (all_of_radix(digits, 16)) return {digits, 16};
      return {};
    }
    case id_radix::decimal:
      if (all_of_radix(id, 10)) return {id, 10};
      return {};
    case id_radix::text:
      return {};
  }
  return {};
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string_view stat_abbreviation(message_state state) noexcept {
  // SMPP 3.4 Appendix B, Table B-2; SKIPPED from SMPP 5.0 §4.7.15.
  switch (state) {
    case message_state::enroute:
      return "ENROUTE";
    case message_state::delivered:
      return "DELIVRD";
    case message_state::expired:
      return "EXPIRED";
    case message_state::deleted:
      return "DELETED";
    case message_state::undeliverable:
      return "UNDELIV";
    case message_state::accepted:
      return "ACCEPTD";
    case message_state::unknown:
      return "UNKNOWN";
    case message_state::rejected:
      return "REJECTD";
    case message_state::skipped:
      return "SKIPPED";
  }
  return {};
}

std::optional<message_state> parse_message_state(std::string_view stat) noexcept {
  if (stat.size() == 1 && stat[0] >= '1' && stat[0] <= '9') {
    return static_cast<message_state>(stat[0] - '0');
  }
  struct entry {
    std::string_view word;  // lower case
    message_state state;
  };
  static constexpr entry kWords[] = {
      {"delivrd", message_state::delivered},     {"delivered", message_state::delivered},
      {"expired", message_state::expired},       {"deleted", message_state::deleted},
      {"undeliv", message_state::undeliverable}, {"undeliverable", message_state::undeliverable},
      {"acceptd", message_state::accepted},      {"accepted", message_state::accepted},
      {"unknown", message_state::unknown},       {"rejectd", message_state::rejected},
      {"rejected", message_state::rejected},     {"enroute", message_state::enroute},
      {"skipped", message_state::skipped},
  };
  for (const entry& e : kWords) {
    if (iequals(stat, e.word)) return e.state;
  }
  return std::nullopt;
}

receipt_kind receipt_kind_from_esm_class(std::uint8_t esm_class) noexcept {
  // SMPP 3.4 §5.2.12, message type bits 5-2 for deliver_sm / data_sm (SMSC -> ESME).
  switch ((esm_class >> 2) & 0x0F) {
    case 0b0001:
      return receipt_kind::smsc_delivery_receipt;
    case 0b0010:
      return receipt_kind::sme_delivery_ack;
    case 0b0100:
      return receipt_kind::sme_manual_ack;
    case 0b1000:
      return receipt_kind::intermediate_notification;
    default:
      return receipt_kind::not_a_receipt;
  }
}

std::string_view to_string(receipt_error error) noexcept {
  switch (error) {
    case receipt_error::none:
      return "none";
    case receipt_error::empty_input:
      return "empty_input";
    case receipt_error::missing_id:
      return "missing_id";
    case receipt_error::empty_id:
      return "empty_id";
    case receipt_error::id_too_long:
      return "id_too_long";
    case receipt_error::invalid_id:
      return "invalid_id";
    case receipt_error::invalid_date:
      return "invalid_date";
    case receipt_error::invalid_state:
      return "invalid_state";
    case receipt_error::buffer_too_small:
      return "buffer_too_small";
  }
  return "unknown";
}

bool is_valid(const receipt_date& d) noexcept {
  if (d.month < 1 || d.month > 12) return false;
  const bool leap = (d.year % 4 == 0 && d.year % 100 != 0) || d.year % 400 == 0;
  static constexpr std::uint8_t kDaysInMonth[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const unsigned days = kDaysInMonth[d.month - 1] + ((d.month == 2 && leap) ? 1u : 0u);
  return d.day >= 1 && d.day <= days && d.hour <= 23 && d.minute <= 59 && d.second <= 59;
}

std::optional<receipt_date> parse_receipt_date(std::string_view digits) noexcept {
  // Appendix B: YYMMDDhhmm; many SMSCs append ss.
  if (digits.size() != 10 && digits.size() != 12) return std::nullopt;
  if (!std::all_of(digits.begin(), digits.end(), is_digit)) return std::nullopt;
  receipt_date d;
  d.year = static_cast<std::uint16_t>(2000 + two_digits(digits, 0));
  d.month = two_digits(digits, 2);
  d.day = two_digits(digits, 4);
  d.hour = two_digits(digits, 6);
  d.minute = two_digits(digits, 8);
  d.second = digits.size() == 12 ? two_digits(digits, 10) : std::uint8_t{0};
  if (!is_valid(d)) return std::nullopt;
  return d;
}

receipt_parse_result parse_receipt_text(std::string_view input) noexcept {
  receipt_parse_result result;
  receipt_text& r = result.receipt;

  if (input.size() > max_receipt_input_size) {
    input = input.substr(0, max_receipt_input_size);
    r.input_truncated = true;
  }
  std::string_view s = up_to_nul(input);
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);

  bool id_seen = false;
  std::size_t p = 0;
  // Every iteration moves p forward, so the loop is linear in s.size().
  while (true) {
    p = skip_blanks(s, p);
    if (p == s.size()) break;
    const std::optional<key_match> match = match_key(s, p);
    if (!match) {
      while (p < s.size() && !is_blank(s[p])) ++p;  // a word that is not a key
      continue;
    }
    if (match->key == receipt_key::text && !r.has_text) {
      r.has_text = true;
      r.text = s.substr(match->value_begin);
      break;
    }
    std::size_t value_begin = match->value_begin;
    const std::size_t after_blanks = skip_blanks(s, value_begin);
    if (after_blanks != value_begin && !match_key(s, after_blanks)) value_begin = after_blanks;
    std::size_t value_end = value_begin;
    while (value_end < s.size() && !is_blank(s[value_end])) ++value_end;
    const std::string_view value = s.substr(value_begin, value_end - value_begin);
    p = value_end;

    if (already_seen(r, match->key, id_seen)) continue;
    switch (match->key) {
      case receipt_key::id:
        id_seen = true;
        r.id = value;
        break;
      case receipt_key::sub:
        set_number(r.sub, value);
        break;
      case receipt_key::dlvrd:
        set_number(r.dlvrd, value);
        break;
      case receipt_key::submit_date:
        set_date(r.submit_date, value);
        break;
      case receipt_key::done_date:
        set_date(r.done_date, value);
        break;
      case receipt_key::stat:
        r.stat.present = true;
        r.stat.raw = value;
        r.stat.value = parse_message_state(value);
        break;
      case receipt_key::err:
        set_number(r.err, value);
        break;
      case receipt_key::text:
      case receipt_key::unknown:
        break;
    }
  }

  if (trim_blanks(s).empty()) {
    result.error = receipt_error::empty_input;
  } else if (!id_seen) {
    result.error = receipt_error::missing_id;
  } else if (r.id.empty()) {
    result.error = receipt_error::empty_id;
  }
  return result;
}

receipt_parse_result parse_receipt_text(std::span<const std::byte> input) noexcept {
  // Viewing bytes as char is allowed by the aliasing rules ([basic.lval]/11).
  return parse_receipt_text(
      std::string_view(reinterpret_cast<const char*>(input.data()), input.size()));
}

std::optional<network_error_code> decode_network_error_code(
    std::span<const std::byte> value) noexcept {
  // SMPP 3.4 §5.3.2.31: network type (1 octet), error code (2 octets, network byte order).
  if (value.size() != 3) return std::nullopt;
  network_error_code code;
  code.network_type = std::to_integer<std::uint8_t>(value[0]);
  code.error_code = static_cast<std::uint16_t>((std::to_integer<unsigned>(value[1]) << 8) |
                                               std::to_integer<unsigned>(value[2]));
  return code;
}

effective_receipt_result combine_receipt(const std::optional<receipt_text>& text,
                                         const receipt_tlvs& tlvs) noexcept {
  effective_receipt_result result;
  effective_receipt& e = result.receipt;

  // §5.3.2.12 receipted_message_id is a C-octet string: stop at its NUL.
  const std::string_view tlv_id =
      tlvs.receipted_message_id ? up_to_nul(*tlvs.receipted_message_id) : std::string_view{};
  const std::string_view text_id = text ? text->id : std::string_view{};
  if (!tlv_id.empty()) {
    e.message_id = tlv_id;
    e.message_id_source = receipt_source::tlv;
  } else if (!text_id.empty()) {
    e.message_id = text_id;
    e.message_id_source = receipt_source::text;
  } else {
    result.error = receipt_error::missing_id;
  }
  if (!tlv_id.empty() && !text_id.empty()) {
    const message_id_key_result a = normalize_message_id(tlv_id);
    const message_id_key_result b = normalize_message_id(text_id);
    e.ids_disagree = (a.ok() && b.ok()) ? !(a.key == b.key) : tlv_id != text_id;
  }

  // §5.3.2.35: 1..8 in SMPP 3.4, 9 (SKIPPED) in SMPP 5.0.
  if (tlvs.message_state && *tlvs.message_state >= 1 && *tlvs.message_state <= 9) {
    e.state = static_cast<message_state>(*tlvs.message_state);
    e.state_source = receipt_source::tlv;
  } else if (text && text->stat.value) {
    e.state = text->stat.value;
    e.state_source = receipt_source::text;
  }

  if (tlvs.network_error_code) {
    e.error_code = tlvs.network_error_code->error_code;
    e.error_code_source = receipt_source::tlv;
    e.network_type = tlvs.network_error_code->network_type;
  } else if (text && text->err.value) {
    e.error_code = text->err.value;
    e.error_code_source = receipt_source::text;
  }

  if (text) {
    e.sub = text->sub.value;
    e.dlvrd = text->dlvrd.value;
    e.submit_date = text->submit_date.value;
    e.done_date = text->done_date.value;
    e.text = text->text;
  }
  return result;
}

receipt_build_result build_receipt_text(const receipt_fields& fields, std::span<char> out,
                                        const receipt_build_options& options) noexcept {
  receipt_build_result result;
  const bool id_ok = !fields.id.empty() && fields.id.size() <= max_message_id_size &&
                     std::none_of(fields.id.begin(), fields.id.end(),
                                  [](char c) { return c == '\0' || is_blank(c); });
  if (!id_ok) {
    result.error = receipt_error::invalid_id;
    return result;
  }
  if (!buildable_date(fields.submit_date) || !buildable_date(fields.done_date)) {
    result.error = receipt_error::invalid_date;
    return result;
  }
  if (stat_abbreviation(fields.stat).empty()) {
    result.error = receipt_error::invalid_state;
    return result;
  }
  const std::string_view text = up_to_nul(fields.text).substr(0, max_receipt_text_size);

  // First pass counts, second writes: nothing is written unless everything fits.
  bounded_writer counter(std::span<char>{});
  write_receipt(counter, fields, text, options.dates_with_seconds);
  result.size = counter.size();
  if (result.size > out.size()) {
    result.error = receipt_error::buffer_too_small;
    return result;
  }
  bounded_writer writer(out);
  write_receipt(writer, fields, text, options.dates_with_seconds);
  return result;
}

std::optional<std::uint64_t> parse_message_id_number(std::string_view id, id_radix radix) noexcept {
  // classify_id then accumulate, in one pass: the router reads two ids per message with a
  // receipt (the answer's and the receipt's), and the digit checks and a division per digit
  // were a few percent of its core. Both readings are kept until the id says which it is.
  if (radix == id_radix::decimal || radix == id_radix::auto_detect) {
    // What SMSCs send: up to 19 decimal digits and nothing around them (19 never overflow).
    // Anything else (blanks, a NUL, hex digits, a prefix) takes the general reading below.
    if (!id.empty() && id.size() <= 19) {
      std::uint64_t v = 0;
      std::size_t i = 0;
      for (; i < id.size(); ++i) {
        const auto d = static_cast<unsigned>(static_cast<unsigned char>(id[i])) - '0';
        if (d > 9) break;
        v = v * 10 + d;
      }
      if (i == id.size()) return v;
    }
  }
  if (radix == id_radix::hex || radix == id_radix::auto_detect) {
    // The other common shape: up to 16 hex digits and nothing around them (16 never overflow).
    // In auto, an all-decimal id of that length has been read as decimal above.
    if (!id.empty() && id.size() <= 16) {
      std::uint64_t v = 0;
      std::size_t i = 0;
      for (; i < id.size(); ++i) {
        const int d = hex_digit_values[static_cast<unsigned char>(id[i])];
        if (d < 0) break;
        v = (v << 4) | static_cast<std::uint64_t>(d);
      }
      if (i == id.size()) return v;
    }
  }
  std::string_view digits = clean_id(id);
  if (radix == id_radix::text || digits.empty()) return std::nullopt;
  const bool hex_prefixed = digits.size() > 2 && digits[0] == '0' && (digits[1] | 0x20) == 'x';
  if (radix == id_radix::hex || (radix == id_radix::auto_detect && hex_prefixed)) {
    digits = strip_hex_prefix(digits);  // "0x..." never reads as a decimal id
  }
  std::uint64_t dec = 0;
  std::uint64_t hex = 0;
  bool all_decimal =
      radix == id_radix::decimal || (radix == id_radix::auto_detect && !hex_prefixed);
  bool dec_overflow = false;
  bool hex_overflow = false;
  for (const char c : digits) {
    const int v = hex_value(c);
    if (v < 0) return std::nullopt;
    const auto d = static_cast<std::uint64_t>(v);
    if (all_decimal && v < 10) {
      dec_overflow |= __builtin_mul_overflow(dec, 10u, &dec) | __builtin_add_overflow(dec, d, &dec);
    } else {
      all_decimal = false;
    }
    hex_overflow |= __builtin_mul_overflow(hex, 16u, &hex) | __builtin_add_overflow(hex, d, &hex);
  }
  if (all_decimal) return dec_overflow ? std::nullopt : std::optional<std::uint64_t>(dec);
  if (radix == id_radix::decimal) return std::nullopt;
  return hex_overflow ? std::nullopt : std::optional<std::uint64_t>(hex);
}

// Writes into message_id_key's private storage; the only code that does.
struct message_id_key_builder {
  static void set(message_id_key& key, std::string_view canonical) noexcept {
    // canonical.size() <= max_message_id_size: checked by normalize_message_id.
    std::copy(canonical.begin(), canonical.end(), key.chars_.begin());
    key.size_ = static_cast<std::uint8_t>(canonical.size());
  }
  static void set_lowercase(message_id_key& key, std::string_view canonical) noexcept {
    std::transform(canonical.begin(), canonical.end(), key.chars_.begin(), to_lower);
    key.size_ = static_cast<std::uint8_t>(canonical.size());
  }
};

message_id_key_result normalize_message_id(std::string_view id, id_radix radix) noexcept {
  message_id_key_result result;
  const std::string_view cleaned = clean_id(id);
  if (cleaned.empty()) {
    result.error = receipt_error::empty_id;
    return result;
  }
  if (cleaned.size() > max_message_id_size) {
    result.error = receipt_error::id_too_long;
    return result;
  }

  const id_digits d = classify_id(cleaned, radix);
  if (d.base != 0) {
    if (const std::optional<std::uint64_t> n = accumulate(d.digits, d.base)) {
      std::array<char, 20> digits{};  // 2^64 - 1 has 20 digits
      std::size_t i = digits.size();
      std::uint64_t v = *n;
      do {
        digits[--i] = static_cast<char>('0' + v % 10);
        v /= 10;
      } while (v != 0);
      message_id_key_builder::set(result.key,
                                  std::string_view(digits.data() + i, digits.size() - i));
      return result;
    }
  }

  // Rule 3: text. A hex number too large for 64 bits loses its 0x prefix first, so that
  // "0x00ab..." and "ab..." agree.
  std::string_view text = d.base == 16 ? d.digits : cleaned;
  const std::size_t first_non_zero = text.find_first_not_of('0');
  text.remove_prefix(first_non_zero == std::string_view::npos ? text.size() - 1 : first_non_zero);
  message_id_key_builder::set_lowercase(result.key, text);
  return result;
}

receipt_summary summarize_receipt(const pdu& p) noexcept {
  receipt_tlvs t;
  if (auto v = p.tlvs.find(tag::receipted_message_id)) {
    const std::string_view id = up_to_nul(v->as_cstring());
    if (!id.empty()) t.receipted_message_id = id;
  }
  if (auto v = p.tlvs.find(tag::message_state); v && v->value.size() == 1) {
    t.message_state = std::to_integer<std::uint8_t>(v->value[0]);
  }
  receipt_summary r;
  const bool state_from_tlv = t.message_state && *t.message_state >= 1 && *t.message_state <= 9;
  if (t.receipted_message_id && state_from_tlv) {
    r.message_id = *t.receipted_message_id;
    r.state = static_cast<message_state>(*t.message_state);
    return r;
  }
  std::optional<receipt_text> text;
  bytes_view body = p.short_message;
  if (body.empty()) {
    if (auto v = p.tlvs.find(tag::message_payload)) body = v->value;
  }
  if (!body.empty()) {
    if (auto parsed = parse_receipt_text(body); parsed.ok()) text = parsed.receipt;
  }
  const effective_receipt_result e = combine_receipt(text, t);
  if (!e.ok()) return r;
  r.message_id = e.receipt.message_id;
  r.state = e.receipt.state;
  return r;
}

std::string_view receipt_message_id(const pdu& p) noexcept {
  return summarize_receipt(p).message_id;
}

bool is_final(message_state state) noexcept {
  switch (state) {
    case message_state::delivered:
    case message_state::expired:
    case message_state::deleted:
    case message_state::undeliverable:
    case message_state::rejected:
    case message_state::skipped:
      return true;
    case message_state::enroute:
    case message_state::accepted:
    case message_state::unknown:
      return false;
  }
  return false;
}

std::string_view resp_message_id(bytes_view frame) noexcept {
  if (frame.size() <= header_size) return {};
  const auto* body = reinterpret_cast<const char*>(frame.data() + header_size);
  const size_t n = std::min<size_t>(frame.size() - header_size, 65);
  const void* nul = std::memchr(body, 0, n);
  if (nul == nullptr) return {};
  return {body, static_cast<size_t>(static_cast<const char*>(nul) - body)};
}

}  // namespace smpp::codec
