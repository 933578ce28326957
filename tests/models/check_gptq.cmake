# PROGRAM quant-table at W3 and W2 (min-max calibration) on the first LIMIT test images: GPTQ
# rounding must be more accurate than round-to-nearest at each bit-width.
execute_process(COMMAND ${PROGRAM} quant-table --images ${DATA}/t10k-images-idx3-ubyte.gz
                        --labels ${DATA}/t10k-labels-idx1-ubyte.gz --calib-images ${DATA}/train-images-idx3-ubyte.gz
                        --limit ${LIMIT} --bits 3,2 --calibrations minmax --roundings nearest,gptq
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} failed (${rc}):\n${out}\n${err}")
endif()
foreach(bits 3 2)
  string(REGEX MATCH "W${bits}A8 +minmax +nearest +([01]\\.[0-9]+)" m1 "${out}")
  set(nearest ${CMAKE_MATCH_1})
  string(REGEX MATCH "W${bits}A8 +minmax +gptq +([01]\\.[0-9]+)" m2 "${out}")
  set(gptq ${CMAKE_MATCH_1})
  if(nearest STREQUAL "" OR gptq STREQUAL "")
    message(FATAL_ERROR "no W${bits}A8 rows in:\n${out}")
  endif()
  if(NOT gptq GREATER nearest)
    message(FATAL_ERROR "W${bits}A8: GPTQ ${gptq} does not beat round-to-nearest ${nearest}:\n${out}")
  endif()
endforeach()
message(STATUS "${out}")
