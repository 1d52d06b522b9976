// The input language of the router_session fuzz target: a script of network events against one
// router worker. Shared by the target (router_session_fuzz.cpp) and the seed generator
// (make_router_seed_corpus.cpp), so seeds stay in step with what the target reads.
//
// Each step is an opcode octet (taken modulo router_op::count) and its operands. Octets past the
// end of the input read as 0, so every input is a valid script.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

namespace smpp::fuzz {

enum class router_op : uint8_t {
  accept,          // [address]: an ESME connects (127.0.0.1, or 10.1.2.3 when odd)
  esme_bytes,      // [session] [length hi] [length lo] octets: raw octets from an ESME
  upstream_bytes,  // [link] [length hi] [length lo] octets: raw octets from an SMSC
  connect_done,    // [refuse]: the oldest connect the router started completes (refused if odd)
  advance,         // [n]: the clock moves (n + 1) * 4 ms
  esme_close,      // [session]: the ESME closes its connection
  upstream_close,  // [link]: the SMSC closes its connection
  esme_bind,       // [session] [who] [seq]: a well-formed bind (system_id, password, bind type)
  esme_submit,     // [session] [destination] [registered_delivery] [seq]: a well-formed submit_sm
  esme_query,      // [session] [message id] [which] [seq]: query_sm / cancel_sm / replace_sm
  esme_answer,     // [session] [status]: answers every request the router sent this ESME
  smsc_answer,     // [link] [status]: answers every request the router sent this SMSC
  smsc_receipt,    // [link] [message id] [seq]: a delivery receipt for an id the SMSC issued
  smsc_mo,         // [link] [destination] [seq]: a mobile-originated deliver_sm
  count
};

// Operand octets of each step. The target reads them all before the step runs, so a step that
// finds nothing to act on leaves the rest of the script in step.
inline constexpr std::array<uint8_t, static_cast<size_t>(router_op::count)> router_op_operands = {
    1, 3, 3, 1, 1, 1, 1, 3, 4, 4, 2, 2, 3, 3};

// Builds scripts for seeds.
class router_script {
 public:
  router_script& op(router_op o, std::initializer_list<uint8_t> operands) {
    if (operands.size() != router_op_operands[static_cast<size_t>(o)]) std::abort();
    out_.push_back(static_cast<std::byte>(o));
    for (uint8_t b : operands) out_.push_back(static_cast<std::byte>(b));
    return *this;
  }
  router_script& bytes(router_op o, uint8_t who, std::span<const std::byte> octets) {
    op(o, {who, static_cast<uint8_t>(octets.size() >> 8), static_cast<uint8_t>(octets.size())});
    out_.insert(out_.end(), octets.begin(), octets.end());
    return *this;
  }
  [[nodiscard]] const std::vector<std::byte>& octets() const noexcept { return out_; }

 private:
  std::vector<std::byte> out_;
};

}  // namespace smpp::fuzz
