#include "corpus.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <span>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "smpp/codec/codec.hpp"

namespace smpp::bench {
namespace {

using codec::command_id;
using codec::command_status;

// Only raw mt19937_64 output is used (no std distributions), so the corpus is the same on every
// standard library.
class dice {
 public:
  explicit dice(uint64_t seed) : g_(seed) {}
  uint64_t below(uint64_t n) { return g_() % n; }
  uint64_t between(uint64_t lo, uint64_t hi) { return lo + below(hi - lo + 1); }
  bool permille(unsigned p) { return below(1000) < p; }
  double unit() { return static_cast<double>(g_() >> 11) * 0x1.0p-53; }
  template <typename T, size_t N>
  const T& pick(const std::array<T, N>& a) {
    return a[below(N)];
  }
  template <typename T, size_t N>
  const T& pick(const T (&a)[N]) {
    return a[below(N)];
  }
  // Index into weights, drawn in proportion to them.
  size_t weighted(std::span<const unsigned> weights) {
    uint64_t r = below(std::accumulate(weights.begin(), weights.end(), uint64_t{0}));
    for (size_t i = 0;; ++i) {
      if (r < weights[i]) return i;
      r -= weights[i];
    }
  }
  std::string digits(size_t n) {
    std::string s(n, '0');
    for (auto& c : s) c = static_cast<char>('0' + below(10));
    return s;
  }
  std::string alnum(size_t n, bool upper) {
    static constexpr std::string_view kUpper = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    static constexpr std::string_view kLower = "abcdefghijkmnopqrstuvwxyz0123456789";
    const std::string_view set = upper ? kUpper : kLower;
    std::string s(n, ' ');
    for (auto& c : s) c = set[below(set.size())];
    return s;
  }

