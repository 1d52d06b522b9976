// Runs the built pin-advisor (SMPP_BIN_DIR) on synthetic machines, an XML machine with a NIC
// and this machine: its plans, --check warnings and exit status, the config snippet fed back to
// smpp-router --check, and the SVG drawing parsed as XML.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "child_process.hpp"

namespace smpp::testing {
namespace {

constexpr const char* kTwoNumaSmt = "pack:2 numa:1 l3:1 core:8 pu:2";

std::string source_dir() {
  const char* env = std::getenv("SMPP_SOURCE_DIR");
  return env != nullptr && *env != '\0' ? env : SMPP_SOURCE_DIR_DEFAULT;
}
std::string nic_xml() {
  return source_dir() + "/tests/tools/pin_advisor/two_numa_nic.xml";
}

class PinAdvisor : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = make_temp_dir(::testing::TempDir(), "pin_advisor_"); }

  static exit_result advisor(const std::vector<std::string>& args) {
    return run_tool("pin-advisor", args, std::chrono::seconds{30});
  }

  // config/router.toml with its workers line replaced by `workers_line`.
  std::string config_with(const std::string& workers_line, const std::string& name) {
    std::string toml = read_file(source_dir() + "/config/router.toml");
    const std::string auto_line = "workers = \"auto\"";
    const size_t at = toml.find(auto_line);
    EXPECT_NE(at, std::string::npos) << "config/router.toml has no workers = \"auto\" line";
    if (at != std::string::npos) toml.replace(at, auto_line.size(), workers_line);
    const std::string path = dir_ + name;
    std::ofstream(path) << toml;
    return path;
  }

  exit_result check(const std::string& workers_line, std::vector<std::string> extra) {
    std::vector<std::string> args = {"--check", config_with(workers_line, "check.toml")};
    args.insert(args.end(), extra.begin(), extra.end());
    return advisor(args);
  }

  std::string dir_;
};

// The "workers = [..]" line of the snippet; empty when there is none.
std::string snippet_line(const std::string& out) {
  std::smatch m;
  const std::regex re("\\[router\\]\nworkers = \\[[0-9, ]*\\]");
  if (!std::regex_search(out, m, re)) return {};
  return m.str().substr(std::string("[router]\n").size());
}

