#include "smpp/codec/codec.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <new>
#include <string>

#include "pdu_gen.hpp"

#include "alloc_counter.hpp"

using smpp::testing::g_allocations;

namespace smpp::codec {
namespace {

using testing::from_hex;
using testing::pdu_generator;
using testing::to_hex;
using S = command_status;

std::vector<std::byte> hex(std::string_view h) {
  return from_hex(h);
}

// A PDU from its command_id and body (both hex); command_length is computed, status 0, seq 1.
std::vector<std::byte> make_pdu(std::string_view id_hex, std::string_view body_hex) {
  auto body = from_hex(body_hex);
  auto out = from_hex("00000000" + std::string(id_hex) + "0000000000000001");
  out.insert(out.end(), body.begin(), body.end());
  store_be32(out.data(), static_cast<uint32_t>(out.size()));
  return out;
}

decode_error dec(const std::vector<std::byte>& b, pdu& p) {
  return decode(b, p);
}

std::vector<std::byte> enc(const pdu& p) {
  std::vector<std::byte> out(70000);
  const auto r = encode(p, out);
  EXPECT_TRUE(r.ok(out.size())) << status_name(r.status) << " " << r.field;
  out.resize(r.needed);
  return out;
}

TEST(Decode, EnquireLinkHeaderOnly) {
  pdu p;
  ASSERT_TRUE(dec(hex("00000010000000150000000000000001"), p).ok());
  EXPECT_EQ(p.id, command_id::enquire_link);
  EXPECT_EQ(p.sequence_number, 1U);
}

TEST(Decode, SubmitSmFieldsByName) {
  // submit_sm: service_type "", 1/1 "40404", 1/1 "44951361920", esm 0x40? no: esm 0, data_coding 0,
  // short_message "Hi" with a message_payload-free TLV sar_msg_ref_num.
  const auto b = make_pdu("00000004",
                          "000101343034303400010134343935313336313932300000000000000100000002"
                          "4869020c00020102");
  pdu p;
  const auto e = dec(b, p);
  ASSERT_TRUE(e.ok()) << status_name(e.status) << " " << e.field;
  EXPECT_EQ(p.source_addr, "40404");
  EXPECT_EQ(p.destination_addr, "44951361920");
  EXPECT_EQ(p.registered_delivery, 1);
  EXPECT_EQ(p.short_message.as_chars(), "Hi");
  auto t = p.tlvs.find(tag::sar_msg_ref_num);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->as_uint(), 0x0102U);
  EXPECT_EQ(enc(p), b);
}

TEST(Decode, EveryRealWorldPduIsDecodedOrRejectedWithASpecificStatus) {
  const char* dir = std::getenv("SMPP_SOURCE_DIR");
  std::ifstream in(std::string(dir ? dir : SMPP_SOURCE_DIR_DEFAULT) +
                   "/tests/data/real-world-pdus.hex");
  ASSERT_TRUE(in.good());
  std::string line;
  int ok = 0, rejected = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto b = hex(line);
    pdu p;
    const auto e = decode(b, p);
    if (e.ok()) {
      ++ok;
      // Canonical input re-encodes to the same bytes.
      EXPECT_EQ(to_hex(enc(p)), to_hex(b)) << line;
    } else {
      ++rejected;
      EXPECT_NE(e.status, S::ESME_RUNKNOWNERR);
    }
  }
  EXPECT_GE(ok, 45);
  EXPECT_GE(rejected, 3);  // unknown command ids, a truncated PDU, an unterminated message_id
}

TEST(Decode, BindTransceiverFromRealCapture) {
  pdu p;
  const auto b = hex("00000023000000090000000000039951414c4c5f545700414c4c5f5457000034000000");
  ASSERT_TRUE(dec(b, p).ok());
  EXPECT_EQ(p.id, command_id::bind_transceiver);
  EXPECT_EQ(p.system_id, "ALL_TW");
  EXPECT_EQ(p.password, "ALL_TW");
  EXPECT_EQ(p.system_type, "");
  EXPECT_EQ(p.interface_version, 0x34);
}

