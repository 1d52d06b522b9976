// Runs the built smpp-dump binary (SMPP_BIN_DIR) on hex, raw streams and captures and checks
// every output line with a strict JSON parser (RFC 8259).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pdu_gen.hpp"
#include "smpp/codec/codec.hpp"

namespace smpp::dump {
namespace {

using codec::command_id;
using testing::to_hex;

// ---- a strict JSON reader ---------------------------------------------------------------------

struct json {
  enum class kind { null, boolean, number, string, array, object };
  kind k = kind::null;
  bool b = false;
  std::string text;  // string value (UTF-8), or the number as written
  std::vector<json> items;
  std::vector<std::pair<std::string, json>> members;

  [[nodiscard]] const json* find(std::string_view key) const {
    for (const auto& [name, value] : members) {
      if (name == key) return &value;
    }
    return nullptr;
  }
  [[nodiscard]] bool has(std::string_view key) const { return find(key) != nullptr; }
  // Missing keys read as null, so a failed expectation names the key instead of crashing.
  const json& operator[](std::string_view key) const {
    static const json null_value;
    const json* v = find(key);
    return v != nullptr ? *v : null_value;
  }
  const json& operator[](size_t i) const {
    static const json null_value;
    return i < items.size() ? items[i] : null_value;
  }
  [[nodiscard]] std::string str() const { return k == kind::string ? text : "<not a string>"; }
  [[nodiscard]] uint64_t num() const {
    return k == kind::number ? std::strtoull(text.c_str(), nullptr, 10) : ~uint64_t{0};
  }
};

class json_parser {
 public:
  explicit json_parser(std::string_view s) : s_(s) {}

  // One value and nothing but whitespace around it.
  std::optional<json> document() {
    json v;
    ws();
    if (!value(v, 0)) return std::nullopt;
    ws();
    if (i_ != s_.size()) return std::nullopt;
    return v;
  }

