# Helpers every plugin's CMakeLists.txt uses. A plugin directory does its own dependency
# checks, then calls exactly one of:
#   lp_add_plugin(<concern> <name> OPTION WITH_X SOURCES ... [LIBRARIES ...])
#   lp_plugin_missing(<concern> <name> WITH_X "<what is missing>")
# after asking lp_plugin_wanted(WITH_X <var>) whether to build it at all. Embedded defaults,
# compiled into the core, use lp_add_embedded_plugin(<concern> <name> SOURCES ...).

set_property(GLOBAL PROPERTY LP_PLUGIN_SUMMARY "")
set_property(GLOBAL PROPERTY LP_EMBEDDED_PLUGINS "")

# Declares WITH_<X> (AUTO|ON|OFF, default LP_PLUGINS_DEFAULT) and sets <out_var> to TRUE
# unless it is OFF.
function(lp_plugin_wanted option out_var)
    set(${option} ${LP_PLUGINS_DEFAULT} CACHE STRING "Build this plugin: AUTO, ON or OFF")
    set_property(CACHE ${option} PROPERTY STRINGS AUTO ON OFF)
    string(TOUPPER "${${option}}" value)
    if(NOT value MATCHES "^(AUTO|ON|OFF)$")
        message(FATAL_ERROR "${option}=${${option}}: expected AUTO, ON or OFF")
    endif()
    if(value STREQUAL "OFF")
        set(${out_var} FALSE PARENT_SCOPE)
    else()
        set(${out_var} TRUE PARENT_SCOPE)
    endif()
endfunction()

function(_lp_summary_add line)
    # The summary is a CMake list, so a reason such as "gfx90a;gfx1030" must not split it.
    string(REPLACE ";" ", " line "${line}")
    set_property(GLOBAL APPEND PROPERTY LP_PLUGIN_SUMMARY "${line}")
endfunction()

# Records why a plugin is skipped; a missing dependency of a plugin forced ON stops configure.
function(lp_plugin_missing concern name option reason)
    string(TOUPPER "${${option}}" value)
    if(value STREQUAL "ON")
        message(FATAL_ERROR "${option}=ON but plugin ${concern}/${name} cannot be built: ${reason}")
    endif()
    _lp_summary_add("${concern}/${name}|skipped: ${reason} (${option}=${value})")
endfunction()

function(lp_plugin_disabled concern name option)
    _lp_summary_add("${concern}/${name}|skipped: ${option}=OFF")
endfunction()

# Applies the rules every loadable plugin follows: <concern>_<name>.so with no lib prefix,
# hidden symbols but the descriptor, every symbol resolved at link time (-z defs), only the
# ABI headers on the include path.
function(lp_plugin_target_properties target output_name output_dir)
    set_target_properties(${target} PROPERTIES
        PREFIX ""
        OUTPUT_NAME ${output_name}
        LIBRARY_OUTPUT_DIRECTORY ${output_dir}
        C_VISIBILITY_PRESET hidden
        CXX_VISIBILITY_PRESET hidden
        CUDA_VISIBILITY_PRESET hidden
        VISIBILITY_INLINES_HIDDEN ON)
    # clang links its sanitizer runtimes into executables only, so a sanitized plugin's
    # __asan_* references are resolved at load time; -z defs would refuse them.
    if(NOT (CMAKE_C_COMPILER_ID MATCHES "Clang" AND (LP_SANITIZE OR LP_TSAN OR LP_FUZZ)))
        target_link_options(${target} PRIVATE -Wl,-z,defs)
    endif()
    target_link_libraries(${target} PRIVATE lilypad::api)
endfunction()

function(lp_add_plugin concern name)
    cmake_parse_arguments(P "" "OPTION" "SOURCES;LIBRARIES;INCLUDES" ${ARGN})
    set(target ${concern}_${name})
    add_library(${target} MODULE ${P_SOURCES})
    lp_plugin_target_properties(${target} ${target} ${LP_PLUGIN_OUTPUT_DIR})
    if(P_LIBRARIES)
        target_link_libraries(${target} PRIVATE ${P_LIBRARIES})
    endif()
    if(P_INCLUDES)
        target_include_directories(${target} PRIVATE ${P_INCLUDES})
    endif()
    install(TARGETS ${target} LIBRARY DESTINATION ${LP_PLUGIN_INSTALL_DIR}
            COMPONENT plugin-${name})
    if(P_OPTION)
        string(TOUPPER "${${P_OPTION}}" value)
        _lp_summary_add("${concern}/${name}|built (${P_OPTION}=${value})")
    else()
        _lp_summary_add("${concern}/${name}|built")
    endif()