 private:
  std::mt19937_64 g_;
};

// ---- addresses ------------------------------------------------------------------------------

// E.164 mobile ranges: country code and mobile prefix, then the subscriber digits.
struct number_range {
  std::string_view prefix;
  unsigned rest;
  unsigned weight;
};
constexpr std::array kMobileRanges = {
    number_range{"447", 9, 14},   number_range{"4915", 9, 6},  number_range{"4917", 9, 4},
    number_range{"336", 8, 6},    number_range{"337", 8, 3},   number_range{"1415", 7, 3},
    number_range{"1646", 7, 3},   number_range{"1305", 7, 2},  number_range{"9198", 8, 5},
    number_range{"9170", 8, 4},   number_range{"55119", 8, 5}, number_range{"234803", 7, 4},
    number_range{"234813", 7, 2}, number_range{"63917", 7, 3}, number_range{"62812", 8, 4},
    number_range{"7916", 7, 4},   number_range{"97150", 7, 3}, number_range{"346", 8, 4},
    number_range{"3934", 8, 4},   number_range{"8613", 9, 3},  number_range{"2547", 8, 3},
    number_range{"90532", 7, 3},  number_range{"3069", 8, 2},
};

struct address {
  uint8_t ton = 0;
  uint8_t npi = 0;
  std::string addr;
};

// SMPP 3.4 §5.2.5/§5.2.6: international ISDN numbers; alphanumeric senders are TON 5 NPI 0,
// short codes TON 3 NPI 0.
address msisdn(dice& d, size_t* range_index = nullptr) {
  std::array<unsigned, kMobileRanges.size()> w{};
  for (size_t i = 0; i < w.size(); ++i) w[i] = kMobileRanges[i].weight;
  const size_t i = d.weighted(w);
  if (range_index) *range_index = i;
  return {1, 1, std::string(kMobileRanges[i].prefix) + d.digits(kMobileRanges[i].rest)};
}
address alphanumeric(std::string_view name) {
  return {5, 0, std::string(name)};
}
address short_code(std::string_view code) {
  return {3, 0, std::string(code)};
}

// ---- text -----------------------------------------------------------------------------------

// Template placeholders are `name` (a back-tick never occurs in SMS text we generate).
constexpr std::string_view kMerchants[] = {
    "LIDL BERLIN",    "TESCO STORES 2291", "AMZN MKTP EU", "SHELL 4471",
    "STARBUCKS 0192", "IKEA HAMBURG",      "UBER *TRIP",   "CARREFOUR CITY",
};
constexpr std::string_view kNames[] = {"Anna",  "Mehmet", "Priya", "Tom",    "Olga",
                                       "Chidi", "Lucia",  "Wei",   "Fatima", "Jan"};
constexpr std::string_view kCars[] = {"Toyota Prius", "Skoda Octavia", "VW Passat", "Hyundai Ioniq",
                                      "Tesla Model 3"};
constexpr std::string_view kColours[] = {"white", "black", "silver", "grey", "blue"};
constexpr std::string_view kStreets[] = {"Kiosk Hauptstr. 12", "Spar, 4 High St", "Tabac du Centre",
                                         "Pharmacy Plaza 7"};

std::string fill(dice& d, std::string_view tpl, std::string_view brand, std::string_view sc) {
  std::string out;
  out.reserve(tpl.size() + 32);
  while (!tpl.empty()) {
    const size_t open = tpl.find('`');
    if (open == std::string_view::npos) {
      out += tpl;
      break;
    }
    out += tpl.substr(0, open);
    const size_t close = tpl.find('`', open + 1);
    const std::string_view key = tpl.substr(open + 1, close - open - 1);
    tpl.remove_prefix(close + 1);
    auto two = [](uint64_t v) {
      char b[4];
      std::snprintf(b, sizeof b, "%02u", static_cast<unsigned>(v));
      return std::string(b);
    };
    if (key == "d3") {
      out += d.digits(3);
    } else if (key == "d4") {
      out += d.digits(4);
    } else if (key == "d6") {
      out += d.digits(6);
    } else if (key == "amt") {
      out += std::to_string(d.between(1, 1999)) + "." + two(d.below(100));
    } else if (key == "brand") {
      out += brand;
    } else if (key == "sc") {
      out += sc;
    } else if (key == "merchant") {
      out += d.pick(kMerchants);
    } else if (key == "name") {
      out += d.pick(kNames);
    } else if (key == "car") {
      out += d.pick(kCars);
    } else if (key == "colour") {
      out += d.pick(kColours);
    } else if (key == "street") {
      out += d.pick(kStreets);
    } else if (key == "plate") {
      out += d.alnum(2, true) + "-" + d.digits(3) + "-" + d.alnum(2, true);
    } else if (key == "dd") {
      out += two(d.between(1, 28));
    } else if (key == "mm") {
      out += two(d.between(1, 12));
    } else if (key == "hh") {
      out += two(d.between(8, 19));
    } else if (key == "mi") {
      out += two(d.below(4) * 15);
    } else if (key == "min") {
      out += std::to_string(5 * d.between(1, 3));
    } else if (key == "n") {
      out += std::to_string(d.between(2, 9));
    } else if (key == "pct") {
      out += std::to_string(10 * d.between(2, 7));
    } else if (key == "gb") {
      out += std::to_string(d.between(5, 50));
    } else if (key == "trk") {
      out += "JD0146" + d.digits(12);
    } else if (key == "code") {
      out += d.alnum(6, false);
    } else if (key == "CODE") {
      out += d.alnum(8, true);
    } else {
      throw std::logic_error("corpus template: unknown placeholder");
    }
  }
  return out;
}

// One code point from valid UTF-8 (the templates are ours).
char32_t next_code_point(std::string_view s, size_t& i) {
  const auto b = [&](size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(s[k])); };
  const char32_t c = b(i);
  if (c < 0x80) return (i += 1, c);
  if (c < 0xE0) return (i += 2, ((c & 0x1F) << 6) | (b(i - 1) & 0x3F));
  if (c < 0xF0) return (i += 3, ((c & 0x0F) << 12) | ((b(i - 2) & 0x3F) << 6) | (b(i - 1) & 0x3F));
  i += 4;
  return ((c & 0x07) << 18) | ((b(i - 3) & 0x3F) << 12) | ((b(i - 2) & 0x3F) << 6) |
         (b(i - 1) & 0x3F);
}

// The characters of TS 23.038 §6.2.1 that differ from ASCII, and the extension table of
// §6.2.1.1 (sent as the escape 0x1B, then the septet), as far as the templates use them.
struct gsm7_special {
  char32_t c;
  uint8_t septet;
  bool escaped;
};
constexpr gsm7_special kGsm7Specials[] = {
    {U'@', 0x00, false}, {U'£', 0x01, false},  {U'$', 0x02, false}, {U'è', 0x04, false},
    {U'é', 0x05, false}, {U'\n', 0x0A, false}, {U'_', 0x11, false}, {U'Ä', 0x5B, false},
    {U'Ö', 0x5C, false}, {U'Ü', 0x5E, false},  {U'ä', 0x7B, false}, {U'ö', 0x7C, false},
    {U'ü', 0x7E, false}, {U'^', 0x14, true},   {U'{', 0x28, true},  {U'}', 0x29, true},
    {U'\\', 0x2F, true}, {U'[', 0x3C, true},   {U'~', 0x3D, true},  {U']', 0x3E, true},
    {U'|', 0x40, true},  {U'€', 0x65, true},
};

// UTF-8 to unpacked GSM 7-bit septets, one per octet, as short_message carries them with
// data_coding 0. Characters outside the alphabet become '?'.
std::vector<uint8_t> to_gsm7(std::string_view utf8) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < utf8.size();) {
    const char32_t c = next_code_point(utf8, i);
    const auto* sp = std::find_if(std::begin(kGsm7Specials), std::end(kGsm7Specials),
                                  [c](const gsm7_special& g) { return g.c == c; });
    if (sp != std::end(kGsm7Specials)) {
      if (sp->escaped) out.push_back(0x1B);
      out.push_back(sp->septet);
      continue;
    }
    // Identical to ASCII: space..'#', '%'..'?', 'A'..'Z', 'a'..'z'.
    const bool same = (c >= 0x20 && c <= 0x23) || (c >= 0x25 && c <= 0x3F) ||
                      (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    out.push_back(same ? static_cast<uint8_t>(c) : uint8_t{'?'});
  }
  return out;
}

// The first characters of GSM septets as an SMSC writes them into a receipt's "text:".
std::string gsm7_preview(std::span<const uint8_t> septets, size_t max_chars) {
  std::string s;
  for (size_t i = 0; i < septets.size() && s.size() < max_chars; ++i) {
    const uint8_t c = septets[i];
    if (c == 0x1B) continue;
    if (c == 0x00) {
      s += '@';
    } else if (c == 0x02) {
      s += '$';
    } else if (c == 0x0A) {
      s += ' ';
    } else if (c == 0x11) {
      s += '_';
    } else if ((c >= 0x20 && c <= 0x5A && c != 0x24 && c != 0x40) || (c >= 0x61 && c <= 0x7A)) {
      s += static_cast<char>(c);
    } else {
      s += '?';
    }
  }
  return s;
}

