// The one way back. Requests travel ESME side -> routing -> upstream side (possibly through
// another worker); their answers, and the answers to what upstreams deliver, come back through
// here, which knows on which worker each session lives. Nothing below the ESME side calls the
// ESME side or the upstream side for an answer any other way.
#pragma once

#include "context.hpp"
#include "handoff_port.hpp"
#include "return_to.hpp"
#include "smpp/codec/status.hpp"

namespace smpp::dataplane::router {

class esme_side;
class upstream_side;

class answers {
 public:
  answers(worker_context& ctx, handoff_port& port) noexcept : ctx_(ctx), port_(port) {}
  answers(const answers&) = delete;
  answers& operator=(const answers&) = delete;
  // The two sides, built after this (they hold a reference to it).
  void attach(esme_side& esmes, upstream_side& upstreams) noexcept {
    esmes_ = &esmes;
    upstreams_ = &upstreams;
  }

  // The answer to the ESME request `request` names (origin worker, esme, esme_seq,
  // command_id): the upstream's response frame, or, with an empty frame, a response of header
  // only with `status`. false when the ESME's session on this worker is gone or could not take
  // it (counted there); true when it was answered or handed to the ESME's worker.
  bool to_esme(const handoff_header& request, codec::command_status status, bytes_view frame);
  // The answer to a deliver_sm / data_sm from an upstream (deliver_sm_resp / data_sm_resp).
  void to_upstream(const return_to& ret, codec::command_status status);
  // Stops (hold) or resumes reading the bind ret came on. On another worker, every bind of
  // ret's upstream there is held back, after the read it is in (shared_state::reads_held).
  void hold_back_upstream(const return_to& ret, bool hold);

 private:
  worker_context& ctx_;
  handoff_port& port_;
  esme_side* esmes_ = nullptr;
  upstream_side* upstreams_ = nullptr;
};

}  // namespace smpp::dataplane::router
