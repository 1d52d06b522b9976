// submit_multi (SMPP 3.4 §4.5): each destination routed on its own. When every destination
// takes the same route the PDU goes as it is; otherwise each route gets a submit_multi of its
// own destinations, and the ESME one submit_multi_resp once every part is answered: the
// message_id of the first accepted part (in the order of the destinations) and, in
// unsuccess_sme (§4.5.2), every refused destination with its error status.
#include <algorithm>
#include <array>

#include "request_router.hpp"

namespace smpp::dataplane::router {

using codec::command_id;
using S = codec::command_status;

namespace {

// A dest_address entry (§4.5.1.1) is at most 1 + 1 + 1 + 21 octets; an unsuccess_sme (§4.5.2)
// 1 + 1 + 21 + 4.
constexpr size_t kListBytes = multi_table::max_destinations * 27;

S refusal_of(submit_outcome o) noexcept {
  return o == submit_outcome::unavailable ? upstream_failure_status : S::ESME_RTHROTTLED;
}

}  // namespace

submit_outcome request_router::submit_multi(esme_session& s, bytes_view frame,
                                            const codec::pdu& p) {
  if (p.dest_addresses.size() == 0 || p.dest_addresses.size() > multi_table::max_destinations)
    return submit_outcome::bad_destinations;
  // Its answer must not be taken for a part's: the top bit is the parts' (multi_table.hpp).
  if (is_multi_part(p.sequence_number)) return submit_outcome::bad_sequence;
  // Each destination's route; a distribution list (dest_flag 2) routes by its name.
  std::array<const route_def*, multi_table::max_destinations> route_at{};
  std::array<const route_def*, multi_table::max_destinations> routes{};  // distinct, in order
  size_t n = 0, distinct = 0, unrouted = 0;
  for (const codec::dest_address d : p.dest_addresses) {
    const route_def* r = route_of(s.tenant, d.destination_addr, p);
    route_at[n++] = r;
    if (r == nullptr) {
      ++unrouted;
    } else if (std::find(routes.begin(), routes.begin() + distinct, r) ==
               routes.begin() + distinct) {
      routes[distinct++] = r;
    }
  }
  if (distinct == 0) return submit_outcome::no_route;
  if (distinct == 1 && unrouted == 0) {
    // One route for all of them: the PDU as it is.
    return submit_on(*routes[0], (*p.dest_addresses.begin()).destination_addr, s, p.sequence_number,
                     frame, p);
  }
  const std::optional<uint32_t> slot = multis_.open();
  if (!slot) {
    ++ctx_.stats.multi_full;
    return submit_outcome::throttled;
  }
  multi_table::entry& e = *multis_.find(*slot);
  e.origin = ctx_.index;
  e.esme = s.conn;
  e.esme_seq = p.sequence_number;
  e.tenant = s.tenant;
  size_t i = 0;
  for (const codec::dest_address d : p.dest_addresses) {
    multi_table::destination& x = e.dests.emplace_back();
    x.ton = d.dest_flag == codec::dest_flag_sme_address ? d.dest_addr_ton : 0;
    x.npi = d.dest_flag == codec::dest_flag_sme_address ? d.dest_addr_npi : 0;
    x.addr = d.destination_addr;
    const route_def* r = route_at[i++];
    if (r == nullptr) {
      x.status = static_cast<uint32_t>(S::ESME_RINVDSTADR);
      continue;
    }
    x.part = static_cast<uint16_t>(std::find(routes.begin(), routes.begin() + distinct, r) -
                                   routes.begin());
  }
  // Each route's part: the request with its destinations only.
  std::array<std::byte, kListBytes> list;
  part_frame_.resize(frame.size());
  submit_outcome first_refusal = submit_outcome::taken;
  for (size_t part = 0; part < distinct; ++part) {
    size_t at = 0, count = 0;
    std::string_view first;
    i = 0;
    for (const codec::dest_address d : p.dest_addresses) {
      if (e.dests[i++].part != part) continue;
      if (count++ == 0) first = d.destination_addr;
      at += codec::write_dest_address(d, std::span(list).subspan(at));
    }
    codec::pdu q = p;
    q.dest_addresses =
        codec::dest_address_list(static_cast<uint8_t>(count), bytes_view(list.data(), at));
    const codec::encode_result enc = codec::encode(q, part_frame_);
    const submit_outcome o =
        enc.ok(part_frame_.size())
            ? submit_on(*routes[part], first, s, multi_part_seq(*slot, static_cast<uint32_t>(part)),
                        bytes_view(part_frame_.data(), enc.needed), q)
            : submit_outcome::throttled;
    if (o == submit_outcome::taken) {
      ++e.parts_left;
      continue;
    }
    if (first_refusal == submit_outcome::taken) first_refusal = o;
    for (multi_table::destination& x : e.dests) {
      if (x.part == part) x.status = static_cast<uint32_t>(refusal_of(o));
    }
  }
  if (e.parts_left == 0) {
    // No part was taken: the ESME gets the refusal as for a submit_sm.
    multis_.close(*slot);
    return first_refusal == submit_outcome::busy ? submit_outcome::throttled : first_refusal;
  }
  ++ctx_.stats.multi_split;
  return submit_outcome::taken;
}

void request_router::multi_part_answered(const handoff_header& part, codec::command_status status,
                                         bytes_view frame) {
  const uint32_t slot = multi_entry_of(part.esme_seq);
  multi_table::entry* found = multis_.find(slot);
  if (found == nullptr || found->esme != part.esme) return;  // cannot happen: answered once
  multi_table::entry& e = *found;
  const auto index = static_cast<uint16_t>(multi_part_of(part.esme_seq));
  codec::pdu r;
  const bool decoded = !frame.empty() && !codec::decode(frame, r);
  if (decoded) status = r.status;
  if (status == S::ESME_ROK) {
    if (index < e.id_part) {
      e.id_part = index;
      e.message_id = r.message_id;
    }
    // The upstream's own refusals among the part's destinations (§4.5.2).
    for (const codec::unsuccess_sme u : r.unsuccess_smes) {
      for (multi_table::destination& x : e.dests) {
        if (x.part == index && x.status == 0 && x.addr == u.destination_addr) {
          x.status = u.error_status_code != 0 ? u.error_status_code
                                              : static_cast<uint32_t>(S::ESME_RSUBMITFAIL);
          break;
        }
      }
    }
  } else {
    for (multi_table::destination& x : e.dests) {
      if (x.part == index) x.status = static_cast<uint32_t>(status);
    }
  }
  if (--e.parts_left > 0) return;
  // Every part answered: one submit_multi_resp.
  std::array<std::byte, kListBytes> list;
  size_t at = 0, failed = 0;
  S first_failure = S::ESME_ROK;
  for (const multi_table::destination& x : e.dests) {
    if (x.status == 0) continue;
    if (failed++ == 0) first_failure = static_cast<S>(x.status);
    at += codec::write_unsuccess_sme({x.ton, x.npi, x.addr, x.status}, std::span(list).subspan(at));
  }
  codec::pdu resp;
  resp.id = command_id::submit_multi_resp;
  resp.sequence_number = e.esme_seq;
  resp.status = e.id_part != multi_table::no_part ? S::ESME_ROK : first_failure;
  resp.message_id = e.message_id;
  resp.unsuccess_smes =
      codec::unsuccess_sme_list(static_cast<uint8_t>(failed), bytes_view(list.data(), at));
  std::array<std::byte, kListBytes + 128> out;
  const codec::encode_result enc = codec::encode(resp, out);
  const handoff_header h = request_header(handoff_header::answer, e.origin, e.esme, e.esme_seq,
                                          command_id::submit_multi, e.tenant);
  ctx_.stats.multi_unsuccess += failed;
  multis_.close(slot);
  (void)back_.to_esme(h, resp.status, bytes_view(out.data(), enc.needed));
}

}  // namespace smpp::dataplane::router
