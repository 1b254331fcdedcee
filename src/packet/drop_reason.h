#pragma once
// Every reason a worker drops a packet, with the name shown in counters. One list, one place.
#include <array>
#include <cstdint>
#include <string_view>

namespace fairway {

#define FAIRWAY_DROP_REASONS(X)                               \
  X(none, "none")                                             \
  X(truncated_ethernet, "truncated_ethernet")                 \
  X(unsupported_ethertype, "unsupported_ethertype")           \
  X(truncated_ipv4, "truncated_ipv4")                         \
  X(bad_ipv4_version, "bad_ipv4_version")                     \
  X(bad_ipv4_header_length, "bad_ipv4_header_length")         \
  X(bad_ipv4_total_length, "bad_ipv4_total_length")           \
  X(bad_ipv4_checksum, "bad_ipv4_checksum")                   \
  X(truncated_ipv6, "truncated_ipv6")                         \
  X(bad_ipv6_version, "bad_ipv6_version")                     \
  X(bad_ipv6_payload_length, "bad_ipv6_payload_length")       \
  X(bad_ipv6_extension_header, "bad_ipv6_extension_header")   \
  X(truncated_tcp, "truncated_tcp")                           \
  X(bad_tcp_data_offset, "bad_tcp_data_offset")               \
  X(truncated_udp, "truncated_udp")                           \
  X(bad_udp_length, "bad_udp_length")                         \
  X(truncated_icmp, "truncated_icmp")                         \
  X(bad_icmp_quote, "bad_icmp_quote")                         \
  X(fragment_to_service, "fragment_to_service")               \
  X(fragment_unsupported, "fragment_unsupported")             \
  X(fragment_oversized, "fragment_oversized")                 \
  X(fragment_no_slot, "fragment_no_slot")                     \
  X(fragment_evicted, "fragment_evicted")                     \
  X(fragment_limit, "fragment_limit")                         \
  X(fragment_invalid, "fragment_invalid")                     \
  X(fragment_timeout, "fragment_timeout")                     \
  X(fragment_split_failed, "fragment_split_failed")           \
  X(multi_segment_mbuf, "multi_segment_mbuf")                 \
  X(unserved_udp, "unserved_udp")                             \
  X(unserved_protocol, "unserved_protocol")                   \
  X(service_without_backends, "service_without_backends")     \
  X(denied_client, "denied_client")                           \
  X(strict_no_flow, "strict_no_flow")                         \
  X(bad_syn_cookie, "bad_syn_cookie")                         \
  X(proxied_flow_untracked, "proxied_flow_untracked")         \
  X(proxied_flow_opening, "proxied_flow_opening")             \
  X(icmp_error_no_flow, "icmp_error_no_flow")                 \
  X(no_route, "no_route")                                     \
  X(neighbor_unresolved, "neighbor_unresolved")               \
  X(ttl_expired, "ttl_expired")                               \
  X(no_exception_path, "no_exception_path")                   \
  X(kernel_queue_full_neighbor, "kernel_queue_full_neighbor") \
  X(kernel_queue_full_control, "kernel_queue_full_control")   \
  X(kernel_queue_full_icmp, "kernel_queue_full_icmp")         \
  X(kernel_queue_full_other, "kernel_queue_full_other")       \
  X(tx_full, "tx_full")                                       \
  X(no_room_for_reply, "no_room_for_reply")                   \
  X(reset_not_answered, "reset_not_answered")                 \
  X(echo_disabled, "echo_disabled")                           \
  X(not_for_us, "not_for_us")

enum class DropReason : uint8_t {
#define FAIRWAY_DROP_ENUM(id, name) id,
  FAIRWAY_DROP_REASONS(FAIRWAY_DROP_ENUM)
#undef FAIRWAY_DROP_ENUM
};

inline constexpr std::array kDropReasonNames = {
#define FAIRWAY_DROP_NAME(id, name) std::string_view(name),
    FAIRWAY_DROP_REASONS(FAIRWAY_DROP_NAME)
#undef FAIRWAY_DROP_NAME
};
inline constexpr size_t kDropReasonCount = kDropReasonNames.size();

constexpr std::string_view drop_reason_name(DropReason r) {
  return kDropReasonNames[static_cast<size_t>(r)];
}

}  // namespace fairway
