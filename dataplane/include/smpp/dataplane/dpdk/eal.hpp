// The DPDK Environment Abstraction Layer, initialised once per process.
//
// rte_eal_init() may be called only once in a process (a second call fails with EALREADY), and
// rte_eal_cleanup() does not make it callable again: tests therefore run each EAL in a child
// process. The argv is built from a typed config so the router's own options map onto EAL
// options in one place.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smpp::dataplane::dpdk {

struct eal_config {
  // The worker plan: CPU ids, the first one is the main lcore. Lcore i runs on cpus[i].
  std::vector<unsigned> cpus{0};
  // Development mode: plain anonymous memory instead of hugepages (--no-huge), `memory_mb` of it.
  bool no_huge = false;
  // Memory to reserve at start (-m), 0 = the EAL's default (on demand with hugepages).
  unsigned memory_mb = 0;
  // Virtual devices, each an EAL --vdev string ("net_null0", "net_tap0,iface=dtap0").
  std::vector<std::string> vdevs;
  // PCI devices to use (-a 0000:03:00.0); empty with no_pci = no PCI scan at all.
  std::vector<std::string> pci_allow;
  bool no_pci = false;
  // Name of this process's runtime files (--file-prefix): distinct per process when several
  // primary processes run at once (parallel tests, two routers on one host).
  std::string file_prefix = "smpp";
  // No shared runtime config files (--no-shconf): no secondary process can attach. With
  // hugepages, --in-memory is used instead (which the EAL refuses together with --no-huge).
  bool private_memory = true;
  // Driver plugins to load (-d): a .so file or a directory. Empty = the EAL's default plugin
  // directory, which loads every installed driver (slower start, ~0.1 s more).
  std::vector<std::string> drivers;
  // hugetlbfs mount point (--huge-dir), empty = the EAL finds it.
  std::string huge_dir;
  // EAL log level (--log-level): "error" keeps tests quiet; "debug" to see driver probing.
  std::string log_level = "error";
  // Remove the process's runtime directory (/var/run/dpdk/<prefix>) after rte_eal_cleanup.
  bool remove_runtime_dir = true;
};

// The EAL argv for `c` (argv[0] = "smpp-router"). Pure: testable without initialising anything.
[[nodiscard]] std::vector<std::string> eal_argv(const eal_config& c);

// Checks a config before it reaches the EAL (which prints its usage text and fails without
// saying which value was wrong). Returns an empty string when the config is acceptable.
[[nodiscard]] std::string validate(const eal_config& c);

// Text for the router's --help: what each eal_config field means on the command line / config.
[[nodiscard]] std::string_view eal_options_help() noexcept;

class eal {
 public:
  // Initialises the EAL; nullopt with `error` set (validate()'s message or "rte_eal_init: " +
  // rte_strerror(rte_errno)) on failure. At most one eal may exist in a process.
  [[nodiscard]] static std::optional<eal> init(const eal_config& c, std::string& error);

  eal(eal&& o) noexcept;
  eal& operator=(eal&&) = delete;
  eal(const eal&) = delete;
  eal& operator=(const eal&) = delete;
  // rte_eal_cleanup(), then removes the runtime directory when the config asked for it. Every
  // port and mempool must be closed first.
  ~eal();

  // Ends the process with `code` without tearing DPDK down: the runtime directory is removed
  // (when the config asked for it), stdio flushed, then _exit. The kernel takes the memory back
  // and resets devices as their file descriptors close. For a process whose work is done: the
  // 22.11 memif driver's stop/close can race its own control thread over a peer that left and
  // fault (seen about once in twenty runs of the router after its clean stop).
  [[noreturn]] void exit_without_teardown(int code) noexcept;

  // The lcore ids of the workers, main first (EAL lcore ids, 0..n-1 as mapped by --lcores).
  [[nodiscard]] const std::vector<unsigned>& lcores() const noexcept { return lcores_; }
  // NUMA socket of an lcore (0 when the EAL does not know).
  [[nodiscard]] static unsigned socket_of(unsigned lcore) noexcept;

 private:
  eal(std::vector<unsigned> lcores, std::string runtime_dir, bool remove_runtime_dir)
      : lcores_(std::move(lcores)),
        runtime_dir_(std::move(runtime_dir)),
        remove_runtime_dir_(remove_runtime_dir) {}

  std::vector<unsigned> lcores_;
  std::string runtime_dir_;
  bool remove_runtime_dir_ = false;
  bool owner_ = true;
};

}  // namespace smpp::dataplane::dpdk
