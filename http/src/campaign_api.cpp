// Campaign requests over cpp-httplib: the body read and checked, the answers written here.
#include "smpp/http/campaign_api.hpp"

#include <httplib.h>

#include <map>
#include <string>

#include "clock.hpp"
#include "smpp/http/campaign_request.hpp"
#include "smpp/http/message_json.hpp"

namespace smpp::http {
namespace {

// Faults listed in a 202: the count says how many there were.
constexpr std::size_t max_faults_listed = 1000;

std::optional<std::uint64_t> id_of(const httplib::Request& req, httplib::Response& res) {
  const std::string& text = req.matches[1].str();
  if (text.size() > 19) {
    json_error(res, 404, "id", "no such campaign");
    return std::nullopt;
  }
  std::uint64_t id = 0;
  for (const char c : text) id = id * 10 + static_cast<std::uint64_t>(c - '0');
  return id;
}

void post_campaign(api_server& server, campaign_runner& runner, const http_config& config,
                   const httplib::Request& req, httplib::Response& res,
                   const httplib::ContentReader& read) {
  // The body first: one left unread would be taken for the next request on the connection.
  const auto body = server.read_body(req, res, read);
  if (!body) return;
  const auto client = server.authenticate(req, res);
  if (!client) return;
  const std::string type = req.get_header_value("Content-Type");
  const bool csv = type.starts_with("text/csv");
  std::map<std::string, std::string> params;
  for (const auto& [k, v] : req.params) params[k] = v;
  auto parsed = parse_campaign_request(*body, csv, params,
                                       {config.campaign_max_recipients, config.max_parts});
  if (auto* e = std::get_if<request_error>(&parsed)) {
    json_error(res, 400, e->field, e->reason);
    return;
  }
  campaign_spec& spec = std::get<campaign_spec>(parsed);
  const client_config& cc = config.clients[*client];
  if (spec.from && !sender_allowed(cc, spec.from_text)) {
    json_error(res, 400, "from", "is not a sender this client may use");
    return;
  }
  std::string faults;
  for (std::size_t i = 0; i < spec.faults.size() && i < max_faults_listed; ++i) {
    faults += i == 0 ? "{" : ",{";
    faults += "\"line\":" + std::to_string(spec.faults[i].line) + ",\"reason\":";
    append_json_string(faults, spec.faults[i].reason);
    faults += "}";
  }
  const std::size_t recipients = spec.recipients.size();
  const std::size_t refused = spec.faults.size();
  const auto created = runner.create(*client, std::move(spec), wall_ms());
  if (created.status != campaign_runner::create_status::ok) {
    res.set_header("Retry-After", "1");
    json_error(res, 503, "campaign",
               created.status == campaign_runner::create_status::full
                   ? "campaigns.max_campaigns are kept and none is done or cancelled"
                   : "the campaign could not be written to the database");
    return;
  }
  res.status = 202;
  res.set_content("{\"id\":\"" + std::to_string(created.id) + "\",\"recipients\":" +
                      std::to_string(recipients) + ",\"rows_refused\":" + std::to_string(refused) +
                      ",\"faults\":[" + faults + "]}\n",
                  "application/json");
}

}  // namespace

void add_campaign_routes(api_server& api, campaign_runner& campaigns, const http_config& cfg) {
  httplib::Server& s = api.server();
  // The handlers outlive this call: they hold the objects, not this function's references.
  api_server* const server_ptr = &api;
  campaign_runner* const runner_ptr = &campaigns;
  const http_config* const config_ptr = &cfg;
  s.Post("/v1/campaigns", [=](const httplib::Request& req, httplib::Response& res,
                              const httplib::ContentReader& read) {
    post_campaign(*server_ptr, *runner_ptr, *config_ptr, req, res, read);
  });
  s.Get(R"(/v1/campaigns/(\d+))", [=](const httplib::Request& req, httplib::Response& res) {
    api_server& server = *server_ptr;
    campaign_runner& runner = *runner_ptr;
    const auto client = server.authenticate(req, res);
    const auto id = client ? id_of(req, res) : std::nullopt;
    if (!id) return;
    if (const auto body = runner.progress_json(*id, *client, wall_ms())) {
      res.set_content(*body, "application/json");
    } else {
      json_error(res, 404, "id", "no such campaign");
    }
  });
  s.Get(R"(/v1/campaigns/(\d+)/report\.csv)",
        [=](const httplib::Request& req, httplib::Response& res) {
          api_server& server = *server_ptr;
          campaign_runner& runner = *runner_ptr;
          const auto client = server.authenticate(req, res);
          const auto id = client ? id_of(req, res) : std::nullopt;
          if (!id) return;
          if (const auto body = runner.report_csv(*id, *client)) {
            res.set_content(*body, "text/csv");
          } else {
            json_error(res, 404, "id", "no such campaign");
          }
        });
  s.Post(R"(/v1/campaigns/(\d+)/(pause|resume|cancel))",
         [=](const httplib::Request& req, httplib::Response& res) {
           api_server& server = *server_ptr;
           campaign_runner& runner = *runner_ptr;
           const auto client = server.authenticate(req, res);
           const auto id = client ? id_of(req, res) : std::nullopt;
           if (!id) return;
           const std::string action = req.matches[2].str();
           const campaign_state to = action == "pause"    ? campaign_state::paused
                                     : action == "resume" ? campaign_state::running
                                                          : campaign_state::cancelled;
           switch (runner.change(*id, *client, to)) {
             case campaign_runner::change_status::ok:
               res.set_content(runner.progress_json(*id, *client, wall_ms()).value_or("{}\n"),
                               "application/json");
               return;
             case campaign_runner::change_status::not_found:
               json_error(res, 404, "id", "no such campaign");
               return;
             case campaign_runner::change_status::conflict:
               json_error(res, 409, "state", "the campaign is done or cancelled");
               return;
             case campaign_runner::change_status::not_stored:
               res.set_header("Retry-After", "1");
               json_error(res, 503, "state", "the change could not be written to the database");
               return;
           }
         });
}

}  // namespace smpp::http
