// The main() of every GoogleTest binary (smpp_add_test links it instead of gtest_main). A binary
// whose tests all passed but some skipped exits skipped_exit_code, which its ctest entries
// declare as SKIP_RETURN_CODE: ctest then reports it as skipped, where gtest_main's exit 0 made
// it a pass. It also fails a run that selected no test at all (a --gtest_filter that matches
// nothing is a typo, not a pass).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace {

// ctest's SKIP_RETURN_CODE for every entry (cmake/SmppHelpers.cmake), the automake convention.
constexpr int skipped_exit_code = 77;

// The first line of the message GTEST_SKIP() was given, or "" without one.
std::string skip_reason(const ::testing::TestResult& result) {
  for (int i = 0; i < result.total_part_count(); ++i) {
    const ::testing::TestPartResult& part = result.GetTestPartResult(i);
    if (!part.skipped()) continue;
    std::string message = part.message();
    if (const size_t end = message.find('\n'); end != std::string::npos) message.resize(end);
    return message;
  }
  return "";
}

// One line per skipped test, each starting "*** SKIPPED " (tools/test.sh collects these lines
// from the ctest log and prints them with the name of the ctest entry).
void list_skipped(const ::testing::UnitTest& unit) {
  std::printf("*** %d of %d tests SKIPPED: this binary did not pass, it was skipped\n",
              unit.skipped_test_count(), unit.test_to_run_count());
  for (int s = 0; s < unit.total_test_suite_count(); ++s) {
    const ::testing::TestSuite& suite = *unit.GetTestSuite(s);
    for (int t = 0; t < suite.total_test_count(); ++t) {
      const ::testing::TestInfo& test = *suite.GetTestInfo(t);
      if (!test.should_run() || !test.result()->Skipped()) continue;
      std::printf("*** SKIPPED %s.%s: %s\n", suite.name(), test.name(),
                  skip_reason(*test.result()).c_str());
    }
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleMock(&argc, argv);
  const int failed = RUN_ALL_TESTS();
  const ::testing::UnitTest& unit = *::testing::UnitTest::GetInstance();
  if (failed != 0) return failed;
  if (unit.test_to_run_count() == 0 && !GTEST_FLAG_GET(list_tests)) {
    std::printf("*** no test selected (--gtest_filter=%s): nothing was checked\n",
                GTEST_FLAG_GET(filter).c_str());
    return 1;
  }
  if (unit.skipped_test_count() == 0) return 0;
  list_skipped(unit);
  return skipped_exit_code;
}
