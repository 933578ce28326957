# Debian's xsimd 8 exports `INTERFACE_LINK_LIBRARIES xtl` without finding xtl, so linking any
# target that uses xsimd fails with "-lxtl: not found" unless libxtl-dev is installed. xsimd
# needs xtl only for its optional xtl::xcomplex support, which ohq does not use: provide an empty
# stand-in (GLOBAL so a parent project using add_subdirectory(ohq) sees it too).
if(TARGET xsimd AND NOT TARGET xtl)
  add_library(xtl INTERFACE IMPORTED GLOBAL)
endif()
