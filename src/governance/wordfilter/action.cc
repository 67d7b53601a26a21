#include "governance/wordfilter/action.h"

#include <string>

namespace enclave::wordfilter {

const char* ActionName(Action action) {
  switch (action) {
    case Action::kNone: return "none";
    case Action::kFlag: return "flag";
    case Action::kMask: return "mask";
    case Action::kBlock: return "block";
  }
  return "?";
}

Result<Action> ParseAction(std::string_view name) {
  if (name == "flag") return Action::kFlag;
  if (name == "mask") return Action::kMask;
  if (name == "block") return Action::kBlock;
  return InvalidArgumentError("unknown action '" + std::string(name) + "' (use block, mask or flag)");
}

}  // namespace enclave::wordfilter