TEST(Decode, ResponseWithoutBodyIsTolerated) {
  pdu p;
  ASSERT_TRUE(dec(hex("0000001080000004000000300a342ee1"), p).ok());
  EXPECT_TRUE(p.body_absent);
  EXPECT_EQ(p.status, static_cast<S>(0x30));
  EXPECT_EQ(to_hex(enc(p)), "0000001080000004000000300a342ee1");
}

TEST(Decode, RequestWithoutBodyIsInvalidCommandLength) {
  pdu p;
  EXPECT_EQ(dec(hex("00000010000000040000000000000001"), p).status, S::ESME_RINVCMDLEN);
}

TEST(Decode, ErrorsCarryTheSpecificStatus) {
  struct Case {
    const char* name;
    std::vector<std::byte> bytes;
    S status;
  };
  // submit_sm through priority_flag: service_type "", 1/1 "1", 1/1 "2", esm_class, protocol_id,
  // priority_flag.
  const std::string kHead = "00 01 01 3100 01 01 3200 00 00 00 ";
  const Case cases[] = {
      {"short header", hex("000000100000001500"), S::ESME_RINVCMDLEN},
      {"length mismatch", hex("00000011000000150000000000000001"), S::ESME_RINVCMDLEN},
      {"unknown id", hex("00000010000001100000000000000001"), S::ESME_RINVCMDID},
      {"message_id unterminated", hex("0000001180000004000000000a342ee139"), S::ESME_RINVMSGID},
      {"system_id too long",
       make_pdu("00000009", "4141414141414141414141414141414141 00 00 00 34 00 00 00"),
       S::ESME_RINVSYSID},
      {"password too long", make_pdu("00000002", "41 00 424242424242424242 00 00 34 00 00 00"),
       S::ESME_RINVPASWD},
      {"bind missing address_range", make_pdu("00000002", "41 00 42 00 00 34 00 00"),
       S::ESME_RINVCMDLEN},
      {"sm_length beyond pdu", make_pdu("00000004", kHead + "00 00 00000000 05 4869"),
       S::ESME_RINVMSGLEN},
      {"sm_length 255", make_pdu("00000004", kHead + "00 00 00000000 ff" + std::string(510, 'a')),
       S::ESME_RINVMSGLEN},
      {"bad schedule time", make_pdu("00000004", kHead + "313233 00 00 00000000 02 4869"),
       S::ESME_RINVSCHED},
      {"schedule time with bad sign",
       make_pdu("00000004", kHead + "31313131313131313131313131313178 00 00 00000000 02 4869"),
       S::ESME_RINVSCHED},
      {"bad validity", make_pdu("00000004", kHead + "00 313233 00 00000000 02 4869"),
       S::ESME_RINVEXPIRY},
      {"service_type too long",
       make_pdu("00000004", "414141414141 00 01 01 3100 01 01 3200 000000 00 00 00000000 00"),
       S::ESME_RINVSERTYP},
      {"source_addr unterminated", make_pdu("00000004", "00 01 01 3131313131"), S::ESME_RINVSRCADR},
      {"destination_addr too long",
       make_pdu("00000004",
                "00 01 01 3100 01 01 " + std::string(42, '3') + " 00 000000 00 00 00000000 00"),
       S::ESME_RINVDSTADR},
      {"tlv stream cut", make_pdu("00000004", kHead + "00 00 00000000 02 4869 020c"),
       S::ESME_RINVTLVSTREAM},
      {"tlv length beyond pdu", make_pdu("00000004", kHead + "00 00 00000000 02 4869 020c 0005 01"),
       S::ESME_RINVTLVSTREAM},
      {"tlv wrong fixed length",
       make_pdu("00000004", kHead + "00 00 00000000 02 4869 020c 0001 01"), S::ESME_RINVTLVLEN},
      {"short_message with message_payload",
       make_pdu("00000004", kHead + "00 00 00000000 02 4869 0424 0002 aabb"), S::ESME_RTLVNOTALLWD},
      {"receipted_message_id unterminated",
       make_pdu("00000005", kHead + "00 00 00000000 00 001e 0002 6162"), S::ESME_RINVTLVVAL},
      {"no destinations", make_pdu("00000021", "00 01 01 3100 00 000000 00 00 00000000 00"),
       S::ESME_RINVNUMDESTS},
      {"bad dest_flag",
       make_pdu("00000021", "00 01 01 3100 01 03 01 01 3200 000000 00 00 00000000 00"),
       S::ESME_RINVDESTFLAG},
      {"dl_name too long",
       make_pdu("00000021",
                "00 01 01 3100 01 02 " + std::string(42, '4') + " 00 000000 00 00 00000000 00"),
       S::ESME_RINVDLNAME},
      {"broadcast_sm missing tlvs", make_pdu("00000111", "00 01 01 3100 3100 00 00 00 00 00 00"),
       S::ESME_RMISSINGTLV},
      {"ms_validity of 2 octets", make_pdu("00000004", kHead + "00 00 00000000 00 1204 0002 0102"),
       S::ESME_RINVTLVLEN},
      {"broadcast_end_time not a time",
       make_pdu("00000004", kHead + "00 00 00000000 00 0609 0003 414200"), S::ESME_RINVTLVVAL},
      {"query_sm_resp bad final_date", make_pdu("80000003", "3100 3132 00 02 00"),
       S::ESME_RINVCMDLEN},
  };
  for (const auto& c : cases) {
    pdu p;
    const auto e = dec(c.bytes, p);
    EXPECT_EQ(e.status, c.status) << c.name << ": got " << status_name(e.status) << " at "
                                  << e.field;
  }
}

