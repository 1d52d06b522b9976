# cmake -DPROMTOOL=promtool -DDIR=packaging/prometheus -P check-rules.cmake: the alerting rules
# are valid and their unit tests pass; fails with promtool's report otherwise.
foreach(step "check;rules;smpp-router-rules.yml" "test;rules;smpp-router-rules.test.yml")
  execute_process(COMMAND ${PROMTOOL} ${step} WORKING_DIRECTORY ${DIR}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 50)
  message("promtool ${step}:\n${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "promtool ${step} failed (${rc})")
  endif()
endforeach()