// UTF-8 to UCS-2 big-endian (UTF-16BE: characters outside the BMP as surrogate pairs).
std::vector<uint8_t> to_ucs2(std::string_view utf8) {
  std::vector<uint8_t> out;
  auto unit = [&](char32_t u) {
    out.push_back(static_cast<uint8_t>(u >> 8));
    out.push_back(static_cast<uint8_t>(u));
  };
  for (size_t i = 0; i < utf8.size();) {
    const char32_t c = next_code_point(utf8, i);
    if (c > 0xFFFF) {
      unit(0xD800 + ((c - 0x10000) >> 10));
      unit(0xDC00 + ((c - 0x10000) & 0x3FF));
    } else {
      unit(c);
    }
  }
  return out;
}

// Cuts user data into parts of at most max_octets, never between an escape and its character
// (GSM, TS 23.038 §6.2.1.1) nor between the halves of a surrogate pair (UCS-2).
std::vector<std::vector<uint8_t>> split(const std::vector<uint8_t>& ud, size_t max_octets,
                                        bool ucs2) {
  std::vector<std::vector<uint8_t>> parts;
  for (size_t at = 0; at < ud.size();) {
    size_t n = std::min(max_octets, ud.size() - at);
    if (at + n < ud.size()) {
      if (!ucs2 && ud[at + n - 1] == 0x1B) --n;
      if (ucs2 && (ud[at + n - 2] & 0xFC) == 0xD8) n -= 2;
    }
    parts.emplace_back(ud.begin() + static_cast<ptrdiff_t>(at),
                       ud.begin() + static_cast<ptrdiff_t>(at + n));
    at += n;
  }
  return parts;
}

// ---- templates ------------------------------------------------------------------------------

constexpr std::string_view kOtpGsm[] = {
    "Your `brand` verification code is `d6`. It expires in `min` minutes. Do "
    "not share this code with anyone.",
    "`d6` is your `brand` login code. If you did not request it, ignore this message.",
    "<#> `brand` code: `d6`\nDo not share it with anyone. FA+9qCX9VSu",
    "G-`d6` is your `brand` verification code.",
    "`brand`: use code `d4` to confirm your phone number.\n\n@acme.example #`d4`",
};
constexpr std::string_view kOtpUcs2[] = {
    "Код подтверждения: `d6`. Никому не сообщайте этот код.",
    "رمز التحقق الخاص بك هو `d6`. لا تشاركه مع أي شخص.",
    "【`brand`】您的验证码是`d6`，`min`分钟内有效，请勿泄露。",
    "आपका `brand` OTP `d6` है। इसे किसी के साथ साझा न करें।",
    "Doğrulama kodunuz: `d6`. Bu kodu kimseyle paylaşmayın.",
    "Ο κωδικός επαλήθευσης είναι `d6`. Ισχύει για `min` λεπτά.",
};
constexpr std::string_view kBankGsm[] = {
    "`brand`: card ending `d4` was charged EUR `amt` at `merchant` on "
    "`dd`/`mm` at `hh`:`mi`. Not you? Call 0800 `d3` `d4`.",
    "`brand`: you received £`amt` from J SMITH. Available balance £`amt`.",
    "`brand` alert: a payment of $`amt` to `merchant` is pending. Reply YES to approve or NO to "
    "decline.",
    "`brand`: your statement for `mm`/2024 is ready. Balance due EUR `amt` by `dd`/`mm`.",
};
constexpr std::string_view kBankUcs2[] = {
    "`brand`: покупка `amt` ₽ в `merchant`. Доступно `amt` ₽.",
    "`brand`: تم خصم `amt` درهم من بطاقتك المنتهية بـ `d4`.",
    "`brand`: Kartınızdan `amt` TL harcama yapıldı. Bakiye: `amt` TL. Şüpheli işlem için 444 "
    "`d4`.",
};
constexpr std::string_view kDeliveryGsm[] = {
    "`brand`: your parcel `trk` is out for delivery today between `hh`:00 and "
    "`hh`:00. Track it: https://qship.example/t/`code`",
    "`brand`: we tried to deliver parcel `trk` today but nobody was home. It is now waiting for "
    "you at `street`, open Mon-Sat 08:00-20:00. Bring ID and this code: `d6`. Rebook: "
    "https://qship.example/r/`code`",
    "`brand`: parcel `trk` was delivered at `hh`:`mi` and left with your neighbour. Rate us: "
    "https://qship.example/f/`code`",
};
constexpr std::string_view kReminderGsm[] = {
    "Reminder: your appointment at `brand` is on `dd`/`mm` at `hh`:`mi`. Reply "
    "C to confirm or R to reschedule.",
    "Your driver `name` is arriving in `n` min in a `colour` `car` (`plate`).",
    "`brand`: your table for `n` at `hh`:`mi` is confirmed. See you soon!",
};
constexpr std::string_view kMarketingGsm[] = {
    "`brand` WINTER SALE! Up to `pct`% off jackets, boots and accessories "
    "until Sunday. Use code `CODE` at checkout for an extra 10% off orders over "
    "$50. Shop now: https://shopfast.example/s/`code` or visit your nearest "
    "store. T&Cs apply. Reply STOP to `sc` to opt out.",
    "Hi `name`, your `brand` points balance is `n`00 and `pct` points expire on `dd`/`mm`. "
    "Redeem them for vouchers, free delivery or exclusive_member deals at "
    "https://shopfast.example/m/`code` before they are gone! Reply STOP to `sc` to unsubscribe.",
};
constexpr std::string_view kMarketingUcs2[] = {
    "🎉 `brand`: скидки до `pct`% на всю зимнюю коллекцию до воскресенья! "
    "Промокод `CODE` даёт ещё −10% при заказе от 3000 ₽. "
    "Бесплатная "
    "доставка "
    "🚚 "
    "https://shopfast.example/s/`code` Отписаться: STOP на `sc`",
    "🛍️ "
    "双十一特惠！`brand`全场低至`pct`折，满299减50，限时三天。立即抢购："
    "https://shopfast.example/s/`code` 回复TD退订",
};
constexpr std::string_view kTelcoGsm[] = {
    "Dear customer, you have used `pct`% of your monthly data allowance "
    "(`gb` GB). Buy an extra 5 GB for €`amt` by replying DATA5 to `sc` or dial "
    "*100# [free]. Your balance is €`amt` {valid until `dd`.`mm`.}",
};
constexpr std::string_view kDataSmGsm[] = {
    "`brand`: your monthly bill of EUR `amt` is ready. Pay by `dd`/`mm` to "
    "avoid a late fee: https://telco.example/b/`code`",
};
constexpr std::string_view kMoGsm[] = {
    "STOP",    "YES",
    "C",       "R",
    "Thanks!", "What time do you open tomorrow?",
    "DATA5",   "ok see you then",
};
constexpr std::string_view kMoUcs2[] = {"Да, подтверждаю", "谢谢", "شكرا", "👍"};