endfunction()

# An embedded default: compiled into the core with LP_PLUGIN_STATIC, so a fresh machine runs
# without any .so. It goes through the same descriptor checks as a loaded plugin.
function(lp_add_embedded_plugin concern name)
    cmake_parse_arguments(P "" "" "SOURCES;LIBRARIES;INCLUDES;COMPILE_OPTIONS" ${ARGN})
    set(target lp_embedded_${concern}_${name})
    add_library(${target} OBJECT ${P_SOURCES})
    target_compile_definitions(${target} PRIVATE LP_PLUGIN_STATIC)
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
    target_link_libraries(${target} PUBLIC lilypad::api ${P_LIBRARIES})
    if(P_INCLUDES)
        target_include_directories(${target} PRIVATE ${P_INCLUDES})
    endif()
    if(P_COMPILE_OPTIONS)
        target_compile_options(${target} PRIVATE ${P_COMPILE_OPTIONS})
    endif()
    set_property(GLOBAL APPEND PROPERTY LP_EMBEDDED_PLUGINS "${concern}:${name}")
    _lp_summary_add("${concern}/${name}|built (embedded default)")
endfunction()

# Generates the core's table of embedded plugins and links their objects into <core_target>,
# and the table of every plugin this source tree ships, built here or not (the summary has
# them all), so a configuration naming a plugin this build left out is not taken for a typo.
function(lp_finish_embedded_plugins core_target)
    get_property(plugins GLOBAL PROPERTY LP_EMBEDDED_PLUGINS)
    get_property(summary GLOBAL PROPERTY LP_PLUGIN_SUMMARY)
    set(release_rows "")
    foreach(line IN LISTS summary)
        string(REGEX REPLACE "^([a-z]+)/([^|]+)\\|.*$" "    {\"\\1\", \"\\2\"},\n" row "${line}")
        string(APPEND release_rows "${row}")
    endforeach()
    set(decls "")
    set(rows "")
    foreach(entry IN LISTS plugins)
        string(REPLACE ":" ";" parts "${entry}")
        list(GET parts 0 concern)
        list(GET parts 1 name)
        string(APPEND decls "const struct lp_plugin *lp_plugin_descriptor_${concern}_${name}(void);\n")
        string(APPEND rows "    {\"${concern}\", \"${name}\", lp_plugin_descriptor_${concern}_${name}},\n")
        target_sources(${core_target} PRIVATE $<TARGET_OBJECTS:lp_embedded_${concern}_${name}>)
        target_link_libraries(${core_target} PUBLIC lp_embedded_${concern}_${name})
    endforeach()
    set(out ${CMAKE_BINARY_DIR}/generated/embedded_plugins.c)
    file(CONFIGURE OUTPUT ${out} CONTENT
"/* Generated by cmake/LilypadPlugin.cmake: the plugins compiled into the core. */
#include \"loader/embedded.h\"

${decls}
const struct lp_embedded_plugin lp_embedded_plugins[] = {
${rows}    {NULL, NULL, NULL},
};

const struct lp_plugin_name lp_release_plugins[] = {
${release_rows}    {NULL, NULL},
};
" @ONLY)
    target_sources(${core_target} PRIVATE ${out})
endfunction()

function(lp_print_plugin_summary)
    get_property(lines GLOBAL PROPERTY LP_PLUGIN_SUMMARY)
    message(STATUS "")
    message(STATUS "lilypad ${PROJECT_VERSION} (plugin ABI ${LP_ABI_MAJOR}.${LP_ABI_MINOR}) plugins:")
    list(SORT lines)
    foreach(line IN LISTS lines)
        string(REPLACE "|" ";" parts "${line}")
        list(GET parts 0 plugin)
        list(GET parts 1 state)
        string(LENGTH "${plugin}" len)
        math(EXPR pad "20 - ${len}")
        if(pad LESS 1)
            set(pad 1)
        endif()
        string(REPEAT " " ${pad} spaces)
        message(STATUS "  ${plugin}${spaces}${state}")
    endforeach()
    message(STATUS "")
endfunction()