TEST(Decode, UnknownCommandKeepsSequenceForGenericNack) {
  pdu p;
  EXPECT_EQ(dec(hex("0000001000000110000000000a342ee7"), p).status, S::ESME_RINVCMDID);
  EXPECT_EQ(p.sequence_number, 0x0a342ee7U);
}

TEST(Decode, UnknownTlvsAreKeptByteExactAndInOrder) {
  // deliver_sm with vendor TLVs 0x1401, 0x2150 around a standard one.
  const auto b = make_pdu("00000005",
                          "00 01 01 3100 01 01 3200 00 00 00 00 00 00 00 00 00 00"
                          "14010002abcd"
                          "04270001"
                          "02"
                          "21500003010203");
  pdu p;
  ASSERT_TRUE(dec(b, p).ok());
  std::vector<uint16_t> tags;
  for (const tlv t : p.tlvs) tags.push_back(t.tag);
  EXPECT_EQ(tags, (std::vector<uint16_t>{0x1401, 0x0427, 0x2150}));
  EXPECT_EQ(find_tlv_info(0x1401), nullptr);
  EXPECT_EQ(find_tlv_info(0x0427)->name, "message_state");
  EXPECT_EQ(enc(p), b);
}

TEST(Decode, SubmitMultiListsIterate) {
  std::vector<std::byte> raw(100);
  size_t at = write_dest_address({1, 1, 1, "4477"}, raw);
  at += write_dest_address({2, 0, 0, "friends"}, std::span(raw).subspan(at));
  raw.resize(at);
  pdu p;
  p.id = command_id::submit_multi;
  p.source_addr = "123";
  p.dest_addresses = dest_address_list(2, raw);
  p.short_message = as_bytes("hello");
  const auto b = enc(p);
  pdu q;
  ASSERT_TRUE(decode(b, q).ok());
  EXPECT_EQ(q, p);
  std::vector<dest_address> got(q.dest_addresses.begin(), q.dest_addresses.end());
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got[0].destination_addr, "4477");
  EXPECT_EQ(got[1].dest_flag, dest_flag_distribution_list);
  EXPECT_EQ(got[1].destination_addr, "friends");

  std::vector<std::byte> us(100);
  const size_t n = write_unsuccess_sme({1, 1, "4478", 0x45}, us);
  us.resize(n);
  pdu r;
  r.id = command_id::submit_multi_resp;
  r.message_id = "m1";
  r.unsuccess_smes = unsuccess_sme_list(1, us);
  pdu r2;
  const auto rb = enc(r);
  ASSERT_TRUE(decode(rb, r2).ok());
  EXPECT_EQ(r2, r);
  EXPECT_EQ((*r2.unsuccess_smes.begin()).error_status_code, 0x45U);
}

