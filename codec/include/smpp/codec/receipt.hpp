// Delivery receipts: the de-facto text format of SMPP 3.4 Appendix B, the receipt TLVs
// (§5.3.2.12 receipted_message_id, §5.3.2.35 message_state, §5.3.2.31 network_error_code) and
// the message_id normalisation used to correlate a receipt with its submit_sm_resp.
//
// Pure functions over caller-owned bytes: no I/O, no exceptions, no allocation. Every
// std::string_view in a result points into the input the caller passed in.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "smpp/codec/pdu.hpp"

namespace smpp::codec {

// SMPP 3.4 §5.2.28 message_state; SKIPPED (9) is SMPP 5.0 §4.7.15.
enum class message_state : std::uint8_t {
  enroute = 1,
  delivered = 2,
  expired = 3,
  deleted = 4,
  undeliverable = 5,
  accepted = 6,
  unknown = 7,
  rejected = 8,
  skipped = 9,
};

// The 7-letter stat value of Appendix B ("DELIVRD", "UNDELIV", ...); empty for a value
// outside 1..9.
[[nodiscard]] std::string_view stat_abbreviation(message_state state) noexcept;

// Case-insensitive. Accepts the Appendix B abbreviations (DELIVRD, EXPIRED, DELETED, UNDELIV,
// ACCEPTD, UNKNOWN, REJECTD, ENROUTE, SKIPPED), the spelled-out words some SMSCs send
// (DELIVERED, UNDELIVERABLE, ACCEPTED, REJECTED) and a single digit 1..9 (the numeric
// message_state). Anything else -> nullopt.
[[nodiscard]] std::optional<message_state> parse_message_state(std::string_view stat) noexcept;

// SMPP 3.4 §5.2.12 esm_class bits 5-2 of a deliver_sm / data_sm (SMSC -> ESME).
enum class receipt_kind : std::uint8_t {
  not_a_receipt,              // xx0000xx and the reserved / conversation-abort values
  smsc_delivery_receipt,      // xx0001xx
  sme_delivery_ack,           // xx0010xx
  sme_manual_ack,             // xx0100xx
  intermediate_notification,  // xx1000xx
};

[[nodiscard]] receipt_kind receipt_kind_from_esm_class(std::uint8_t esm_class) noexcept;

enum class receipt_error : std::uint8_t {
  none,
  empty_input,       // parse: nothing but NUL / whitespace
  missing_id,        // parse / combine: no "id:" key and no receipted_message_id TLV
  empty_id,          // parse: "id:" with no value; normalise: empty id
  id_too_long,       // normalise: more than max_message_id_size characters
  invalid_id,        // build: empty, too long, or holds whitespace / NUL
  invalid_date,      // build: a date outside 2000-01-01 00:00:00 .. 2099-12-31 23:59:59
  invalid_state,     // build: stat outside 1..9
  buffer_too_small,  // build: nothing written; the result carries the size needed
};

[[nodiscard]] std::string_view to_string(receipt_error error) noexcept;

// SMPP 3.4 §5.3.2.12: receipted_message_id is a C-octet string of at most 65 octets, i.e. 64
// characters and the NUL. The same bound holds for submit_sm_resp message_id (§4.4.2).
inline constexpr std::size_t max_message_id_size = 64;

// Inputs longer than this are parsed from their first max_receipt_input_size octets only
// (receipt_text::input_truncated is set): the bound of message_payload, whose TLV length is
// 16 bits (§5.3.2.32). short_message itself stops at 254 octets (§5.2.22).
inline constexpr std::size_t max_receipt_input_size = 65535;

// Appendix B: "text" carries the first 20 characters of the original short message.
inline constexpr std::size_t max_receipt_text_size = 20;

// Appendix B YYMMDDhhmm[ss]. year is 2000 + YY: receipts carry no century.
struct receipt_date {
  std::uint16_t year = 2000;
  std::uint8_t month = 1;
  std::uint8_t day = 1;
  std::uint8_t hour = 0;
  std::uint8_t minute = 0;
  std::uint8_t second = 0;

