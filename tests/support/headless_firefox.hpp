// Headless Firefox driven through Marionette, the protocol geckodriver speaks to it: a TCP
// connection on loopback (the port Firefox picks and logs), each message "LENGTH:JSON", a command
// [0, id, name, params] answered by [1, id, error, result]. Started with a fresh profile whose
// user.js asks for Marionette on a port of the kernel's choosing (read from the browser's
// output, which is kept as its log); every call is bounded by a deadline; the browser runs in a
// process group of its own that the destructor kills.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace smpp::testing {

class headless_firefox {
 public:
  using clock = std::chrono::steady_clock;

  headless_firefox() = default;
  headless_firefox(const headless_firefox&) = delete;
  headless_firefox& operator=(const headless_firefox&) = delete;
  ~headless_firefox() { stop(); }

  // Starts `program` headless with a new profile in `profile_dir` (created) and a window of
  // width x height, and opens a WebDriver session; false with `error` set when it does not
  // answer by `deadline`.
  bool start(const std::string& program, const std::string& profile_dir, int width, int height,
             clock::time_point deadline, std::string& error) {
    std::ofstream(profile_dir + "/user.js")
        << "user_pref(\"marionette.port\", 0);\n"  // the kernel's choice, logged on stderr
           "user_pref(\"browser.shell.checkDefaultBrowser\", false);\n"
           "user_pref(\"datareporting.policy.dataSubmissionEnabled\", false);\n"
           "user_pref(\"toolkit.telemetry.reportingpolicy.firstRun\", false);\n"
           "user_pref(\"browser.startup.homepage_override.mstone\", \"ignore\");\n"
           "user_pref(\"app.update.disabledForTesting\", true);\n";
    int err_pipe[2];
    if (pipe2(err_pipe, O_CLOEXEC) != 0) {
      error = "pipe2 failed";
      return false;
    }
    std::vector<std::string> args = {program,
                                     "--headless",
                                     "--marionette",
                                     "--no-remote",
                                     "--profile",
                                     profile_dir,
                                     "--width=" + std::to_string(width),
                                     "--height=" + std::to_string(height),
                                     "about:blank"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      dup2(err_pipe[1], STDERR_FILENO);
      dup2(err_pipe[1], STDOUT_FILENO);  // Marionette logs its port on stdout
      const int devnull = open("/dev/null", O_RDONLY);
      if (devnull >= 0) dup2(devnull, STDIN_FILENO);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(err_pipe[1]);
    err_fd_ = err_pipe[0];
    if (pid_ < 0) {
      error = "fork failed";
      return false;
    }
    setpgid(pid_, pid_);
    // "... Marionette INFO Listening on port N"
    constexpr std::string_view listening = "Listening on port ";
    size_t at;
    while ((at = log_.find(listening)) == std::string::npos ||
           log_.find('\n', at) == std::string::npos) {
      if (clock::now() >= deadline || !read_log(deadline)) {
        error = "Firefox did not start Marionette; its log:\n" + log_;
        return false;
      }
    }
    const int port = std::atoi(log_.c_str() + at + listening.size());
    sock_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (sock_ < 0 || connect(sock_, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
      error = "cannot connect to Marionette on port " + std::to_string(port);
      return false;
    }
    const nlohmann::json hello = receive(deadline);
    if (hello.value("marionetteProtocol", 0) != 3) {
      error = "unexpected Marionette greeting: " + hello.dump();
      return false;
    }
    const nlohmann::json session = call("WebDriver:NewSession", {{"capabilities", {}}}, deadline);
    if (session.contains("error")) {
      error = "no WebDriver session: " + session.dump();
      return false;
    }
    return true;
  }

  // A command's result, or {"error": ...} (also when no answer came before `deadline`).
  nlohmann::json call(const std::string& name, const nlohmann::json& params,
                      clock::time_point deadline) {
    const uint64_t id = ++next_id_;
    const std::string body = nlohmann::json::array({0, id, name, params}).dump();
    const std::string msg = std::to_string(body.size()) + ":" + body;
    for (size_t off = 0; off < msg.size();) {
      const ssize_t n = ::send(sock_, msg.data() + off, msg.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return {{"error", "cannot write to Marionette"}};
      off += static_cast<size_t>(n);
    }
    for (;;) {
      const nlohmann::json a = receive(deadline);
      if (a.contains("error") && a.is_object()) return a;
      if (!a.is_array() || a.size() != 4 || a[1] != id) continue;  // an answer to an older call
      if (!a[2].is_null()) return {{"error", a[2]}};
      return a[3];
    }
  }

  // The value a script returns (`return ...;` in its body), or null with last_error() set.
  nlohmann::json execute(const std::string& script, clock::time_point deadline) {
    const nlohmann::json r =
        call("WebDriver:ExecuteScript", {{"script", script}, {"args", nlohmann::json::array()}},
             deadline);
    if (r.contains("error") || !r.contains("value")) {
      last_error_ = r.dump();
      return nullptr;
    }
    return r["value"];
  }

  // Runs `script` until it returns true or `deadline` passes (the wait itself is in the page,
  // on its own timer, so the protocol is not polled); its last value.
  nlohmann::json wait_until(const std::string& script, clock::time_point deadline) {
    nlohmann::json v;
    while (clock::now() < deadline) {
      v = execute(
          "return new Promise((done) => { const t0 = Date.now(); "
          "const test = () => { let v; try { v = (() => { " +
              script +
              " })(); } catch (e) { v = String(e); } "
              "if (v === true || Date.now() - t0 > 1000) done(v); "
              "else setTimeout(test, 50); }; test(); });",
          deadline);
      if (v.is_boolean() && v.get<bool>()) return v;
    }
    return v;
  }

  [[nodiscard]] const std::string& last_error() const { return last_error_; }
  [[nodiscard]] const std::string& log() const { return log_; }

  void stop() {
    if (sock_ >= 0) close(sock_);
    if (err_fd_ >= 0) close(err_fd_);
    sock_ = err_fd_ = -1;
    if (pid_ > 0) {
      kill(-pid_, SIGKILL);  // the browser and its content processes
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

 private:
  // Appends what the browser logged within the time left; false when it closed its stderr.
  bool read_log(clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    pollfd p{err_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0))) <= 0) return true;
    char buf[4096];
    const ssize_t n = ::read(err_fd_, buf, sizeof buf);
    if (n <= 0) return false;
    if (log_.size() < max_log) log_.append(buf, static_cast<size_t>(n));
    return true;
  }

  // One message "LENGTH:JSON", or {"error": ...}.
  nlohmann::json receive(clock::time_point deadline) {
    for (;;) {
      const size_t colon = in_.find(':');
      if (colon != std::string::npos) {
        const size_t len = std::strtoull(in_.c_str(), nullptr, 10);
        if (in_.size() >= colon + 1 + len) {
          nlohmann::json m = nlohmann::json::parse(in_.substr(colon + 1, len), nullptr, false);
          in_.erase(0, colon + 1 + len);
          return m.is_discarded() ? nlohmann::json{{"error", "malformed message"}} : m;
        }
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
      if (left.count() <= 0) return {{"error", "no answer from Marionette in time"}};
      // The browser's log is read meanwhile: a full pipe would stop it.
      pollfd p[2] = {{sock_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
      if (::poll(p, 2, static_cast<int>(left.count())) <= 0) continue;
      if (p[1].revents != 0 && !read_log(clock::now())) {
        close(err_fd_);
        err_fd_ = -1;  // poll() skips a negative fd
      }
      if (p[0].revents == 0) continue;
      char buf[65536];
      const ssize_t n = ::recv(sock_, buf, sizeof buf, 0);
      if (n <= 0) return {{"error", "Marionette closed the connection"}};
      in_.append(buf, static_cast<size_t>(n));
    }
  }

  static constexpr size_t max_log = 1 << 20;
  pid_t pid_ = -1;
  int err_fd_ = -1;
  int sock_ = -1;
  uint64_t next_id_ = 0;
  std::string in_;
  std::string log_;
  std::string last_error_;
};

}  // namespace smpp::testing