TEST(RoundTrip, EveryCommandRandomized) {
  pdu_generator gen(42);
  for (const command_id id : pdu_generator::all_commands()) {
    for (int i = 0; i < 300; ++i) {
      const auto b = gen.make(id);
      ASSERT_FALSE(b.empty()) << command_name(id);
      pdu p;
      const auto e = decode(b, p);
      ASSERT_TRUE(e.ok()) << command_name(id) << " " << status_name(e.status) << " " << e.field
                          << " " << to_hex(b);
      EXPECT_EQ(p.id, id);
      const auto again = enc(p);
      ASSERT_EQ(again, b) << command_name(id);  // encode(decode(bytes)) == bytes
      pdu q;
      ASSERT_TRUE(decode(again, q).ok());
      EXPECT_EQ(q, p);  // decode(encode(x)) == x
    }
  }
}

TEST(Encode, NeverWritesPastTheBufferAndReportsTheSizeNeeded) {
  pdu_generator gen(7);
  for (int i = 0; i < 2000; ++i) {
    const auto b = gen.make();
    pdu p;
    ASSERT_TRUE(decode(b, p).ok());
    const size_t cut = b.size() > 1 ? gen.rng()() % b.size() : 0;
    std::vector<std::byte> out(cut + 8, std::byte{0xEE});
    const auto r = encode(p, std::span(out).first(cut));
    EXPECT_EQ(r.needed, b.size());
    EXPECT_FALSE(r.ok(cut));
    for (size_t k = cut; k < out.size(); ++k) ASSERT_EQ(out[k], std::byte{0xEE});
  }
}

TEST(Encode, RejectsFieldsTheWireCannotCarry) {
  pdu p;
  p.id = command_id::submit_sm;
  p.source_addr = "0123456789012345678901";  // 22 > 20 characters
  std::vector<std::byte> out(512);
  EXPECT_EQ(encode(p, out).status, S::ESME_RINVSRCADR);
  p.source_addr = "1";
  p.schedule_delivery_time = "2601011200";
  EXPECT_EQ(encode(p, out).status, S::ESME_RINVSCHED);
  p.schedule_delivery_time = "";
  std::vector<std::byte> big(255);
  p.short_message = big;
  EXPECT_EQ(encode(p, out).status, S::ESME_RINVMSGLEN);
}

TEST(Decode, AllocatesNothingForAnyCommand) {
  pdu_generator gen(99);
  std::vector<std::vector<std::byte>> corpus;
  for (int round = 0; round < 20; ++round) {
    for (const command_id id : pdu_generator::all_commands()) corpus.push_back(gen.make(id));
  }
  long decoded = 0;
  const long before = g_allocations.load();
  for (const auto& b : corpus) {
    pdu p;
    if (decode(b, p).ok()) ++decoded;
    for (const tlv t : p.tlvs) decoded += t.tag == 0xFFFF;
    for (const auto d : p.dest_addresses) decoded += d.dest_flag == 9;
  }
  const long after = g_allocations.load();
  EXPECT_EQ(decoded, static_cast<long>(corpus.size()));
  EXPECT_EQ(after - before, 0);
}

