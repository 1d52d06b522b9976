// A reader for the parts of tshark's PDML output (`tshark -T pdml`) the differential test needs:
// per packet, its frame number, whether tshark marked it malformed, and the attributes of every
// field whose name has a given prefix, in tree order.
//
// PDML rather than `-T fields`: it carries, for each field, both tshark's interpretation (show)
// and the octets it was read from (value, or unmaskedvalue for a bit field), and it locates
// FT_NONE fields (pos, size) that `-T fields` prints as nothing.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

namespace smpp::interop {

struct pdml_field {
  std::string name;
  uint32_t pos = 0;      // offset in the frame
  uint32_t size = 0;     // octets
  std::string show;      // tshark's rendering, XML entities resolved
  std::string value;     // the field's octets in hex ("" when tshark gives none)
  std::string unmasked;  // a bit field's whole octets in hex, else ""
};

struct pdml_packet {
  uint32_t frame = 0;  // 1-based frame number
  bool malformed = false;
  std::vector<pdml_field> fields;
};

// Reads every <packet> of a PDML document, keeping the fields whose name starts with prefix.
[[nodiscard]] std::vector<pdml_packet> read_pdml(std::istream& in, std::string_view prefix);

// Resolves the XML entities PDML uses (&amp; &lt; &gt; &quot; &apos; &#N; &#xN;).
[[nodiscard]] std::string xml_unescape(std::string_view s);

}  // namespace smpp::interop
