# Install rules and the Debian package (CPack's DEB generator): docs/PACKAGING.md.
#
#   cmake --install build --prefix /tmp/x   programs, units, docs and the sample configuration
#   scripts/package.sh                      build/fairway_VERSION_ARCH.deb (cpack -G DEB)
include(GNUInstallDirs)

# fairwayd is a daemon only root can run (DPDK takes the NICs and hugepages): sbin, like bird,
# haproxy and nginx. fairway-agent is a daemon too but needs no root, and users run it by hand
# (--once --dry-run); fairwayctl and fairway-sim are for anyone: bin.
install(TARGETS fairwayd RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(TARGETS fairwayctl fairway-agent RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(TARGET fairway-sim)
  install(TARGETS fairway-sim RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

# Under the prefix, not /lib: `--prefix /tmp/x` must stay in /tmp/x. For the package (prefix
# /usr) that is /usr/lib/systemd/system, which systemd reads (the same directory as /lib/... on
# Debian 12's merged /usr).
set(FAIRWAY_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING
    "where the systemd units go, relative to the prefix (or absolute)")

install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
file(GLOB FAIRWAY_DOCS CONFIGURE_DEPENDS docs/*.md)
install(FILES ${FAIRWAY_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES packaging/fairway.yaml DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# The units (they name the programs' and the configuration's paths), the sample configuration and
# the agent's arguments are installed by a script that runs at install time, when
# `cmake --install --prefix` or CPack (/usr) has chosen the prefix.
install(CODE "
  set(FAIRWAY_SOURCE_DIR \"${CMAKE_SOURCE_DIR}\")
  set(FAIRWAY_BINARY_DIR \"${CMAKE_BINARY_DIR}\")
  set(FAIRWAY_UNIT_DIR \"${FAIRWAY_SYSTEMD_UNIT_DIR}\")
  set(FAIRWAY_SBINDIR \"${CMAKE_INSTALL_SBINDIR}\")
  set(FAIRWAY_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
  set(FAIRWAY_DOCDIR \"${CMAKE_INSTALL_DOCDIR}\")
")
install(SCRIPT cmake/install_configured.cmake)

# --- The Debian package -------------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME fairway)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Fairway maintainers <maintainers@fairway.invalid>" CACHE STRING
    "the package's Maintainer field")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${CPACK_PACKAGE_CONTACT})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Layer-4 load balancer on DPDK (Maglev, DSR and NAT)")
set(CPACK_PACKAGE_DESCRIPTION
    "fairwayd forwards TCP and UDP services to back-end servers by weighted Maglev, in direct \
server return or NAT, on DPDK's poll-mode drivers. fairwayctl drives its control API, \
fairway-agent reports a back-end's load, fairway-sim shows what the data plane does with a flow.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # fairway_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Stripped, as dh_strip would: 29 MB of debug information would go to every server. The
# unstripped programs stay in build/ for a core file's backtrace.
set(CPACK_STRIP_FILES ON)
# dpkg-shlibdeps declares every library the programs link (DPDK's librte_*, yaml-cpp, OpenSSL ...)
# with the versions this build saw.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# DPDK loads its drivers as plugins (EAL's driver directory), which no program links, so
# dpkg-shlibdeps cannot see them. Every configuration needs a mempool driver and, with the default
# exception path, net_tap; the NIC drivers and the tools (dpdk-devbind.py, dpdk-hugepages.py) come
# with the `dpdk` package; AF_XDP ports on veth or any kernel driver with net_af_xdp.
# Their names carry the ABI of the DPDK built against (librte_eal.so.23: "23").
file(GLOB fairway_eal_sonames "${DPDK_LIBDIR}/librte_eal.so.[0-9]*")
set(FAIRWAY_DPDK_ABI "")
foreach(soname ${fairway_eal_sonames})
  if(soname MATCHES "librte_eal\\.so\\.([0-9]+)$")
    set(FAIRWAY_DPDK_ABI ${CMAKE_MATCH_1})
  endif()
endforeach()
if(FAIRWAY_DPDK_ABI STREQUAL "")
  message(FATAL_ERROR "no librte_eal.so.N in '${DPDK_LIBDIR}': cannot name DPDK's driver packages")
endif()
# Debian appends the ABI to a library package name (a dash first when the name ends in a digit).
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "librte-mempool-ring${FAIRWAY_DPDK_ABI}, librte-net-tap${FAIRWAY_DPDK_ABI}")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "dpdk, librte-net-af-xdp${FAIRWAY_DPDK_ABI}")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bird2")
# Every file in /etc is the administrator's: dpkg keeps their edits on upgrade and asks before
# replacing them. The maintainer scripts make systemd see the units (docs/PACKAGING.md).
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/packaging/debian/conffiles
    ${CMAKE_SOURCE_DIR}/packaging/debian/postinst
    ${CMAKE_SOURCE_DIR}/packaging/debian/prerm
    ${CMAKE_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)  # scripts 0755, conffiles 0644
include(CPack)
