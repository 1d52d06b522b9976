// Codec throughput on a realistic traffic mix (corpus.hpp), with libsmpp34 decoding and
// encoding the same bytes in the same process. After the run it prints our figures, the
// baseline's, and the ratios (median of the repetitions when --benchmark_repetitions is given).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "corpus.hpp"
#include "display_reporter.hpp"
#include "smpp/codec/codec.hpp"
#include "smpp/codec/framer.hpp"

// Last: smpp34.h defines macros (ESME_ROK, SUBMIT_SM, Reserved, ...) that would clash with ours.
extern "C" {
#include <smpp34.h>

#include <smpp34_structs.h>

#include <smpp34_params.h>  // needs the types of smpp34_structs.h
}

namespace {

using namespace smpp;

const bench::corpus& the_corpus() {
  static const bench::corpus c = bench::make_corpus();
  return c;
}

// ---- libsmpp34 ------------------------------------------------------------------------------

// Storage for any PDU the corpus holds, as libsmpp34 represents it.
union smpp34_pdu {
  generic_nack_t header;  // every libsmpp34 PDU struct starts with the four header fields
  bind_transmitter_t bind_transmitter;
  bind_transmitter_resp_t bind_transmitter_resp;
  bind_receiver_t bind_receiver;
  bind_receiver_resp_t bind_receiver_resp;
  bind_transceiver_t bind_transceiver;
  bind_transceiver_resp_t bind_transceiver_resp;
  unbind_t unbind;
  unbind_resp_t unbind_resp;
  submit_sm_t submit_sm;
  submit_sm_resp_t submit_sm_resp;
  deliver_sm_t deliver_sm;
  deliver_sm_resp_t deliver_sm_resp;
  data_sm_t data_sm;
  data_sm_resp_t data_sm_resp;
  enquire_link_t enquire_link;
  enquire_link_resp_t enquire_link_resp;
};

// sizeof the struct libsmpp34 uses for this command: what a caller zeroes before unpacking.
size_t smpp34_size(uint32_t id) {
  switch (id) {
    case BIND_TRANSMITTER:
      return sizeof(bind_transmitter_t);
    case BIND_TRANSMITTER_RESP:
      return sizeof(bind_transmitter_resp_t);
    case BIND_RECEIVER:
      return sizeof(bind_receiver_t);
    case BIND_RECEIVER_RESP:
      return sizeof(bind_receiver_resp_t);
    case BIND_TRANSCEIVER:
      return sizeof(bind_transceiver_t);
    case BIND_TRANSCEIVER_RESP:
      return sizeof(bind_transceiver_resp_t);
    case SUBMIT_SM:
      return sizeof(submit_sm_t);
    case SUBMIT_SM_RESP:
      return sizeof(submit_sm_resp_t);
    case DELIVER_SM:
      return sizeof(deliver_sm_t);
    case DELIVER_SM_RESP:
      return sizeof(deliver_sm_resp_t);
    case DATA_SM:
      return sizeof(data_sm_t);
    case DATA_SM_RESP:
      return sizeof(data_sm_resp_t);
    default:
      return sizeof(generic_nack_t);  // header-only PDUs
  }
}

// The TLV list smpp34_unpack allocates for this command, or nullptr when it has none.
tlv_t** smpp34_tlvs(uint32_t id, smpp34_pdu& p) {
  switch (id) {
    case BIND_TRANSMITTER_RESP:
      return &p.bind_transmitter_resp.tlv;
    case BIND_RECEIVER_RESP:
      return &p.bind_receiver_resp.tlv;
    case BIND_TRANSCEIVER_RESP:
      return &p.bind_transceiver_resp.tlv;
    case SUBMIT_SM:
      return &p.submit_sm.tlv;
    case DELIVER_SM:
      return &p.deliver_sm.tlv;
    case DATA_SM:
      return &p.data_sm.tlv;
    default:
      return nullptr;
  }
}

const uint8_t* octets(codec::bytes_view b) {
  return reinterpret_cast<const uint8_t*>(b.data());
}

uint32_t command_id_of(codec::bytes_view frame) {
  return codec::load_be32(frame.data() + 4);
}

// The corpus unpacked by libsmpp34 once, for the encode benchmark; frees its TLV lists.
struct smpp34_corpus {
  std::vector<uint32_t> ids;
  std::vector<smpp34_pdu> pdus;
  bool ok = true;