// ---- PDUs -----------------------------------------------------------------------------------

// Owns everything a codec::pdu views, until the stream is encoded.
struct pdu_spec {
  command_id id = command_id::generic_nack;
  command_status status = command_status::ESME_ROK;
  bool body_absent = false;
  std::string system_id, password, system_type;
  uint8_t interface_version = 0;
  std::string service_type;
  address source, dest;
  uint8_t esm_class = 0;
  uint8_t priority_flag = 0;
  std::string validity_period;
  uint8_t registered_delivery = 0;
  uint8_t data_coding = 0;
  std::vector<uint8_t> short_message;
  std::string message_id;
  std::vector<std::byte> tlvs;
};

class tlv_list {
 public:
  tlv_list& uint(uint16_t tag, uint32_t v, size_t width) {
    (void)w_.add_uint(tag, v, width);
    return *this;
  }
  tlv_list& cstring(uint16_t tag, std::string_view s) {
    (void)w_.add_cstring(tag, s);
    return *this;
  }
  tlv_list& octets(uint16_t tag, std::span<const uint8_t> v) {
    (void)w_.add(tag, codec::bytes_view(reinterpret_cast<const std::byte*>(v.data()), v.size()));
    return *this;
  }
  std::vector<std::byte> take() {
    if (!w_.ok()) throw std::logic_error("corpus: TLVs overflow");
    const auto raw = w_.area().raw();
    return {raw.begin(), raw.end()};
  }

 private:
  std::array<std::byte, 2048> buf_{};
  codec::tlv_writer w_{buf_};
};

struct event {
  double t_ms = 0;
  uint32_t order = 0;    // creation order breaks ties, keeping a burst in causal order
  uint32_t session = 0;  // whose sequence_number counter numbers this request
  int64_t request = -1;  // a response: index of the event it answers
  uint32_t sequence_number = 0;
  pdu_spec pdu;
};

// Upstream SMSCs differ in how they number messages and word their receipts.
enum class smsc_style : uint8_t {
  hex10,       // message_id "3C7A9B21F0"; receipt dates YYMMDDhhmm
  uuid,        // message_id "a3f1c2e4-5b6d-4e8f-9a0b-1c2d3e4f5a6b"; dates YYMMDDhhmmss
  hex_decimal  // submit_sm_resp in hex, receipt text id in decimal, TLV in hex (a common quirk)
};

// The ESME accounts bound to the router, and how each sends.
struct client {
  std::string_view system_id;
  std::string_view brand;
  std::string_view short_code;
  bool sar;  // concatenates with SAR TLVs instead of a UDH
};
constexpr std::array kClients = {
    client{"otp_gw", "Acme", "72345", false},      client{"bankline", "AcmeBank", "80600", false},
    client{"qship", "QuickShip", "60777", true},   client{"care", "CityClinic", "2020", false},
    client{"mktg_eu", "ShopFast", "80800", false}, client{"chat2way", "Trattoria", "88222", false},
};
constexpr uint32_t kRouterToClient = 100;  // session offset: router -> ESME (deliver_sm)
constexpr uint32_t kFreshBind = 200;       // sessions that (re)bind inside the window

class traffic {
 public:
  explicit traffic(const corpus_options& o)
      : d_(o.seed), span_ms_(static_cast<double>(o.messages) * 2.5) {
    hex_id_ = d_.below(uint64_t{1} << 36) + (uint64_t{1} << 38);
    snowflake_ = (uint64_t{1731574800000} << 22) + d_.below(1 << 20);
  }

  std::vector<event> run(size_t messages) {
    for (size_t m = 0; m < messages; ++m) message(d_.unit() * span_ms_);
    // Keep-alives: SMPP 3.4 §4.11, every 30 s on each of a few hundred mostly idle binds.
    for (size_t k = 0; k < messages / 25; ++k) enquire_link(d_.unit() * span_ms_);
    for (uint32_t k = 0; k < 3; ++k) bind(d_.unit() * span_ms_, k);
    unbind(d_.unit() * span_ms_);
    return std::move(events_);
  }

