# cmake -DFUZZER=<binary> -DINPUTS="glob|glob|dir" -P run_corpus.cmake
# Runs a libFuzzer binary once over every file (no mutation): the seed corpus and the regression
# files stay free of crashes, sanitizer reports, leaks and broken invariants.
string(REPLACE "|" ";" INPUTS "${INPUTS}")
set(files)
foreach(pattern IN LISTS INPUTS)
  if(IS_DIRECTORY "${pattern}")
    file(GLOB found LIST_DIRECTORIES false "${pattern}/*")
  else()
    file(GLOB found LIST_DIRECTORIES false "${pattern}")
  endif()
  list(APPEND files ${found})
endforeach()
list(FILTER files EXCLUDE REGEX "/README[^/]*$")
list(LENGTH files count)
if(count EQUAL 0)
  message(FATAL_ERROR "no input files in ${INPUTS}")
endif()
# Inputs given as files are each run whole (-max_len does not cut them), once.
execute_process(COMMAND ${FUZZER} -timeout=60 -rss_limit_mb=2048 -malloc_limit_mb=1024 ${files}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message("${out}")
  message(FATAL_ERROR "${FUZZER} failed (exit ${rc}) on one of ${count} inputs; see the report above")
endif()
message("${FUZZER}: ${count} inputs, no finding")
