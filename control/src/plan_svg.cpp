#include "smpp/control/plan_svg.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace smpp::control {
namespace {

using dataplane::cpu_info;
using dataplane::nic_locality;
using dataplane::placement;

// Geometry in SVG user units (pixels).
constexpr int kPuW = 132, kPuH = 34, kPuGap = 4;
constexpr int kCoreHead = 20, kCoreGap = 8, kCoresPerRow = 8;
constexpr int kBoxHead = 24, kPad = 8, kNicH = 40;
constexpr int kTitleH = 64;

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&apos;";
        break;
      default:
        // XML 1.0 allows no control characters but tab, LF and CR.
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t') o += c;
    }
  }
  return o;
}

struct core_group {
  uint32_t core = 0;
  int l3 = -1;
  std::vector<cpu_info> cpus;
};
struct numa_group {
  int node = -1;
  std::vector<core_group> cores;
  std::vector<const nic_locality*> nics;
};
struct package_group {
  uint32_t package = 0;
  std::vector<numa_group> nodes;
};

template <class V, class P>
auto& find_or_add(V& v, P pred) {
  auto it = std::find_if(v.begin(), v.end(), pred);
  if (it != v.end()) return *it;
  v.emplace_back();
  return v.back();
}

class drawer {
 public:
  explicit drawer(const placement& p) : p_(p) {
    for (size_t i = 0; i < p.workers.size(); ++i) worker_of_[p.workers[i].where.cpu] = i;
    for (const auto& c : p.machine) {
      auto& pkg =
          find_or_add(pkgs_, [&](const package_group& g) { return g.package == c.package; });
      pkg.package = c.package;
      auto& node =
          find_or_add(pkg.nodes, [&](const numa_group& g) { return g.node == c.numa_node; });
      node.node = c.numa_node;
      auto& core = find_or_add(node.cores, [&](const core_group& g) { return g.core == c.core; });
      core.core = c.core;
      core.l3 = c.l3;
      core.cpus.push_back(c);
    }
    for (const auto& nic : p.nics) {
      bool placed = false;
      for (auto& pkg : pkgs_) {
        for (auto& node : pkg.nodes) {
          if (!placed && nic.numa_node >= 0 && node.node == nic.numa_node) {
            node.nics.push_back(&nic);
            placed = true;
          }
        }
      }
      if (!placed) unplaced_nics_.push_back(&nic);
    }
  }