  explicit smpp34_corpus(const bench::corpus& c) : ids(c.pdus.size()), pdus(c.pdus.size()) {
    for (size_t i = 0; i < c.pdus.size(); ++i) {
      ids[i] = command_id_of(c.pdus[i]);
      std::memset(&pdus[i], 0, sizeof(smpp34_pdu));
      ok &= smpp34_unpack(ids[i], &pdus[i], octets(c.pdus[i]),
                          static_cast<int>(c.pdus[i].size())) == 0;
    }
  }
  ~smpp34_corpus() {
    for (size_t i = 0; i < pdus.size(); ++i) {
      if (tlv_t** t = smpp34_tlvs(ids[i], pdus[i])) destroy_tlv(*t);
    }
  }
  smpp34_corpus(const smpp34_corpus&) = delete;
  smpp34_corpus& operator=(const smpp34_corpus&) = delete;
};

void set_counters(benchmark::State& state, size_t pdus, size_t bytes) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(pdus));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes));
}

// A send buffer that encoders append to, starting over when fewer than max_pdu octets are left.
constexpr size_t kTxBuffer = 64 * 1024;
constexpr size_t kMaxPdu = 4096;  // no corpus PDU is longer

// ---- decode ---------------------------------------------------------------------------------

void BM_DecodeMixed(benchmark::State& state) {
  const bench::corpus& c = the_corpus();
  codec::pdu p;
  uint64_t sum = 0;
  size_t errors = 0;
  for (auto _ : state) {
    for (const codec::bytes_view frame : c.pdus) {
      errors += codec::decode(frame, p) ? 1 : 0;
      sum += p.sequence_number + p.short_message.size() + p.tlvs.raw().size();
    }
    benchmark::DoNotOptimize(sum);
  }
  if (errors != 0) state.SkipWithError("decode failed on a corpus PDU");
  set_counters(state, c.pdus.size(), c.bytes.size());
}
BENCHMARK(BM_DecodeMixed);

// libsmpp34's real cost: zero the struct, unpack (which mallocs one node per TLV), free the list.
void BM_DecodeMixed_libsmpp34(benchmark::State& state) {
  const bench::corpus& c = the_corpus();
  smpp34_pdu p;
  uint64_t sum = 0;
  size_t errors = 0;
  for (auto _ : state) {
    for (const codec::bytes_view frame : c.pdus) {
      const uint32_t id = command_id_of(frame);
      std::memset(&p, 0, smpp34_size(id));
      errors += smpp34_unpack(id, &p, octets(frame), static_cast<int>(frame.size())) != 0 ? 1 : 0;
      sum += p.header.sequence_number + p.header.command_length;
      if (tlv_t** t = smpp34_tlvs(id, p)) destroy_tlv(*t);
    }
    benchmark::DoNotOptimize(sum);
  }
  if (errors != 0) state.SkipWithError("smpp34_unpack failed on a corpus PDU");
  set_counters(state, c.pdus.size(), c.bytes.size());
}
BENCHMARK(BM_DecodeMixed_libsmpp34);

// ---- encode ---------------------------------------------------------------------------------

