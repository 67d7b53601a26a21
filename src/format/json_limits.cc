#include "format/json_limits.h"

#include <set>
#include <vector>

#include <fmt/format.h>

namespace enclave {
namespace {

struct LimitExceeded {
  std::string message;
};

}  // namespace

Result<nlohmann::json> ParseJsonLimited(std::string_view text, const std::string& what, JsonLimits limits) {
  std::vector<std::set<std::string>> keys_at_depth;
  auto callback = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) -> bool {
    using E = nlohmann::json::parse_event_t;
    if (depth > limits.max_depth) {
      throw LimitExceeded{fmt::format("{}: JSON nested deeper than {} levels", what, limits.max_depth)};
    }
    if (event == E::object_start) {
      keys_at_depth.resize(std::max<size_t>(keys_at_depth.size(), depth + 2));
      keys_at_depth[depth + 1].clear();
    } else if (event == E::key && depth == limits.reject_duplicate_keys_at_depth) {
      if (keys_at_depth.size() <= static_cast<size_t>(depth)) keys_at_depth.resize(depth + 1);
      const std::string key = parsed.get<std::string>();
      if (!keys_at_depth[depth].insert(key).second) {
        throw LimitExceeded{fmt::format("{}: key '{}' appears more than once", what, key)};
      }
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), callback);
  } catch (const LimitExceeded& e) {
    return CorruptError(e.message);
  } catch (const nlohmann::json::exception& e) {
    std::string msg = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 5: ..." -> keep the tail.
    if (auto p = msg.find("] "); p != std::string::npos) msg = msg.substr(p + 2);
    return CorruptError(fmt::format("{}: invalid JSON: {}", what, msg));
  }
}

}  // namespace enclave