 private:
  // ---- one end-user message -----------------------------------------------------------------
  void message(double t) {
    enum kind : uint8_t {
      otp_gsm,
      otp_ucs2,
      bank_gsm,
      bank_ucs2,
      delivery_gsm,
      reminder_gsm,
      marketing_gsm,
      marketing_ucs2,
      telco_gsm,
      data_sm_notify,
      mo_chat,
      kinds
    };
    static constexpr std::array<unsigned, kinds> kWeights = {300, 80, 100, 30, 90, 80,
                                                             100, 50, 40,  30, 40};
    const auto k = static_cast<kind>(d_.weighted(kWeights));
    size_t range = 0;
    const address to = msisdn(d_, &range);
    const auto style = static_cast<smsc_style>(range % 3);
    switch (k) {
      case otp_gsm:
      case otp_ucs2: {
        const client& c = kClients[0];
        const uint64_t r = d_.below(10);
        const address from = r < 7   ? alphanumeric(r < 4 ? "Verify" : "AcmeID")
                             : r < 9 ? short_code(c.short_code)
                                     : address{1, 1, "4915123456789"};
        const std::string text =
            fill(d_, k == otp_gsm ? d_.pick(kOtpGsm) : d_.pick(kOtpUcs2), c.brand, c.short_code);
        submit(t, 0, from, to, text, k == otp_ucs2, style,
               {.validity = d_.permille(500) ? "000000000500000R" : "", .priority = 1});
        break;
      }
      case bank_gsm:
      case bank_ucs2: {
        const client& c = kClients[1];
        const std::string text =
            fill(d_, k == bank_gsm ? d_.pick(kBankGsm) : d_.pick(kBankUcs2), c.brand, "");
        submit(t, 1, alphanumeric(c.brand), to, text, k == bank_ucs2, style,
               {.user_message_reference = true});
        break;
      }
      case delivery_gsm: {
        const client& c = kClients[2];
        submit(t, 2, alphanumeric(c.brand), to, fill(d_, d_.pick(kDeliveryGsm), c.brand, ""), false,
               style, {});
        break;
      }
      case reminder_gsm: {
        const uint64_t r = d_.below(3);
        const std::string_view brand = r == 0 ? "CityClinic" : r == 1 ? "RideGo" : "Trattoria";
        submit(t, 3, alphanumeric(brand), to, fill(d_, kReminderGsm[r], brand, ""), false, style,
               {});
        break;
      }
      case marketing_gsm:
      case marketing_ucs2: {
        const client& c = kClients[4];
        const address from = d_.permille(600) ? alphanumeric(c.brand) : short_code(c.short_code);
        const std::string text =
            fill(d_, k == marketing_gsm ? d_.pick(kMarketingGsm) : d_.pick(kMarketingUcs2), c.brand,
                 c.short_code);
        submit(t, 4, from, to, text, k == marketing_ucs2, style,
               {.validity = "000002000000000R", .campaign_tlv = true, .udh16 = d_.permille(300)});
        break;
      }
      case telco_gsm: {
        const client& c = kClients[3];
        submit(t, 3, alphanumeric("TelcoCare"), to,
               fill(d_, kTelcoGsm[0], "TelcoCare", c.short_code), false, style, {});
        break;
      }
      case data_sm_notify:
        data_sm(t, to, style);
        break;
      case mo_chat:
        mo(t, to, style);
        break;
      default:
        break;
    }
  }

  struct submit_options {
    std::string_view validity = {};
    uint8_t priority = 0;
    bool user_message_reference = false;
    bool campaign_tlv = false;  // a vendor TLV (SMPP 3.4 §5.3.1: 0x1400..0x3FFF)
    bool udh16 = false;         // 16-bit concatenation reference (TS 23.040 §9.2.3.24.8)
  };

  void submit(double t, uint32_t cl, const address& from, const address& to,
              const std::string& text, bool ucs2, smsc_style style, const submit_options& o) {
    const std::vector<uint8_t> ud = ucs2 ? to_ucs2(text) : to_gsm7(text);
    // TS 23.038 / TS 23.040: 160 septets or 140 octets in one message; a part loses the UDH.
    const size_t single = ucs2 ? 140 : 160;
    const bool sar = kClients[cl].sar;
    const size_t udh_len = o.udh16 && !sar ? 7 : 6;
    const size_t per_part = ucs2 ? 140 - udh_len : (140 - udh_len) * 8 / 7;
    const auto parts =
        ud.size() <= single ? std::vector<std::vector<uint8_t>>{ud} : split(ud, per_part, ucs2);
    const auto ref = static_cast<uint16_t>(d_.below(o.udh16 ? 65536 : 256));
    const bool receipt = d_.permille(920);
    double at = t;
    for (size_t i = 0; i < parts.size(); ++i) {
      pdu_spec p;
      p.id = command_id::submit_sm;
      p.source = from;
      p.dest = to;
      p.priority_flag = o.priority;
      p.validity_period = std::string(o.validity);
      p.registered_delivery = receipt ? 1 : 0;
      p.data_coding = ucs2 ? 0x08 : 0x00;
      tlv_list tlvs;
      if (parts.size() > 1 && sar) {
        // SMPP 3.4 §5.3.2.22-24
        tlvs.uint(codec::tag::sar_msg_ref_num, ref, 2)
            .uint(codec::tag::sar_total_segments, static_cast<uint32_t>(parts.size()), 1)
            .uint(codec::tag::sar_segment_seqnum, static_cast<uint32_t>(i + 1), 1);
      } else if (parts.size() > 1) {
        // TS 23.040 §9.2.3.24.1 (IEI 0x00) and §9.2.3.24.8 (IEI 0x08)
        p.esm_class = codec::esm_class_udhi;
        const auto total = static_cast<uint8_t>(parts.size());
        const auto seq = static_cast<uint8_t>(i + 1);
        const auto ref_hi = static_cast<uint8_t>(ref >> 8);
        const auto ref_lo = static_cast<uint8_t>(ref);
        if (udh_len == 7) {
          p.short_message = {0x06, 0x08, 0x04, ref_hi, ref_lo, total, seq};
        } else {
          p.short_message = {0x05, 0x00, 0x03, ref_lo, total, seq};
        }
      }
      p.short_message.insert(p.short_message.end(), parts[i].begin(), parts[i].end());
      if (o.user_message_reference) {
        tlvs.uint(codec::tag::user_message_reference, static_cast<uint32_t>(d_.below(65536)), 2);
      }
      if (o.campaign_tlv) {
        tlvs.cstring(0x1401, "CMP-2411-" + d_.digits(4));
      }
      p.tlvs = tlvs.take();
      const std::string preview = ucs2 ? std::string() : gsm7_preview(parts[i], 20);
      const pdu_spec copy = p;
      const int64_t req = add(at, cl, std::move(p));
      submit_response(at, req, cl, copy, receipt, style, preview, to, from);
      at += static_cast<double>(d_.between(1, 4));  // parts go out back to back
    }
  }

