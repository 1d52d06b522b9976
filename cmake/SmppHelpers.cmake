# One helper to register every test: smpp_add_test(NAME SOURCES a.cpp ... LIBS x y [LABELS l]
# [ARGS a ...] [PERF_CASES filter]).
#
# A skip is never a pass: every GoogleTest binary links tests/support/gtest_main.cpp, which exits
# 77 when none of its tests failed but some skipped, and every entry declares 77 as its
# SKIP_RETURN_CODE, so ctest reports it as skipped. tools/test.sh names the skipped entries and,
# in CI, fails on them.
#
# Rate and latency bounds hold only for an optimised build on a quiet machine. A test binary's
# cases that prove nothing but such a bound are named by PERF_CASES (a --gtest_filter pattern):
# they run as a ctest entry of their own, <name>_perf, labelled "perf" and run alone
# (RUN_SERIAL); the sanitizer passes of tools/test.sh leave that label out (-LE perf). A bound
# inside a case that also proves something else is checked only when
# smpp::testing::rate_bounds_checked() (tests/support/rate_bounds.hpp; SMPP_NO_RATE_BOUNDS unset).

option(SMPP_REQUIRE_TEST_TOOLS
       "A program the tests run that is missing fails the configure step (tools/test.sh in CI)" OFF)

# ctest's skip code for every entry: what tests/support/gtest_main.cpp and
# tests/net/conformance/run_conformance.py exit with when they skipped.
set(SMPP_TEST_SKIP_CODE 77)

# A program (or library) the tests need is missing: a warning naming what goes untested, or with
# SMPP_REQUIRE_TEST_TOOLS an error.
function(smpp_missing_test_tool what package needed_by)
  set(text "${what} not found (Debian package ${package}, tools/install-deps.sh): ${needed_by}")
  if(SMPP_REQUIRE_TEST_TOOLS)
    message(FATAL_ERROR "${text}. SMPP_REQUIRE_TEST_TOOLS is ON: every test must run.")
  endif()
  message(WARNING "${text}")
endfunction()

# smpp_find_test_tool(VAR NAMES prog [prog ...] PACKAGE deb NEEDED_BY "what goes untested")
function(smpp_find_test_tool var)
  cmake_parse_arguments(T "" "PACKAGE;NEEDED_BY" "NAMES" ${ARGN})
  find_program(${var} NAMES ${T_NAMES})
  if(NOT ${var})
    list(GET T_NAMES 0 program)
    smpp_missing_test_tool(${program} ${T_PACKAGE} "${T_NEEDED_BY}")
  endif()
endfunction()

# smpp_check_test_module(what PACKAGE deb NEEDED_BY "..." COMMAND cmd ...): a module of an
# interpreter (a Perl or Python module) is there when `cmd` exits 0.
function(smpp_check_test_module what)
  cmake_parse_arguments(T "" "PACKAGE;NEEDED_BY" "COMMAND" ${ARGN})
  execute_process(COMMAND ${T_COMMAND} RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
  if(NOT rc EQUAL 0)
    smpp_missing_test_tool(${what} ${T_PACKAGE} "${T_NEEDED_BY}")
  endif()
endfunction()

# One ctest entry: `command` with the environment the tests read, the skip code, its labels; a
# "perf" entry runs alone.
function(smpp_test_entry name)
  cmake_parse_arguments(T "" "" "COMMAND;LABELS" ${ARGN})
  add_test(NAME ${name} COMMAND ${T_COMMAND})
  set_tests_properties(${name} PROPERTIES
    SKIP_RETURN_CODE ${SMPP_TEST_SKIP_CODE}
    ENVIRONMENT "SMPP_SOURCE_DIR=${CMAKE_SOURCE_DIR};SMPP_BIN_DIR=${CMAKE_BINARY_DIR}/bin")
  if(T_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}")
  endif()
  if("perf" IN_LIST T_LABELS)
    set_tests_properties(${name} PROPERTIES RUN_SERIAL TRUE)
  endif()
endfunction()

function(smpp_add_test name)
  cmake_parse_arguments(T "" "PERF_CASES" "SOURCES;LIBS;LABELS;ARGS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} smpp_test_main)
  target_compile_options(${name} PRIVATE ${SMPP_WARNINGS})
  # Defaults for running a test binary by hand; ctest also sets them in the environment.
  target_compile_definitions(${name} PRIVATE SMPP_SOURCE_DIR_DEFAULT="${CMAKE_SOURCE_DIR}"
                                             SMPP_BIN_DIR_DEFAULT="${CMAKE_BINARY_DIR}/bin")
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  if(NOT T_PERF_CASES)
    smpp_test_entry(${name} COMMAND ${name} ${T_ARGS} LABELS ${T_LABELS})
    return()
  endif()
  if(T_ARGS)
    message(FATAL_ERROR "smpp_add_test(${name}): PERF_CASES sets --gtest_filter; no ARGS beside it")
  endif()
  smpp_test_entry(${name} COMMAND ${name} --gtest_filter=-${T_PERF_CASES} LABELS ${T_LABELS})
  smpp_test_entry(${name}_perf COMMAND ${name} --gtest_filter=${T_PERF_CASES}
                  LABELS ${T_LABELS} perf)
endfunction()

# smpp_embed_text(OUT IN HEADER FUNCTION): generates OUT, a C++ source in which FUNCTION
# (ns::name, declared in HEADER) returns the text of the file IN (cmake/embed_text.cmake), so a
# page is served from the binary itself.
function(smpp_embed_text out in header fn)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DIN=${in} -DOUT=${out} -DHEADER=${header} -DFUNCTION=${fn}
            -P ${CMAKE_SOURCE_DIR}/cmake/embed_text.cmake
    DEPENDS ${in} ${CMAKE_SOURCE_DIR}/cmake/embed_text.cmake
    COMMENT "Embedding ${in}")
endfunction()