TEST(Names, CommandAndStatusNames) {
  EXPECT_EQ(command_name(command_id::bind_transceiver_resp), "bind_transceiver_resp");
  EXPECT_EQ(command_name(static_cast<command_id>(0x110)), "");
  EXPECT_EQ(status_name(S::ESME_RTHROTTLED), "ESME_RTHROTTLED");
  EXPECT_FALSE(has_response(command_id::outbind));
  EXPECT_EQ(response_of(command_id::submit_sm), command_id::submit_sm_resp);
}

TEST(TlvWriter, ReportsNeededWithoutOverrun) {
  std::array<std::byte, 8> buf{};
  tlv_writer w(std::span<std::byte>(buf).first(6));
  EXPECT_TRUE(w.add_uint(tag::sar_msg_ref_num, 7, 2));
  EXPECT_FALSE(w.add_cstring(tag::receipted_message_id, "abc"));
  EXPECT_FALSE(w.ok());
  EXPECT_EQ(w.needed(), 6U + 8U);
  EXPECT_EQ(buf[6], std::byte{0});
}

}  // namespace
}  // namespace smpp::codec

namespace smpp::codec {
namespace {

TEST(Encode, BodyAbsentWritesTheHeaderOnlyEvenWithTlvsSet) {
  // A hand-built pdu with body_absent and TLVs: the header is the whole PDU, nothing else is
  // written (a regression: TLVs used to be written past a 16-octet buffer).
  std::array<std::byte, 16> tlv_bytes{};
  tlv_writer w(tlv_bytes);
  ASSERT_TRUE(w.add_uint(tag::message_state, 2, 1));
  pdu p;
  p.id = command_id::submit_sm_resp;
  p.status = command_status::ESME_RSYSERR;
  p.body_absent = true;
  p.tlvs = w.area();
  std::array<std::byte, 24> out;
  out.fill(std::byte{0xEE});
  const auto r = encode(p, std::span<std::byte>(out).first(16));
  EXPECT_TRUE(r.ok(16));
  EXPECT_EQ(r.needed, 16U);
  for (size_t i = 16; i < out.size(); ++i) EXPECT_EQ(out[i], std::byte{0xEE});
}

}  // namespace
}  // namespace smpp::codec

// ---------------------------------------------------------------------------------------------
// peek_submit_sm: the common submit_sm shape without a full decode, exactly as decode() sees it.

namespace peek {

using smpp::codec::bytes_view;
using smpp::codec::command_id;

TEST(PeekSubmitSm, AgreesWithDecodeOnEveryFrameItAcceptsAndAcceptsThePlainShape) {
  smpp::testing::pdu_generator gen(2026, {false, false, false});  // no TLVs
  size_t accepted = 0, plain = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<std::byte> f = gen.make(command_id::submit_sm);
    // Mutations: a byte flipped somewhere after the header, or the frame cut short with a
    // matching command_length: what peek accepts must decode to the same fields.
    if (i % 3 == 1 && f.size() > 16) {
      f[16 + gen.rng()() % (f.size() - 16)] ^= std::byte(1 + gen.rng()() % 255);
    } else if (i % 3 == 2 && f.size() > 17) {
      f.resize(17 + gen.rng()() % (f.size() - 17));
      smpp::codec::store_be32(f.data(), static_cast<uint32_t>(f.size()));
    }
    smpp::codec::pdu full;
    const bool decodes = !smpp::codec::decode(f, full);
    if (decodes && full.schedule_delivery_time.empty() && full.validity_period.empty() &&
        full.tlvs.empty() && full.id == command_id::submit_sm) {
      ++plain;
    }
    smpp::codec::submit_sm_peek p;
    if (!smpp::codec::peek_submit_sm(f, p)) {
      EXPECT_FALSE(decodes && full.schedule_delivery_time.empty() && full.validity_period.empty() &&
                   full.tlvs.empty() && full.id == command_id::submit_sm)
          << "the plain shape must be accepted (" << i << ")";
      continue;
    }
    ++accepted;
    ASSERT_TRUE(decodes) << i;
    EXPECT_EQ(p.sequence_number, full.sequence_number);
    EXPECT_EQ(p.registered_delivery, full.registered_delivery);
    EXPECT_EQ(p.source_addr, full.source_addr);
    EXPECT_EQ(p.service_type, full.service_type);
    EXPECT_EQ(p.destination_addr, full.destination_addr);
    EXPECT_EQ(p.esm_class, full.esm_class);
    EXPECT_EQ(p.data_coding, full.data_coding);
    ASSERT_EQ(p.short_message.size(), full.short_message.size());
    EXPECT_EQ(p.short_message.data(), full.short_message.data());
  }
  EXPECT_EQ(accepted, plain);
  EXPECT_GT(accepted, 1000u);  // the generator makes the plain shape often enough to matter
}