  friend bool operator==(const receipt_date&, const receipt_date&) = default;
};

// Month 1-12, day within the month (leap years included), hour 0-23, minute and second 0-59.
[[nodiscard]] bool is_valid(const receipt_date& date) noexcept;

// Exactly 10 (YYMMDDhhmm) or 12 (YYMMDDhhmmss) decimal digits with valid ranges, else nullopt.
[[nodiscard]] std::optional<receipt_date> parse_receipt_date(std::string_view digits) noexcept;

// One key of the receipt text. present: the key occurred (first occurrence wins); raw: its value
// as sent, possibly empty; value: set only when raw is well-formed for T.
template <typename T>
struct receipt_field {
  bool present = false;
  std::string_view raw;
  std::optional<T> value;
};

// A parsed receipt text: a view into the caller's bytes.
//
// Parsing rules (the tolerance the SMSCs in the wild need):
// - The input ends at its first NUL (short_message is often a C string) and trailing CR / LF
//   are dropped.
// - Fields are `key:value`, separated by any run of spaces, tabs, CR or LF, in any order.
// - Keys match case-insensitively and ignoring '_', '-' and the spaces inside the key, so
//   "submit date", "Submit Date", "submit_date" and "SUBMITDATE" are one key. Aliases:
//   "status" = stat, "error" = err. Unknown keys and words without a colon are skipped.
// - A value is the run of non-blank characters right after the colon. Blanks after the colon
//   are skipped unless what follows is itself a key ("sub: dlvrd:001" leaves sub empty).
// - "text:" takes everything after its colon up to the end of input, verbatim (leading spaces,
//   colons and keys included), so it must be the last field; a field after it is text.
// - A key repeated: the first occurrence wins.
// - sub, dlvrd and err: value is set when raw is all decimal digits and fits in 32 bits
//   ("err:000" and "err:0" both give 0). Dates: see parse_receipt_date; a bad date does not
//   fail the receipt. stat: see parse_message_state.
struct receipt_text {
  std::string_view id;  // never empty in a successful parse
  receipt_field<std::uint32_t> sub;
  receipt_field<std::uint32_t> dlvrd;
  receipt_field<receipt_date> submit_date;
  receipt_field<receipt_date> done_date;
  receipt_field<message_state> stat;
  receipt_field<std::uint32_t> err;
  bool has_text = false;
  std::string_view text;
  bool input_truncated = false;  // input was longer than max_receipt_input_size
};

struct receipt_parse_result {
  receipt_error error = receipt_error::none;
  receipt_text receipt;

  [[nodiscard]] bool ok() const noexcept { return error == receipt_error::none; }
};

// Fails with empty_input, missing_id or empty_id; every other defect is reported per field.
// Linear in min(input size, max_receipt_input_size).
[[nodiscard]] receipt_parse_result parse_receipt_text(std::string_view input) noexcept;
[[nodiscard]] receipt_parse_result parse_receipt_text(std::span<const std::byte> input) noexcept;

// SMPP 3.4 §5.3.2.31: network type (1 octet), then the error code (2 octets, big-endian).
struct network_error_code {
  std::uint8_t network_type = 0;  // 1 ANSI-136, 2 IS-95, 3 GSM, ...
  std::uint16_t error_code = 0;

  friend bool operator==(const network_error_code&, const network_error_code&) = default;
};

// The TLV value, exactly 3 octets; any other length -> nullopt.
[[nodiscard]] std::optional<network_error_code> decode_network_error_code(
    std::span<const std::byte> value) noexcept;

// Receipt TLVs as already extracted from the PDU, each optional.
struct receipt_tlvs {
  // §5.3.2.12, the value as carried: read up to its first NUL; empty counts as absent.
  std::optional<std::string_view> receipted_message_id;
  // §5.3.2.35, the raw octet: values outside 1..9 count as absent.
  std::optional<std::uint8_t> message_state;
  std::optional<codec::network_error_code> network_error_code;  // §5.3.2.31
};

enum class receipt_source : std::uint8_t { none, text, tlv };

// The receipt as the router acts on it.
//
// Precedence: a TLV, when present and usable, wins over the text for the field it carries,
// because the TLVs are the normative carriers (§5.3.2.12, §5.3.2.35, §5.3.2.31) and the text is
// an informative, vendor-specific format (Appendix B):
// - message_id: receipted_message_id TLV, else the text id.
// - state:      message_state TLV, else the text stat.
// - error_code: network_error_code TLV error code, else the text err value.
// - network_type comes only from the network_error_code TLV.
// - sub, dlvrd, dates and text come only from the text.
struct effective_receipt {
  std::string_view message_id;
  receipt_source message_id_source = receipt_source::none;
  std::optional<message_state> state;
  receipt_source state_source = receipt_source::none;
  std::optional<std::uint32_t> error_code;
  receipt_source error_code_source = receipt_source::none;
  std::optional<std::uint8_t> network_type;
  std::optional<std::uint32_t> sub;
  std::optional<std::uint32_t> dlvrd;
  std::optional<receipt_date> submit_date;
  std::optional<receipt_date> done_date;
  std::string_view text;
  // Both ids present and their auto-detected keys (normalize_message_id) differ: the SMSC
  // contradicts itself; message_id still follows the precedence above.
  bool ids_disagree = false;
};

struct effective_receipt_result {
  receipt_error error = receipt_error::none;
  effective_receipt receipt;

