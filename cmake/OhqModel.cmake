# ohq_add_model(<target> <model.onnx> [NAME <identifier>] [EMBED_WEIGHTS])
#
# Generates, at build time, a header with the compile-time network type of <model.onnx> (with
# ohq-codegen; normalisation from the sidecar <model>.json beside it) and builds the program
# <target> for that model: `<target> describe`, `<target> eval --images IDX --labels IDX [--limit N]`,
# `<target> quant-table ...`, `<target> bench [--quant w8a8] [--threads N]` (end-to-end latency).
# Without EMBED_WEIGHTS the program reads <model.onnx> (its absolute path is the default of
# --model); with it, the weights are compiled in and no file is needed at run time.
set(OHQ_MODEL_MAIN ${CMAKE_CURRENT_LIST_DIR}/../tools/model_cli/model_main.cpp)
if(NOT EXISTS ${OHQ_MODEL_MAIN})
  set(OHQ_MODEL_MAIN ${CMAKE_CURRENT_LIST_DIR}/model_main.cpp)  # installed layout
endif()
set(OHQ_MODEL_MAIN ${OHQ_MODEL_MAIN} CACHE INTERNAL "model program source of ohq_add_model")

function(ohq_add_model target onnx)
  cmake_parse_arguments(M "EMBED_WEIGHTS" "NAME" "" ${ARGN})
  get_filename_component(onnx ${onnx} ABSOLUTE)
  if(NOT M_NAME)
    get_filename_component(M_NAME ${onnx} NAME_WE)
    string(MAKE_C_IDENTIFIER ${M_NAME} M_NAME)
  endif()
  get_filename_component(model_dir ${onnx} DIRECTORY)
  get_filename_component(model_stem ${onnx} NAME_WE)
  set(sidecar ${model_dir}/${model_stem}.json)
  set(header_dir ${CMAKE_CURRENT_BINARY_DIR}/${target}_generated)
  set(header ${header_dir}/${M_NAME}.hpp)
  set(codegen_args ${onnx} -o ${header} --name ${M_NAME})
  set(depends ${onnx})
  if(EXISTS ${sidecar})
    list(APPEND depends ${sidecar})
  endif()
  if(M_EMBED_WEIGHTS)
    list(APPEND codegen_args --embed-weights)
  endif()
  add_custom_command(OUTPUT ${header}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${header_dir}
    COMMAND ohq::codegen ${codegen_args}
    DEPENDS ${depends} ohq::codegen
    COMMENT "ohq-codegen ${model_stem}.onnx -> ${M_NAME}.hpp"
    VERBATIM)
  add_executable(${target} ${OHQ_MODEL_MAIN} ${header})
  target_link_libraries(${target} PRIVATE ohq::ohq)
  ohq_add_arch_kernels(${target})  # `bench` and the kernel engine use the AVX2 / AVX-512 kernels where the CPU has them
  target_compile_definitions(${target} PRIVATE
    OHQ_MODEL_HEADER="${header}" OHQ_MODEL_NAME=${M_NAME} OHQ_MODEL_ONNX="${onnx}" OHQ_MODEL_PROGRAM="${target}")
  if(TARGET ZLIB::ZLIB)
    target_link_libraries(${target} PRIVATE ZLIB::ZLIB)
    target_compile_definitions(${target} PRIVATE OHQ_HAS_ZLIB)
  endif()
endfunction()
