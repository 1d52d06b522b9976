// A router worker's own counters, by event: written by the worker only, read by the admin API
// and /metrics from their own threads (counters.hpp says how).
#pragma once

#include "smpp/dataplane/counters.hpp"

namespace smpp::dataplane {

struct worker_stats {
  counter esme_accepted;
  counter esme_bound;
  counter bind_failed;
  counter submit_received;   // submit_sm, data_sm, submit_multi from ESMEs
  counter submit_forwarded;  // sent upstream
  counter resp_relayed;      // upstream answers relayed to ESMEs
  counter resp_orphaned;     // upstream answers for an ESME already gone, or too late
  counter retried;           // refused with a status of retry_on, sent to the next upstream
  counter retries_not_sent;  // refusals of retry_on whose next upstream took nothing
  counter throttled;         // ESME_RTHROTTLED answered by the router
  counter no_route;
  counter upstream_unavailable;
  counter upstream_timeouts;
  counter upstream_failed_inflight;  // answered because the upstream bind dropped
  counter decode_errors;
  counter generic_nacks;
  counter sessions_closed_slow;  // closed because they stopped reading
  counter upstream_binds_up;
  counter upstream_connect_failures;
  counter handed_off;        // requests sent to the worker that owns the upstream bind
  counter handoff_received;  // requests taken from other workers
  counter answers_deferred;  // answers that waited because the ring back was full
  // Return path (SMPP 3.4 §4.6 deliver_sm, §4.7 data_sm from upstreams).
  counter receipts_received;    // receipts (esm_class receipt bits) from upstream binds
  counter receipts_unmatched;   // no correlation entry: acknowledged, counted, not relayed
  counter receipts_invalid;     // a receipt with no usable message id: likewise
  counter mo_received;          // deliver_sm / data_sm without receipt bits
  counter mo_unrouted;          // no MO route: answered ESME_RINVDSTADR
  counter delivered;            // deliver_sm / data_sm written to an ESME receiver
  counter deliver_acked;        // ... and answered ESME_ROK by it
  counter deliver_failed;       // ... answered with an error, timed out, or session lost
  counter deliver_busy;         // receivers bound but every window full: held, or throttled
  counter held;                 // taken into the hold queue (no receiver bound)
  counter hold_expired;         // dropped from the hold queue after hold_ttl_ms
  counter hold_full;            // hold queue full: ESME_RX_T_APPN up (the SMSC retries)
  counter deliver_refused;      // receipts/MO answered to the SMSC with an error, any reason
  counter binds_held_back;      // upstream binds not read for a while: a tenant's hold queue was
                                // over its bound while its receivers were answering
  counter correlation_inserts;  // message ids noted for receipts and message operations
  counter correlation_evicted;  // noted ids evicted to make room, before their TTL
  counter correlation_final;    // entries freed by a final receipt (see correlation.hpp)
  counter message_ops;          // query_sm / cancel_sm / replace_sm sent upstream
  counter message_ops_unknown;  // no entry for the message id: ESME_RINVMSGID
  // Idle behaviour.
  counter parked;          // requests that waited for an on-demand upstream to bind
  counter parked_expired;  // ... in vain: answered with upstream_failure_status
  counter idle_unbinds;    // on-demand upstream binds closed for idleness
  counter esme_idle_unbinds;
  counter gate_requeued;  // requests the SMSC throttled at a gated bind, queued again
  // Back-pressure (tenant queue_full = "backpressure").
  counter backpressure_stalls;    // sessions stopped because their tenant's queue was full
  counter backpressure_bounced;   // requests sent back to their ESME's worker for that reason
  counter backpressure_overflow;  // sessions closed: more than stall_limit_bytes held back
  counter stalled_sessions;       // gauge: sessions not read right now
  counter snapshots_adopted;      // new snapshots from the control plane taken over
  counter snapshots_refused;      // ... refused: tenants or upstreams reordered or removed
  counter retired_unbinds;        // sessions of removed tenants and removed upstream binds unbound
  // Time in run_once turns that handled something, and in turns that did not (microseconds).
  counter busy_us;
  counter idle_us;
  // submit_multi (SMPP 3.4 §4.5) whose destinations take different routes.
  counter multi_split;      // split into one submit_multi per route, answered once aggregated
  counter multi_unsuccess;  // destinations listed in unsuccess_sme of the aggregated answers
  counter multi_full;       // refused ESME_RTHROTTLED: multi_table::capacity splits in progress
  // broadcast_sm (SMPP 5.0 §4.4.1) with a route none of whose upstreams takes broadcasts
  // (upstream_def::broadcast): ESME_RBCASTFAIL. Without a route at all it counts in no_route.
  counter broadcast_no_taker;
  // alert_notification from upstreams (SMPP 3.4 §4.12; it has no response).
  counter alerts_received;  // from upstream binds
  counter alerts_relayed;   // written to a receiver of the tenant its esme_addr's MO route names
  counter alerts_unrouted;  // no MO route for its esme_addr: dropped
  counter alerts_dropped;   // no receiver of the tenant bound anywhere, or none could take it
  // Upstreams that call back (SMPP 3.4 §4.1.7 outbind).
  counter outbinds;          // outbinds with the expected credentials: bound on that connection
  counter outbinds_refused;  // closed: wrong credentials, no outbind in time, or no free bind
  // The durable store ([store], docs/architecture.md "Durable message state").
  counter store_records;              // records handed to this worker's journal
  counter store_unjournaled;          // records its journal had no room for (kept in memory only)
  counter answers_waiting_for_store;  // acknowledgements that waited for their record
  counter store_recovered_notes;      // message ids taken back from the store at start
  counter store_recovered_held;       // held receipts and MO taken back from the store at start
};

}  // namespace smpp::dataplane
