# src/desktop/desktop.cmake (included by the top CMakeLists.txt): the aigate-desktop app — a GTK 3 +
# WebKitGTK 4.1 window and an AppIndicator tray over the same gateway libraries as aigate — its
# .desktop file and icons, and its tests under Xvfb. AIGATE_DESKTOP=AUTO builds it when pkg-config
# finds its libraries (scripts/deps.sh installs them), ON requires them, OFF leaves it out. The
# gateway itself never depends on GTK. Included before packaging/packaging.cmake: the .deb then
# becomes two packages, aigate (as before) and aigate-desktop (this app; Depends on aigate for the
# yyjson it bundles, and on GTK/WebKitGTK through dpkg-shlibdeps), so a server install pulls no GTK.
include(GNUInstallDirs)
set(AIGATE_DESKTOP AUTO CACHE STRING "Build aigate-desktop (GTK window + tray): AUTO, ON or OFF")
set_property(CACHE AIGATE_DESKTOP PROPERTY STRINGS AUTO ON OFF)

set(AG_DESKTOP_BUILT OFF)
if(NOT AIGATE_DESKTOP STREQUAL "OFF")
    set(ag_desk_mods gtk+-3.0 webkit2gtk-4.1 ayatana-appindicator3-0.1 libnotify)
    if(AIGATE_DESKTOP STREQUAL "ON")
        pkg_check_modules(DESKTOP REQUIRED IMPORTED_TARGET ${ag_desk_mods})
    else()
        pkg_check_modules(DESKTOP QUIET IMPORTED_TARGET ${ag_desk_mods})
    endif()
    if(DESKTOP_FOUND)
        set(AG_DESKTOP_BUILT ON)
    else()
        message(STATUS "aigate-desktop: not built (needs ${ag_desk_mods}: run scripts/deps.sh)")
    endif()
endif()

