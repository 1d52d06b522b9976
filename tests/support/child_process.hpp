// Runs the project's built tools as child processes for end-to-end tests, and reads the flat
// JSON they report. Every child has a kill deadline; output is read through non-blocking pipes.
// The binaries are found through SMPP_BIN_DIR (set by ctest) or, run by hand, the build's own
// bin directory (SMPP_BIN_DIR_DEFAULT, defined for every test by smpp_add_test).
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace smpp::testing {

using clock_type = std::chrono::steady_clock;

// Every child process is killed when it outlives this; the tests' own waits are shorter.
inline constexpr std::chrono::seconds child_deadline{120};

inline std::string bin_dir() {
  if (const char* env = std::getenv("SMPP_BIN_DIR"); env != nullptr && *env != '\0') return env;
  return SMPP_BIN_DIR_DEFAULT;
}

// ---- a strict JSON reader that flattens objects to "a.b" -> value -------------------------

class flat_json {
 public:
  // Parses one JSON document (RFC 8259) and nothing but whitespace around it.
  static std::optional<flat_json> parse(std::string_view text) {
    flat_json j;
    j.s_ = text;
    j.ws();
    if (!j.value("", 0)) return std::nullopt;
    j.ws();
    if (j.i_ != j.s_.size()) return std::nullopt;
    j.s_ = {};
    return j;
  }
  [[nodiscard]] bool has(const std::string& key) const { return values_.count(key) != 0; }
  // A number (missing keys and non-numbers read as -1, so a failed expectation shows it).
  [[nodiscard]] double num(const std::string& key) const {
    const auto it = values_.find(key);
    if (it == values_.end() || !it->second.is_number) return -1;
    return std::strtod(it->second.text.c_str(), nullptr);
  }
  // A string ("<missing>" for a missing key or a number, so a failed expectation shows it).
  [[nodiscard]] std::string str(const std::string& key) const {
    const auto it = values_.find(key);
    return it == values_.end() || it->second.is_number ? "<missing>" : it->second.text;
  }
  [[nodiscard]] uint64_t count(const std::string& key) const {
    const double v = num(key);
    return v < 0 ? ~uint64_t{0} : static_cast<uint64_t>(v);
  }
  // Keys directly under an object, e.g. every status name under "errors".
  [[nodiscard]] std::vector<std::string> keys_under(const std::string& prefix) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : values_) {
      if (k.size() > prefix.size() + 1 && k.compare(0, prefix.size() + 1, prefix + ".") == 0) {
        out.push_back(k.substr(prefix.size() + 1));
      }
    }
    return out;
  }

 private:
  struct leaf {
    bool is_number = false;
    std::string text;
  };

  void ws() {
    while (i_ < s_.size() &&
           (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) {
      ++i_;
    }
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }
  bool string(std::string& out) {
    if (i_ >= s_.size() || s_[i_] != '"') return false;
    ++i_;
    while (i_ < s_.size() && s_[i_] != '"') {
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c < 0x20) return false;
      if (c == '\\') {
        if (++i_ >= s_.size()) return false;
        const char e = s_[i_];
        if (e == 'u') {
          if (i_ + 4 >= s_.size()) return false;
          for (size_t k = 1; k <= 4; ++k) {
            if (std::isxdigit(static_cast<unsigned char>(s_[i_ + k])) == 0) return false;
          }
          out += '?';  // the tests never look inside escaped characters
          i_ += 5;
          continue;
        }
        if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) return false;
        out += e;
        ++i_;
        continue;
      }
      out += static_cast<char>(c);
      ++i_;
    }
    if (i_ >= s_.size()) return false;
    ++i_;
    return true;
  }
  bool number(std::string& out) {
    const size_t start = i_;
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    auto digits = [this] {
      const size_t from = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
      return i_ - from;
    };
    const size_t int_start = i_;
    const size_t n = digits();
    if (n == 0 || (n > 1 && s_[int_start] == '0')) return false;
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (digits() == 0) return false;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (digits() == 0) return false;
    }
    out = std::string(s_.substr(start, i_ - start));
    return true;
  }
  bool value(const std::string& path, int depth) {
    if (depth > 16 || i_ >= s_.size()) return false;
    const char c = s_[i_];
    if (c == '{') {
      ++i_;
      ws();
      if (i_ < s_.size() && s_[i_] == '}') {
        ++i_;
        return true;
      }
      while (true) {
        ws();
        std::string key;
        if (!string(key)) return false;
        ws();
        if (i_ >= s_.size() || s_[i_] != ':') return false;
        ++i_;
        ws();
        const std::string child = path.empty() ? key : path + "." + key;
        if (values_.count(child) != 0) return false;  // duplicate key
        if (!value(child, depth + 1)) return false;
        ws();
        if (i_ < s_.size() && s_[i_] == ',') {
          ++i_;
          continue;
        }
        if (i_ < s_.size() && s_[i_] == '}') {
          ++i_;
          return true;
        }
        return false;
      }
    }
    if (c == '[') {
      ++i_;
      ws();
      if (i_ < s_.size() && s_[i_] == ']') {
        ++i_;
        return true;
      }
      for (size_t k = 0;; ++k) {
        ws();
        if (!value(path + "." + std::to_string(k), depth + 1)) return false;
        ws();
        if (i_ < s_.size() && s_[i_] == ',') {
          ++i_;
          continue;
        }
        if (i_ < s_.size() && s_[i_] == ']') {
          ++i_;
          return true;
        }
        return false;
      }
    }
    leaf l;
    if (c == '"') {
      if (!string(l.text)) return false;
    } else if (c == 't' || c == 'f' || c == 'n') {
      if (!literal("true") && !literal("false") && !literal("null")) return false;
    } else {
      if (!number(l.text)) return false;
      l.is_number = true;
    }
    values_[path] = l;
    return true;
  }

  std::string_view s_;
  size_t i_ = 0;
  std::map<std::string, leaf> values_;
};

