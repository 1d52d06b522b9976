#include "pdml.hpp"

#include <charconv>
#include <optional>

namespace smpp::interop {
namespace {

// The value of attribute key on one PDML line. Attribute values have their quotes escaped, so
// the first `" key="` outside a value is the attribute.
std::optional<std::string_view> attr(std::string_view line, std::string_view key) {
  std::string needle;
  needle.reserve(key.size() + 3);
  needle.append(" ").append(key).append("=\"");
  const size_t at = line.find(needle);
  if (at == std::string_view::npos) return std::nullopt;
  const size_t from = at + needle.size();
  const size_t to = line.find('"', from);
  if (to == std::string_view::npos) return std::nullopt;
  return line.substr(from, to - from);
}

uint32_t to_u32(std::optional<std::string_view> s) {
  uint32_t v = 0;
  if (s) std::from_chars(s->data(), s->data() + s->size(), v);
  return v;
}

// Appends code point cp as UTF-8.
void put_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

std::string xml_unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const size_t semi = s[i] == '&' ? s.find(';', i) : std::string_view::npos;
    if (semi == std::string_view::npos) {
      out.push_back(s[i]);
      continue;
    }
    const std::string_view e = s.substr(i + 1, semi - i - 1);
    if (e == "amp") {
      out.push_back('&');
    } else if (e == "lt") {
      out.push_back('<');
    } else if (e == "gt") {
      out.push_back('>');
    } else if (e == "quot") {
      out.push_back('"');
    } else if (e == "apos") {
      out.push_back('\'');
    } else if (e.size() > 1 && e[0] == '#') {
      const bool hex = e[1] == 'x' || e[1] == 'X';
      const std::string_view digits = e.substr(hex ? 2 : 1);
      uint32_t cp = 0;
      std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      put_utf8(out, cp);
    } else {
      out.append(s.substr(i, semi - i + 1));  // not an entity PDML writes: keep it
    }
    i = semi;
  }
  return out;
}

std::vector<pdml_packet> read_pdml(std::istream& in, std::string_view prefix) {
  std::vector<pdml_packet> packets;
  std::string line;
  while (std::getline(in, line)) {
    const std::string_view l = line;
    if (l.find("<packet>") != std::string_view::npos) {
      packets.emplace_back();
      continue;
    }
    if (packets.empty()) continue;
    pdml_packet& pk = packets.back();
    if (l.find("<proto name=\"_ws.malformed\"") != std::string_view::npos) {
      pk.malformed = true;
      continue;
    }
    if (l.find("<field ") == std::string_view::npos) continue;
    const auto name = attr(l, "name");
    if (!name) continue;
    if (*name == "num" && pk.frame == 0) {
      pk.frame = to_u32(attr(l, "show"));
      continue;
    }
    if (!name->starts_with(prefix)) continue;
    pdml_field f;
    f.name = std::string(*name);
    f.pos = to_u32(attr(l, "pos"));
    f.size = to_u32(attr(l, "size"));
    f.show = xml_unescape(attr(l, "show").value_or(""));
    f.value = std::string(attr(l, "value").value_or(""));
    f.unmasked = std::string(attr(l, "unmaskedvalue").value_or(""));
    pk.fields.push_back(std::move(f));
  }
  return packets;
}

}  // namespace smpp::interop
