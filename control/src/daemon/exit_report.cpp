#include "exit_report.hpp"

#include <cstdio>

namespace smpp::router_daemon {

void print_exit_report(const std::vector<worker_result>& results,
                       const dataplane::router_snapshot& snap) {
  const auto n = static_cast<uint32_t>(results.size());
  uint64_t forwarded = 0, relayed = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const auto& st = results[i].stats;
    forwarded += st.submit_forwarded;
    relayed += st.resp_relayed;
    std::fprintf(stderr,
                 "smpp-router: worker %u: %llu received, %llu forwarded, %llu relayed, %llu handed "
                 "off, %llu taken over, %llu throttled, %llu upstream failures\n",
                 i, static_cast<unsigned long long>(st.submit_received),
                 static_cast<unsigned long long>(st.submit_forwarded),
                 static_cast<unsigned long long>(st.resp_relayed),
                 static_cast<unsigned long long>(st.handed_off),
                 static_cast<unsigned long long>(st.handoff_received),
                 static_cast<unsigned long long>(st.throttled),
                 static_cast<unsigned long long>(st.upstream_unavailable + st.upstream_timeouts +
                                                 st.upstream_failed_inflight));
    if (st.store_records + st.store_unjournaled > 0) {
      std::fprintf(stderr,
                   "smpp-router: worker %u: store: %llu records journaled, %llu without room in "
                   "the journal (kept in memory only), %llu acknowledgements waited for theirs\n",
                   i, static_cast<unsigned long long>(st.store_records),
                   static_cast<unsigned long long>(st.store_unjournaled),
                   static_cast<unsigned long long>(st.answers_waiting_for_store));
    }
    if (st.receipts_received + st.mo_received + st.deliver_acked + st.deliver_refused +
            st.correlation_evicted >
        0) {
      // The totals of what worker_counters::log_losses reports as it changes (at most every
      // 10 s): the last changes before the stop are here, so the log adds up.
      std::fprintf(
          stderr,
          "smpp-router: worker %u: return path: %llu receipts and %llu MO received, %llu "
          "delivered, %llu answered to the SMSC with an error (%llu hold queue full), %llu held "
          "expired undelivered, %llu receipts unmatched, %llu without a usable message id, %llu "
          "MO without an MO route; %llu message ids evicted before their TTL, %llu freed by "
          "their final receipt\n",
          i, static_cast<unsigned long long>(st.receipts_received),
          static_cast<unsigned long long>(st.mo_received),
          static_cast<unsigned long long>(st.deliver_acked),
          static_cast<unsigned long long>(st.deliver_refused),
          static_cast<unsigned long long>(st.hold_full),
          static_cast<unsigned long long>(st.hold_expired),
          static_cast<unsigned long long>(st.receipts_unmatched),
          static_cast<unsigned long long>(st.receipts_invalid),
          static_cast<unsigned long long>(st.mo_unrouted),
          static_cast<unsigned long long>(st.correlation_evicted),
          static_cast<unsigned long long>(st.correlation_final));
    }
    if (st.backpressure_stalls > 0) {
      std::fprintf(stderr,
                   "smpp-router: worker %u: back-pressure: %llu sessions held back, %llu requests "
                   "sent back to their session's worker, %llu sessions closed at the bound\n",
                   i, static_cast<unsigned long long>(st.backpressure_stalls),
                   static_cast<unsigned long long>(st.backpressure_bounced),
                   static_cast<unsigned long long>(st.backpressure_overflow));
    }
    if (const auto& d = results[i].dpdk) {
      std::fprintf(stderr,
                   "smpp-router: worker %u: dpdk: %llu accepted, %llu connects, %llu frames in, "
                   "%llu out, %llu retransmits (%llu fast), %llu out of order; faults rx %llu lost "
                   "%llu duplicated %llu reordered, tx %llu lost %llu duplicated %llu reordered\n",
                   i, static_cast<unsigned long long>(d->accepted),
                   static_cast<unsigned long long>(d->connects),
                   static_cast<unsigned long long>(d->rx_frames),
                   static_cast<unsigned long long>(d->tx_frames),
                   static_cast<unsigned long long>(d->retransmits),
                   static_cast<unsigned long long>(d->fast_retransmits),
                   static_cast<unsigned long long>(d->out_of_order),
                   static_cast<unsigned long long>(d->rx_lost),
                   static_cast<unsigned long long>(d->rx_duplicated),
                   static_cast<unsigned long long>(d->rx_reordered),
                   static_cast<unsigned long long>(d->tx_lost),
                   static_cast<unsigned long long>(d->tx_duplicated),
                   static_cast<unsigned long long>(d->tx_reordered));
    }
    const auto& ts = results[i].transport;
    if (ts.tls_handshakes + ts.tls_handshake_failures > 0) {
      std::fprintf(stderr,
                   "smpp-router: worker %u: tls: %llu handshakes, %llu failed (%llu certificates "
                   "refused, %llu timed out)\n",
                   i, static_cast<unsigned long long>(ts.tls_handshakes),
                   static_cast<unsigned long long>(ts.tls_handshake_failures),
                   static_cast<unsigned long long>(ts.tls_verify_failures),
                   static_cast<unsigned long long>(ts.tls_handshake_timeouts));
    }
  }
  for (uint32_t i = 0; i < n; ++i) {
    for (const auto& g : results[i].gates) {
      // Slot-edge timing: how late requests left after their slot began (bucket bounds).
      std::fprintf(stderr,
                   "smpp-router: worker %u: gate %s: %llu slots, %llu sent (%llu lent), %llu "
                   "unused, %llu missed, %llu throttled by the SMSC; slot-edge lateness p50 < "
                   "%llu us, p99 < %llu us\n",
                   i, snap.upstreams[g.upstream].name.c_str(),
                   static_cast<unsigned long long>(g.stats.slots),
                   static_cast<unsigned long long>(g.stats.sent),
                   static_cast<unsigned long long>(g.stats.lent),
                   static_cast<unsigned long long>(g.stats.unused),
                   static_cast<unsigned long long>(g.stats.missed),
                   static_cast<unsigned long long>(g.stats.throttled),
                   static_cast<unsigned long long>(g.stats.lateness_quantile_us(0.5)),
                   static_cast<unsigned long long>(g.stats.lateness_quantile_us(0.99)));
    }
  }
  std::fprintf(stderr, "smpp-router: stopped; %llu requests forwarded, %llu answers relayed\n",
               static_cast<unsigned long long>(forwarded),
               static_cast<unsigned long long>(relayed));
}

}  // namespace smpp::router_daemon