// ---- child processes --------------------------------------------------------------------------

struct exit_result {
  int code = -1;  // exit status, or -1 when killed / timed out
  bool timed_out = false;
  int signal = 0;  // the signal that ended it (0: it exited, or it was killed at the time-out)
  std::string out;
  std::string err;
};

class child_process {
 public:
  child_process() = default;
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) close(out_fd_);
    if (err_fd_ >= 0) close(err_fd_);
  }

  // Starts `program` from bin_dir() (an absolute path as it is) with `args`, stdin from
  // /dev/null. Once the previous child has been waited for, the same object can start another.
  bool start(const std::string& program, const std::vector<std::string>& args) {
    if (pid_ > 0) return false;
    for (int* fd : {&out_fd_, &err_fd_}) {
      if (*fd >= 0) close(*fd);
      *fd = -1;
    }
    out_.clear();
    err_.clear();
    int out_pipe[2];
    int err_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) != 0) return false;
    if (pipe2(err_pipe, O_CLOEXEC) != 0) {
      close(out_pipe[0]);
      close(out_pipe[1]);
      return false;
    }
    std::vector<std::string> argv_storage;
    argv_storage.push_back(program.starts_with('/') ? program : bin_dir() + "/" + program);
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out_pipe[1], STDOUT_FILENO);
      dup2(err_pipe[1], STDERR_FILENO);
      const int devnull = open("/dev/null", O_RDONLY);
      if (devnull >= 0) dup2(devnull, STDIN_FILENO);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out_pipe[1]);
    close(err_pipe[1]);
    out_fd_ = out_pipe[0];
    err_fd_ = err_pipe[0];
    fcntl(out_fd_, F_SETFL, O_NONBLOCK);
    fcntl(err_fd_, F_SETFL, O_NONBLOCK);
    started_ = clock_type::now();
    return pid_ > 0;
  }

  [[nodiscard]] pid_t pid() const { return pid_; }
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

  // Reads what the child wrote, waiting up to `wait` for something to arrive.
  void pump(std::chrono::milliseconds wait) {
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(wait.count())) <= 0) return;
    drain(out_fd_, out_);
    drain(err_fd_, err_);
  }

  // Waits until `pred(out, err)` holds or `limit` passes.
  template <typename Pred>
  bool wait_for_output(Pred pred, std::chrono::milliseconds limit) {
    const auto until = clock_type::now() + limit;
    while (!pred(out_, err_)) {
      if (clock_type::now() >= until || exited()) {
        pump(std::chrono::milliseconds{0});
        return pred(out_, err_);
      }
      pump(std::chrono::milliseconds{50});
    }
    return true;
  }

  void signal(int sig) const {
    if (pid_ > 0) kill(pid_, sig);
  }

  // Waits for the child to exit, reading its output; kills it after `limit`.
  exit_result wait(std::chrono::milliseconds limit) {
    exit_result r;
    const auto until = std::min(clock_type::now() + limit, started_ + child_deadline);
    int status = 0;
    while (true) {
      pump(std::chrono::milliseconds{20});
      const pid_t w = waitpid(pid_, &status, WNOHANG);
      if (w == pid_) break;
      if (clock_type::now() >= until) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        r.timed_out = true;
        break;
      }
    }
    pid_ = -1;
    drain(out_fd_, out_);  // whatever is left after the exit
    drain(err_fd_, err_);
    r.code = !r.timed_out && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.signal = !r.timed_out && WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    r.out = out_;
    r.err = err_;
    return r;
  }

 private:
  // Exited (or killed), without reaping it: waitid() takes WNOWAIT, waitpid() does not.
  bool exited() const {
    if (pid_ <= 0) return false;
    siginfo_t info{};
    return waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           info.si_pid == pid_;
  }
  static void drain(int fd, std::string& into) {
    char buf[4096];
    while (true) {
      const ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) return;
      into.append(buf, static_cast<size_t>(n));
    }
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
  clock_type::time_point started_;
};

