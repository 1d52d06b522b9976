// A network namespace that lives as long as a test, and entering one by name.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <string_view>

namespace smpp::testing {

// `ip netns add <prefix><pid>`; removed by the destructor, so even when the test fails. ok() is
// false where the kernel or iproute2 refused (the test then skips, loudly).
class netns {
 public:
  explicit netns(std::string_view prefix) : name_(std::string(prefix) + std::to_string(getpid())) {
    ok_ = std::system(("ip netns add " + name_ + " 2>/dev/null").c_str()) == 0;
  }
  ~netns() {
    if (ok_) (void)std::system(("ip netns del " + name_).c_str());
  }
  netns(const netns&) = delete;
  netns& operator=(const netns&) = delete;
  [[nodiscard]] bool ok() const noexcept { return ok_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  std::string name_;
  bool ok_ = false;
};

// Moves the calling thread into the namespace `ip netns add name` made; false when it cannot.
inline bool enter_netns(const std::string& name) {
  const int fd = open(("/var/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool entered = setns(fd, CLONE_NEWNET) == 0;
  close(fd);
  return entered;
}

}  // namespace smpp::testing
