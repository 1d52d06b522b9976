// smpp-router's /metrics as the tests read it: the Prometheus text format (0.0.4) parsed
// strictly, every series read through a call that fails the test when the series is absent, and
// a plain HTTP GET over loopback for the tests that run the built router.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace smpp::testing {

class metric_samples {
 public:
  // Every sample line is `SERIES VALUE`, SERIES being name{labels} exactly as rendered, and its
  // family is announced by `# TYPE` before it (a histogram's _bucket, _sum and _count belong to
  // the histogram's family); problems() lists each line that breaks either rule.
  static metric_samples parse(std::string_view text) {
    metric_samples m;
    std::set<std::string> typed;
    std::istringstream in{std::string(text)};
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with("# TYPE ")) {
        typed.insert(line.substr(7, line.find(' ', 7) - 7));
        continue;
      }
      if (line.empty() || line.starts_with("#")) continue;
      const size_t space = line.rfind(' ');
      if (space == std::string::npos) {
        m.problems_.push_back("no value: " + line);
        continue;
      }
      const std::string series = line.substr(0, space);
      std::string family = series.substr(0, series.find('{'));
      for (const std::string_view suffix : {"_bucket", "_sum", "_count"}) {
        const std::string base = family.substr(0, family.size() - suffix.size());
        if (family.ends_with(suffix) && typed.count(base) != 0) family = base;
      }
      if (typed.count(family) == 0) m.problems_.push_back("no TYPE before " + line);
      if (!m.values_.emplace(series, std::strtod(line.c_str() + space + 1, nullptr)).second) {
        m.problems_.push_back("repeated series " + series);
      }
    }
    return m;
  }

  [[nodiscard]] const std::vector<std::string>& problems() const noexcept { return problems_; }
  [[nodiscard]] bool empty() const noexcept { return values_.empty(); }
  [[nodiscard]] bool has(const std::string& series) const { return values_.count(series) != 0; }

  // The value of `series`. An absent series fails the test that asked (ADD_FAILURE, naming it)
  // and reads as NaN, which equals nothing.
  [[nodiscard]] double value(const std::string& series) const {
    const auto it = values_.find(series);
    if (it == values_.end()) {
      ADD_FAILURE() << "/metrics has no series " << series;
      return std::nan("");
    }
    return it->second;
  }
  // A counter or gauge that holds a count; an absent series fails as value() does and reads as
  // the largest count (as flat_json::count does), so the expectation that follows shows it.
  [[nodiscard]] uint64_t count(const std::string& series) const {
    const double v = value(series);
    return std::isnan(v) || v < 0 ? ~uint64_t{0} : static_cast<uint64_t>(v);
  }
  // Every series that starts with `prefix` and its value, e.g. all statuses of one tenant's
  // smpp_tenant_rejected_total.
  [[nodiscard]] std::map<std::string, double> starting_with(const std::string& prefix) const {
    std::map<std::string, double> out;
    for (auto it = values_.lower_bound(prefix);
         it != values_.end() && it->first.starts_with(prefix); ++it) {
      out.insert(*it);
    }
    return out;
  }

 private:
  std::map<std::string, double> values_;
  std::vector<std::string> problems_;
};

// GET http://127.0.0.1:port/metrics, one request on its own connection; the body of a 200
// answer, or nullopt (no connection, another status, or nothing within 10 s).
inline std::optional<std::string> get_metrics_text(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string request = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                                "\r\nConnection: close\r\n\r\n";
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buf[16384];
      for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) {
        answer.append(buf, static_cast<size_t>(n));
      }
    }
  }
  close(fd);
  const size_t body = answer.find("\r\n\r\n");
  if (!answer.starts_with("HTTP/1.1 200 ") || body == std::string::npos) return std::nullopt;
  return answer.substr(body + 4);
}

// The router's /metrics on the admin port, parsed; a failed request or a malformed exposition
// fails the test that asked (and the samples are empty, so every read fails too).
inline metric_samples scrape_metrics(uint16_t admin_port) {
  const std::optional<std::string> text = get_metrics_text(admin_port);
  if (!text) {
    ADD_FAILURE() << "no answer from http://127.0.0.1:" << admin_port << "/metrics";
    return {};
  }
  metric_samples m = metric_samples::parse(*text);
  for (const std::string& p : m.problems()) ADD_FAILURE() << "/metrics: " << p;
  return m;
}

}  // namespace smpp::testing
