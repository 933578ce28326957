# Warnings for everything the project itself compiles (tests, tools, examples, benchmarks).
# Consumers of the INTERFACE target get none of these.
add_library(ohq_warnings INTERFACE)
target_compile_options(ohq_warnings INTERFACE -Wall -Wextra -Wpedantic)
if(OHQ_WARNINGS_AS_ERRORS)
  target_compile_options(ohq_warnings INTERFACE -Werror)
endif()
