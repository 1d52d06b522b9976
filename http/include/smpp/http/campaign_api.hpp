// The campaign routes of smpp-http: POST /v1/campaigns (CSV or JSON), GET /v1/campaigns/{id},
// POST /v1/campaigns/{id}/pause, /resume, /cancel, GET /v1/campaigns/{id}/report.csv. Each is
// authenticated by the api_server's bearer keys; a client sees its own campaigns only.
#pragma once

#include "smpp/http/api_server.hpp"
#include "smpp/http/campaign_runner.hpp"
#include "smpp/http/http_config.hpp"

namespace smpp::http {

// Adds the routes to `server` (before its bind()); `runner` and `config` outlive it.
void add_campaign_routes(api_server& server, campaign_runner& runner, const http_config& config);

}  // namespace smpp::http
