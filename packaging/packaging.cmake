# packaging/packaging.cmake (included by the top CMakeLists.txt): what `make install` puts where,
# the man page (help2man, from `aigate --help`), the systemd units, the Debian package built by
# `make deb` (CPack), and the ctest that installs that package into a fresh Debian 12 root.
#
# Installed under the prefix (/usr/local by default, /usr in the package):
#   bin/aigate                           the gateway, web UI embedded
#   lib/aigate/libyyjson.so.0*           yyjson's library (AIGATE_BUNDLE_YYJSON, see below)
#   share/man/man1/aigate.1.gz           from `aigate --help` (when help2man is installed)
#   lib/systemd/system/aigate.service    system service: user aigate, data in /var/lib/aigate
#   lib/systemd/system/aigate@.service   one of several instances: data in /var/lib/aigate-NAME
#   lib/systemd/user/aigate.service      user service (`systemctl --user`)
#   lib/sysusers.d/aigate.conf           the aigate user, for systemd-sysusers
include(GNUInstallDirs)

install(TARGETS aigate RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

# yyjson: Debian 12 has no package of it (scripts/deps.sh installs Debian 13's), so a package that
# declared it could not be installed on Debian 12. Its shared library is installed in a private
# directory that only aigate looks in (RUNPATH), where it cannot clash with a system yyjson.
option(AIGATE_BUNDLE_YYJSON "Install yyjson's shared library in <prefix>/lib/aigate for aigate" ON)
if(AIGATE_BUNDLE_YYJSON)
    pkg_get_variable(AG_YYJSON_LIBDIR yyjson libdir)
    file(GLOB AG_YYJSON_FILES ${AG_YYJSON_LIBDIR}/libyyjson.so.*)
    if(NOT AG_YYJSON_FILES)
        message(FATAL_ERROR "AIGATE_BUNDLE_YYJSON: no libyyjson.so.* in '${AG_YYJSON_LIBDIR}'")
    endif()
    install(FILES ${AG_YYJSON_FILES} DESTINATION lib/aigate)
    set_target_properties(aigate PROPERTIES INSTALL_RPATH "$ORIGIN/../lib/aigate")
    foreach(c /usr/share/doc/libyyjson0/copyright /usr/share/doc/libyyjson-dev/copyright)
        if(EXISTS ${c})
            install(FILES ${c} DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME copyright.yyjson)
            break()
        endif()
    endforeach()
endif()

# The man page, generated from the built binary (not in sanitizer builds, which are not installed).
find_program(AG_HELP2MAN help2man)
if(AG_HELP2MAN AND NOT AIGATE_SANITIZE)
    set(AG_MAN ${CMAKE_BINARY_DIR}/packaging/aigate.1)
    add_custom_command(OUTPUT ${AG_MAN}.gz
        COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/packaging
        COMMAND ${CMAKE_COMMAND} -E env AIGATE_DATA_DIR=${CMAKE_BINARY_DIR}/packaging/no-data
            ${AG_HELP2MAN} --no-info --section=1 "--name=local AI gateway"
            --output=${AG_MAN} $<TARGET_FILE:aigate>
        COMMAND gzip -9nf ${AG_MAN}
        DEPENDS aigate
        COMMENT "Generating the man page (help2man)"
        VERBATIM)
    add_custom_target(aigate-man ALL DEPENDS ${AG_MAN}.gz)
    install(FILES ${AG_MAN}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
elseif(NOT AIGATE_SANITIZE)
    message(STATUS "man page: not generated (help2man not found; scripts/deps.sh installs it)")
endif()

# The units name the binary by its installed path, which is known only at install time (CPack
# installs with prefix /usr, `make install` with PREFIX), so they are written then.
install(CODE "
    set(AG_BINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
    foreach(kind system user)
        set(in ${CMAKE_SOURCE_DIR}/packaging/systemd/aigate.service.in)
        if(kind STREQUAL user)
            set(in ${CMAKE_SOURCE_DIR}/packaging/systemd/aigate-user.service.in)
        endif()
        configure_file(\${in} ${CMAKE_BINARY_DIR}/packaging/\${kind}/aigate.service @ONLY)
        file(INSTALL ${CMAKE_BINARY_DIR}/packaging/\${kind}/aigate.service
            DESTINATION \"\${CMAKE_INSTALL_PREFIX}/lib/systemd/\${kind}\")
    endforeach()
    configure_file(${CMAKE_SOURCE_DIR}/packaging/systemd/aigate@.service.in
        ${CMAKE_BINARY_DIR}/packaging/system/aigate@.service @ONLY)
    file(INSTALL ${CMAKE_BINARY_DIR}/packaging/system/aigate@.service
        DESTINATION \"\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\")
")
install(FILES ${CMAKE_SOURCE_DIR}/packaging/systemd/aigate.sysusers
    DESTINATION lib/sysusers.d RENAME aigate.conf)

# The Debian package. Depends comes from dpkg-shlibdeps: the Debian packages of the libraries the
# binary links (libc6, libsqlite3-0, libssl3, libuv1, ...), with the lower bounds of
# their shlibs files. yyjson is not among them: Debian 12 has no package of it, and the library
# the package carries in /usr/lib/aigate (found through the RUNPATH) is a file of the package
# itself.
execute_process(COMMAND dpkg --print-architecture OUTPUT_VARIABLE AG_DEB_ARCH
    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME aigate)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "aigate maintainers <aigate@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "local AI gateway for OpenAI, Anthropic and Gemini clients")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "aigate accepts the OpenAI, Anthropic and Gemini wire protocols on
127.0.0.1:8045 and forwards each request through a pool of upstream accounts, converting
protocols both ways, streaming, and rotating accounts when one is rate-limited. Web admin UI
included. The package ships a systemd system service (aigate.service, user aigate, data in
/var/lib/aigate) and a user service; neither is enabled on install.")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
if(AG_DEB_ARCH)
    set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${AG_DEB_ARCH})
endif()
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# useradd, for the postinst; libcurl and libpq, which the gateway loads with dlopen on first use
# (src/upstream/curl_api.h, src/store/pq_api.h), so dpkg-shlibdeps does not see them (the lower
# bounds are the ones it gave while they were linked).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd, libcurl4 (>= 7.63.0), libpq5 (>= 9.0~)")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "ca-certificates")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/packaging/deb/postinst ${CMAKE_SOURCE_DIR}/packaging/deb/prerm
    ${CMAKE_SOURCE_DIR}/packaging/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Install as if into /usr (so the units name /usr/bin/aigate), staged below DESTDIR.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_OUTPUT_FILE_PREFIX ${CMAKE_BINARY_DIR}/deb)
include(CPack)

# The package, installed with apt into a fresh Debian 12 root, must start and serve its UI. Needs
# root (debootstrap, chroot); not in sanitizer builds (the package is built from the normal one).
if(NOT AIGATE_SANITIZE AND AIGATE_WEB_UI)
    add_test(NAME packaging.deb COMMAND sh ${CMAKE_SOURCE_DIR}/packaging/test-deb.sh ${CMAKE_BINARY_DIR})
    set_tests_properties(packaging.deb PROPERTIES TIMEOUT 1200 LABELS packaging)
endif()