// Runs python3 with a script and arguments; its exit status, and its output in `out`.
int run_python(const std::string& script, const std::vector<std::string>& args, std::string& out,
               const std::string& dir) {
  const std::string out_path = dir + "python.out";
  std::vector<std::string> storage = {"/usr/bin/python3", "-c", script};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  out = read_file(out_path);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(PinAdvisor, HelpNamesEveryOption) {
  const exit_result r = advisor({"--help"});
  EXPECT_EQ(r.code, 0);
  for (const char* opt : {"usage: pin-advisor", "--check", "--nic", "--queues", "--topology-xml",
                          "--synthetic", "--svg", "smt-siblings", "numa-remote",
                          "control-core-shared", "more-workers-than-queues"}) {
    EXPECT_NE(r.out.find(opt), std::string::npos) << opt;
  }
}

TEST_F(PinAdvisor, BadArgumentsExitTwoWithAMessage) {
  exit_result r = advisor({"--frobnicate"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown argument '--frobnicate'"), std::string::npos) << r.err;
  r = advisor({"--nic", "ens81f0", "--queues", "0", "--topology-xml", nic_xml()});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--queues must be an integer 1..65535"), std::string::npos) << r.err;
  r = advisor({"--queues", "4"});
  EXPECT_EQ(r.code, 2);
  r = advisor({"--synthetic", "pack:2", "--topology-xml", nic_xml()});
  EXPECT_EQ(r.code, 2);
  r = advisor({"--synthetic", "pack:two"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("invalid synthetic topology"), std::string::npos) << r.err;
  r = advisor({"--topology-xml", nic_xml(), "--nic", "ens99"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("NIC 'ens99' not found"), std::string::npos) << r.err;
  r = advisor({"--check", dir_ + "missing.toml"});
  EXPECT_EQ(r.code, 2);
  r = advisor({"--svg"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--svg needs a value"), std::string::npos) << r.err;
}

// ---- plans on synthetic machines --------------------------------------------------------------

TEST_F(PinAdvisor, OnePackageTwoCores) {
  const exit_result r = advisor({"--synthetic", "pack:1 core:2 pu:1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(snippet_line(r.out), "workers = [0, 1]") << r.out;
  EXPECT_NE(r.out.find("warning [control-core-shared]: worker 0"), std::string::npos) << r.out;
}

TEST_F(PinAdvisor, TwoNumaSmtMachine) {
  const exit_result r = advisor({"--synthetic", kTwoNumaSmt});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(snippet_line(r.out),
            "workers = [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30]")
      << r.out;
  EXPECT_NE(r.out.find("warnings: none"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("control thread: core 0 (cpus 0-1), not pinned; no worker runs there"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("2 packages, 2 NUMA nodes, 16 cores, 32 hardware threads"),
            std::string::npos);
}

TEST_F(PinAdvisor, OneCore) {
  const exit_result r = advisor({"--synthetic", "pack:1 core:1 pu:1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(snippet_line(r.out), "workers = [0]") << r.out;
}

TEST_F(PinAdvisor, NicLocalPlanNamesTheQueueEachWorkerPolls) {
  const exit_result r = advisor({"--topology-xml", nic_xml(), "--nic", "0000:81:00.0"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(snippet_line(r.out), "workers = [16, 18, 20, 22, 24, 26, 28, 30]") << r.out;
  EXPECT_NE(r.out.find("nic 0000:81:00.0: pci 0000:81:00.0, interface ens81f0, NUMA node 1, "
                       "local cpus 16-31, queue pairs unknown"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("q7 on 0000:81:00.0"), std::string::npos) << r.out;
}

// The snippet a synthetic plan prints loads as a configuration and checks clean on the same
// machine: the config loader accepts it and the planner reproduces it.
TEST_F(PinAdvisor, SyntheticSnippetRoundTripsThroughCheck) {
  const exit_result plan = advisor({"--synthetic", kTwoNumaSmt});
  const std::string line = snippet_line(plan.out);
  ASSERT_FALSE(line.empty()) << plan.out;
  const exit_result r = check(line, {"--synthetic", kTwoNumaSmt});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(snippet_line(r.out), line);
}

// ---- the snippet and smpp-router on this machine -----------------------------------------------

TEST_F(PinAdvisor, SnippetIsAcceptedBySmppRouterCheckAndIsTheRoutersOwnPlan) {
  const exit_result plan = advisor({});
  ASSERT_EQ(plan.code, 0) << plan.err;
  const std::string line = snippet_line(plan.out);
  ASSERT_FALSE(line.empty()) << plan.out;
  const exit_result explicit_list =
      run_tool("smpp-router", {"--config", config_with(line, "snippet.toml"), "--check"});
  EXPECT_EQ(explicit_list.code, 0) << explicit_list.err;
  EXPECT_NE(explicit_list.err.find("is valid"), std::string::npos) << explicit_list.err;
  // The router's own "auto" plan logs the same CPUs, worker by worker.
  const exit_result automatic =
      run_tool("smpp-router", {"--config", source_dir() + "/config/router.toml", "--check"});
  ASSERT_EQ(automatic.code, 0) << automatic.err;
  std::string logged = "workers = [";
  const std::regex re("worker ([0-9]+) -> cpu ([0-9]+) \\(core [0-9]+, numa [0-9?]+\\)");
  int n = 0;
  for (std::sregex_iterator it(automatic.err.begin(), automatic.err.end(), re), end; it != end;
       ++it, ++n) {
    EXPECT_EQ((*it)[1].str(), std::to_string(n));
    logged += (n == 0 ? "" : ", ") + (*it)[2].str();
  }
  EXPECT_GT(n, 0) << automatic.err;
  EXPECT_EQ(logged + "]", line) << automatic.err;
}

// ---- --check: each warning fires, and does not ------------------------------------------------

TEST_F(PinAdvisor, CheckSmtSiblings) {
  exit_result r = check("workers = [2, 3]", {"--synthetic", kTwoNumaSmt});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("warning [smt-siblings]: workers 0 and 1 (cpus 2 and 3)"), std::string::npos)
      << r.out;
  r = check("workers = [2, 4]", {"--synthetic", kTwoNumaSmt});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.find("warning ["), std::string::npos) << r.out;
}

TEST_F(PinAdvisor, CheckNumaRemote) {
  exit_result r = check("workers = [2, 18]", {"--topology-xml", nic_xml(), "--nic", "ens81f0"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("warning [numa-remote]: worker 0 (cpu 2, core 1, NUMA 0) polls ens81f0 "
                       "on NUMA node 1"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("worker 1 (cpu 18"), std::string::npos) << r.out;
  r = check("workers = [18, 20]", {"--topology-xml", nic_xml(), "--nic", "ens81f0"});
  EXPECT_EQ(r.code, 0) << r.out;
}

TEST_F(PinAdvisor, CheckControlCoreShared) {
  exit_result r = check("workers = [1, 2]", {"--synthetic", kTwoNumaSmt});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("warning [control-core-shared]: worker 0 (cpu 1, core 0"), std::string::npos)
      << r.out;
  r = check("workers = \"auto\"", {"--synthetic", kTwoNumaSmt});
  EXPECT_EQ(r.code, 0) << r.out;
}

TEST_F(PinAdvisor, CheckMoreWorkersThanQueues) {
  const std::vector<std::string> nic = {"--topology-xml", nic_xml(), "--nic", "ens81f0"};
  auto with_queues = [&](const char* q) {
    auto v = nic;
    v.insert(v.end(), {"--queues", q});
    return v;
  };
  exit_result r = check("workers = [18, 20, 22]", with_queues("2"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("warning [more-workers-than-queues]: 3 workers but ens81f0 offers 2 RX/TX "
                       "queue pairs (--queues)"),
            std::string::npos)
      << r.out;
  r = check("workers = [18, 20, 22]", with_queues("3"));
  EXPECT_EQ(r.code, 0) << r.out;
}

TEST_F(PinAdvisor, CheckRejectsACpuTheMachineLacks) {
  const exit_result r = check("workers = [40]", {"--synthetic", kTwoNumaSmt});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("cpu 40 does not exist on this machine"), std::string::npos) << r.err;
}

// ---- the drawing -------------------------------------------------------------------------------

// Parses the SVG with Python's XML parser and checks that every planned CPU's group names its
// CPU and its worker, and that the control core and the NIC are labelled.
TEST_F(PinAdvisor, SvgIsWellFormedAndNamesEachPlannedCore) {
  const std::string svg = dir_ + "plan.svg";
  const exit_result r =
      advisor({"--topology-xml", nic_xml(), "--nic", "ens81f0", "--queues", "4", "--svg", svg});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string script = R"PY(
import sys, xml.etree.ElementTree as ET
ns = {'s': 'http://www.w3.org/2000/svg'}
root = ET.parse(sys.argv[1]).getroot()
texts = lambda e: [''.join(t.itertext()) for t in e.iter('{http://www.w3.org/2000/svg}text')]
for i, cpu in enumerate(sys.argv[2].split(',')):
    g = root.find(".//s:g[@id='cpu-%s']" % cpu, ns)
    if g is None: sys.exit('no group for cpu %s' % cpu)
    t = texts(g)
    if 'cpu ' + cpu not in t or 'worker %d' % i not in t: sys.exit('cpu %s group says %s' % (cpu, t))
alltext = ' '.join(texts(root))
for want in ('core 0', 'control', 'NIC ens81f0', 'q3: worker 3', 'idle (SMT)', 'NUMA node 1'):
    if want not in alltext: sys.exit('missing ' + want)
print('ok')
)PY";
  std::string out;
  EXPECT_EQ(run_python(script, {svg, "16,18,20,22"}, out, dir_), 0) << out;
  EXPECT_EQ(last_line(out), "ok");
  // A planned CPU the drawing lacks is caught by the same check.
  EXPECT_NE(run_python(script, {svg, "16,18,20,24"}, out, dir_), 0) << out;
}

// The title carries the synthetic description in double quotes: escaped, the file still parses.
TEST_F(PinAdvisor, SvgEscapesTheTitleAndReportsAnUnwritablePath) {
  const std::string svg = dir_ + "quoted.svg";
  exit_result r = advisor({"--synthetic", "pack:1 core:2 pu:1", "--svg", svg});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(read_file(svg).find("synthetic &quot;pack:1 core:2 pu:1&quot;"), std::string::npos);
  std::string out;
  EXPECT_EQ(
      run_python("import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])", {svg}, out, dir_),
      0)
      << out;
  r = advisor({"--synthetic", "pack:1 core:2 pu:1", "--svg", dir_ + "no/such/dir/plan.svg"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("cannot write"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace smpp::testing