  std::string draw(const std::string& title) {
    int width = 0, height = kTitleH;
    for (const auto& pkg : pkgs_) {
      width = std::max(width, package_w(pkg));
      height += package_h(pkg) + kPad;
    }
    height += static_cast<int>(unplaced_nics_.size()) * (kNicH + kPad);
    width = std::max(width + 2 * kPad, 760);
    height += kPad;
    out_ += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out_ += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) +
            "\" height=\"" + std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) +
            " " + std::to_string(height) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
    out_ += "<title>" + esc(title) + "</title>\n";
    rect(0, 0, width, height, "#ffffff", "none");
    text(kPad, 20, title, "bold", 14);
    legend(kPad, 34);
    int y = kTitleH;
    for (const auto& pkg : pkgs_) {
      draw_package(pkg, kPad, y);
      y += package_h(pkg) + kPad;
    }
    for (const auto* nic : unplaced_nics_) {
      draw_nic(*nic, kPad, y, width - 2 * kPad, "locality unknown");
      y += kNicH + kPad;
    }
    out_ += "</svg>\n";
    return std::move(out_);
  }

 private:
  static int core_w() { return kPuW + 2 * kPad; }
  static int core_h(const core_group& c) {
    return kCoreHead + static_cast<int>(c.cpus.size()) * (kPuH + kPuGap) + kPad - kPuGap;
  }
  static int numa_w(const numa_group& n) {
    const int per_row = std::min<int>(static_cast<int>(n.cores.size()), kCoresPerRow);
    return std::max(2 * kPad + per_row * (core_w() + kCoreGap) - kCoreGap, 4 * kPuW);
  }
  static int rows(const numa_group& n) {
    return (static_cast<int>(n.cores.size()) + kCoresPerRow - 1) / kCoresPerRow;
  }
  static int tallest(const numa_group& n) {
    int h = 0;
    for (const auto& c : n.cores) h = std::max(h, core_h(c));
    return h;
  }
  static int numa_h(const numa_group& n) {
    return kBoxHead + rows(n) * (tallest(n) + kCoreGap) +
           static_cast<int>(n.nics.size()) * (kNicH + kCoreGap) + kPad - kCoreGap;
  }
  static int package_w(const package_group& p) {
    int w = 0;
    for (const auto& n : p.nodes) w = std::max(w, numa_w(n));
    return w + 2 * kPad;
  }
  static int package_h(const package_group& p) {
    int h = kBoxHead;
    for (const auto& n : p.nodes) h += numa_h(n) + kPad;
    return h;
  }

  void rect(int x, int y, int w, int h, const char* fill, const char* stroke,
            const std::string& cls = "") {
    out_ += "<rect x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(y) + "\" width=\"" +
            std::to_string(w) + "\" height=\"" + std::to_string(h) + "\" rx=\"4\" fill=\"" + fill +
            "\" stroke=\"" + stroke + "\"" + (cls.empty() ? "" : " class=\"" + cls + "\"") + "/>\n";
  }
  void text(int x, int y, const std::string& s, const char* weight = "normal", int size = 12) {
    out_ += "<text x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(y) + "\" font-weight=\"" +
            weight + "\" font-size=\"" + std::to_string(size) + "\">" + esc(s) + "</text>\n";
  }

  void legend(int x, int y) {
    const std::pair<const char*, const char*> items[] = {{"#7bc47f", "worker (polls its queues)"},
                                                         {"#8fb8e8", "control thread's core"},
                                                         {"#d9d9d9", "SMT sibling left idle"},
                                                         {"#f4c26b", "NIC"}};
    for (const auto& [fill, what] : items) {
      rect(x, y, 14, 14, fill, "#555555");
      text(x + 20, y + 12, what);
      x += 200;
    }
  }

  void draw_package(const package_group& pkg, int x, int y) {
    rect(x, y, package_w(pkg), package_h(pkg), "#f2f2f2", "#333333", "package");
    text(x + kPad, y + 17, "Package " + std::to_string(pkg.package), "bold");
    int ny = y + kBoxHead;
    for (const auto& n : pkg.nodes) {
      draw_numa(n, x + kPad, ny);
      ny += numa_h(n) + kPad;
    }
  }

  void draw_numa(const numa_group& n, int x, int y) {
    rect(x, y, numa_w(n), numa_h(n), "#fbfbef", "#777777", "numa");
    text(x + kPad, y + 17,
         n.node >= 0 ? "NUMA node " + std::to_string(n.node) : std::string("NUMA node unknown"),
         "bold");
    const int row_h = tallest(n) + kCoreGap;
    for (size_t i = 0; i < n.cores.size(); ++i) {
      const int col = static_cast<int>(i) % kCoresPerRow;
      const int row = static_cast<int>(i) / kCoresPerRow;
      draw_core(n.cores[i], x + kPad + col * (core_w() + kCoreGap), y + kBoxHead + row * row_h);
    }
    int nic_y = y + kBoxHead + rows(n) * row_h;
    for (const auto* nic : n.nics) {
      draw_nic(*nic, x + kPad, nic_y, numa_w(n) - 2 * kPad, "attached here");
      nic_y += kNicH + kCoreGap;
    }
  }

  void draw_core(const core_group& c, int x, int y) {
    const bool control = c.core == p_.control_core;
    rect(x, y, core_w(), core_h(c), control ? "#8fb8e8" : "#ffffff", "#555555", "core");
    std::string head = "core " + std::to_string(c.core);
    if (c.l3 >= 0) head += " \u00b7 L3 " + std::to_string(c.l3);
    if (control) head += " \u00b7 control";
    text(x + kPad, y + 14, head, control ? "bold" : "normal", 11);
    bool core_has_worker = false;
    for (const auto& cpu : c.cpus) core_has_worker |= worker_of_.count(cpu.cpu) != 0;
    int py = y + kCoreHead;
    for (const auto& cpu : c.cpus) {
      const auto w = worker_of_.find(cpu.cpu);
      std::string role;
      const char* fill = "#ffffff";
      std::string cls = "cpu";
      if (w != worker_of_.end()) {
        role = "worker " + std::to_string(w->second);
        fill = "#7bc47f";
        cls = "cpu worker";
      } else if (core_has_worker) {
        role = "idle (SMT)";
        fill = "#d9d9d9";
      } else if (control) {
        role = "control";
      }
      out_ += "<g id=\"cpu-" + std::to_string(cpu.cpu) + "\">\n";
      rect(x + kPad, py, kPuW, kPuH, fill, "#333333", cls);
      text(x + kPad + 6, py + 14, "cpu " + std::to_string(cpu.cpu));
      if (!role.empty()) text(x + kPad + 6, py + 28, role, "bold");
      out_ += "</g>\n";
      py += kPuH + kPuGap;
    }
  }

  void draw_nic(const nic_locality& nic, int x, int y, int w, const char* where) {
    rect(x, y, w, kNicH, "#f4c26b", "#8a5a00", "nic");
    std::string head = "NIC " + nic.name;
    if (!nic.pci_address.empty() && nic.pci_address != nic.name)
      head += " (" + nic.pci_address + ")";
    if (!nic.interface.empty() && nic.interface != nic.name) head += " " + nic.interface;
    head += std::string(" \u00b7 ") + where;
    if (nic.queues > 0) head += " \u00b7 " + std::to_string(nic.queues) + " queue pairs";
    text(x + kPad, y + 15, head, "bold");
    std::string polls;
    for (size_t i = 0; i < p_.workers.size(); ++i) {
      polls += (i == 0 ? "" : ", ") + std::string("q") + std::to_string(i) + ": worker " +
               std::to_string(i);
    }
    text(x + kPad, y + 32, polls.empty() ? std::string("no workers") : polls);
  }

  const placement& p_;
  std::map<uint32_t, size_t> worker_of_;
  std::vector<package_group> pkgs_;
  std::vector<const nic_locality*> unplaced_nics_;
  std::string out_;
};

}  // namespace

std::string plan_svg(const dataplane::placement& plan, const std::string& title) {
  return drawer(plan).draw(title);
}

}  // namespace smpp::control