void BM_EncodeMixed(benchmark::State& state) {
  const bench::corpus& c = the_corpus();
  std::vector<codec::pdu> pdus(c.pdus.size());
  for (size_t i = 0; i < pdus.size(); ++i) {
    if (codec::decode(c.pdus[i], pdus[i])) {
      state.SkipWithError("decode failed on a corpus PDU");
      return;
    }
  }
  std::vector<std::byte> tx(kTxBuffer);
  size_t at = 0;
  size_t errors = 0;
  for (auto _ : state) {
    for (const codec::pdu& p : pdus) {
      if (tx.size() - at < kMaxPdu) at = 0;
      const codec::encode_result r = codec::encode(p, std::span(tx).subspan(at));
      errors += r.ok(tx.size() - at) ? 0 : 1;
      at += r.needed;
    }
    benchmark::ClobberMemory();
  }
  benchmark::DoNotOptimize(tx.data());
  if (errors != 0) state.SkipWithError("encode failed on a corpus PDU");
  set_counters(state, c.pdus.size(), c.bytes.size());
}
BENCHMARK(BM_EncodeMixed);

void BM_EncodeMixed_libsmpp34(benchmark::State& state) {
  const bench::corpus& c = the_corpus();
  smpp34_corpus in(c);
  if (!in.ok) {
    state.SkipWithError("smpp34_unpack failed on a corpus PDU");
    return;
  }
  std::vector<uint8_t> tx(kTxBuffer);
  size_t at = 0;
  size_t errors = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < in.pdus.size(); ++i) {
      if (tx.size() - at < kMaxPdu) at = 0;
      int len = 0;
      errors += smpp34_pack(in.ids[i], tx.data() + at, static_cast<int>(tx.size() - at), &len,
                            &in.pdus[i]) != 0
                    ? 1
                    : 0;
      at += static_cast<size_t>(len);
    }
    benchmark::ClobberMemory();
  }
  benchmark::DoNotOptimize(tx.data());
  if (errors != 0) state.SkipWithError("smpp34_pack failed on a corpus PDU");
  set_counters(state, c.pdus.size(), c.bytes.size());
}
BENCHMARK(BM_EncodeMixed_libsmpp34);

// ---- framing --------------------------------------------------------------------------------

// The corpus repeated to at least 16 MiB: larger than L2, as a socket's receive side sees it.
const std::vector<std::byte>& framer_stream(size_t& pdus) {
  static size_t copies = 0;
  static const std::vector<std::byte> s = [] {
    const bench::corpus& c = the_corpus();
    std::vector<std::byte> out;
    while (out.size() < 16 * 1024 * 1024) {
      out.insert(out.end(), c.bytes.begin(), c.bytes.end());
      ++copies;
    }
    return out;
  }();
  pdus = copies * the_corpus().pdus.size();
  return s;
}

// Feeds the stream in fixed-size chunks as recv() would return them, so PDUs straddle chunk
// boundaries and take the framer's assembly path.
void BM_FramerStream(benchmark::State& state) {
  size_t pdus = 0;
  const std::vector<std::byte>& stream = framer_stream(pdus);
  const auto chunk = static_cast<size_t>(state.range(0));
  codec::stream_framer framer;
  uint64_t sum = 0;
  size_t frames = 0;
  bool failed = false;
  for (auto _ : state) {
    for (size_t off = 0; off < stream.size(); off += chunk) {
      codec::bytes_view in(stream.data() + off, std::min(chunk, stream.size() - off));
      while (!in.empty()) {
        const codec::stream_framer::result r = framer.next(in);
        in = in.subspan(r.consumed);
        if (r.st == codec::stream_framer::state::frame) {
          ++frames;
          sum += r.frame.size() + std::to_integer<uint8_t>(r.frame[7]);  // reads command_id
        } else if (r.st == codec::stream_framer::state::error) {
          failed = true;
          break;
        }
      }
    }
    benchmark::DoNotOptimize(sum);
  }
  if (failed || frames != pdus * static_cast<size_t>(state.iterations())) {
    state.SkipWithError("framer lost sync");
  }
  set_counters(state, pdus, stream.size());
}
BENCHMARK(BM_FramerStream)->Arg(1460)->Arg(16 * 1024);

