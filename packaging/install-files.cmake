# Runs at install time (cmake --install, cpack): places the default configuration and the
# systemd unit relative to the prefix being installed to. Prefix /usr (the Debian package)
# puts the configuration in /etc as the FHS asks; any other prefix P uses P/etc.
# Set by packaging/CMakeLists.txt before this script runs: SMPP_SOURCE_DIR, SMPP_BINARY_DIR,
# SMPP_BINDIR_REL, SMPP_DOCDIR_REL.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(SMPP_ETCDIR "/etc/smpp-router")
else()
  set(SMPP_ETCDIR "${CMAKE_INSTALL_PREFIX}/etc/smpp-router")
endif()
set(SMPP_BINDIR "${CMAKE_INSTALL_PREFIX}/${SMPP_BINDIR_REL}")
set(SMPP_DOCDIR "${CMAKE_INSTALL_PREFIX}/${SMPP_DOCDIR_REL}")
# One rendered unit per destination, so two installs at once (cpack and cmake --install) do
# not write the same file.
string(MD5 destination_id "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}")
set(unit_dir "${SMPP_BINARY_DIR}/packaging/unit-${destination_id}")
configure_file("${SMPP_SOURCE_DIR}/packaging/smpp-router.service.in"
               "${unit_dir}/smpp-router.service" @ONLY)
file(INSTALL DESTINATION "${SMPP_ETCDIR}" TYPE FILE
     FILES "${SMPP_SOURCE_DIR}/config/router.toml"
     PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" TYPE FILE
     FILES "${unit_dir}/smpp-router.service"
     PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
file(REMOVE_RECURSE "${unit_dir}")
