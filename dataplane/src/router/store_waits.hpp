// Acknowledgements that wait for the store (docs/architecture.md, "Durable message state"): a
// submit_sm_resp (or data_sm_resp, submit_multi_resp, broadcast_sm_resp) whose message id was
// noted waits until the worker that owns the id has its note in the store shard, and the
// ESME_ROK that takes a receipt or MO into custody waits until its held record is in this
// worker's. Both queues are released in order, each turn; nothing in them is ever dropped.
// While the owner's store fails, submit answers go without waiting (their ids are kept in
// memory only, counted in store_unjournaled); custody is then refused (deliveries.cpp).
//
// Bound: the answers waiting are answers to requests the ESMEs still count in their windows,
// and custody answers the SMSC still counts in its window, so both queues are bounded by the
// windows; each queue's storage grows by doubling (allocation only when it grows past its
// largest size so far, never in the steady state).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "answers.hpp"
#include "context.hpp"
#include "return_to.hpp"

namespace smpp::dataplane::router {

// What a submit answer waits for: notes_stored[owner * workers + this worker] >= count.
struct note_wait {
  uint32_t owner = 0;
  uint64_t count = 0;
};

class store_waits {
 public:
  store_waits(worker_context& ctx, answers& back);

  // The answer to the ESME's request, once the note it carries is stored.
  void esme_answer(const note_wait& wait, const handoff_header& request,
                   codec::command_status status, bytes_view frame);
  // The answer to the SMSC's deliver_sm / data_sm, once this worker's journal passed mark.
  void upstream_answer(uint64_t mark, const return_to& ret, codec::command_status status);
  // What the store now covers goes; returns how many.
  int release();
  [[nodiscard]] bool pending() const noexcept { return esme_count_ != 0 || upstream_count_ != 0; }

 private:
  // A submit_sm_resp is at most 16 + 65 octets (SMPP 3.4 §4.4.2); a longer answer (a
  // submit_multi_resp listing its unsuccessful destinations, TLVs) takes the heap.
  static constexpr size_t inline_frame_bytes = 112;
  struct esme_entry {
    note_wait wait;
    handoff_header request;
    codec::command_status status = codec::command_status::ESME_ROK;
    uint32_t frame_len = 0;
    std::array<std::byte, inline_frame_bytes> frame{};
    std::vector<std::byte> long_frame;
  };
  struct upstream_entry {
    uint64_t mark = 0;
    return_to ret;
    codec::command_status status = codec::command_status::ESME_ROK;
  };
  template <typename T>
  static void push(std::vector<T>& ring, size_t& head, size_t& count, T&& item);

  worker_context& ctx_;
  answers& back_;
  // Rings (head, count) over vectors that double when full.
  std::vector<esme_entry> esme_;
  size_t esme_head_ = 0;
  size_t esme_count_ = 0;
  std::vector<upstream_entry> upstream_;
  size_t upstream_head_ = 0;
  size_t upstream_count_ = 0;
};

}  // namespace smpp::dataplane::router