 private:
  void ws() {
    while (i_ < s_.size() &&
           (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) {
      ++i_;
    }
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }
  bool value(json& v, int depth) {
    if (depth > 32 || i_ >= s_.size()) return false;
    switch (s_[i_]) {
      case '{':
        return object(v, depth);
      case '[':
        return array(v, depth);
      case '"':
        v.k = json::kind::string;
        return string(v.text);
      case 't':
        v.k = json::kind::boolean;
        v.b = true;
        return literal("true");
      case 'f':
        v.k = json::kind::boolean;
        return literal("false");
      case 'n':
        v.k = json::kind::null;
        return literal("null");
      default:
        v.k = json::kind::number;
        return number(v.text);
    }
  }
  bool object(json& v, int depth) {
    v.k = json::kind::object;
    ++i_;
    ws();
    if (i_ < s_.size() && s_[i_] == '}') return ++i_, true;
    for (;;) {
      ws();
      std::string key;
      if (i_ >= s_.size() || s_[i_] != '"' || !string(key)) return false;
      ws();
      if (i_ >= s_.size() || s_[i_++] != ':') return false;
      ws();
      json member;
      if (!value(member, depth + 1)) return false;
      v.members.emplace_back(std::move(key), std::move(member));
      ws();
      if (i_ >= s_.size()) return false;
      if (s_[i_] == '}') return ++i_, true;
      if (s_[i_++] != ',') return false;
    }
  }
  bool array(json& v, int depth) {
    v.k = json::kind::array;
    ++i_;
    ws();
    if (i_ < s_.size() && s_[i_] == ']') return ++i_, true;
    for (;;) {
      ws();
      json item;
      if (!value(item, depth + 1)) return false;
      v.items.push_back(std::move(item));
      ws();
      if (i_ >= s_.size()) return false;
      if (s_[i_] == ']') return ++i_, true;
      if (s_[i_++] != ',') return false;
    }
  }
  bool number(std::string& out) {
    const size_t start = i_;
    auto digits = [&] {
      const size_t from = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
      return i_ > from;
    };
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    if (i_ < s_.size() && s_[i_] == '0') {
      ++i_;
    } else if (!digits()) {
      return false;
    }
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (!digits()) return false;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (!digits()) return false;
    }
    out = s_.substr(start, i_ - start);
    return true;
  }
  static void put_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  bool hex4(uint32_t& v) {
    if (i_ + 4 > s_.size()) return false;
    v = 0;
    for (int n = 0; n < 4; ++n) {
      const char c = s_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
    }
    return true;
  }
  // One well-formed UTF-8 sequence (RFC 3629 §4) copied as is.
  bool utf8(std::string& out) {
    const auto c = static_cast<unsigned char>(s_[i_]);
    size_t n = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 2, cp = c & 0x1Fu, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3, cp = c & 0x0Fu, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4, cp = c & 0x07u, min = 0x10000;
    } else {
      return false;
    }
    if (i_ + n > s_.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      const auto cc = static_cast<unsigned char>(s_[i_ + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    out.append(s_.substr(i_, n));
    i_ += n;
    return true;
  }
  bool string(std::string& out) {
    ++i_;  // opening quote
    while (i_ < s_.size()) {
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') return ++i_, true;
      if (c < 0x20) return false;  // RFC 8259 §7: control characters must be escaped
      if (c >= 0x80) {
        if (!utf8(out)) return false;
        continue;
      }
      ++i_;
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (i_ >= s_.size()) return false;
      const char e = s_[i_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo = 0;
            if (!literal("\\u") || !hex4(lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return false;
          }
          put_utf8(out, cp);
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  std::string_view s_;
  size_t i_ = 0;
};

// ---- running the tool -------------------------------------------------------------------------

// ctest sets SMPP_BIN_DIR and SMPP_SOURCE_DIR; run by hand, the build's own paths apply.
std::string env_dir(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}
std::string tool() {
  return env_dir("SMPP_BIN_DIR", SMPP_DUMP_TEST_BIN_DIR) + "/smpp-dump";
}
std::string source(std::string_view rel) {
  return env_dir("SMPP_SOURCE_DIR", SMPP_DUMP_TEST_SOURCE_DIR) + "/" + std::string(rel);
}

std::string quote(std::string_view s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void write_file(const std::string& path, std::string_view data) {
  std::ofstream(path, std::ios::binary)
      .write(data.data(), static_cast<std::streamsize>(data.size()));
}
std::string as_string(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// A scratch directory per test, removed afterwards.
class scratch {
 public:
  scratch() {
    std::string tmpl = ::testing::TempDir() + "smpp_dump_XXXXXX";
    dir_ = mkdtemp(tmpl.data()) != nullptr ? tmpl : ::testing::TempDir();
  }
  ~scratch() { (void)std::system(("rm -rf " + quote(dir_)).c_str()); }
  scratch(const scratch&) = delete;
  scratch& operator=(const scratch&) = delete;
  [[nodiscard]] std::string path(std::string_view name) const {
    return dir_ + "/" + std::string(name);
  }

 private:
  std::string dir_;
};

struct run_result {
  int exit_code = -1;
  std::string out;
  std::string err;
  std::vector<std::string> lines;
  std::vector<json> objects;  // one per line when every line parsed
  bool all_json = true;
};

enum class output { json_lines, text };

run_result run(const std::string& args, const std::optional<std::string>& stdin_data = {},
               output expect = output::json_lines) {
  scratch tmp;
  std::string cmd = quote(tool()) + " " + args + " 2>" + quote(tmp.path("stderr"));
  if (stdin_data) {
    write_file(tmp.path("stdin"), *stdin_data);
    cmd += " <" + quote(tmp.path("stdin"));
  } else {
    cmd += " </dev/null";
  }
  run_result r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = read_file(tmp.path("stderr"));
  if (expect == output::text) return r;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    r.lines.push_back(line);
    std::optional<json> v = json_parser(line).document();
    if (!v || v->k != json::kind::object) {
      r.all_json = false;
      ADD_FAILURE() << "not a JSON object: " << line;
      continue;
    }
    r.objects.push_back(std::move(*v));
  }
  if (!r.out.empty() && r.out.back() != '\n') ADD_FAILURE() << "output does not end in a newline";
  return r;
}

std::vector<std::string> command_names(const run_result& r) {
  std::vector<std::string> names;
  for (const json& o : r.objects) names.push_back(o.has("error") ? "error" : o["command_id"].str());
  return names;
}

// ---- building PDUs ----------------------------------------------------------------------------

std::vector<std::byte> encode(const codec::pdu& p) {
  std::vector<std::byte> out(70000);
  const codec::encode_result r = codec::encode(p, out);
  EXPECT_TRUE(r.ok(out.size())) << r.field;
  out.resize(r.needed);
  return out;
}
std::vector<std::byte> header_only(command_id id, uint32_t seq) {
  codec::pdu p;
  p.id = id;
  p.sequence_number = seq;
  return encode(p);
}
std::vector<std::byte> submit_sm(uint32_t seq, std::string_view text, uint8_t data_coding = 0,
                                 codec::tlv_area tlvs = {}) {
  codec::pdu p;
  p.id = command_id::submit_sm;
  p.sequence_number = seq;
  p.source_addr_ton = 5;
  p.source_addr = "Acme";
  p.dest_addr_ton = 1;
  p.dest_addr_npi = 1;
  p.destination_addr = "447700900001";
  p.registered_delivery = 1;
  p.data_coding = data_coding;
  p.short_message = codec::as_bytes(text);
  p.tlvs = tlvs;
  return encode(p);
}
std::string hex(std::span<const std::byte> b) {
  return to_hex(b);
}

// ---- hex input ----------------------------------------------------------------------------------

TEST(SmppDumpHex, ArgumentsPrintOneObjectPerPduWithSpecFieldNames) {
  std::vector<std::byte> tlv_buf(64);
  codec::tlv_writer w(tlv_buf);
  ASSERT_TRUE(w.add_uint(codec::tag::user_message_reference, 42, 2));
  ASSERT_TRUE(w.add_cstring(codec::tag::receipted_message_id, "abc123"));
  ASSERT_TRUE(w.add(0x1401, codec::as_bytes("\x01\xff")));  // a vendor tag
  const auto submit = submit_sm(7, std::string_view("Hi\0you", 6), 0, w.area());
  const auto enquire = header_only(command_id::enquire_link, 8);

  const run_result r = run("--hex " + hex(submit) + " " + hex(enquire));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.objects.size(), 2u) << r.out;
  const json& s = r.objects[0];
  EXPECT_EQ(s["command_length"].num(), submit.size());
  EXPECT_EQ(s["command_id"].str(), "submit_sm");
  EXPECT_EQ(s["command_status"].num(), 0u);
  EXPECT_EQ(s["sequence_number"].num(), 7u);
  EXPECT_EQ(s["service_type"].str(), "");
  EXPECT_EQ(s["source_addr_ton"].num(), 5u);
  EXPECT_EQ(s["source_addr"].str(), "Acme");
  EXPECT_EQ(s["dest_addr_npi"].num(), 1u);
  EXPECT_EQ(s["destination_addr"].str(), "447700900001");
  EXPECT_EQ(s["esm_class"].num(), 0u);
  EXPECT_EQ(s["registered_delivery"].num(), 1u);
  EXPECT_EQ(s["data_coding"].num(), 0u);
  EXPECT_EQ(s["sm_length"].num(), 6u);
  EXPECT_EQ(s["short_message"].str(), "486900796f75");
  EXPECT_EQ(s["short_message_text"].str(), "Hi@you");  // GSM 7-bit 0x00 is '@'
  const json& tlvs = s["tlvs"];
  ASSERT_EQ(tlvs.items.size(), 3u);
  EXPECT_EQ(tlvs[0]["tag"].num(), codec::tag::user_message_reference);
  EXPECT_EQ(tlvs[0]["name"].str(), "user_message_reference");
  EXPECT_EQ(tlvs[0]["value"].k, json::kind::number);
  EXPECT_EQ(tlvs[0]["value"].num(), 42u);
  EXPECT_EQ(tlvs[1]["name"].str(), "receipted_message_id");
  EXPECT_EQ(tlvs[1]["value"].str(), "abc123");
  EXPECT_EQ(tlvs[2]["tag"].num(), 0x1401u);
  EXPECT_EQ(tlvs[2]["name"].k, json::kind::null);
  EXPECT_EQ(tlvs[2]["value"].str(), "01ff");
  EXPECT_EQ(r.objects[1]["command_id"].str(), "enquire_link");
  EXPECT_EQ(r.objects[1]["sequence_number"].num(), 8u);
}

TEST(SmppDumpHex, StdinIsReadLineByLineSkippingBlankAndCommentLines) {
  const std::string input = "# a comment\n" + hex(header_only(command_id::enquire_link, 1)) +
                            "\n\n  " + hex(header_only(command_id::enquire_link_resp, 1)) +
                            "\r\n00000010 00000006 00000000 00000002\n";
  const run_result r = run("--hex", input);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(command_names(r),
            (std::vector<std::string>{"enquire_link", "enquire_link_resp", "unbind"}));
}

TEST(SmppDumpHex, MalformedLineInTheMiddleIsReportedAndLaterLinesStillDecode) {
  auto bad = submit_sm(2, "hello");
  bad[bad.size() - 6] = std::byte{200};  // sm_length past the end of the PDU
  const std::string input = hex(submit_sm(1, "first")) + "\n" + hex(bad) + "\nnot hex\n" +
                            hex(submit_sm(3, "third")) + "\n";
  const run_result r = run("--hex", input);
  EXPECT_EQ(r.exit_code, 1);
  ASSERT_EQ(r.objects.size(), 4u) << r.out;
  EXPECT_EQ(r.objects[0]["short_message_text"].str(), "first");
  const json& e = r.objects[1];
  EXPECT_NE(e["error"].str().find("ESME_RINVMSGLEN"), std::string::npos) << e["error"].str();
  EXPECT_NE(e["error"].str().find("sm_length"), std::string::npos) << e["error"].str();
  EXPECT_EQ(e["command_status"].num(), 1u);
  EXPECT_EQ(e["command_id"].str(), "submit_sm");
  EXPECT_EQ(e["sequence_number"].num(), 2u);
  EXPECT_NE(r.objects[2]["error"].str().find("invalid hex"), std::string::npos);
  EXPECT_EQ(r.objects[3]["sequence_number"].num(), 3u);
  EXPECT_EQ(r.objects[3]["short_message_text"].str(), "third");
}

TEST(SmppDumpHex, UnknownCommandIdIsAnErrorNamingTheId) {
  const run_result r = run("--hex 0000001000000110000000000a342ee7");
  EXPECT_EQ(r.exit_code, 1);
  ASSERT_EQ(r.objects.size(), 1u);
  EXPECT_EQ(r.objects[0]["command_status"].num(), 3u);  // ESME_RINVCMDID
  EXPECT_EQ(r.objects[0]["command_id"].str(), "0x00000110");
  EXPECT_EQ(r.objects[0]["sequence_number"].num(), 0x0a342ee7u);
}

TEST(SmppDumpHex, StringsAreEscapedSoEveryLineIsValidJson) {
  codec::pdu p;
  p.id = command_id::submit_sm;
  p.sequence_number = 1;
  p.source_addr = "q\"b\\s\x01\x1f\xff\xc3\xa9";  // quote, backslash, controls, bad UTF-8, é
  p.data_coding = 3;                              // Latin-1
  p.short_message = codec::as_bytes("caf\xe9");
  const run_result r = run("--hex " + hex(encode(p)));
  EXPECT_EQ(r.exit_code, 0);
  ASSERT_EQ(r.objects.size(), 1u);
  EXPECT_NE(r.out.find(R"("q\"b\\s\u0001\u001f\u00ff)"), std::string::npos) << r.out;
  // \u00ff reads back as U+00FF; the well-formed é stays é.
  EXPECT_EQ(r.objects[0]["source_addr"].str(), "q\"b\\s\x01\x1f\xc3\xbf\xc3\xa9");
  EXPECT_EQ(r.objects[0]["short_message_text"].str(), "caf\xc3\xa9");
}

TEST(SmppDumpHex, TextIsDecodedByDataCoding) {
  // UCS-2 (data_coding 8): "Привет" in UTF-16BE.
  const auto ucs2 =
      submit_sm(1, std::string_view("\x04\x1f\x04\x40\x04\x38\x04\x32\x04\x35\x04\x42", 12), 8);
  const auto ascii = submit_sm(2, "plain", 1);
  const auto binary = submit_sm(3, "\x01\x02", 4);
  const run_result r = run("--hex " + hex(ucs2) + " " + hex(ascii) + " " + hex(binary));
  ASSERT_EQ(r.objects.size(), 3u);
  EXPECT_EQ(r.objects[0]["short_message_text"].str(), "Привет");
  EXPECT_EQ(r.objects[1]["short_message_text"].str(), "plain");
  EXPECT_FALSE(r.objects[2].has("short_message_text"));  // 8-bit binary is not text
  EXPECT_EQ(r.objects[2]["short_message"].str(), "0102");
}

TEST(SmppDumpHex, UserDataHeaderIsShownApartFromTheText) {
  codec::pdu p;
  p.id = command_id::submit_sm;
  p.sequence_number = 1;
  p.esm_class = codec::esm_class_udhi;
  // TS 23.040 §9.2.3.24.1: concatenation IE, reference 0x2a, part 1 of 2.
  p.short_message = codec::as_bytes(std::string_view("\x05\x00\x03\x2a\x02\x01Part one", 14));
  const run_result r = run("--hex " + hex(encode(p)));
  ASSERT_EQ(r.objects.size(), 1u);
  EXPECT_EQ(r.objects[0]["udh"].str(), "0500032a0201");
  EXPECT_EQ(r.objects[0]["short_message_text"].str(), "Part one");
}

TEST(SmppDumpHex, SubmitMultiListsDestinationsAndItsResponseListsFailures) {
  std::vector<std::byte> dests(64);
  size_t n = codec::write_dest_address({1, 1, 1, "447700900001"}, dests);
  n += codec::write_dest_address({2, 0, 0, "friends"}, std::span(dests).subspan(n));
  codec::pdu multi;
  multi.id = command_id::submit_multi;
  multi.sequence_number = 5;
  multi.source_addr = "Acme";
  multi.dest_addresses = codec::dest_address_list(2, codec::bytes_view(dests.data(), n));
  multi.short_message = codec::as_bytes("hi all");

  std::vector<std::byte> fails(64);
  const size_t m = codec::write_unsuccess_sme({1, 1, "447700900002", 0x0B}, fails);
  codec::pdu resp;
  resp.id = command_id::submit_multi_resp;
  resp.sequence_number = 5;
  resp.message_id = "m1";
  resp.unsuccess_smes = codec::unsuccess_sme_list(1, codec::bytes_view(fails.data(), m));

  const run_result r = run("--hex " + hex(encode(multi)) + " " + hex(encode(resp)));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  ASSERT_EQ(r.objects.size(), 2u);
  const json& s = r.objects[0];
  EXPECT_EQ(s["command_id"].str(), "submit_multi");
  EXPECT_EQ(s["number_of_dests"].num(), 2u);
  ASSERT_EQ(s["dest_addresses"].items.size(), 2u);
  EXPECT_EQ(s["dest_addresses"][0]["dest_flag"].num(), 1u);
  EXPECT_EQ(s["dest_addresses"][0]["dest_addr_ton"].num(), 1u);
  EXPECT_EQ(s["dest_addresses"][0]["destination_addr"].str(), "447700900001");
  EXPECT_EQ(s["dest_addresses"][1]["dest_flag"].num(), 2u);
  EXPECT_EQ(s["dest_addresses"][1]["dl_name"].str(), "friends");
  EXPECT_EQ(s["short_message_text"].str(), "hi all");
  const json& u = r.objects[1];
  EXPECT_EQ(u["message_id"].str(), "m1");
  EXPECT_EQ(u["no_unsuccess"].num(), 1u);
  ASSERT_EQ(u["unsuccess_smes"].items.size(), 1u);
  EXPECT_EQ(u["unsuccess_smes"][0]["destination_addr"].str(), "447700900002");
  EXPECT_EQ(u["unsuccess_smes"][0]["error_status_code"].num(), 0x0Bu);
}

TEST(SmppDumpHex, RandomPdusOfEveryCommandDecodeCleanly) {
  testing::pdu_generator gen(20240601);
  std::string input;
  std::vector<std::string> expected;
  for (int round = 0; round < 10; ++round) {
    for (const command_id id : testing::pdu_generator::all_commands()) {
      input += hex(gen.make(id)) + "\n";
      expected.emplace_back(codec::command_name(id));
    }
  }
  const run_result r = run("--hex", input);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.all_json);
  EXPECT_EQ(command_names(r), expected);
}

TEST(SmppDumpHex, RealWorldCorpusGivesExactlyOneObjectPerLine) {
  const std::string corpus = read_file(source("tests/data/real-world-pdus.hex"));
  ASSERT_FALSE(corpus.empty());
  size_t lines = 0;
  std::istringstream in(corpus);
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) ++lines;
  }
  const run_result r = run("--hex", corpus);
  EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.err;
  EXPECT_TRUE(r.all_json);
  ASSERT_EQ(r.objects.size(), lines);
  for (const json& o : r.objects) {
    EXPECT_TRUE(o.has("error") || o["command_id"].k == json::kind::string) << "no command_id";
    if (o.has("error")) {
      EXPECT_EQ(o["command_status"].k, json::kind::number);
    }
  }
}

// ---- raw streams --------------------------------------------------------------------------------

TEST(SmppDumpRaw, StreamFileWithSeveralPdusYieldsEachInOrder) {
  scratch tmp;
  std::string stream;
  stream += as_string(header_only(command_id::enquire_link, 1));
  stream += as_string(submit_sm(2, "in the middle"));
  stream += as_string(header_only(command_id::unbind, 3));
  write_file(tmp.path("session.bin"), stream);
  const run_result r = run(quote(tmp.path("session.bin")));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(command_names(r), (std::vector<std::string>{"enquire_link", "submit_sm", "unbind"}));
  EXPECT_EQ(r.objects[1]["short_message_text"].str(), "in the middle");
  EXPECT_FALSE(r.objects[0].has("src"));

  const run_result from_stdin = run("-", stream);
  EXPECT_EQ(from_stdin.out, r.out);
}

TEST(SmppDumpRaw, InvalidCommandLengthIsReportedAndFramingResumesAtTheNextPdu) {
  scratch tmp;
  std::string stream = as_string(header_only(command_id::enquire_link, 1));
  stream += std::string("\xff\xff\xff\xff garbage", 12);
  stream += as_string(header_only(command_id::enquire_link, 2));
  stream += as_string(header_only(command_id::unbind, 3)).substr(0, 10);  // cut short
  write_file(tmp.path("bad.bin"), stream);
  const run_result r = run(quote(tmp.path("bad.bin")));
  EXPECT_EQ(r.exit_code, 1);
  const auto names = command_names(r);
  ASSERT_GE(names.size(), 4u) << r.out;
  EXPECT_EQ(names.front(), "enquire_link");
  EXPECT_EQ(r.objects[1]["command_status"].num(), 2u);  // ESME_RINVCMDLEN
  EXPECT_EQ(r.objects[r.objects.size() - 2]["sequence_number"].num(), 2u);
  EXPECT_NE(r.objects.back()["error"].str().find("incomplete PDU"), std::string::npos);
}

// ---- captures -----------------------------------------------------------------------------------

const std::vector<std::string> kSampleSession = {"bind_transceiver", "bind_transceiver_resp",
                                                 "submit_sm",        "submit_sm_resp",
                                                 "deliver_sm",       "deliver_sm_resp",
                                                 "enquire_link",     "enquire_link_resp",
                                                 "unbind",           "unbind_resp"};

TEST(SmppDumpPcap, SampleCaptureYieldsTheSessionInOrder) {
  const run_result r = run(quote(source("tools/smpp-dump/samples/sample.pcap")));
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  ASSERT_EQ(command_names(r), kSampleSession);
  const json& bind = r.objects[0];
  EXPECT_EQ(bind["src"].str(), "10.0.0.1:40000");
  EXPECT_EQ(bind["dst"].str(), "10.0.0.2:2775");
  EXPECT_EQ(bind["ts"].k, json::kind::number);
  EXPECT_EQ(bind["ts"].text, "1700000000.004000");
  EXPECT_EQ(bind["system_id"].str(), "esme01");
  EXPECT_EQ(r.objects[1]["src"].str(), "10.0.0.2:2775");
  // Split across two segments that the capture holds out of order.
  EXPECT_EQ(r.objects[2]["short_message_text"].str(), "Hello @ world! Price: 10€");
  const json& receipt = r.objects[4];
  EXPECT_EQ(receipt["esm_class"].num(), 4u);
  EXPECT_EQ(receipt["tlvs"][0]["name"].str(), "receipted_message_id");
  EXPECT_EQ(receipt["tlvs"][0]["value"].str(), "5f3a2b1c");
  EXPECT_EQ(receipt["tlvs"][1]["name"].str(), "message_state");
  EXPECT_EQ(receipt["tlvs"][1]["value"].num(), 2u);
  // deliver_sm_resp and enquire_link came in one segment.
  EXPECT_EQ(r.objects[5]["ts"].text, r.objects[6]["ts"].text);
}

TEST(SmppDumpPcap, OtherPortSelectsNothing) {
  const run_result r = run("--port 2776 " + quote(source("tools/smpp-dump/samples/sample.pcap")));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.out.empty()) << r.out;
}

// Rewrites a classic little-endian pcap as pcapng (SHB, one IDB, one EPB per packet).
std::string pcap_to_pcapng(const std::string& pcap) {
  auto u32 = [&](size_t at) {
    uint32_t v;
    std::memcpy(&v, pcap.data() + at, 4);
    return v;
  };
  auto put32 = [](std::string& s, uint32_t v) { s.append(reinterpret_cast<const char*>(&v), 4); };
  auto put16 = [](std::string& s, uint16_t v) { s.append(reinterpret_cast<const char*>(&v), 2); };
  std::string ng;
  put32(ng, 0x0A0D0D0A);  // section header block
  put32(ng, 28);
  put32(ng, 0x1A2B3C4D);
  put16(ng, 1);
  put16(ng, 0);
  put32(ng, 0xFFFFFFFF);  // section length unknown (-1)
  put32(ng, 0xFFFFFFFF);
  put32(ng, 28);
  put32(ng, 1);  // interface description block; default resolution is microseconds
  put32(ng, 20);
  put16(ng, static_cast<uint16_t>(u32(20)));
  put16(ng, 0);
  put32(ng, 65535);
  put32(ng, 20);
  for (size_t at = 24; at + 16 <= pcap.size();) {
    const uint64_t ts = uint64_t{u32(at)} * 1000000 + u32(at + 4);
    const uint32_t len = u32(at + 8);
    const uint32_t padded = (len + 3) & ~3u;
    put32(ng, 6);  // enhanced packet block
    put32(ng, 32 + padded);
    put32(ng, 0);
    put32(ng, static_cast<uint32_t>(ts >> 32));
    put32(ng, static_cast<uint32_t>(ts));
    put32(ng, len);
    put32(ng, u32(at + 12));
    ng.append(pcap, at + 16, len);
    ng.append(padded - len, '\0');
    put32(ng, 32 + padded);
    at += 16 + len;
  }
  return ng;
}

TEST(SmppDumpPcap, PcapngOfTheSampleYieldsTheSameObjects) {
  scratch tmp;
  const std::string pcap = read_file(source("tools/smpp-dump/samples/sample.pcap"));
  ASSERT_GT(pcap.size(), 24u);
  write_file(tmp.path("sample.pcapng"), pcap_to_pcapng(pcap));
  const run_result ng = run(quote(tmp.path("sample.pcapng")));
  const run_result classic = run(quote(source("tools/smpp-dump/samples/sample.pcap")));
  EXPECT_EQ(ng.exit_code, 0) << ng.err;
  EXPECT_EQ(command_names(ng), kSampleSession);
  EXPECT_EQ(ng.out, classic.out);
}

// A classic pcap of raw IP packets (LINKTYPE_RAW), no checksums: the tool does not check them.
class raw_ip_capture {
 public:
  raw_ip_capture() {
    put32(0xA1B2C3D4);
    put32(0x00040002);  // version 2.4
    put32(0);
    put32(0);
    put32(65535);
    put32(101);  // LINKTYPE_RAW
  }
  void tcp4(uint16_t sport, uint16_t dport, uint32_t seq, std::string_view payload,
            uint8_t flags = 0x18) {
    std::string pkt = "\x45";
    pkt += '\0';
    put16(pkt, static_cast<uint16_t>(40 + payload.size()));
    pkt.append("\0\0\x40\0\x40\x06\0\0", 8);
    pkt.append("\x0a\0\0\x01\x0a\0\0\x02", 8);
    put16(pkt, sport);
    put16(pkt, dport);
    put32(pkt, seq);
    put32(pkt, 0);
    pkt += '\x50';
    pkt += static_cast<char>(flags);
    pkt.append("\xff\xff\0\0\0\0", 6);
    pkt.append(payload);
    record(pkt);
  }
  void tcp6(uint16_t sport, uint16_t dport, uint32_t seq, std::string_view payload) {
    std::string pkt("\x60\0\0\0", 4);
    put16(pkt, static_cast<uint16_t>(20 + payload.size()));
    pkt += '\x06';
    pkt += '\x40';
    pkt.append(15, '\0');
    pkt += '\x01';                      // ::1
    pkt.append("\x20\x01\x0d\xb8", 4);  // 2001:db8::2
    pkt.append(11, '\0');
    pkt += '\x02';
    put16(pkt, sport);
    put16(pkt, dport);
    put32(pkt, seq);
    put32(pkt, 0);
    pkt += '\x50';
    pkt += '\x18';
    pkt.append("\xff\xff\0\0\0\0", 6);
    pkt.append(payload);
    record(pkt);
  }
  [[nodiscard]] const std::string& bytes() const { return file_; }

 private:
  static void put16(std::string& s, uint16_t v) {
    s += static_cast<char>(v >> 8);
    s += static_cast<char>(v);
  }
  static void put32(std::string& s, uint32_t v) {
    put16(s, static_cast<uint16_t>(v >> 16));
    put16(s, static_cast<uint16_t>(v));
  }
  void put32(uint32_t v) {  // file header and record headers are little-endian
    file_.append(reinterpret_cast<const char*>(&v), 4);
  }
  void record(const std::string& pkt) {
    put32(1700000000);
    put32(++usec_);
    put32(static_cast<uint32_t>(pkt.size()));
    put32(static_cast<uint32_t>(pkt.size()));
    file_ += pkt;
  }
  std::string file_;
  uint32_t usec_ = 0;
};

TEST(SmppDumpPcap, LostSegmentIsReportedAsAGapAndDecodingResumesAfterIt) {
  const std::string a = as_string(submit_sm(1, "one"));
  const std::string b = as_string(submit_sm(2, "two, lost in part"));
  const std::string c = as_string(submit_sm(3, "three"));
  const std::string d = as_string(header_only(command_id::enquire_link, 4));
  raw_ip_capture cap;  // no handshake: the capture starts mid-connection
  uint32_t seq = 0x7FFFFFF0;
  cap.tcp4(40000, 2775, seq, a + b.substr(0, 10));
  seq += static_cast<uint32_t>(a.size() + b.size());  // the rest of b never made it
  cap.tcp4(40000, 2775, seq, c);
  // A retransmission that overlaps the end of c and carries d.
  cap.tcp4(40000, 2775, seq + static_cast<uint32_t>(c.size()) - 5, c.substr(c.size() - 5) + d);
  scratch tmp;
  write_file(tmp.path("gap.pcap"), cap.bytes());
  const run_result r = run(quote(tmp.path("gap.pcap")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(command_names(r),
            (std::vector<std::string>{"submit_sm", "error", "submit_sm", "enquire_link"}))
      << r.out;
  EXPECT_NE(r.objects[1]["error"].str().find("gap"), std::string::npos);
  EXPECT_EQ(r.objects[2]["sequence_number"].num(), 3u);
}

TEST(SmppDumpPcap, Ipv6AddressesAreBracketed) {
  raw_ip_capture cap;
  cap.tcp6(2775, 51000, 1, as_string(header_only(command_id::enquire_link_resp, 9)));
  scratch tmp;
  write_file(tmp.path("v6.pcap"), cap.bytes());
  const run_result r = run(quote(tmp.path("v6.pcap")));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  ASSERT_EQ(r.objects.size(), 1u);
  EXPECT_EQ(r.objects[0]["src"].str(), "[::1]:2775");
  EXPECT_EQ(r.objects[0]["dst"].str(), "[2001:db8::2]:51000");
}

TEST(SmppDumpPcap, SampleCaptureIsReproducibleFromItsScript) {
  if (std::system("command -v python3 >/dev/null 2>&1") != 0) GTEST_SKIP() << "no python3";
  scratch tmp;
  const std::string cmd = "python3 " +
                          quote(source("tools/smpp-dump/samples/make_sample_pcap.py")) + " " +
                          quote(tmp.path("sample.pcap"));
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_EQ(read_file(tmp.path("sample.pcap")),
            read_file(source("tools/smpp-dump/samples/sample.pcap")));
}

// ---- command line -------------------------------------------------------------------------------

TEST(SmppDumpCli, HelpPrintsUsageAndExitsZero) {
  const run_result r = run("--help", {}, output::text);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("usage: smpp-dump"), std::string::npos);
}

TEST(SmppDumpCli, UnknownOptionPrintsUsageOnStderrAndExitsTwo) {
  const run_result r = run("--frobnicate");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find("--frobnicate"), std::string::npos);
  EXPECT_NE(r.err.find("usage: smpp-dump"), std::string::npos);
}

TEST(SmppDumpCli, UnreadableFileIsAClearErrorWithExitTwo) {
  const run_result r = run("/nonexistent/capture.pcap");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find("/nonexistent/capture.pcap"), std::string::npos) << r.err;
}

TEST(SmppDumpCli, OutputIsValidJsonForPythonToo) {
  if (std::system("command -v python3 >/dev/null 2>&1") != 0) GTEST_SKIP() << "no python3";
  const std::string cmd =
      quote(tool()) + " " + quote(source("tools/smpp-dump/samples/sample.pcap")) +
      " | python3 -c " +
      quote("import json,sys\nn=0\nfor l in sys.stdin:\n json.loads(l); n+=1\nassert n==10, n") +
      " && " + quote(tool()) + " --hex <" + quote(source("tests/data/real-world-pdus.hex")) +
      " | python3 -c " + quote("import json,sys\n[json.loads(l) for l in sys.stdin]");
  EXPECT_EQ(std::system(cmd.c_str()), 0);
}

}  // namespace
}  // namespace smpp::dump
