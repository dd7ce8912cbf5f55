# Installed layout: bin/lilypad, lib/lilypad/plugins/*.so, include/lilypad/*.h, a pkg-config
# file and a CMake package, so out-of-tree plugins build against an installed lilypad.
include(CMakePackageConfigHelpers)

install(TARGETS lilypad RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT core)
file(GLOB LP_API_HEADERS ${CMAKE_CURRENT_SOURCE_DIR}/api/lilypad/*.h)
install(FILES ${LP_API_HEADERS} ${CMAKE_BINARY_DIR}/api/lilypad/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/lilypad COMPONENT dev)

install(TARGETS lilypad_api EXPORT LilypadTargets COMPONENT dev)
install(EXPORT LilypadTargets NAMESPACE lilypad:: FILE LilypadTargets.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Lilypad COMPONENT dev)

configure_package_config_file(cmake/LilypadConfig.cmake.in
    ${CMAKE_BINARY_DIR}/cmake/LilypadConfig.cmake
    INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Lilypad
    PATH_VARS LP_PLUGIN_INSTALL_DIR CMAKE_INSTALL_INCLUDEDIR)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/cmake/LilypadConfigVersion.cmake
    VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/cmake/LilypadConfig.cmake
              ${CMAKE_BINARY_DIR}/cmake/LilypadConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Lilypad COMPONENT dev)

configure_file(cmake/lilypad-plugin.pc.in ${CMAKE_BINARY_DIR}/lilypad-plugin.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/lilypad-plugin.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

# The plugin folder exists even when no optional plugin is built, so packagers' plugin
# packages and out-of-tree plugins have somewhere to go.
install(DIRECTORY DESTINATION ${LP_PLUGIN_INSTALL_DIR} COMPONENT core)
