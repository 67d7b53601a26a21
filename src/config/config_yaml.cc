#include "config/config_yaml.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "config/key_suggest.h"

namespace enclave::config {
namespace {

// "file:line:column: message", 1-based like compilers, so editors can jump to it.
Status ErrorAt(std::string_view source, const YAML::Mark& mark, const std::string& message) {
  if (mark.is_null()) return InvalidArgumentError(fmt::format("{}: {}", source, message));
  return InvalidArgumentError(fmt::format("{}:{}:{}: {}", source, mark.line + 1, mark.column + 1, message));
}

const char* KindName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Scalar: return "a single value";
    default: return "nothing";
  }
}

std::string Join(std::span<const std::string> names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string KeysOf(std::string_view section) {
  std::vector<std::string> names;
  for (const ConfigKey& k : ServeConfigKeys()) {
    if (k.section == section) names.push_back(k.name);
  }
  return Join(names);
}

Status UnknownSection(std::string_view source, const YAML::Mark& mark, const std::string& name) {
  std::string hint;
  if (const std::string s = SuggestSection(name); !s.empty()) {
    hint = fmt::format("; did you mean '{}'?", s);
  } else if (const size_t dot = name.find('.'); dot != std::string::npos && FindKey(name.substr(0, dot), name.substr(dot + 1))) {
    // "server.port: 9000" at the top level: the right key, written flat.
    hint = fmt::format("; keys go inside their section: '{}: {{{}: ...}}'", name.substr(0, dot), name.substr(dot + 1));
  } else if (const std::string k = SuggestKey("", name); !k.empty()) {
    const size_t dot = k.find('.');
    hint = fmt::format("; did you mean '{}'? Keys go inside their section: '{}: {{{}: ...}}'", k, k.substr(0, dot),
                       k.substr(dot + 1));
  }
  return ErrorAt(source, mark,
                 fmt::format("unknown section '{}'{} (sections: {})", name, hint, Join(ServeConfigSections())));
}

Status UnknownKey(std::string_view source, const YAML::Mark& mark, const std::string& section, const std::string& name) {
  if (const std::string k = SuggestKey(section, name); !k.empty()) {
    return ErrorAt(source, mark, fmt::format("unknown key '{}.{}'; did you mean '{}'?", section, name, k));
  }
  return ErrorAt(source, mark, fmt::format("unknown key '{}.{}' (keys of {}: {})", section, name, section, KeysOf(section)));
}

Status ApplySection(std::string_view source, const std::string& section, const YAML::Node& body, ServeConfig& config) {
  if (body.IsNull()) return Status::Ok();
  if (!body.IsMap()) {
    const std::string keys = KeysOf(section);
    const std::string first = keys.substr(0, keys.find(','));
    return ErrorAt(source, body.Mark(),
                   fmt::format("section '{}' must hold keys, as in '{}: {{{}: ...}}', got {}", section, section, first,
                               KindName(body)));
  }
  std::map<std::string, int> seen;  // key -> line, to catch a key written twice
  for (const auto& entry : body) {
    // Node handles are copied: `it->first` would name a member of a temporary proxy.
    const YAML::Node key_node = entry.first;
    const YAML::Node value = entry.second;
    if (!key_node.IsScalar()) {
      return ErrorAt(source, key_node.Mark(), fmt::format("expected a key name in section '{}', got {}", section, KindName(key_node)));
    }
    const std::string& name = key_node.Scalar();
    const ConfigKey* key = FindKey(section, name);
    if (key == nullptr) return UnknownKey(source, key_node.Mark(), section, name);
    if (auto [prev, inserted] = seen.emplace(name, key_node.Mark().line + 1); !inserted) {
      return ErrorAt(source, key_node.Mark(), fmt::format("{} is set twice (first on line {})", key->Path(), prev->second));
    }
    if (value.IsNull()) continue;
    if (!value.IsScalar()) {
      return ErrorAt(source, value.Mark(), fmt::format("{}: expected {}, got {}", key->Path(), key->Expected(), KindName(value)));
    }
    if (Status s = key->SetFromText(value.Scalar(), config); !s.ok()) {
      return ErrorAt(source, value.Mark(), fmt::format("{}: {}", key->Path(), s.message()));
    }
  }
  return Status::Ok();
}

Status ApplyDocument(std::string_view source, const YAML::Node& root, ServeConfig& config) {
  if (root.IsNull()) return Status::Ok();
  if (!root.IsMap()) {
    return ErrorAt(source, root.Mark(),
                   fmt::format("expected sections ({}) at the top level, got {}", Join(ServeConfigSections()), KindName(root)));
  }
  std::map<std::string, int> seen;  // section -> line
  for (const auto& entry : root) {
    const YAML::Node key_node = entry.first;
    if (!key_node.IsScalar()) {
      return ErrorAt(source, key_node.Mark(), fmt::format("expected a section name, got {}", KindName(key_node)));
    }
    const std::string& section = key_node.Scalar();
    const auto& sections = ServeConfigSections();
    if (std::find(sections.begin(), sections.end(), section) == sections.end()) {
      return UnknownSection(source, key_node.Mark(), section);
    }
    if (auto [prev, inserted] = seen.emplace(section, key_node.Mark().line + 1); !inserted) {
      return ErrorAt(source, key_node.Mark(),
                     fmt::format("section '{}' appears twice (first on line {}); merge the two", section, prev->second));
    }
    RETURN_IF_ERROR(ApplySection(source, section, entry.second, config));
  }
  return Status::Ok();
}

// How each document of a stream begins: the kind and position of its root node.
class DocumentRoots : public YAML::EventHandler {
 public:
  struct Root {
    YAML::Mark mark;
    bool is_null = true;
  };
  std::vector<Root> roots;

  void OnDocumentStart(const YAML::Mark&) override { depth_ = 0; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { Node(mark, true); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Node(mark, false); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override {
    Node(mark, false);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    Node(mark, false);
    ++depth_;
  }
  void OnSequenceEnd() override { --depth_; }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    Node(mark, false);
    ++depth_;
  }
  void OnMapEnd() override { --depth_; }

 private:
  void Node(const YAML::Mark& mark, bool is_null) {
    if (depth_ == 0) roots.push_back({mark, is_null});
  }
  int depth_ = 0;
};

// A configuration is one document. yaml-cpp 0.7 cannot be asked that with YAML::LoadAll: a stray
// flow token such as a top-level ',' makes it loop forever, adding an empty document per turn until
// memory runs out (jbeder/yaml-cpp#1040; fixed upstream by #1319 in 2024), and YAML::Load reads the
// same text as an empty document. So at most two documents are walked here: a second empty one
// starting where the first did means the parser is stuck on that character.
Status CheckOneDocument(std::string_view text, std::string_view source) {
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  DocumentRoots handler;
  for (int i = 0; i < 2 && parser.HandleNextDocument(handler); ++i) {
  }
  if (handler.roots.size() < 2) return Status::Ok();
  const DocumentRoots::Root& first = handler.roots[0];
  const DocumentRoots::Root& second = handler.roots[1];
  if (first.is_null && second.is_null && first.mark.pos == second.mark.pos) {
    const size_t pos = static_cast<size_t>(second.mark.pos);
    return ErrorAt(source, second.mark,
                   pos < text.size() ? fmt::format("YAML syntax error: unexpected '{}'", text[pos])
                                     : std::string("YAML syntax error"));
  }
  return ErrorAt(source, second.mark, "the file holds more than one YAML document ('---'); a configuration is one");
}

// yaml-cpp's messages for a tab in the indentation ("illegal map value") do not say "tab".
bool IndentedWithTab(std::string_view text, int line) {
  for (int i = 0; i < line; ++i) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return false;
    text.remove_prefix(nl + 1);
  }
  const size_t indent_end = text.find_first_not_of(" \t");
  return text.substr(0, indent_end).find('\t') != std::string_view::npos;
}

}  // namespace

