# byte-relay: the end-to-end benchmark's baseline (bytes forwarded without parsing).
add_executable(byte-relay ${CMAKE_CURRENT_SOURCE_DIR}/byte_relay.cpp)
target_link_libraries(byte-relay PRIVATE smpp::dataplane)
target_compile_options(byte-relay PRIVATE ${SMPP_WARNINGS})