  void submit_response(double t, int64_t req, uint32_t cl, const pdu_spec& sub, bool receipt,
                       smsc_style style, const std::string& preview, const address& to,
                       const address& from) {
    const double resp_t = t + static_cast<double>(d_.between(4, 60));
    const unsigned r = static_cast<unsigned>(d_.below(1000));
    if (r < 18) {
      // SMPP 3.4 §5.1.3 ESME_RTHROTTLED / ESME_RINVDSTADR, body omitted (§3.3); a throttled
      // submit is retried a little later.
      pdu_spec nack;
      nack.id = command_id::submit_sm_resp;
      nack.status = r < 15 ? command_status::ESME_RTHROTTLED : command_status::ESME_RINVDSTADR;
      nack.body_absent = true;
      add_response(resp_t, req, std::move(nack));
      if (r < 15) {
        const double retry_t = resp_t + static_cast<double>(d_.between(200, 1000));
        const int64_t again = add(retry_t, cl, pdu_spec(sub));
        submit_response(retry_t, again, cl, sub, receipt, style, preview, to, from);
      }
      return;
    }
    const auto [resp_id, text_id, tlv_id] = next_message_id(style);
    pdu_spec ok;
    ok.id = command_id::submit_sm_resp;
    ok.message_id = resp_id;
    add_response(resp_t, req, std::move(ok));
    if (receipt) delivery_receipt(t, cl, style, text_id, tlv_id, preview, to, from);
  }

  struct message_ids {
    std::string resp, text, tlv;
  };
  message_ids next_message_id(smsc_style style) {
    char b[48];
    switch (style) {
      case smsc_style::hex10:
        hex_id_ += d_.between(1, 9);
        std::snprintf(b, sizeof b, "%010llX", static_cast<unsigned long long>(hex_id_));
        return {b, b, b};
      case smsc_style::uuid: {
        const std::string h = [&] {
          std::string s;
          for (int i = 0; i < 32; ++i) s += "0123456789abcdef"[d_.below(16)];
          s[12] = '4';                  // RFC 9562 §5.4 version
          s[16] = "89ab"[d_.below(4)];  // RFC 9562 §4.1 variant
          return s;
        }();
        const std::string u = h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" +
                              h.substr(16, 4) + "-" + h.substr(20);
        return {u, u, u};
      }
      case smsc_style::hex_decimal:
      default: {
        snowflake_ += d_.between(1, 4096);
        std::snprintf(b, sizeof b, "%llX", static_cast<unsigned long long>(snowflake_));
        const std::string hex = b;
        std::snprintf(b, sizeof b, "%llu", static_cast<unsigned long long>(snowflake_));
        return {hex, b, hex};
      }
    }
  }

  // SMPP 3.4 Appendix B text, §5.3.2.12 receipted_message_id, §5.3.2.35 message_state,
  // §5.3.2.31 network_error_code.
  void delivery_receipt(double submit_t, uint32_t cl, smsc_style style, const std::string& text_id,
                        const std::string& tlv_id, const std::string& preview, const address& to,
                        const address& from) {
    struct outcome {
      std::string_view stat;
      uint8_t state;
      unsigned weight;
      double min_s, max_s;
    };
    static constexpr std::array kOutcomes = {
        outcome{"DELIVRD", 2, 880, 1, 20},    outcome{"UNDELIV", 5, 60, 1, 60},
        outcome{"EXPIRED", 3, 25, 600, 3600}, outcome{"REJECTD", 8, 20, 0.2, 2},
        outcome{"ACCEPTD", 6, 8, 0.5, 5},     outcome{"ENROUTE", 1, 7, 0.5, 5},
    };
    std::array<unsigned, kOutcomes.size()> w{};
    for (size_t i = 0; i < w.size(); ++i) w[i] = kOutcomes[i].weight;
    const outcome& o = kOutcomes[d_.weighted(w)];
    const double done_t = submit_t + 1000 * (o.min_s + d_.unit() * (o.max_s - o.min_s));
    static constexpr std::array<unsigned, 6> kGsmErrors = {1, 11, 13, 27, 31, 34};
    const unsigned err = o.state == 5 || o.state == 8 ? d_.pick(kGsmErrors) : 0;
    const bool delivered = o.state == 2;
    char text[256];
    std::snprintf(text, sizeof text,
                  "id:%s sub:001 dlvrd:%s submit date:%s done date:%s stat:%.*s err:%03u text:%s",
                  text_id.c_str(), delivered ? "001" : "000",
                  date(submit_t, style == smsc_style::uuid).c_str(),
                  date(done_t, style == smsc_style::uuid).c_str(), static_cast<int>(o.stat.size()),
                  o.stat.data(), err, preview.c_str());
    pdu_spec p;
    p.id = command_id::deliver_sm;
    p.source = to;
    p.dest = from;
    p.esm_class = codec::esm_class_delivery_receipt;
    const std::string_view s = text;
    p.short_message.assign(s.begin(), s.end());
    tlv_list tlvs;
    tlvs.cstring(codec::tag::receipted_message_id, tlv_id)
        .uint(codec::tag::message_state, o.state, 1);
    if (err != 0) {
      const std::array<uint8_t, 3> nec = {3, 0, static_cast<uint8_t>(err)};  // 3: GSM
      tlvs.octets(codec::tag::network_error_code, nec);
    }
    p.tlvs = tlvs.take();
    deliver(done_t, cl, std::move(p));
  }

