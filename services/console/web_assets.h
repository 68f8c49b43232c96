#pragma once
// The page's files (services/console/web/), compiled into the binary by the build
// (services/console/embed_web.cmake): the console serves them without any file on disk.
#include <cstddef>
#include <string_view>

namespace sw::console {

struct WebAsset {
  std::string_view path;          // as requested, e.g. "/app.js" ("/index.html" is also "/")
  std::string_view content_type;
  std::string_view body;
};

// Every embedded file; `count` receives how many.
const WebAsset* web_assets(std::size_t& count);
// The file for a request path, or nullptr.
const WebAsset* find_web_asset(std::string_view path);

}  // namespace sw::console
