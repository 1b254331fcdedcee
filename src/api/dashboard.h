#pragma once
// The live dashboard served at `/`: one self-contained HTML page that polls the JSON API.

namespace fairway {

const char* dashboard_html();

}  // namespace fairway
