// Values of the Jinja template interpreter: the Python types chat templates use (None, bool, int,
// float, str, list, dict in insertion order), jinja2's Undefined, and namespace() objects. Lists
// and dicts are shared by reference, as in Python.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace enclave::chat {

struct Value;
using List = std::vector<Value>;
using Dict = std::vector<std::pair<std::string, Value>>;  // insertion order, like Python dicts

struct Value {
  // kFunction: one of the interpreter's global functions (range, namespace, raise_exception,
  // strftime_now), named by `s`; it exists so that `strftime_now is defined` holds, as in transformers.
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kNamespace, kFunction };
  Kind kind = Kind::kUndefined;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::shared_ptr<List> list;
  std::shared_ptr<Dict> dict;  // dicts and namespaces

  static Value Undefined() { return {}; }
  static Value None() { Value v; v.kind = Kind::kNone; return v; }
  static Value Bool(bool x) { Value v; v.kind = Kind::kBool; v.b = x; return v; }
  static Value Int(int64_t x) { Value v; v.kind = Kind::kInt; v.i = x; return v; }
  static Value Float(double x) { Value v; v.kind = Kind::kFloat; v.f = x; return v; }
  static Value Str(std::string x) { Value v; v.kind = Kind::kString; v.s = std::move(x); return v; }
  static Value MakeList(List x = {}) { Value v; v.kind = Kind::kList; v.list = std::make_shared<List>(std::move(x)); return v; }
  static Value MakeDict(Dict x = {}) { Value v; v.kind = Kind::kDict; v.dict = std::make_shared<Dict>(std::move(x)); return v; }
  static Value Function(std::string name) { Value v; v.kind = Kind::kFunction; v.s = std::move(name); return v; }
  static Value MakeNamespace() { Value v; v.kind = Kind::kNamespace; v.dict = std::make_shared<Dict>(); return v; }
  static Value FromJson(const nlohmann::ordered_json& j);

  bool IsUndefined() const { return kind == Kind::kUndefined; }
  bool IsNumber() const { return kind == Kind::kInt || kind == Kind::kFloat || kind == Kind::kBool; }
  double AsDouble() const { return kind == Kind::kFloat ? f : kind == Kind::kInt ? static_cast<double>(i) : (b ? 1 : 0); }
  bool Truthy() const;

  // Dict / namespace lookup; nullptr when absent.
  const Value* Find(const std::string& key) const;
  void Set(const std::string& key, Value v);
};

// str(value) as Python prints it (True, None, 1.0, ['a', 1], {'k': 'v'}); Undefined is "".
std::string ToPythonString(const Value& v);
// repr() for strings inside containers.
std::string PythonRepr(const Value& v);
// json.dumps(v, ensure_ascii=False) with Python's default separators, or with indent.
std::string ToJson(const Value& v, int indent = -1);
bool Equal(const Value& a, const Value& b);

}  // namespace enclave::chat
