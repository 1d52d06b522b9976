// WSP Push PDUs with SI / SL in WBXML and MMS m-notification-ind.
#include "smpp/http/wap_push.hpp"

#include <array>
#include <string_view>

namespace smpp::http {
namespace {

using bytes = std::vector<std::byte>;

void put(bytes& out, std::initializer_list<int> v) {
  for (const int b : v) out.push_back(static_cast<std::byte>(b));
}
void put_text(bytes& out, std::string_view s) {
  for (const char c : s) out.push_back(static_cast<std::byte>(c));
}
// WAP-230-WSP §8.1.2: uintvar, 7 bits per octet, most significant first, continuation bit.
void put_uintvar(bytes& out, std::uint32_t v) {
  std::array<std::byte, 5> tmp{};
  std::size_t n = 0;
  do {
    tmp[n++] = static_cast<std::byte>(v & 0x7F);
    v >>= 7;
  } while (v != 0);
  while (n > 1) out.push_back(tmp[--n] | std::byte{0x80});
  out.push_back(tmp[0]);
}

// WAP-230-WSP §8.2.4.1 Push PDU: TID, PDU type 0x06, HeadersLen, ContentType + headers, body.
bytes push_pdu(std::uint8_t tid, std::initializer_list<int> headers, const bytes& body) {
  bytes out;
  put(out, {tid, 0x06});
  put_uintvar(out, static_cast<std::uint32_t>(headers.size()));
  put(out, headers);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

// WAP-192-WBXML §5.8.4.1: STR_I, an inline string terminated by 0x00.
constexpr int str_i = 0x03;
constexpr int end_token = 0x01;
constexpr int opaque = 0xC3;
void put_str_i(bytes& out, std::string_view s) {
  out.push_back(std::byte{str_i});
  put_text(out, s);
  out.push_back(std::byte{0});
}

// An attribute whose value starts with one of the prefixes its token table has: the token of
// the longest matching prefix, else the plain attribute's token, then the rest inline.
void put_href(bytes& out, std::string_view href, int plain,
              std::initializer_list<std::pair<std::string_view, int>> prefixes) {
  int token = plain;
  std::size_t skip = 0;
  for (const auto& [prefix, t] : prefixes) {
    if (href.substr(0, prefix.size()) == prefix && prefix.size() > skip) {
      token = t;
      skip = prefix.size();
    }
  }
  out.push_back(static_cast<std::byte>(token));
  if (skip < href.size()) put_str_i(out, href.substr(skip));
}

bool valid_text(std::string_view s) {
  return s.find('\0') == std::string_view::npos;
}

// WAP-167-ServiceInd §8.2.2: a date is OPAQUE, "YYYY-MM-DDThh:mm:ssZ" as 14 BCD digits with
// trailing zero octets left out.
bool put_date(bytes& out, std::string_view date) {
  if (date.size() != 20 || date[4] != '-' || date[7] != '-' || date[10] != 'T' || date[13] != ':' ||
      date[16] != ':' || date[19] != 'Z') {
    return false;
  }
  std::string digits;
  for (const char c : date.substr(0, 19)) {
    if (c >= '0' && c <= '9') {
      digits += c;
    } else if (c != '-' && c != 'T' && c != ':') {
      return false;
    }
  }
  if (digits.size() != 14) return false;
  bytes packed;
  for (std::size_t i = 0; i < 14; i += 2) {
    packed.push_back(static_cast<std::byte>((digits[i] - '0') << 4 | (digits[i + 1] - '0')));
  }
  while (!packed.empty() && packed.back() == std::byte{0}) packed.pop_back();
  put(out, {opaque, static_cast<int>(packed.size())});
  out.insert(out.end(), packed.begin(), packed.end());
  return true;
}

// WAP-230-WSP Table 39/40: well-known content types and X-Wap-Application-Id (header 0x2F)
// values, each as a short integer (high bit set).
constexpr int content_type_sic = 0x80 | 0x2E;  // application/vnd.wap.sic
constexpr int content_type_slc = 0x80 | 0x30;  // application/vnd.wap.slc
constexpr int content_type_mms = 0x80 | 0x3E;  // application/vnd.wap.mms-message
constexpr int header_application_id = 0x80 | 0x2F;
constexpr int app_wml_ua = 0x80 | 0x02;  // x-wap-application:wml.ua
constexpr int app_mms_ua = 0x80 | 0x04;  // x-wap-application:mms.ua
// WAP-192-WBXML §5.4: version 1.2, §5.6 public ids, §5.7 charset UTF-8 (IANA MIBenum 106).
constexpr int wbxml_version = 0x02;
constexpr int public_id_si = 0x05;
constexpr int public_id_sl = 0x06;
constexpr int charset_utf8 = 0x6A;

}  // namespace

push_result encode_service_indication(const service_indication& si, std::uint8_t tid) {
  if (si.href.empty() || !valid_text(si.href)) return std::string("href: must not be empty");
  if (!valid_text(si.text) || !valid_text(si.si_id)) return std::string("text: holds NUL");
  // WAP-167-ServiceInd §8.3.2 attribute start tokens.
  static constexpr std::array<std::pair<std::string_view, int>, 5> actions = {
      {{"signal-none", 0x05},
       {"signal-low", 0x06},
       {"signal-medium", 0x07},
       {"signal-high", 0x08},
       {"delete", 0x09}}};
  int action = 0x07;
  if (!si.action.empty()) {
    action = 0;
    for (const auto& [name, token] : actions) {
      if (si.action == name) action = token;
    }
    if (action == 0) {
      return std::string(
          "action: must be signal-none, signal-low, signal-medium, signal-high or delete");
    }
  }
  bytes body;
  put(body, {wbxml_version, public_id_si, charset_utf8, 0x00});
  // si (0x05) with content, indication (0x06) with attributes and content.
  put(body, {0x40 | 0x05, 0xC0 | 0x06});
  put_href(body, si.href, 0x0B,
           {{"http://", 0x0C}, {"http://www.", 0x0D}, {"https://", 0x0E}, {"https://www.", 0x0F}});
  if (!si.si_id.empty()) {
    body.push_back(std::byte{0x11});
    put_str_i(body, si.si_id);
  }
  if (!si.created.empty()) {
    body.push_back(std::byte{0x0A});
    if (!put_date(body, si.created)) return std::string("created: must be YYYY-MM-DDThh:mm:ssZ");
  }
  if (!si.expires.empty()) {
    body.push_back(std::byte{0x10});
    if (!put_date(body, si.expires)) return std::string("expires: must be YYYY-MM-DDThh:mm:ssZ");
  }
  body.push_back(static_cast<std::byte>(action));
  body.push_back(std::byte{end_token});  // attributes of indication
  if (!si.text.empty()) put_str_i(body, si.text);
  put(body, {end_token, end_token});  // indication, si
  return push_pdu(tid, {content_type_sic, header_application_id, app_wml_ua}, body);
}

push_result encode_service_loading(const service_loading& sl, std::uint8_t tid) {
  if (sl.href.empty() || !valid_text(sl.href)) return std::string("href: must not be empty");
  // WAP-168-ServiceLoad §9.3.2 attribute start tokens.
  int action = 0x05;
  if (sl.action == "execute-high") {
    action = 0x06;
  } else if (sl.action == "cache") {
    action = 0x07;
  } else if (!sl.action.empty() && sl.action != "execute-low") {
    return std::string("action: must be execute-low, execute-high or cache");
  }
  bytes body;
  put(body, {wbxml_version, public_id_sl, charset_utf8, 0x00});
  body.push_back(std::byte{0x80 | 0x05});  // sl with attributes, no content
  put_href(body, sl.href, 0x08,
           {{"http://", 0x09}, {"http://www.", 0x0A}, {"https://", 0x0B}, {"https://www.", 0x0C}});
  put(body, {action, end_token});
  return push_pdu(tid, {content_type_slc, header_application_id, app_wml_ua}, body);
}

namespace {

// OMA-TS-MMS-ENC §7.2: Text-string (a leading octet >= 0x80 is quoted with 0x7F).
void put_mms_text(bytes& out, std::string_view s) {
  if (!s.empty() && static_cast<unsigned char>(s[0]) >= 0x80) out.push_back(std::byte{0x7F});
  put_text(out, s);
  out.push_back(std::byte{0});
}
// WAP-230-WSP §8.4.2.2 Value-length: a short length, or 31 and a uintvar.
void put_value_length(bytes& out, std::size_t n) {
  if (n < 31) {
    out.push_back(static_cast<std::byte>(n));
  } else {
    out.push_back(std::byte{31});
    put_uintvar(out, static_cast<std::uint32_t>(n));
  }
}
// WAP-230-WSP §8.4.2.1 Long-integer: a length octet and the value big-endian, no leading zeros.
bytes long_integer(std::uint32_t v) {
  bytes digits;
  do {
    digits.insert(digits.begin(), static_cast<std::byte>(v & 0xFF));
    v >>= 8;
  } while (v != 0);
  digits.insert(digits.begin(), static_cast<std::byte>(digits.size()));
  return digits;
}
// Encoded-string-value (OMA-TS-MMS-ENC §7.2.9): plain ASCII as a Text-string, anything else
// with its charset, UTF-8.
void put_encoded_string(bytes& out, std::string_view s) {
  bool ascii = true;
  for (const char c : s) ascii &= static_cast<unsigned char>(c) < 0x80;
  if (ascii) {
    put_mms_text(out, s);
    return;
  }
  put_value_length(out, 1 + s.size() + 1);
  out.push_back(std::byte{0x80 | charset_utf8});
  put_text(out, s);
  out.push_back(std::byte{0});
}

}  // namespace

push_result encode_mms_notification(const mms_notification& m, std::uint8_t tid) {
  if (m.location.empty() || !valid_text(m.location)) {
    return std::string("location: must not be empty");
  }
  if (!valid_text(m.from) || !valid_text(m.subject) || !valid_text(m.transaction_id)) {
    return std::string("subject: holds NUL");
  }
  if (m.size == 0) return std::string("size: must be at least 1");
  bytes pdu;
  // OMA-TS-MMS-ENC §6.2 and §7.3: message type, transaction id and version come first.
  put(pdu, {0x8C, 0x82});  // X-Mms-Message-Type: m-notification-ind
  pdu.push_back(std::byte{0x98});
  put_mms_text(pdu, m.transaction_id.empty() ? std::string_view("1") : m.transaction_id);
  put(pdu, {0x8D, 0x92});  // X-Mms-MMS-Version: 1.2
  if (!m.from.empty()) {
    // From: Value-length, Address-present-token, Encoded-string-value (§7.3.21).
    bytes address;
    address.push_back(std::byte{0x80});
    put_encoded_string(address, m.from);
    pdu.push_back(std::byte{0x89});
    put_value_length(pdu, address.size());
    pdu.insert(pdu.end(), address.begin(), address.end());
  }
  if (!m.subject.empty()) {
    pdu.push_back(std::byte{0x96});
    put_encoded_string(pdu, m.subject);
  }
  put(pdu, {0x8A, 0x80 + static_cast<int>(m.message_class)});  // X-Mms-Message-Class
  pdu.push_back(std::byte{0x8E});                              // X-Mms-Message-Size
  const bytes size = long_integer(m.size);
  pdu.insert(pdu.end(), size.begin(), size.end());
  if (m.expiry_s != 0) {
    // X-Mms-Expiry: Value-length, Relative-token (0x81), Delta-seconds-value (§7.3.20).
    const bytes delta = long_integer(m.expiry_s);
    pdu.push_back(std::byte{0x88});
    put_value_length(pdu, 1 + delta.size());
    pdu.push_back(std::byte{0x81});
    pdu.insert(pdu.end(), delta.begin(), delta.end());
  }
  pdu.push_back(std::byte{0x83});  // X-Mms-Content-Location
  put_mms_text(pdu, m.location);
  return push_pdu(tid, {content_type_mms, header_application_id, app_mms_ua}, pdu);
}

}  // namespace smpp::http