  [[nodiscard]] bool ok() const noexcept { return error == receipt_error::none; }
};

// Fails with missing_id when neither the text nor the TLV supplies a message id.
[[nodiscard]] effective_receipt_result combine_receipt(const std::optional<receipt_text>& text,
                                                       const receipt_tlvs& tlvs) noexcept;

// The message id a receipt PDU (deliver_sm / data_sm) quotes: its receipted_message_id TLV
// (SMPP 3.4 §5.3.2.12) before the id: of its text (short_message or message_payload), as
// combine_receipt orders them. Empty when it has none.
[[nodiscard]] std::string_view receipt_message_id(const pdu& p) noexcept;

// What the router acts on in a receipt: the message id it quotes and its state, taken as
// combine_receipt takes them (the TLVs before the text). The text (Appendix B) is parsed only
// when a TLV is missing: SMSCs that send receipted_message_id and message_state cost no parse.
struct receipt_summary {
  std::string_view message_id;  // empty: none
  std::optional<message_state> state;
};
[[nodiscard]] receipt_summary summarize_receipt(const pdu& p) noexcept;

// A state after which no further receipt comes for the message (SMPP 3.4 §5.2.28 and
// Appendix B): DELIVRD, EXPIRED, DELETED, UNDELIV, REJECTD, and SKIPPED of SMPP 5.0. ENROUTE,
// ACCEPTD and UNKNOWN are not final: SMSCs send them as intermediate states.
[[nodiscard]] bool is_final(message_state state) noexcept;

// The message_id a submit_sm_resp, data_sm_resp or submit_multi_resp carries: the C-octet
// string that opens its body (SMPP 3.4 §4.4.2, §4.7.2, §4.5.2). Empty when there is none.
[[nodiscard]] std::string_view resp_message_id(bytes_view frame) noexcept;

// Fields for build_receipt_text.
struct receipt_fields {
  std::string_view id;
  std::uint32_t sub = 1;
  std::uint32_t dlvrd = 1;
  receipt_date submit_date;
  receipt_date done_date;
  message_state stat = message_state::delivered;
  std::uint32_t err = 0;
  std::string_view text;
};

struct receipt_build_options {
  bool dates_with_seconds = false;  // YYMMDDhhmmss instead of the standard YYMMDDhhmm
};

// size: octets written on success; octets needed when error is buffer_too_small.
struct receipt_build_result {
  receipt_error error = receipt_error::none;
  std::size_t size = 0;

  [[nodiscard]] bool ok() const noexcept { return error == receipt_error::none; }
};

// Writes the Appendix B form
//   id:<id> sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:EEE
//   text:<text>
// (one line, single spaces) into out, without a terminating NUL. sub, dlvrd and err are
// zero-padded to at least 3 digits; text is cut at max_receipt_text_size octets or its first
// NUL. Writes nothing unless the whole receipt fits. The id must be 1..max_message_id_size
// characters with no blank or NUL, the dates valid within 2000..2099. parse_receipt_text gives
// every field back, except that a text ending in CR or LF loses them.
[[nodiscard]] receipt_build_result build_receipt_text(
    const receipt_fields& fields, std::span<char> out,
    const receipt_build_options& options = {}) noexcept;

// How to read a message_id as a number.
enum class id_radix : std::uint8_t {
  auto_detect,  // all decimal digits -> decimal; else all hex digits (or 0x-prefixed) -> hex
  decimal,      // decimal digits only
  hex,          // hex digits only, optional 0x / 0X prefix
  text,         // never a number
};

// The id (read up to its first NUL, surrounding blanks removed) as an unsigned number in the
// given radix; nullopt when it is not one or does not fit in 64 bits.
[[nodiscard]] std::optional<std::uint64_t> parse_message_id_number(
    std::string_view id, id_radix radix = id_radix::auto_detect) noexcept;

// The canonical form of a message_id, for matching a receipt to its submit_sm_resp. SMSCs
// disagree with themselves: the resp says "38601fa", the receipt says "0059113978"
// (0x38601fa == 59113978), or pads with zeros, or changes case.
//
// Rules, applied to the id read up to its first NUL with surrounding blanks removed:
// 1. Empty -> empty_id; longer than max_message_id_size -> id_too_long.
// 2. If parse_message_id_number(id, radix) yields n, the key is n in decimal without leading
//    zeros ("0" for zero). So with auto_detect, "38601fa", "0x38601FA", "59113978" and
//    "0059113978" share the key "59113978".
// 3. Otherwise (radix text, characters outside the radix, or more than 64 bits) the key is the
//    id with ASCII letters lowercased and leading '0's removed (one '0' is kept if nothing
//    else remains): "ABC-01" -> "abc-01", "00A1B2..." (beyond 64 bits) -> "a1b2...".
//    Decimal ids beyond 64 bits thus still match their zero-padded forms.
//
// auto_detect cannot know that an all-digit id is hex ("10" is read as ten). When an SMSC is
// known to issue hex ids, normalise its ids with id_radix::hex and the other side's with its
// own radix; the keys then compare equal when the numbers are equal.
class message_id_key {
 public:
  [[nodiscard]] std::string_view view() const noexcept { return {chars_.data(), size_}; }

  friend bool operator==(const message_id_key& a, const message_id_key& b) noexcept {
    return a.view() == b.view();
  }

 private:
  friend struct message_id_key_builder;
  std::array<char, max_message_id_size> chars_{};
  std::uint8_t size_ = 0;
};

struct message_id_key_result {
  receipt_error error = receipt_error::none;
  message_id_key key;

  [[nodiscard]] bool ok() const noexcept { return error == receipt_error::none; }
};

[[nodiscard]] message_id_key_result normalize_message_id(
    std::string_view id, id_radix radix = id_radix::auto_detect) noexcept;

}  // namespace smpp::codec
