// Writes the seed corpus of the router_session fuzz target (deterministic): scripts that bring
// the worker's binds up and walk the paths a fuzzer would take long to find: binds that work
// and fail, submits answered, throttled, held back and parked, receipts and MO messages with
// and without a receiver, message operations, unbinds, drops, and raw octets on both sides.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "router_script.hpp"
#include "smpp/codec/codec.hpp"

namespace {

namespace fs = std::filesystem;
using namespace smpp;
using codec::command_id;
using fuzz::router_op;
using fuzz::router_script;

std::vector<std::byte> encode(const codec::pdu& p) {
  std::vector<std::byte> b(1024);
  const auto r = codec::encode(p, b);
  b.resize(r.ok(b.size()) ? r.needed : 0);
  return b;
}

std::vector<std::byte> bind(const char* who, uint32_t seq) {
  codec::pdu p;
  p.id = command_id::bind_transceiver;
  p.system_id = who;
  p.password = "secret";
  p.interface_version = 0x34;
  p.sequence_number = seq;
  return encode(p);
}

std::vector<std::byte> submit(const char* to, uint32_t seq) {
  codec::pdu p;
  p.id = command_id::submit_sm;
  p.source_addr = "1234";
  p.destination_addr = to;
  p.registered_delivery = 1;
  p.short_message = codec::as_bytes("hello");
  p.sequence_number = seq;
  return encode(p);
}

std::vector<std::byte> header(command_id id, uint32_t seq, uint32_t length = 16) {
  std::vector<std::byte> b(16);
  codec::write_header_only(std::span<std::byte, 16>(b.data(), 16), id,
                           codec::command_status::ESME_ROK, seq);
  codec::store_be32(b.data(), length);
  return b;
}

std::vector<std::byte> joined(std::initializer_list<std::vector<std::byte>> parts) {
  std::vector<std::byte> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Both binds of the primary upstream connected and bound.
router_script binds_up() {
  router_script s;
  s.op(router_op::connect_done, {0}).op(router_op::connect_done, {0});
  s.op(router_op::smsc_answer, {0, 0}).op(router_op::smsc_answer, {1, 0});
  return s;
}

// An ESME of `who` (0 acme, 1 bp, 2 lan) bound as a transceiver on the session just accepted.
router_script& esme_up(router_script& s, uint8_t who, uint8_t address = 0) {
  s.op(router_op::accept, {address});
  s.op(router_op::esme_bind, {0xFF, static_cast<uint8_t>(2 | who << 2), 1});
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 || std::string_view(argv[1]) == "--help") {
    std::fprintf(stderr, "usage: %s OUT_CORPUS_DIR (writes OUT_CORPUS_DIR/router_session)\n",
                 argv[0]);
    return argc == 2 ? 0 : 2;
  }
  const fs::path out = fs::path(argv[1]) / "router_session";
  fs::create_directories(out);
  std::vector<std::pair<std::string, router_script>> seeds;

  {  // submit, answer, receipt to the receiver, its answer
    router_script s = binds_up();
    esme_up(s, 0);
    s.op(router_op::esme_submit, {0, 0, 1, 2}).op(router_op::advance, {4});
    s.op(router_op::smsc_answer, {0, 0}).op(router_op::smsc_answer, {1, 0});
    s.op(router_op::smsc_receipt, {0, 0, 7}).op(router_op::esme_answer, {0, 0});
    s.op(router_op::esme_query, {0, 0, 0, 3}).op(router_op::smsc_answer, {0, 0});
    seeds.emplace_back("submit-receipt-query", s);
  }
  {  // the same as raw octets, several PDUs in one read and one PDU over two reads
    router_script s = binds_up();
    s.op(router_op::accept, {0});
    const auto two = joined({bind("acme", 1), submit("447700900001", 2)});
    s.bytes(router_op::esme_bytes, 0, two);
    const auto third = submit("447700900002", 3);
    s.bytes(router_op::esme_bytes, 0, std::span(third).first(10));
    s.bytes(router_op::esme_bytes, 0, std::span(third).subspan(10));
    s.bytes(router_op::esme_bytes, 0, header(command_id::enquire_link, 4));
    s.op(router_op::smsc_answer, {0, 0}).op(router_op::smsc_answer, {1, 0});
    s.bytes(router_op::esme_bytes, 0, header(command_id::unbind, 5));
    seeds.emplace_back("raw-esme", s);
  }
  {  // an unframeable command_length, and a command id nobody knows
    router_script s = binds_up();
    esme_up(s, 0);
    s.bytes(router_op::esme_bytes, 0, header(static_cast<command_id>(0x00000110), 9));
    s.bytes(router_op::esme_bytes, 0, header(command_id::submit_sm, 10, 8));
    seeds.emplace_back("bad-length", s);
  }
  {  // back-pressure: more than the gate's queue for the bp tenant, the SMSC slow
    router_script s = binds_up();
    esme_up(s, 1);
    for (uint8_t i = 0; i < 12; ++i) s.op(router_op::esme_submit, {0, 2, 0, i});
    for (int i = 0; i < 6; ++i) {
      s.op(router_op::advance, {2}).op(router_op::smsc_answer, {1, 0});
      s.op(router_op::smsc_answer, {0, 0x81});
    }
    seeds.emplace_back("backpressure", s);
  }
  {  // the on-demand upstream: the request waits for its bind
    router_script s = binds_up();
    esme_up(s, 0);
    s.op(router_op::esme_submit, {0, 1, 0, 2}).op(router_op::advance, {1});
    s.op(router_op::connect_done, {0}).op(router_op::smsc_answer, {2, 0});
    s.op(router_op::smsc_answer, {2, 0}).op(router_op::advance, {255});
    s.op(router_op::advance, {255}).op(router_op::smsc_answer, {2, 0});
    seeds.emplace_back("on-demand", s);
  }
  {  // MO held while no receiver is bound, delivered when one binds
    router_script s = binds_up();
    s.op(router_op::smsc_mo, {0, 0, 5}).op(router_op::smsc_mo, {0, 1, 6});
    s.op(router_op::smsc_mo, {1, 2, 7});
    esme_up(s, 0);
    s.op(router_op::advance, {2}).op(router_op::esme_answer, {0, 0x81});
    s.op(router_op::advance, {2}).op(router_op::esme_answer, {0, 0});
    seeds.emplace_back("mo-hold", s);
  }
  {  // in flight when the SMSC drops; then the bind comes back
    router_script s = binds_up();
    esme_up(s, 0);
    s.op(router_op::esme_submit, {0, 0, 0, 2}).op(router_op::esme_submit, {0, 0, 0, 3});
    s.op(router_op::upstream_close, {0}).op(router_op::upstream_close, {0});
    s.op(router_op::advance, {100}).op(router_op::connect_done, {1});
    s.op(router_op::advance, {200}).op(router_op::connect_done, {0});
    s.op(router_op::smsc_answer, {0, 0});
    seeds.emplace_back("upstream-drop", s);
  }
  {  // bind failures (wrong password, unknown, lan from outside) and the guard's delay
    router_script s;
    s.op(router_op::accept, {0}).op(router_op::esme_bind, {0, 0x12, 1});
    s.op(router_op::esme_bind, {0, 0x0E, 2}).op(router_op::esme_bind, {0, 0x0A, 3});
    s.op(router_op::advance, {30}).op(router_op::accept, {1});
    s.op(router_op::esme_bind, {1, 0x0A, 1}).op(router_op::advance, {30});
    s.op(router_op::esme_bind, {0, 0x01, 4}).op(router_op::esme_close, {0});
    seeds.emplace_back("bind-guard", s);
  }
  {  // raw octets from the SMSC: enquire_link, deliver_sm, a request it must not send, unbind
    router_script s = binds_up();
    esme_up(s, 0);
    codec::pdu d;
    d.id = command_id::deliver_sm;
    d.source_addr = "447700900001";
    d.destination_addr = "7000";
    d.short_message = codec::as_bytes("mo");
    d.sequence_number = 30;
    s.bytes(router_op::upstream_bytes, 0,
            joined({header(command_id::enquire_link, 31), encode(d),
                    header(command_id::query_sm, 32), header(command_id::outbind, 33)}));
    s.op(router_op::esme_answer, {0, 0});
    s.bytes(router_op::upstream_bytes, 1, header(command_id::unbind, 34));
    s.bytes(router_op::upstream_bytes, 0, header(command_id::deliver_sm, 35, 5));
    seeds.emplace_back("raw-smsc", s);
  }
  {  // idle: enquire_link both ways, the idle unbind, dead peers
    router_script s = binds_up();
    esme_up(s, 2, 1);
    for (int i = 0; i < 8; ++i) s.op(router_op::advance, {255}).op(router_op::esme_answer, {0, 0});
    s.op(router_op::smsc_answer, {0, 0});
    for (int i = 0; i < 8; ++i) s.op(router_op::advance, {255});
    seeds.emplace_back("idle", s);
  }
  for (const auto& [name, s] : seeds) {
    std::ofstream(out / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(s.octets().data()),
               static_cast<std::streamsize>(s.octets().size()));
  }
  std::printf("wrote %zu router_session seeds\n", seeds.size());
  return 0;
}