if(AG_DESKTOP_BUILT)
    file(GLOB desk_srcs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/desktop/*.c)
    add_executable(aigate-desktop ${desk_srcs})
    target_compile_options(aigate-desktop PRIVATE ${AG_WARNINGS})
    # GLib's and GTK's headers are not -Wshadow clean in every version; they are system headers.
    target_link_libraries(aigate-desktop PRIVATE "$<LINK_GROUP:RESCAN,${AG_BELOW}>"
        PkgConfig::DESKTOP)
    message(STATUS "aigate-desktop: built (GTK ${DESKTOP_gtk+-3.0_VERSION}, "
        "WebKitGTK ${DESKTOP_webkit2gtk-4.1_VERSION})")
    install(TARGETS aigate-desktop RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT desktop)
    # yyjson as aigate finds it (packaging.cmake, AIGATE_BUNDLE_YYJSON); harmless without it.
    set_target_properties(aigate-desktop PROPERTIES INSTALL_RPATH "$ORIGIN/../lib/aigate")
    set(CPACK_DEB_COMPONENT_INSTALL ON)
    set(CPACK_COMPONENTS_ALL Unspecified desktop)
    set(CPACK_DEBIAN_UNSPECIFIED_PACKAGE_NAME aigate)
    set(CPACK_DEBIAN_DESKTOP_PACKAGE_NAME aigate-desktop)
    set(CPACK_DEBIAN_DESKTOP_PACKAGE_DEPENDS "aigate (= ${PROJECT_VERSION})")
    set(CPACK_DEBIAN_DESKTOP_PACKAGE_SECTION net)
    set(CPACK_DEBIAN_DESKTOP_PACKAGE_CONTROL_EXTRA ${CMAKE_SOURCE_DIR}/packaging/deb/desktop/postinst)
    set(CPACK_DEBIAN_DESKTOP_DESCRIPTION "aigate desktop app: window and tray icon
aigate-desktop shows aigate's web UI in a native window (GTK 3, WebKitGTK) and keeps the gateway
in the tray (start/stop the proxy, copy the base URL, notifications when accounts need you). It
runs the gateway in its own process, or attaches to the aigate service when one is running.")
endif()

# The .desktop file and the icons: the SVG sources in data/icons go to hicolor/scalable; PNG sizes
# are rendered from them when rsvg-convert (librsvg2-bin) is installed.
if(AG_DESKTOP_BUILT)
    set(ag_icon_dir ${CMAKE_SOURCE_DIR}/data/icons)
    install(FILES ${CMAKE_SOURCE_DIR}/data/aigate-desktop.desktop
        DESTINATION ${CMAKE_INSTALL_DATADIR}/applications COMPONENT desktop)
    install(FILES ${ag_icon_dir}/aigate.svg
        DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps COMPONENT desktop)
    install(FILES ${ag_icon_dir}/aigate.svg ${ag_icon_dir}/aigate-stopped.svg
        ${ag_icon_dir}/aigate-limited.svg
        DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/status COMPONENT desktop)
    find_program(AG_RSVG rsvg-convert)
    if(AG_RSVG)
        set(ag_pngs "")
        foreach(size 16 22 24 32 48 64 128 256)
            set(png ${CMAKE_BINARY_DIR}/icons/${size}x${size}/aigate.png)
            add_custom_command(OUTPUT ${png}
                COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/icons/${size}x${size}
                COMMAND ${AG_RSVG} -w ${size} -h ${size} -o ${png} ${ag_icon_dir}/aigate.svg
                DEPENDS ${ag_icon_dir}/aigate.svg
                COMMENT "Rendering the ${size}x${size} icon"
                VERBATIM)
            list(APPEND ag_pngs ${png})
            install(FILES ${png} DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/${size}x${size}/apps
                COMPONENT desktop)
        endforeach()
        add_custom_target(aigate-icons ALL DEPENDS ${ag_pngs})
    else()
        message(STATUS "aigate-desktop: PNG icons not rendered (rsvg-convert not found); SVG only")
    endif()
endif()

# Tests: one C program per scenario under tests/desktop/, each starting its own Xvfb and session
# bus. Registered whenever the target could be configured; without it each one exits 77 and ctest
# reports it as skipped (not passed).
file(GLOB desk_tests CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/desktop/test_*.c)
if(desk_tests)
    pkg_check_modules(DESKTEST QUIET IMPORTED_TARGET gio-2.0)
endif()
# GTK, fontconfig and WebKit keep process-lifetime allocations that LeakSanitizer reports at exit;
# the sanitizer build checks the app for memory errors, not for those.
set(ag_desk_env ${AG_TEST_ENV})
if(AIGATE_SANITIZE)
    list(FILTER ag_desk_env EXCLUDE REGEX "^ASAN_OPTIONS=")
    list(APPEND ag_desk_env "ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:halt_on_error=1")
endif()
foreach(t IN LISTS desk_tests)
    get_filename_component(name ${t} NAME_WE)
    string(REGEX REPLACE "^test_" "" short ${name})
    if(AG_DESKTOP_BUILT AND DESKTEST_FOUND)
        set(tgt desktop_${short})
        add_executable(${tgt} ${t} ${CMAKE_SOURCE_DIR}/tests/desktop/harness.c)
        target_compile_options(${tgt} PRIVATE ${AG_WARNINGS})
        target_include_directories(${tgt} PRIVATE ${CMAKE_SOURCE_DIR}/tests/desktop)
        target_link_libraries(${tgt} PRIVATE ag_testsupport PkgConfig::DESKTEST
            "$<LINK_GROUP:RESCAN,${AG_BELOW}>")
        add_dependencies(${tgt} aigate-desktop aigate)
        if(TARGET aigate-mock-upstream) # desktop.notify's upstream
            add_dependencies(${tgt} aigate-mock-upstream)
        endif()
        add_test(NAME desktop.${short} COMMAND ${tgt})
        set_tests_properties(desktop.${short} PROPERTIES
            ENVIRONMENT "${ag_desk_env};AIGATE_DESKTOP_BIN=$<TARGET_FILE:aigate-desktop>"
            TIMEOUT 300 SKIP_RETURN_CODE 77 RUN_SERIAL ON)
    else()
        # Exit 77 = SKIP_RETURN_CODE: ctest lists the test as skipped, not as passed.
        add_test(NAME desktop.${short} COMMAND sh -c
            "echo 'aigate-desktop was not built (AIGATE_DESKTOP=${AIGATE_DESKTOP}, libraries missing?): skipped'; exit 77")
        set_tests_properties(desktop.${short} PROPERTIES SKIP_RETURN_CODE 77)
    endif()
endforeach()
