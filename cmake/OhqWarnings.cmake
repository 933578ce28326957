# Warnings for everything the project itself compiles (tests, tools, examples, benchmarks).
# Consumers of the INTERFACE target get none of these.
add_library(ohq_warnings INTERFACE)
target_compile_options(ohq_warnings INTERFACE -Wall -Wextra -Wpedantic)
if(OHQ_WARNINGS_AS_ERRORS)
  target_compile_options(ohq_warnings INTERFACE -Werror)
endif()

# OHQ_MARCH (e.g. "native") sets -march for what the project itself builds (examples, tools,
# benchmarks, tests). The library never needs it: SIMD kernels are selected at run time. The
# fp32 engine goes through Eigen, whose speed follows the ISA the including code is built for.
set(OHQ_MARCH "" CACHE STRING "-march value for the project's own programs (empty: compiler default)")
if(OHQ_MARCH)
  target_compile_options(ohq_warnings INTERFACE -march=${OHQ_MARCH})
endif()

# OHQ_SANITIZE (e.g. "address,undefined") builds the project's own programs with sanitizers;
# undefined behaviour is fatal (no recovery) so CTest sees every finding as a failure.
set(OHQ_SANITIZE "" CACHE STRING "-fsanitize= value for the project's own programs (empty: none)")
# Programs that link the sanitized shared arch-kernel objects (cmake/OhqKernels.cmake) without
# ohq_warnings still need the sanitizer runtimes at link time.
add_library(ohq_sanitizer_runtime INTERFACE)
if(OHQ_SANITIZE)
  target_compile_options(ohq_warnings INTERFACE -fsanitize=${OHQ_SANITIZE} -fno-sanitize-recover=all
                                                -fno-omit-frame-pointer -g)
  target_link_options(ohq_warnings INTERFACE -fsanitize=${OHQ_SANITIZE})
  target_link_options(ohq_sanitizer_runtime INTERFACE -fsanitize=${OHQ_SANITIZE})
  # lets heavy randomized tests run fewer cases under the (5-20x slower) sanitizers
  target_compile_definitions(ohq_warnings INTERFACE OHQ_SANITIZED)
endif()
