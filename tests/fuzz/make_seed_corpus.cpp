// Writes the seed corpora of the fuzz targets (deterministic): every command with random fields
// and TLVs, the real-world PDUs, and streams of several PDUs for the framer.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "pdu_gen.hpp"

namespace fs = std::filesystem;

static void write(const fs::path& p, const std::vector<std::byte>& b) {
  std::ofstream(p, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

int main(int argc, char** argv) {
  if (argc != 3 || std::string_view(argv[1]) == "--help") {
    std::fprintf(stderr, "usage: %s REAL_WORLD_HEX_FILE OUT_CORPUS_DIR\n", argv[0]);
    return argc == 2 ? 0 : 2;
  }
  const fs::path out = argv[2];
  fs::create_directories(out / "decode");
  fs::create_directories(out / "framer");
  smpp::testing::pdu_generator gen(2026);
  int n = 0;
  for (const auto id : smpp::testing::pdu_generator::all_commands()) {
    for (int i = 0; i < 4; ++i)
      write(out / "decode" / ("gen-" + std::to_string(n++)), gen.make(id));
  }
  std::ifstream in(argv[1]);
  std::string line;
  int k = 0;
  while (std::getline(in, line)) {
    if (!line.empty())
      write(out / "decode" / ("real-" + std::to_string(k++)), smpp::testing::from_hex(line));
  }
  for (int s = 0; s < 24; ++s) {
    std::vector<std::byte> stream{static_cast<std::byte>(s * 7)};
    for (int i = 0; i < 1 + s % 5; ++i) {
      auto p = gen.make();
      stream.insert(stream.end(), p.begin(), p.end());
    }
    write(out / "framer" / ("stream-" + std::to_string(s)), stream);
  }
  std::printf("wrote %d decode seeds, %d real-world, 24 framer streams\n", n, k);
  return 0;
}