  // deliver_sm to an ESME and its deliver_sm_resp (SMPP 3.4 §4.6.2: message_id unused).
  void deliver(double t, uint32_t cl, pdu_spec p) {
    const int64_t req = add(t, kRouterToClient + cl, std::move(p));
    pdu_spec resp;
    resp.id = command_id::deliver_sm_resp;
    add_response(t + static_cast<double>(d_.between(1, 25)), req, std::move(resp));
  }

  // A subscriber writes to a short code; sometimes the ESME answers.
  void mo(double t, const address& subscriber, smsc_style style) {
    const client& c = kClients[5];
    const bool ucs2 = d_.permille(250);
    pdu_spec p;
    p.id = command_id::deliver_sm;
    p.source = subscriber;
    p.dest = short_code(c.short_code);
    p.data_coding = ucs2 ? 0x08 : 0x00;
    p.short_message = ucs2 ? to_ucs2(d_.pick(kMoUcs2)) : to_gsm7(d_.pick(kMoGsm));
    deliver(t, 5, std::move(p));
    if (d_.permille(600)) {
      const std::string reply = fill(d_, kReminderGsm[2], c.brand, "");
      submit(t + static_cast<double>(d_.between(300, 3000)), 5, short_code(c.short_code),
             subscriber, reply, false, style, {});
    }
  }

  // SMPP 3.4 §4.7: data_sm with the text in message_payload (§5.3.2.32).
  void data_sm(double t, const address& to, smsc_style style) {
    const client& c = kClients[3];
    const std::string text = fill(d_, kDataSmGsm[0], "TelcoCare", c.short_code);
    pdu_spec p;
    p.id = command_id::data_sm;
    p.source = short_code(c.short_code);
    p.dest = to;
    p.registered_delivery = 1;
    p.tlvs = tlv_list().octets(codec::tag::message_payload, to_gsm7(text)).take();
    const int64_t req = add(t, 3, std::move(p));
    const auto ids = next_message_id(style);
    pdu_spec resp;
    resp.id = command_id::data_sm_resp;
    resp.message_id = ids.resp;
    add_response(t + static_cast<double>(d_.between(4, 60)), req, std::move(resp));
    delivery_receipt(t, 3, style, ids.text, ids.tlv, gsm7_preview(to_gsm7(text), 20), to,
                     short_code(c.short_code));
  }

  void enquire_link(double t) {
    const auto cl = static_cast<uint32_t>(d_.below(kClients.size()));
    pdu_spec p;
    p.id = command_id::enquire_link;
    const int64_t req = add(t, d_.permille(500) ? cl : kRouterToClient + cl, std::move(p));
    pdu_spec resp;
    resp.id = command_id::enquire_link_resp;
    add_response(t + static_cast<double>(d_.between(1, 10)), req, std::move(resp));
  }

  // SMPP 3.4 §4.1: an ESME (re)binds; the response carries sc_interface_version (§5.3.2.25).
  void bind(double t, uint32_t k) {
    static constexpr std::array kKinds = {command_id::bind_transceiver,
                                          command_id::bind_transmitter, command_id::bind_receiver};
    const client& c = kClients[k % kClients.size()];
    pdu_spec p;
    p.id = kKinds[k % kKinds.size()];
    p.system_id = std::string(c.system_id);
    p.password = d_.alnum(8, false);
    p.system_type = k == 1 ? "VMA" : "";
    p.interface_version = 0x34;
    const int64_t req = add(t, kFreshBind + k, std::move(p));
    pdu_spec resp;
    resp.id = codec::response_of(kKinds[k % kKinds.size()]);
    resp.system_id = "SMSCRouter";
    resp.tlvs = tlv_list().uint(codec::tag::sc_interface_version, 0x34, 1).take();
    add_response(t + static_cast<double>(d_.between(2, 30)), req, std::move(resp));
  }

  void unbind(double t) {
    pdu_spec p;
    p.id = command_id::unbind;
    const int64_t req = add(t, 2, std::move(p));
    pdu_spec resp;
    resp.id = command_id::unbind_resp;
    add_response(t + static_cast<double>(d_.between(1, 10)), req, std::move(resp));
  }

  // Appendix B dates: YYMMDDhhmm (or with seconds), counted from 2024-11-14 09:00:00.
  static std::string date(double t_ms, bool seconds) {
    const auto total_s = static_cast<long>(t_ms / 1000) + 9 * 3600;
    const long day = 14 + total_s / 86400;
    const long h = total_s / 3600 % 24, m = total_s / 60 % 60, s = total_s % 60;
    char b[64];
    if (seconds) {
      std::snprintf(b, sizeof b, "2411%02ld%02ld%02ld%02ld", day, h, m, s);
    } else {
      std::snprintf(b, sizeof b, "2411%02ld%02ld%02ld", day, h, m);
    }
    return b;
  }

