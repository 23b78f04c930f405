# taskrun built against the musl root TASKRUN_MUSL_ROOT (scripts/musl): this
# same project, configured with the root's musl-gcc for the binary alone, in
# musl/, and copied to where the system-libc build would have put it, beside
# taskrun-ping, which it looks for there. The tests run this binary.
include(ExternalProject)
set(TASKRUN_MUSL_BIN ${CMAKE_BINARY_DIR}/taskrun)
ExternalProject_Add(taskrun_musl
  SOURCE_DIR ${PROJECT_SOURCE_DIR}
  BINARY_DIR ${CMAKE_BINARY_DIR}/musl
  # Only the root's json-c.pc, never the system's.
  CMAKE_COMMAND ${CMAKE_COMMAND} -E env PKG_CONFIG_LIBDIR=${TASKRUN_MUSL_ROOT}/lib/pkgconfig
                PKG_CONFIG_PATH= ${CMAKE_COMMAND}
  CMAKE_ARGS -DCMAKE_C_COMPILER=${TASKRUN_MUSL_ROOT}/bin/musl-gcc
             -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE}
             -DCMAKE_PREFIX_PATH=${TASKRUN_MUSL_ROOT}
             -DCMAKE_INSTALL_PREFIX=${CMAKE_INSTALL_PREFIX}
             -DTASKRUN_CLI_ONLY=ON -DTASKRUN_STATIC=ON -DTASKRUN_STATIC_DEPS=ON
             -DTASKRUN_WERROR=${TASKRUN_WERROR} -DBUILD_TESTING=OFF
  BUILD_ALWAYS ON
  INSTALL_COMMAND ${CMAKE_COMMAND} -E copy_if_different <BINARY_DIR>/taskrun ${TASKRUN_MUSL_BIN}
  BUILD_BYPRODUCTS ${TASKRUN_MUSL_BIN})
add_executable(taskrun IMPORTED GLOBAL)
set_target_properties(taskrun PROPERTIES IMPORTED_LOCATION ${TASKRUN_MUSL_BIN})
add_dependencies(taskrun taskrun_musl)
install(PROGRAMS ${TASKRUN_MUSL_BIN} DESTINATION ${CMAKE_INSTALL_BINDIR})
