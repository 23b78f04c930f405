# `cpack -G DEB` (or `cmake --build build --target package`): a .deb of what
# `cmake --install` installs: the binary, the man page, the shell completions
# and the docs, under /usr.

set(CPACK_PACKAGE_NAME taskrun)
set(CPACK_PACKAGE_VENDOR "the taskrun authors")
set(TASKRUN_MAINTAINER "the taskrun authors"
    CACHE STRING "The .deb's Maintainer field (a packager puts their name and address here)")
set(CPACK_PACKAGE_CONTACT "${TASKRUN_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION
    "taskrun runs a command and keeps a JSON task file true while it does: in_progress when it
starts, then completed or failed with the exit code, the duration and the last lines of output.
It locks the file the way Claude Code does, merges only its own fields and replaces the file
atomically.")
set(CPACK_RESOURCE_FILE_LICENSE "${PROJECT_SOURCE_DIR}/LICENSE")
set(CPACK_GENERATOR DEB)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS man-db)
# Depends: what the binaries link, as dpkg-shlibdeps reads it (libc6,
# libcurl4 for taskrun-ping, and libjson-c5 and libev4 unless they were linked statically).
# Without dpkg-dev, the same list by hand.
find_program(TASKRUN_DPKG_SHLIBDEPS dpkg-shlibdeps)
find_program(TASKRUN_FILE_PROGRAM file)
if(TASKRUN_DPKG_SHLIBDEPS AND TASKRUN_FILE_PROGRAM)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  set(deps "libc6, libcurl4")
  if(NOT JSONC_LINKED_STATIC)
    string(APPEND deps ", libjson-c5")
  endif()
  if(NOT LIBEV_LINKED_STATIC)
    string(APPEND deps ", libev4")
  endif()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "${deps}")
endif()

include(CPack)
