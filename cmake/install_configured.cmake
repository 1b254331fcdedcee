# Runs at install time (install(SCRIPT) in cmake/packaging.cmake): installs what names install
# paths — the systemd units, the sample configuration, the agent's arguments — for the prefix
# chosen then (`cmake --install --prefix`, CPack's /usr), not the one chosen at configure time.
# FAIRWAY_SOURCE_DIR, FAIRWAY_BINARY_DIR, FAIRWAY_UNIT_DIR and FAIRWAY_SBINDIR, FAIRWAY_BINDIR,
# FAIRWAY_DOCDIR (relative to the prefix) come from install(CODE) just before.

# GNUInstallDirs' rule for sysconfdir: /etc for the prefix /usr (the package), PREFIX/etc
# otherwise, so that `--prefix /tmp/x` never writes the host's /etc.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(SYSCONFDIR "/etc")
else()
  set(SYSCONFDIR "${CMAKE_INSTALL_PREFIX}/etc")
endif()
set(SBINDIR "${CMAKE_INSTALL_PREFIX}/${FAIRWAY_SBINDIR}")
set(BINDIR "${CMAKE_INSTALL_PREFIX}/${FAIRWAY_BINDIR}")
set(DOCDIR "${CMAKE_INSTALL_PREFIX}/${FAIRWAY_DOCDIR}")
if(IS_ABSOLUTE "${FAIRWAY_UNIT_DIR}")
  set(unit_dir "${FAIRWAY_UNIT_DIR}")
else()
  set(unit_dir "${CMAKE_INSTALL_PREFIX}/${FAIRWAY_UNIT_DIR}")
endif()

set(staging "${FAIRWAY_BINARY_DIR}/packaging")
foreach(unit fairwayd.service fairway-agent.service)
  configure_file("${FAIRWAY_SOURCE_DIR}/packaging/systemd/${unit}" "${staging}/${unit}" @ONLY)
endforeach()
# file(INSTALL) puts $ENV{DESTDIR} (CPack's staging directory) before these absolute paths itself.
set(mode_644 OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
file(INSTALL "${staging}/fairwayd.service" "${staging}/fairway-agent.service"
     DESTINATION "${unit_dir}" FILE_PERMISSIONS ${mode_644})
file(INSTALL "${FAIRWAY_SOURCE_DIR}/packaging/fairway.yaml"
     DESTINATION "${SYSCONFDIR}/fairway" FILE_PERMISSIONS ${mode_644})
file(INSTALL "${FAIRWAY_SOURCE_DIR}/packaging/fairway-agent.default"
     DESTINATION "${SYSCONFDIR}/default" RENAME fairway-agent
     FILE_PERMISSIONS ${mode_644})
