#include "chat/jinja_value.h"

#include <fmt/format.h>

#include <cmath>

namespace enclave::chat {

Value Value::FromJson(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return None();
    case nlohmann::ordered_json::value_t::boolean: return Bool(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Int(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: return Int(static_cast<int64_t>(j.get<uint64_t>()));
    case nlohmann::ordered_json::value_t::number_float: return Float(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return Str(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      List l;
      for (const auto& e : j) l.push_back(FromJson(e));
      return MakeList(std::move(l));
    }
    case nlohmann::ordered_json::value_t::object: {
      Dict d;
      for (auto it = j.begin(); it != j.end(); ++it) d.emplace_back(it.key(), FromJson(it.value()));
      return MakeDict(std::move(d));
    }
    default: return None();
  }
}

bool Value::Truthy() const {
  switch (kind) {
    case Kind::kUndefined:
    case Kind::kNone: return false;
    case Kind::kBool: return b;
    case Kind::kInt: return i != 0;
    case Kind::kFloat: return f != 0;
    case Kind::kString: return !s.empty();
    case Kind::kList: return !list->empty();
    case Kind::kDict: return !dict->empty();
    case Kind::kNamespace:
    case Kind::kFunction: return true;
  }
  return false;
}

const Value* Value::Find(const std::string& key) const {
  if (!dict) return nullptr;
  for (const auto& [k, v] : *dict) {
    if (k == key) return &v;
  }
  return nullptr;
}

void Value::Set(const std::string& key, Value v) {
  for (auto& [k, old] : *dict) {
    if (k == key) {
      old = std::move(v);
      return;
    }
  }
  dict->emplace_back(key, std::move(v));
}

namespace {

std::string FloatRepr(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  std::string s = fmt::format("{}", x);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

std::string ReprString(const std::string& s) {
  // Python picks single quotes unless the string contains ' and no ".
  const bool dq = s.find('\'') != std::string::npos && s.find('"') == std::string::npos;
  const char q = dq ? '"' : '\'';
  std::string out(1, q);
  for (unsigned char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == static_cast<unsigned char>(q)) { out += '\\'; out += q; }
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7F) out += fmt::format("\\x{:02x}", c);
    else out += static_cast<char>(c);
  }
  out += q;
  return out;
}

void JsonString(const std::string& s, std::string* out) {
  *out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      case '\b': *out += "\\b"; break;
      case '\f': *out += "\\f"; break;
      default:
        if (c < 0x20) *out += fmt::format("\\u{:04x}", c);
        else *out += static_cast<char>(c);
    }
  }
  *out += '"';
}

void JsonDump(const Value& v, int indent, int level, std::string* out) {
  std::string nl, nl_end;
  if (indent >= 0) {
    nl.assign(1, '\n');
    nl.append(static_cast<size_t>(indent) * (level + 1), ' ');
    nl_end.assign(1, '\n');
    nl_end.append(static_cast<size_t>(indent) * level, ' ');
  }
  const char* item_sep = indent >= 0 ? "," : ", ";
  switch (v.kind) {
    case Value::Kind::kUndefined:
    case Value::Kind::kFunction:  // the evaluator refuses these before dumping
    case Value::Kind::kNone: *out += "null"; break;
    case Value::Kind::kBool: *out += v.b ? "true" : "false"; break;
    case Value::Kind::kInt: *out += std::to_string(v.i); break;
    case Value::Kind::kFloat: *out += std::isfinite(v.f) ? FloatRepr(v.f) : (std::isnan(v.f) ? "NaN" : (v.f > 0 ? "Infinity" : "-Infinity")); break;
    case Value::Kind::kString: JsonString(v.s, out); break;
    case Value::Kind::kList:
      if (v.list->empty()) { *out += "[]"; break; }
      *out += "[";
      for (size_t k = 0; k < v.list->size(); ++k) {
        *out += k ? item_sep : "";
        *out += nl;
        JsonDump((*v.list)[k], indent, level + 1, out);
      }
      *out += nl_end + "]";
      break;
    case Value::Kind::kDict:
    case Value::Kind::kNamespace:
      if (v.dict->empty()) { *out += "{}"; break; }
      *out += "{";
      for (size_t k = 0; k < v.dict->size(); ++k) {
        *out += k ? item_sep : "";
        *out += nl;
        JsonString((*v.dict)[k].first, out);
        *out += ": ";
        JsonDump((*v.dict)[k].second, indent, level + 1, out);
      }
      *out += nl_end + "}";
      break;
  }
}

}  // namespace

std::string PythonRepr(const Value& v) {
  if (v.kind == Value::Kind::kString) return ReprString(v.s);
  if (v.kind == Value::Kind::kUndefined) return "Undefined";  // jinja2's Undefined inside a printed list
  return ToPythonString(v);
}

std::string ToPythonString(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kUndefined: return "";
    case Value::Kind::kNone: return "None";
    case Value::Kind::kBool: return v.b ? "True" : "False";
    case Value::Kind::kInt: return std::to_string(v.i);
    case Value::Kind::kFloat: return FloatRepr(v.f);
    case Value::Kind::kString: return v.s;
    case Value::Kind::kList: {
      std::string s = "[";
      for (size_t k = 0; k < v.list->size(); ++k) s += (k ? ", " : "") + PythonRepr((*v.list)[k]);
      return s + "]";
    }
    case Value::Kind::kDict: {
      std::string s = "{";
      for (size_t k = 0; k < v.dict->size(); ++k) {
        s += (k ? ", " : "") + ReprString((*v.dict)[k].first) + ": " + PythonRepr((*v.dict)[k].second);
      }
      return s + "}";
    }
    case Value::Kind::kNamespace: return "<Namespace>";
    case Value::Kind::kFunction: return "<function " + v.s + ">";
  }
  return "";
}

std::string ToJson(const Value& v, int indent) {
  std::string out;
  JsonDump(v, indent, 0, &out);
  return out;
}

bool Equal(const Value& a, const Value& b) {
  if (a.IsNumber() && b.IsNumber()) return a.AsDouble() == b.AsDouble();
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone: return true;
    case Value::Kind::kString: return a.s == b.s;
    case Value::Kind::kList:
      if (a.list->size() != b.list->size()) return false;
      for (size_t k = 0; k < a.list->size(); ++k) {
        if (!Equal((*a.list)[k], (*b.list)[k])) return false;
      }
      return true;
    case Value::Kind::kDict:
      if (a.dict->size() != b.dict->size()) return false;
      for (const auto& [k, v] : *a.dict) {
        const Value* o = b.Find(k);
        if (!o || !Equal(v, *o)) return false;
      }
      return true;
    case Value::Kind::kNamespace: return a.dict == b.dict;
    case Value::Kind::kFunction: return a.s == b.s;
    default: return false;
  }
}

}  // namespace enclave::chat
