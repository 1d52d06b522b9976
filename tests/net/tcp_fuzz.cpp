// libFuzzer entry for the TCP segment input path (see tcp_fuzz.hpp). Not built by default:
// the fuzz build links it with -fsanitize=fuzzer and smpp::net.
#include "tcp_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  smpp::test::tcp_fuzz_one(data, size);
  return 0;
}