TEST(PeekSubmitSm, RefusesOtherCommandsAndShortFrames) {
  smpp::codec::submit_sm_peek p;
  const std::vector<std::byte> header_only(16);
  EXPECT_FALSE(smpp::codec::peek_submit_sm(header_only, p));
  smpp::testing::pdu_generator gen(7, {false, false, false});
  EXPECT_FALSE(smpp::codec::peek_submit_sm(gen.make(command_id::deliver_sm), p));
  EXPECT_FALSE(smpp::codec::peek_submit_sm(bytes_view{}, p));
}

}  // namespace peek

// ---------------------------------------------------------------------------------------------
// peek_receipt: a delivery receipt's id and state without a full decode, exactly as decode()
// and summarize_receipt() see them.

#include "smpp/codec/receipt.hpp"
#include "smpp/codec/tlv.hpp"

namespace peek_receipts {

using smpp::codec::bytes_view;
using smpp::codec::command_id;
namespace tag = smpp::codec::tag;

// A random deliver_sm made a receipt of some kind, with receipt TLVs present, absent, empty,
// repeated or out of range, then perhaps damaged as in the peek_submit_sm test.
std::vector<std::byte> receipt_frame(smpp::testing::pdu_generator& gen, int i) {
  auto& rng = gen.rng();
  const std::vector<std::byte> base = gen.make(command_id::deliver_sm);
  smpp::codec::pdu d;
  if (smpp::codec::decode(base, d)) return base;
  static constexpr uint8_t kinds[] = {0x04, 0x04, 0x04, 0x08, 0x10, 0x20, 0x00, 0x44};
  d.esm_class = kinds[rng() % std::size(kinds)];
  if (i % 5 != 0) {
    d.schedule_delivery_time = {};
    d.validity_period = {};
  }
  std::array<std::byte, 600> tlv_bytes{};
  smpp::codec::tlv_writer w(tlv_bytes);
  if (rng() % 4 == 0) {  // the generator's own TLVs first, whatever they are
    for (const smpp::codec::tlv t : d.tlvs) (void)w.add(t.tag, t.value);
  }
  const std::string ids[] = {"", "12345678901234567", "0A1B2C", "  77", "id-\x7f"};
  const int copies = static_cast<int>(rng() % 3);  // none, one, or a repeat that must not count
  for (int c = 0; c < copies; ++c) {
    if (rng() % 8 != 0) (void)w.add_cstring(tag::receipted_message_id, ids[rng() % 5]);
    if (rng() % 8 != 0) (void)w.add_uint(tag::message_state, static_cast<uint32_t>(rng() % 11), 1);
  }
  if (rng() % 10 == 0) {
    const std::byte payload[3] = {std::byte{'i'}, std::byte{'d'}, std::byte{':'}};
    (void)w.add(tag::message_payload, bytes_view(payload, 3));
  }
  d.tlvs = w.area();
  std::vector<std::byte> f(1024);
  const smpp::codec::encode_result r = smpp::codec::encode(d, f);
  if (!r.ok(f.size())) return base;
  f.resize(r.needed);
  if (i % 4 == 1 && f.size() > 16) {
    f[16 + rng() % (f.size() - 16)] ^= std::byte(1 + rng() % 255);
  } else if (i % 4 == 2 && f.size() > 17) {
    f.resize(17 + rng() % (f.size() - 17));
    smpp::codec::store_be32(f.data(), static_cast<uint32_t>(f.size()));
  }
  return f;
}

TEST(PeekReceipt, AgreesWithDecodeAndSummarizeAndAcceptsEveryReceiptWithItsTlvs) {
  smpp::testing::pdu_generator gen(2027);
  size_t accepted = 0, expected = 0;
  for (int i = 0; i < 40000; ++i) {
    const std::vector<std::byte> f = receipt_frame(gen, i);
    smpp::codec::pdu full;
    const bool decodes = !smpp::codec::decode(f, full);
    // The shape the peek must take: by the full decode and tlv_area::find.
    bool shape = decodes && full.id == command_id::deliver_sm &&
                 (full.esm_class & smpp::codec::esm_class_type_mask) != 0 &&
                 full.schedule_delivery_time.empty() && full.validity_period.empty();
    if (shape) {
      const auto id = full.tlvs.find(tag::receipted_message_id);
      const auto st = full.tlvs.find(tag::message_state);
      std::string_view text = id ? id->as_cstring() : std::string_view{};
      text = text.substr(0, text.find('\0'));
      shape = !text.empty() && st && st->value.size() == 1 &&
              std::to_integer<int>(st->value[0]) >= 1 && std::to_integer<int>(st->value[0]) <= 9;
    }
    expected += shape ? 1 : 0;
    smpp::codec::receipt_peek k;
    if (!smpp::codec::peek_receipt(f, k)) {
      EXPECT_FALSE(shape) << "a receipt with its TLVs must be taken (" << i << ")";
      continue;
    }
    ++accepted;
    ASSERT_TRUE(decodes) << i;
    EXPECT_TRUE(shape) << i;
    const smpp::codec::receipt_summary s = smpp::codec::summarize_receipt(full);
    EXPECT_EQ(k.sequence_number, full.sequence_number);
    EXPECT_EQ(k.esm_class, full.esm_class);
    EXPECT_EQ(k.message_id, s.message_id) << i;
    ASSERT_TRUE(s.state.has_value()) << i;
    EXPECT_EQ(k.message_state, static_cast<uint8_t>(*s.state)) << i;
  }
  EXPECT_EQ(accepted, expected);
  EXPECT_GT(accepted, 2000u);  // the frames above take the receipt shape often enough to matter
}

TEST(PeekReceipt, RefusesOtherCommandsShortFramesAndTextOnlyReceipts) {
  smpp::codec::receipt_peek k;
  const std::vector<std::byte> header_only(16);
  EXPECT_FALSE(smpp::codec::peek_receipt(header_only, k));
  EXPECT_FALSE(smpp::codec::peek_receipt(bytes_view{}, k));
  smpp::testing::pdu_generator gen(8, {false, false, false});
  EXPECT_FALSE(smpp::codec::peek_receipt(gen.make(command_id::submit_sm), k));
  // A receipt whose id and state are only in its text: the full decode and the text parser.
  smpp::codec::pdu d;
  d.id = command_id::deliver_sm;
  d.esm_class = 0x04;
  const std::string text =
      "id:1234 sub:001 dlvrd:001 submit date:2601011200 done date:2601011201 "
      "stat:DELIVRD err:000 text:";
  d.short_message = bytes_view(reinterpret_cast<const std::byte*>(text.data()), text.size());
  std::vector<std::byte> f(512);
  const smpp::codec::encode_result r = smpp::codec::encode(d, f);
  ASSERT_TRUE(r.ok(f.size()));
  f.resize(r.needed);
  EXPECT_FALSE(smpp::codec::peek_receipt(f, k));
  smpp::codec::pdu full;
  ASSERT_FALSE(smpp::codec::decode(f, full));
  EXPECT_EQ(smpp::codec::summarize_receipt(full).message_id, "1234");
}

}  // namespace peek_receipts