// ---- summary --------------------------------------------------------------------------------

// Shows the runs as the console reporter does and keeps, per benchmark, the median (or the only
// run) for the closing summary.
class summary_reporter : public benchmark::ConsoleReporter {
 public:
  using ConsoleReporter::ConsoleReporter;

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.error_occurred) continue;
      const bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
      if (!median && r.run_type != Run::RT_Iteration) continue;
      figures& f = results_[r.run_name.function_name + "/" + r.run_name.args];
      if (f.median && !median) continue;
      f.median = median;
      f.repetitions = r.repetitions;
      f.items_per_s = counter(r, "items_per_second");
      f.bytes_per_s = counter(r, "bytes_per_second");
    }
    ConsoleReporter::ReportRuns(runs);
  }

  void print_summary() const {
    if (results_.empty()) return;
    std::printf("\nFigures from this run (%s), one core:\n", basis().c_str());
#ifndef NDEBUG
    std::printf("  (built without NDEBUG: use the release preset for figures worth quoting)\n");
#endif
    compare("decode", "BM_DecodeMixed/", "BM_DecodeMixed_libsmpp34/",
            "target >= 40 M PDUs/s and >= 10x libsmpp34");
    compare("encode", "BM_EncodeMixed/", "BM_EncodeMixed_libsmpp34/", "target >= 30 M PDUs/s");
    for (const auto& [name, f] : results_) {
      if (name.rfind("BM_FramerStream/", 0) != 0) continue;
      std::printf("  framer  %5s-octet chunks: %6.2f GB/s  (%6.2f M PDUs/s)   [target >= 3 GB/s]\n",
                  name.substr(16).c_str(), f.bytes_per_s / 1e9, f.items_per_s / 1e6);
    }
  }

 private:
  struct figures {
    bool median = false;
    int64_t repetitions = 1;
    double items_per_s = 0;
    double bytes_per_s = 0;
  };

  static double counter(const Run& r, const char* name) {
    const auto it = r.counters.find(name);
    return it == r.counters.end() ? 0.0 : it->second.value;
  }

  std::string basis() const {
    for (const auto& [name, f] : results_) {
      if (f.median) return "median of " + std::to_string(f.repetitions) + " repetitions";
    }
    return "single run; use --benchmark_repetitions=5 for medians";
  }

  void compare(const char* what, const std::string& ours_key, const std::string& theirs_key,
               const char* target) const {
    const auto ours = results_.find(ours_key);
    const auto theirs = results_.find(theirs_key);
    if (ours == results_.end()) return;
    std::printf("  %s  ours %7.2f M PDUs/s (%5.2f GB/s)", what, ours->second.items_per_s / 1e6,
                ours->second.bytes_per_s / 1e9);
    if (theirs != results_.end() && theirs->second.items_per_s > 0) {
      std::printf("   libsmpp34 %6.3f M PDUs/s   ratio %6.1fx", theirs->second.items_per_s / 1e6,
                  ours->second.items_per_s / theirs->second.items_per_s);
    }
    std::printf("   [%s]\n", target);
  }

  std::map<std::string, figures> results_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  const bench::corpus& c = the_corpus();
  benchmark::AddCustomContext(
      "corpus", std::to_string(c.pdus.size()) + " PDUs (" + std::to_string(c.distinct) +
                    " distinct), " + std::to_string(c.bytes.size()) + " octets, " +
                    std::to_string(c.bytes.size() / c.pdus.size()) + " per PDU");
  for (size_t i = 0; i < c.composition.size(); ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "corpus.%02zu", i + 1);
    benchmark::AddCustomContext(key, c.composition[i]);
  }

  summary_reporter reporter(isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_ColorTabular
                                                  : benchmark::ConsoleReporter::OO_Tabular);
  if (smpp::bench::run_benchmarks(reporter)) reporter.print_summary();
  benchmark::Shutdown();
  return 0;
}
