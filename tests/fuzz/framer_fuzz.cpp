// libFuzzer target: the stream framer. The first octet chooses a chunk size; framing the rest in
// those chunks must give exactly the frames (and the error) of framing it in one piece.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "smpp/codec/framer.hpp"

namespace {

struct outcome {
  std::vector<std::vector<std::byte>> frames;
  bool error = false;
};

outcome run(smpp::codec::bytes_view stream, size_t chunk) {
  using namespace smpp::codec;
  stream_framer f(4096);
  outcome o;
  for (size_t at = 0; at < stream.size() && !o.error;) {
    bytes_view in = stream.subspan(at, std::min(chunk, stream.size() - at));
    at += in.size();
    while (!in.empty()) {
      const auto r = f.next(in);
      if (r.consumed > in.size()) std::abort();
      in = in.subspan(r.consumed);
      if (r.st == stream_framer::state::frame) {
        if (r.frame.size() < 16 || r.frame.size() > 4096) std::abort();
        o.frames.emplace_back(r.frame.begin(), r.frame.end());
      } else if (r.st == stream_framer::state::error) {
        o.error = true;
        break;
      } else if (!in.empty()) {
        std::abort();  // need_more must consume everything
      }
      if (f.buffered() > 4096) std::abort();
    }
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t chunk = 1 + data[0] % 64;
  const smpp::codec::bytes_view stream(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  const outcome whole = run(stream, stream.size() + 1);
  const outcome split = run(stream, chunk);
  if (whole.error != split.error || whole.frames != split.frames) std::abort();
  return 0;
}
