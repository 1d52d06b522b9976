// esme-load --dlr: matches delivery receipts to accepted messages by message id and times each
// matched receipt from its submit_sm. The table is one open-addressing array mapped and touched
// at start for the tracking bound (huge pages where the kernel gives them: each id lands on a
// random slot, and a TLB miss per message would cap the load), so it never grows while the load
// runs: a rehash of millions of ids, or fresh pages faulted in, would stall the poll loop and
// show in every latency figure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace smpp::esme_load {

class receipt_tracker {
 public:
  enum class outcome : uint8_t {
    waiting,    // noted; its other half (response or receipt) has not come yet
    matched,    // accepted and receipted now: latency_ns is set
    duplicate,  // a further receipt for a message that had one
    untracked,  // the id is new and the tracking bound is reached: not noted
  };

  // max_ids: message ids tracked at most (16 octets per slot, two slots per id).
  explicit receipt_tracker(size_t max_ids);
  ~receipt_tracker();
  receipt_tracker(const receipt_tracker&) = delete;
  receipt_tracker& operator=(const receipt_tracker&) = delete;

  // A submit_sm_resp ESME_ROK for `id`, whose submit_sm left at sent_ns. When its receipt came
  // first (at another session, or overtaking the response), the match is now: latency_ns is the
  // receipt's arrival minus sent_ns.
  [[nodiscard]] outcome accepted(std::string_view id, uint64_t sent_ns, uint64_t& latency_ns);
  // A receipt for `id` arrived at now_ns.
  [[nodiscard]] outcome receipt(std::string_view id, uint64_t now_ns, uint64_t& latency_ns);

  // Receipts noted whose id was never seen accepted (so far).
  [[nodiscard]] uint64_t receipted_only() const noexcept { return receipted_only_; }
  [[nodiscard]] size_t size() const noexcept { return size_; }
  [[nodiscard]] size_t max_ids() const noexcept { return max_ids_; }

 private:
  // value: the time noted (submit_sm sent, or receipt arrived) << 2 | seen flags.
  struct slot {
    uint64_t key;  // the id's hash; 0 = free
    uint64_t value;
  };
  static constexpr uint64_t seen_accepted = 1;
  static constexpr uint64_t seen_receipt = 2;

  // The slot of `id`: its own, or the free one it would take.
  slot& find(std::string_view id) noexcept;

  slot* slots_ = nullptr;  // mmap: zero pages
  size_t mapped_octets_ = 0;
  size_t capacity_ = 0;
  size_t max_ids_ = 0;
  size_t size_ = 0;
  uint64_t receipted_only_ = 0;
};

}  // namespace smpp::esme_load
