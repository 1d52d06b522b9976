// WAP push content as phones receive it over SMS: a WSP connectionless Push PDU
// (WAP-230-WSP §8.2.4.1) carrying a Service Indication or Service Loading in WBXML
// (WAP-192-WBXML, WAP-167-ServiceInd, WAP-168-ServiceLoad) or an MMS m-notification-ind
// (OMA-TS-MMS-ENC §6.2). The octets go to WDP port 2948 (TS 23.040 §9.2.3.24.4) via
// build_binary(); see wap_push_ports.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "smpp/http/message_builder.hpp"

namespace smpp::http {

// WAP-259-WDP Appendix B: WAP push connectionless session service, from the WAP gateway port.
inline constexpr port_pair wap_push_ports{9200, 2948};

struct service_indication {
  std::string href;
  std::string text;
  std::string action;   // signal-none, signal-low, signal-medium (the default), signal-high,
                        // delete
  std::string si_id;    // empty: none
  std::string created;  // "YYYY-MM-DDThh:mm:ssZ" or empty
  std::string expires;  // "YYYY-MM-DDThh:mm:ssZ" or empty
};

struct service_loading {
  std::string href;
  std::string action;  // execute-low (the default), execute-high, cache
};

enum class mms_class : std::uint8_t { personal, advertisement, informational, automatic };

struct mms_notification {
  std::string location;  // X-Mms-Content-Location: where the phone fetches the message
  std::string from;      // empty: none (the address is then inserted by the MMSC)
  std::string subject;   // empty: none
  std::uint32_t size = 0;
  std::uint32_t expiry_s = 0;  // relative; 0: none
  mms_class message_class = mms_class::personal;
  std::string transaction_id;
};

// The Push PDU, or what is wrong ("action: ..." names the field).
using push_result = std::variant<std::vector<std::byte>, std::string>;

[[nodiscard]] push_result encode_service_indication(const service_indication& si, std::uint8_t tid);
[[nodiscard]] push_result encode_service_loading(const service_loading& sl, std::uint8_t tid);
[[nodiscard]] push_result encode_mms_notification(const mms_notification& m, std::uint8_t tid);

}  // namespace smpp::http
