#include "smpp/dataplane/dpdk/eal.hpp"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_memory.h>

#include <filesystem>
#include <system_error>
#include <utility>

namespace smpp::dataplane::dpdk {

std::vector<std::string> eal_argv(const eal_config& c) {
  std::vector<std::string> a{"smpp-router"};
  // Lcore i runs on cpus[i]: the EAL's lcore ids are the workers' indices, whatever the CPUs.
  std::string lcores;
  for (size_t i = 0; i < c.cpus.size(); ++i) {
    if (i != 0) lcores += ',';
    lcores += std::to_string(i) + '@' + std::to_string(c.cpus[i]);
  }
  a.insert(a.end(), {"--lcores", lcores, "--main-lcore", "0"});
  if (c.no_huge) a.emplace_back("--no-huge");
  if (c.memory_mb != 0) a.insert(a.end(), {"-m", std::to_string(c.memory_mb)});
  if (!c.huge_dir.empty()) a.insert(a.end(), {"--huge-dir", c.huge_dir});
  if (c.private_memory) a.emplace_back(c.no_huge ? "--no-shconf" : "--in-memory");
  a.insert(a.end(), {"--file-prefix", c.file_prefix});
  if (c.no_pci) a.emplace_back("--no-pci");
  for (const auto& p : c.pci_allow) a.insert(a.end(), {"-a", p});
  for (const auto& d : c.drivers) a.insert(a.end(), {"-d", d});
  for (const auto& v : c.vdevs) a.insert(a.end(), {"--vdev", v});
  a.insert(a.end(), {"--log-level", c.log_level, "--no-telemetry"});
  return a;
}

std::string validate(const eal_config& c) {
  if (c.cpus.empty()) return "eal: the worker plan names no CPU (cpus is empty)";
  if (c.cpus.size() > RTE_MAX_LCORE) {
    return "eal: " + std::to_string(c.cpus.size()) + " workers, at most " +
           std::to_string(RTE_MAX_LCORE) + " lcores";
  }
  if (c.no_pci && !c.pci_allow.empty()) return "eal: no_pci together with a PCI allow-list";
  if (c.file_prefix.empty() || c.file_prefix.find_first_of("/ ,") != std::string::npos) {
    return "eal: file_prefix must be a non-empty name without '/', ' ' or ','";
  }
  if (c.no_huge && c.memory_mb == 0) {
    return "eal: no_huge needs memory_mb (the EAL reserves it all at start, e.g. 256)";
  }
  return {};
}

std::string_view eal_options_help() noexcept {
  return "DPDK (EAL) options:\n"
         "  cpus         worker CPU ids, the first is the main lcore (e.g. 2,3,4)\n"
         "  no_huge      use plain memory instead of hugepages (development only)\n"
         "  memory_mb    memory reserved at start in MiB (required with no_huge)\n"
         "  vdevs        virtual devices, e.g. net_tap0,iface=smpp0 or net_memif0,role=server\n"
         "  pci_allow    PCI addresses of the ports to use (e.g. 0000:03:00.0)\n"
         "  no_pci       do not scan the PCI bus (virtual devices only)\n"
         "  file_prefix  runtime file name prefix, distinct per process on one host\n"
         "  drivers      driver plugins to load (.so or directory); default: all installed\n"
         "  huge_dir     hugetlbfs mount point (default: found by the EAL)\n"
         "  log_level    EAL log level: error, warning, info, debug\n";
}

std::optional<eal> eal::init(const eal_config& c, std::string& error) {
  if (error = validate(c); !error.empty()) return std::nullopt;
  std::vector<std::string> args = eal_argv(c);
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(args.size()), argv.data()) < 0) {
    error = std::string("rte_eal_init: ") + rte_strerror(rte_errno);
    // A failed init may already have made the runtime directory; nothing else will remove it.
    if (const char* dir = rte_eal_get_runtime_dir();
        c.remove_runtime_dir && dir != nullptr && *dir != '\0' &&
        std::string_view(dir).find(c.file_prefix) != std::string_view::npos) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
    return std::nullopt;
  }
  std::vector<unsigned> lcores;
  for (unsigned i = 0; i < c.cpus.size(); ++i) lcores.push_back(i);
  return eal(std::move(lcores), rte_eal_get_runtime_dir(), c.remove_runtime_dir);
}

eal::eal(eal&& o) noexcept
    : lcores_(std::move(o.lcores_)),
      runtime_dir_(std::move(o.runtime_dir_)),
      remove_runtime_dir_(o.remove_runtime_dir_),
      owner_(std::exchange(o.owner_, false)) {}

eal::~eal() {
  if (!owner_) return;
  rte_eal_cleanup();
  if (remove_runtime_dir_ && !runtime_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(runtime_dir_, ec);
  }
}

void eal::exit_without_teardown(int code) noexcept {
  if (owner_ && remove_runtime_dir_ && !runtime_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(runtime_dir_, ec);
  }
  std::fflush(nullptr);
  std::_Exit(code);
}

unsigned eal::socket_of(unsigned lcore) noexcept {
  const unsigned s = rte_lcore_to_socket_id(lcore);
  return s == static_cast<unsigned>(SOCKET_ID_ANY) ? 0 : s;
}

}  // namespace smpp::dataplane::dpdk
