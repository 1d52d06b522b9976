# ring_bench: spsc_ring against DPDK's rte_ring and tbb::concurrent_bounded_queue in one binary
# (STYLE.md habit 9). Included from bench/CMakeLists.txt; see bench/RING.md.
find_package(benchmark REQUIRED)
find_package(TBB REQUIRED)
pkg_check_modules(DPDK REQUIRED IMPORTED_TARGET libdpdk)
# DPDK's and TBB's headers are not warning-clean under our flags (-Wvolatile, -Wconversion).
set_target_properties(PkgConfig::DPDK TBB::tbb PROPERTIES SYSTEM ON)
# libdpdk.pc adds -march=corei7 (its headers need SSE4.2). When the build already chooses an
# -march (the release preset: x86-64-v2), keep that one, so the ring is measured as it ships.
if(CMAKE_CXX_FLAGS MATCHES "-march=")
  get_target_property(dpdk_options PkgConfig::DPDK INTERFACE_COMPILE_OPTIONS)
  list(FILTER dpdk_options EXCLUDE REGEX "^-march=")
  set_target_properties(PkgConfig::DPDK PROPERTIES INTERFACE_COMPILE_OPTIONS "${dpdk_options}")
endif()

add_executable(ring_bench ${CMAKE_CURRENT_LIST_DIR}/ring_bench.cpp)
# spsc_ring is header-only: take the dataplane's headers, not its library and what that links.
target_include_directories(ring_bench
                           PRIVATE $<TARGET_PROPERTY:smpp_dataplane,INTERFACE_INCLUDE_DIRECTORIES>)
target_link_libraries(ring_bench PRIVATE benchmark::benchmark PkgConfig::DPDK TBB::tbb
                                         Threads::Threads)
target_compile_options(ring_bench PRIVATE ${SMPP_WARNINGS})
set_target_properties(ring_bench PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
