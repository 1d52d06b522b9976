// libFuzzer target: the PDU decoder. Any input either fails with a status or decodes; what
// decodes re-encodes to the same bytes and decodes again to an equal pdu.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "smpp/codec/codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace smpp::codec;
  const bytes_view in(reinterpret_cast<const std::byte*>(data), size);
  pdu p;
  const decode_error e = decode(in, p);
  if (!e.ok()) {
    if (e.status == command_status::ESME_ROK) std::abort();
    return 0;
  }
  for (const tlv t : p.tlvs) (void)t.as_uint();
  for (const dest_address d : p.dest_addresses) (void)d.destination_addr.size();
  for (const unsuccess_sme u : p.unsuccess_smes) (void)u.error_status_code;
  std::vector<std::byte> out(size);
  const encode_result r = encode(p, out);
  if (!r.ok(out.size()) || r.needed != size) std::abort();
  if (!(bytes_view(out) == in)) std::abort();
  pdu q;
  if (!decode(out, q).ok() || !(q == p)) std::abort();
  return 0;
}
