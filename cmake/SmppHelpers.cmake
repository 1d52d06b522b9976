# One helper to register every test: smpp_add_test(NAME SOURCES a.cpp ... LIBS x y [LABELS l])
function(smpp_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS;ARGS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_options(${name} PRIVATE ${SMPP_WARNINGS})
  # Defaults for running a test binary by hand; ctest also sets them in the environment.
  target_compile_definitions(${name} PRIVATE SMPP_SOURCE_DIR_DEFAULT="${CMAKE_SOURCE_DIR}"
                                             SMPP_BIN_DIR_DEFAULT="${CMAKE_BINARY_DIR}/bin")
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME ${name} COMMAND ${name} ${T_ARGS})
  set_tests_properties(${name} PROPERTIES
    ENVIRONMENT "SMPP_SOURCE_DIR=${CMAKE_SOURCE_DIR};SMPP_BIN_DIR=${CMAKE_BINARY_DIR}/bin")
  if(T_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}")
  endif()
endfunction()
