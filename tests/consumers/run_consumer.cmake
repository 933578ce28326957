# Builds and runs the consumer project in tests/consumers/<MODE>/.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed: ${ARGN}\n${out}\n${err}")
  endif()
endfunction()
set(consumer_src ${CMAKE_CURRENT_LIST_DIR}/${MODE})
if(MODE STREQUAL "find_package")
  # Install ohq alone (no tests) into a private prefix, then find it from there.
  run(${CMAKE_COMMAND} -S ${OHQ_SOURCE} -B ${WORK}/ohq-build -DCMAKE_CXX_COMPILER=${CXX}
      -DOHQ_BUILD_TESTS=OFF -DOHQ_BUILD_BENCHMARKS=OFF -DOHQ_BUILD_EXAMPLES=OFF -DOHQ_BUILD_TOOLS=ON
      -DOHQ_INSTALL=ON -DCMAKE_INSTALL_PREFIX=${WORK}/prefix)
  run(${CMAKE_COMMAND} --build ${WORK}/ohq-build)
  run(${CMAKE_COMMAND} --install ${WORK}/ohq-build)
  run(${CMAKE_COMMAND} -S ${consumer_src} -B ${WORK}/build -DCMAKE_CXX_COMPILER=${CXX}
      -DCMAKE_PREFIX_PATH=${WORK}/prefix -DCMAKE_BUILD_TYPE=Release -DOHQ_CONSUMER_MODEL=${MODEL})
else()
  run(${CMAKE_COMMAND} -S ${consumer_src} -B ${WORK}/build -DCMAKE_CXX_COMPILER=${CXX}
      -DOHQ_SOURCE=${OHQ_SOURCE} -DCMAKE_BUILD_TYPE=Release)
endif()
run(${CMAKE_COMMAND} --build ${WORK}/build)
run(${WORK}/build/consumer)
if(MODE STREQUAL "find_package" AND MODEL)
  execute_process(COMMAND ${WORK}/build/consumer_model eval --images ${DATA}/t10k-images-idx3-ubyte.gz
                          --labels ${DATA}/t10k-labels-idx1-ubyte.gz --limit 500
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "accuracy: 0\\.[0-9][0-9][0-9][0-9] \\([0-9]+/500\\)")
    message(FATAL_ERROR "consumer_model eval failed (${rc}):\n${out}\n${err}")
  endif()
  message(STATUS "consumer_model: ${out}")
endif()
message(STATUS "consumer (${MODE}) built and ran")
