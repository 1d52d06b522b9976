#include "pdu_facts.hpp"

#include "smpp/codec/concat.hpp"

namespace smpp::dataplane::router {

uint8_t parts_after(const codec::pdu& p) {
  if ((p.esm_class & codec::esm_class_udhi) != 0) {
    const codec::udh_parse_result r = codec::parse_udh(p.short_message);
    if (r.status == codec::udh_status::ok && r.udh.concat &&
        r.udh.concat->seq < r.udh.concat->total)
      return static_cast<uint8_t>(r.udh.concat->total - r.udh.concat->seq);
  }
  const auto total = p.tlvs.find(codec::tag::sar_total_segments);
  const auto seq = p.tlvs.find(codec::tag::sar_segment_seqnum);
  if (total && seq && seq->as_uint() < total->as_uint() && total->as_uint() <= 255)
    return static_cast<uint8_t>(total->as_uint() - seq->as_uint());
  return 0;
}

}  // namespace smpp::dataplane::router
