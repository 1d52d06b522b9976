// The EAL can be initialised once per process, so every test that needs it runs its body in a
// forked child with a kill deadline. The body returns 0 on success, child_skip to skip, or a
// failing line number; CHILD_CHECK prints the failed condition (stderr is shared with the test).
#pragma once

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "smpp/dataplane/dpdk/eal.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

namespace smpp::dataplane::dpdk::testing {

inline constexpr int child_skip = 77;

#define CHILD_CHECK(cond)                                                                   \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "[child] %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      return 1;                                                                             \
    }                                                                                       \
  } while (0)

// For use inside callbacks that return nothing: reports, and the test's counts then differ.
#define CHILD_CHECK_VOID(cond)                                                              \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "[child] %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      return;                                                                               \
    }                                                                                       \
  } while (0)

// Forks and runs body() in the child; returns a handle to wait on.
template <class Body>
pid_t start_child(Body body) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    int rc = 1;
    try {
      rc = body();
    } catch (...) {
      std::fprintf(stderr, "[child] exception\n");
    }
#if defined(__SANITIZE_ADDRESS__)
    // _exit() skips LeakSanitizer's exit-time check: run it here, so a leak fails the child.
    if (rc == 0 && __lsan_do_recoverable_leak_check() != 0) rc = 1;
#endif
    std::fflush(nullptr);
    _exit(rc);
  }
  return pid;
}

// The child's exit code, or -1 when it had to be killed at the deadline (or died by a signal).
inline int wait_child(pid_t pid, std::chrono::milliseconds deadline = std::chrono::seconds(60)) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  int status = 0;
  while (true) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0) return -1;
    if (std::chrono::steady_clock::now() > until) {
      std::fprintf(stderr, "child %d outlived its deadline: killed\n", static_cast<int>(pid));
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (WIFSIGNALED(status)) {
    std::fprintf(stderr, "child died by signal %d\n", WTERMSIG(status));
    return -1;
  }
  return WEXITSTATUS(status);
}

template <class Body>
int run_child(Body body, std::chrono::milliseconds deadline = std::chrono::seconds(60)) {
  return wait_child(start_child(std::move(body)), deadline);
}

// A counter in memory shared with the children forked after it was made (MAP_SHARED): how the
// children of one test wait for each other without guessing at durations.
class shared_counter {
 public:
  shared_counter()
      : mem_(mmap(nullptr, sizeof(std::atomic<int>), PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0)) {
    if (mem_ != MAP_FAILED) value_ = new (mem_) std::atomic<int>(0);
  }
  ~shared_counter() {
    if (mem_ != MAP_FAILED) munmap(mem_, sizeof(std::atomic<int>));
  }
  shared_counter(const shared_counter&) = delete;
  shared_counter& operator=(const shared_counter&) = delete;

  [[nodiscard]] bool ok() const { return value_ != nullptr; }
  void add() { value_->fetch_add(1); }
  // Waits until the counter reaches n; false when `limit` passed first.
  [[nodiscard]] bool wait_for(int n, std::chrono::milliseconds limit) const {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (value_->load() < n) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

 private:
  void* mem_;
  std::atomic<int>* value_ = nullptr;
};

// A development EAL for tests: no hugepages, no PCI, private memory, a file prefix unique to
// this process and call, so tests can run in parallel.
inline eal_config test_eal_config(std::vector<std::string> vdevs) {
  static int n = 0;
  eal_config c;
  c.cpus = {0};
  c.no_huge = true;
  c.memory_mb = 256;
  c.no_pci = true;
  c.vdevs = std::move(vdevs);
  c.file_prefix = "smpp_test_" + std::to_string(getpid()) + "_" + std::to_string(n++);
  return c;
}

}  // namespace smpp::dataplane::dpdk::testing

#define EXPECT_CHILD_OK(rc)                                          \
  do {                                                               \
    const int child_rc_ = (rc);                                      \
    if (child_rc_ == ::smpp::dataplane::dpdk::testing::child_skip) { \
      GTEST_SKIP() << "child skipped (reason on stderr)";            \
    }                                                                \
    EXPECT_EQ(child_rc_, 0) << "child failed (reason on stderr)";    \
  } while (0)