Status ApplyYamlText(std::string_view text, std::string_view source, ServeConfig& config) {
  // yaml-cpp reports syntax errors (and a few misuses) by throwing; they stop here as values.
  try {
    RETURN_IF_ERROR(CheckOneDocument(text, source));
    return ApplyDocument(source, YAML::Load(std::string(text)), config);
  } catch (const YAML::Exception& e) {
    const bool tab = !e.mark.is_null() && IndentedWithTab(text, e.mark.line);
    return ErrorAt(source, e.mark, "YAML syntax error: " + e.msg + (tab ? " (indent with spaces: YAML forbids tabs)" : ""));
  } catch (const std::exception& e) {
    return InvalidArgumentError(fmt::format("{}: cannot parse: {}", source, e.what()));
  }
}

Status ApplyYamlFile(const std::string& path, ServeConfig& config) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return IoError(fmt::format("cannot read config file '{}': it is a directory", path));
  }
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return IoError(fmt::format("cannot read config file '{}': {}", path, std::strerror(errno)));
  std::string text;
  char buf[16384];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) {
    text.append(buf, n);
    if (text.size() > kMaxConfigFileBytes) {
      return InvalidArgumentError(fmt::format(
          "config file '{}' is larger than {} KiB; a configuration is a few lines of YAML (is this the right file?)",
          path, kMaxConfigFileBytes >> 10));
    }
  }
  if (std::ferror(f.get())) return IoError(fmt::format("cannot read config file '{}': {}", path, std::strerror(errno)));
  return ApplyYamlText(text, path, config);
}

std::string ToYaml(const ServeConfig& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  for (const std::string& section : ServeConfigSections()) {
    out << YAML::Key << section << YAML::Value << YAML::BeginMap;
    for (const ConfigKey& key : ServeConfigKeys()) {
      if (key.section == section) out << YAML::Key << key.name << YAML::Value << key.GetText(config);
    }
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace enclave::config
