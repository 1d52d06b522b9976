#include "answers.hpp"

#include "esme_side.hpp"
#include "upstream_side.hpp"

namespace smpp::dataplane::router {

bool answers::to_esme(const handoff_header& request, codec::command_status status,
                      bytes_view frame) {
  if (request.origin == ctx_.index) return esmes_->answer(request, status, frame);
  handoff_header h =
      request_header(handoff_header::answer, request.origin, request.esme, request.esme_seq,
                     static_cast<codec::command_id>(request.command_id));
  h.status = static_cast<uint32_t>(status);
  port_.push(request.origin, h, frame);
  return true;
}

void answers::hold_back_upstream(const return_to& ret, bool hold) {
  if (ret.conn == invalid_conn) return;
  if (ret.worker == ctx_.index) {
    upstreams_->hold_back(ret.conn, hold);
    return;
  }
  if (ctx_.shared == nullptr) return;
  const size_t at = static_cast<size_t>(ret.upstream) * ctx_.workers + ret.worker;
  if (at >= ctx_.shared->reads_held.size()) return;
  if (hold) {
    ctx_.shared->reads_held[at].fetch_add(1, std::memory_order_relaxed);
  } else {
    ctx_.shared->reads_held[at].fetch_sub(1, std::memory_order_relaxed);
  }
}

void answers::to_upstream(const return_to& ret, codec::command_status status) {
  if (ret.conn == invalid_conn) return;
  if (status != codec::command_status::ESME_ROK) {
    // Refused here, wherever the answer is written: counted once, by the worker that decided.
    ++ctx_.stats.deliver_refused;
    ctx_.counters.count_return_refused(ret, status);
  }
  if (ret.worker == ctx_.index) {
    upstreams_->answer_deliver(ret, status);
    return;
  }
  handoff_header h = return_header(handoff_header::deliver_answer, ret);
  h.status = static_cast<uint32_t>(status);
  port_.push(ret.worker, h, {});
}

}  // namespace smpp::dataplane::router
