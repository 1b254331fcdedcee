#pragma once
// What the control core answers to a request of the control API: an HTTP status and a JSON body
// ({"error": "..."} when the status is not 2xx).
#include <nlohmann/json.hpp>

namespace fairway {

struct ApiResult {
  int status = 200;
  nlohmann::json body;
};

}  // namespace fairway
