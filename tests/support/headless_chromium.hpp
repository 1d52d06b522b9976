// Headless Chromium driven through the DevTools protocol over its pipe transport
// (--remote-debugging-pipe: commands written to the browser's fd 3, answers and events read from
// its fd 4, each message JSON ending in a NUL octet), for tests of pages as a person sees them.
// Every call is bounded by a deadline; the browser runs in a process group of its own that the
// destructor kills.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace smpp::testing {

class headless_chromium {
 public:
  using clock = std::chrono::steady_clock;

  headless_chromium() = default;
  headless_chromium(const headless_chromium&) = delete;
  headless_chromium& operator=(const headless_chromium&) = delete;
  ~headless_chromium() { stop(); }

  // Starts `program` headless with a profile in `profile_dir`, a window of width x height, and
  // one page attached; false with `error` set when the browser does not answer within `limit`.
  bool start(const std::string& program, const std::string& profile_dir, int width, int height,
             std::chrono::milliseconds limit, std::string& error) {
    int to_browser[2];
    int from_browser[2];
    if (pipe2(to_browser, O_CLOEXEC) != 0 || pipe2(from_browser, O_CLOEXEC) != 0) {
      error = "pipe2 failed";
      return false;
    }
    std::vector<std::string> args = {
        program,
        "--headless",
        "--no-sandbox",  // tests run as root in containers
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-dev-shm-usage",
        "--remote-debugging-pipe",
        "--user-data-dir=" + profile_dir,
        "--window-size=" + std::to_string(width) + "," + std::to_string(height),
        "about:blank"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      dup2(to_browser[0], 3);  // dup2 clears O_CLOEXEC on the copies
      dup2(from_browser[1], 4);
      const int devnull = open("/dev/null", O_RDWR);
      if (devnull >= 0) {
        dup2(devnull, STDIN_FILENO);
        dup2(devnull, STDOUT_FILENO);
        dup2(devnull, STDERR_FILENO);
      }
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(to_browser[0]);
    close(from_browser[1]);
    write_fd_ = to_browser[1];
    read_fd_ = from_browser[0];
    if (pid_ < 0) {
      error = "fork failed";
      return false;
    }
    setpgid(pid_, pid_);
    const auto deadline = clock::now() + limit;
    nlohmann::json target = call("Target.createTarget", {{"url", "about:blank"}}, deadline, "");
    if (!target.contains("targetId")) {
      error = "the browser did not open a page: " + target.dump();
      return false;
    }
    nlohmann::json attached =
        call("Target.attachToTarget", {{"targetId", target["targetId"]}, {"flatten", true}},
             deadline, "");
    if (!attached.contains("sessionId")) {
      error = "cannot attach to the page: " + attached.dump();
      return false;
    }
    session_ = attached["sessionId"].get<std::string>();
    for (const char* domain : {"Page.enable", "Runtime.enable", "Network.enable"}) {
      if (call(domain, nlohmann::json::object(), deadline).contains("error")) {
        error = std::string(domain) + " failed";
        return false;
      }
    }
    return true;
  }

  // A command to the page's session: its "result", or {"error": ...} (also when no answer came
  // before `deadline`).
  nlohmann::json call(const std::string& method, const nlohmann::json& params,
                      clock::time_point deadline) {
    return call(method, params, deadline, session_);
  }

  // The value of a JavaScript expression in the page (promises awaited), or null with
  // `exception` set when it threw or timed out.
  nlohmann::json evaluate(const std::string& expression, clock::time_point deadline,
                          std::string* exception = nullptr) {
    const nlohmann::json r = call(
        "Runtime.evaluate",
        {{"expression", expression}, {"returnByValue", true}, {"awaitPromise", true}}, deadline);
    if (r.contains("exceptionDetails") || r.contains("error") || !r.contains("result")) {
      last_error_ = r.dump();
      if (exception != nullptr) *exception = last_error_;
      return nullptr;
    }
    return r["result"].value("value", nlohmann::json());
  }

  // Evaluates `expression` every `every` until it is true or `deadline` passes; its last value.
  nlohmann::json wait_until(const std::string& expression, clock::time_point deadline,
                            std::chrono::milliseconds every = std::chrono::milliseconds(100)) {
    nlohmann::json v;
    while (clock::now() < deadline) {
      v = evaluate(expression, deadline);
      if (v.is_boolean() && v.get<bool>()) return v;
      pump(every);
    }
    return v;
  }

  // Why the last evaluate() that failed did (the protocol's answer), for a test's message.
  [[nodiscard]] const std::string& last_error() const { return last_error_; }

  // Events the browser sent so far (method and params), oldest first; at most max_events kept.
  [[nodiscard]] const std::vector<nlohmann::json>& events() const { return events_; }
  static constexpr size_t max_events = 10000;

  void stop() {
    if (write_fd_ >= 0) close(write_fd_);
    if (read_fd_ >= 0) close(read_fd_);
    write_fd_ = read_fd_ = -1;
    if (pid_ > 0) {
      kill(-pid_, SIGKILL);  // the browser and the helper processes it started
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

 private:
  nlohmann::json call(const std::string& method, const nlohmann::json& params,
                      clock::time_point deadline, const std::string& session) {
    const uint64_t id = ++next_id_;
    nlohmann::json msg = {{"id", id}, {"method", method}, {"params", params}};
    if (!session.empty()) msg["sessionId"] = session;
    std::string text = msg.dump();
    text.push_back('\0');
    size_t off = 0;
    while (off < text.size()) {
      const ssize_t n = ::write(write_fd_, text.data() + off, text.size() - off);
      if (n <= 0) return {{"error", "cannot write to the browser"}};
      off += static_cast<size_t>(n);
    }
    while (clock::now() < deadline) {
      for (size_t i = 0; i < answers_.size(); ++i) {
        if (answers_[i].value("id", uint64_t{0}) != id) continue;
        nlohmann::json a = std::move(answers_[i]);
        answers_.erase(answers_.begin() + static_cast<std::ptrdiff_t>(i));
        if (a.contains("error")) return {{"error", a["error"]}};
        return a.value("result", nlohmann::json::object());
      }
      if (!pump(std::chrono::milliseconds(50))) return {{"error", "the browser closed its pipe"}};
    }
    return {{"error", "no answer to " + method + " in time"}};
  }

  // Reads what arrived within `wait` and files each message as an answer or an event; false
  // when the browser closed the pipe.
  bool pump(std::chrono::milliseconds wait) {
    pollfd p{read_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return true;
    char buf[65536];
    const ssize_t n = ::read(read_fd_, buf, sizeof buf);
    if (n <= 0) return false;
    in_.append(buf, static_cast<size_t>(n));
    for (size_t end; (end = in_.find('\0')) != std::string::npos;) {
      nlohmann::json m = nlohmann::json::parse(in_.substr(0, end), nullptr, false);
      in_.erase(0, end + 1);
      if (m.is_discarded()) continue;
      if (m.contains("id")) {
        answers_.push_back(std::move(m));
      } else if (events_.size() < max_events) {
        events_.push_back({{"method", m.value("method", "")}, {"params", m["params"]}});
      }
    }
    return true;
  }

  pid_t pid_ = -1;
  int write_fd_ = -1;
  int read_fd_ = -1;
  uint64_t next_id_ = 0;
  std::string session_;
  std::string in_;
  std::string last_error_;
  std::vector<nlohmann::json> answers_;
  std::vector<nlohmann::json> events_;
};

}  // namespace smpp::testing