  int64_t add(double t, uint32_t session, pdu_spec p) {
    event e;
    e.t_ms = std::fmod(t, span_ms_);  // steady state: the window wraps around
    e.order = static_cast<uint32_t>(events_.size());
    e.session = session;
    e.pdu = std::move(p);
    events_.push_back(std::move(e));
    return static_cast<int64_t>(events_.size() - 1);
  }
  void add_response(double t, int64_t request, pdu_spec p) {
    const int64_t i = add(t, 0, std::move(p));
    events_[static_cast<size_t>(i)].request = request;
  }

  dice d_;
  double span_ms_;
  uint64_t hex_id_ = 0;
  uint64_t snowflake_ = 0;
  std::vector<event> events_;
};

std::vector<std::byte> encode(const event& e) {
  const pdu_spec& s = e.pdu;
  codec::pdu p;
  p.id = s.id;
  p.status = s.status;
  p.sequence_number = e.sequence_number;
  p.body_absent = s.body_absent;
  p.system_id = s.system_id;
  p.password = s.password;
  p.system_type = s.system_type;
  p.interface_version = s.interface_version;
  p.service_type = s.service_type;
  p.source_addr_ton = s.source.ton;
  p.source_addr_npi = s.source.npi;
  p.source_addr = s.source.addr;
  p.dest_addr_ton = s.dest.ton;
  p.dest_addr_npi = s.dest.npi;
  p.destination_addr = s.dest.addr;
  p.esm_class = s.esm_class;
  p.priority_flag = s.priority_flag;
  p.validity_period = s.validity_period;
  p.registered_delivery = s.registered_delivery;
  p.data_coding = s.data_coding;
  p.short_message = codec::bytes_view(reinterpret_cast<const std::byte*>(s.short_message.data()),
                                      s.short_message.size());
  p.message_id = s.message_id;
  p.tlvs = codec::tlv_area(codec::bytes_view(s.tlvs));
  std::vector<std::byte> out(4096);
  const codec::encode_result r = codec::encode(p, out);
  if (!r.ok(out.size())) throw std::logic_error("corpus: a PDU does not encode");
  out.resize(r.needed);
  return out;
}

std::string classify(const codec::pdu& p) {
  switch (p.id) {
    case command_id::submit_sm:
      if (p.tlvs.find(codec::tag::sar_msg_ref_num)) return "submit_sm concatenated, SAR TLVs";
      if (p.esm_class & codec::esm_class_udhi) return "submit_sm concatenated, UDH";
      return p.data_coding == 0x08 ? "submit_sm UCS-2" : "submit_sm GSM 7-bit";
    case command_id::submit_sm_resp:
      return p.body_absent ? "submit_sm_resp error, header only" : "submit_sm_resp";
    case command_id::deliver_sm:
      return (p.esm_class & codec::esm_class_type_mask) == codec::esm_class_delivery_receipt
                 ? "deliver_sm delivery receipt"
                 : "deliver_sm MO";
    default:
      return std::string(codec::command_name(p.id));
  }
}

}  // namespace

corpus make_corpus(const corpus_options& options) {
  std::vector<event> events = traffic(options).run(options.messages);

  std::vector<size_t> order(events.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::pair(events[a].t_ms, events[a].order) < std::pair(events[b].t_ms, events[b].order);
  });
  // Sequence numbers in stream order per session; long-lived sessions start far from 1.
  dice d(options.seed ^ 0x9e3779b97f4a7c15ULL);
  std::map<uint32_t, uint32_t> next_seq;
  for (const size_t i : order) {
    event& e = events[i];
    if (e.request >= 0) continue;
    auto [it, fresh] = next_seq.try_emplace(e.session, 0);
    if (fresh)
      it->second = e.session >= kFreshBind ? 1 : static_cast<uint32_t>(d.between(1, 4'000'000));
    e.sequence_number = it->second++;
  }
  for (event& e : events) {
    if (e.request >= 0) e.sequence_number = events[static_cast<size_t>(e.request)].sequence_number;
  }

  corpus c;
  std::vector<size_t> offsets;
  for (const size_t i : order) {
    const std::vector<std::byte> b = encode(events[i]);
    offsets.push_back(c.bytes.size());
    c.bytes.insert(c.bytes.end(), b.begin(), b.end());
  }
  std::map<std::string, size_t> kinds;
  for (size_t k = 0; k < offsets.size(); ++k) {
    const size_t end = k + 1 < offsets.size() ? offsets[k + 1] : c.bytes.size();
    c.pdus.emplace_back(c.bytes.data() + offsets[k], end - offsets[k]);
    codec::pdu p;
    if (codec::decode(c.pdus.back(), p)) throw std::logic_error("corpus: a PDU does not decode");
    ++kinds[classify(p)];
  }

  std::set<std::string_view> unique;
  for (const codec::bytes_view f : c.pdus) unique.insert(f.as_chars());
  c.distinct = unique.size();

  std::vector<std::pair<std::string, size_t>> sorted(kinds.begin(), kinds.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& [name, n] : sorted) {
    char line[96];
    std::snprintf(line, sizeof line, "%-34s %6zu %5.1f%%", name.c_str(), n,
                  100.0 * static_cast<double>(n) / static_cast<double>(c.pdus.size()));
    c.composition.emplace_back(line);
  }
  return c;
}

}  // namespace smpp::bench