// Runs `program` to completion (killed after `limit`).
inline exit_result run_tool(const std::string& program, const std::vector<std::string>& args,
                            std::chrono::milliseconds limit = std::chrono::seconds{60}) {
  child_process p;
  if (!p.start(program, args)) return {};
  return p.wait(limit);
}

// The last line of some output, without its newline.
inline std::string last_line(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  const size_t start = text.find_last_of('\n');
  return start == std::string::npos ? text : text.substr(start + 1);
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A new directory `parent``name`XXXXXX for one test's files, as a path ending in '/'; `parent`
// itself (which ends in '/', as ::testing::TempDir() does) when it cannot be made.
inline std::string make_temp_dir(const std::string& parent, const std::string& name) {
  std::string tmpl = parent + name + "XXXXXX";
  return mkdtemp(tmpl.data()) != nullptr ? tmpl + "/" : parent;
}

// Starts smsc-sim listening on 127.0.0.1:`port` (0: a port from the kernel) with `args`; returns
// the port it says it listens on, or 0 when it did not come up within 10 s.
inline uint16_t start_smsc_sim(child_process& sim, uint16_t port,
                               std::vector<std::string> args = {}) {
  args.insert(args.begin(), {"--listen", "127.0.0.1:" + std::to_string(port)});
  if (!sim.start("smsc-sim", args)) return 0;
  constexpr std::string_view marker = "listening on 127.0.0.1:";
  const bool up = sim.wait_for_output(
      [&](const std::string&, const std::string& err) {
        const size_t at = err.find(marker);
        return at != std::string::npos && err.find('\n', at) != std::string::npos;
      },
      std::chrono::seconds{10});
  if (!up) return 0;
  const size_t at = sim.err().find(marker) + marker.size();
  return static_cast<uint16_t>(std::strtoul(sim.err().c_str() + at, nullptr, 10));
}

// smsc-sim's counters: SIGUSR1 makes it print them as one JSON line; nullopt when none came
// within 10 s.
inline std::optional<flat_json> smsc_sim_counters(child_process& sim) {
  const auto lines = [](const std::string& out) {
    return std::count(out.begin(), out.end(), '\n');
  };
  const auto before = lines(sim.out());
  sim.signal(SIGUSR1);
  if (!sim.wait_for_output(
          [&](const std::string& out, const std::string&) { return lines(out) > before; },
          std::chrono::seconds{10})) {
    return std::nullopt;
  }
  return flat_json::parse(last_line(sim.out()));
}

// Asks smsc-sim for its counters until `done(counters)` holds or `limit` passes; returns the
// last counters read (check them: the limit may have passed).
template <typename Done>
std::optional<flat_json> wait_for_smsc_sim(child_process& sim, Done done,
                                           std::chrono::milliseconds limit) {
  std::optional<flat_json> last;
  for (const auto until = clock_type::now() + limit; clock_type::now() < until;) {
    last = smsc_sim_counters(sim);
    if (last && done(*last)) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  return last;
}

// A port nothing listens on: bound by the kernel, then released.
inline uint16_t unused_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

}  // namespace smpp::testing
