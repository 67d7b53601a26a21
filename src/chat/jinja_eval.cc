// Evaluator of the Jinja interpreter: Python semantics for the values chat templates use.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <ctime>
#include <optional>
#include <unordered_set>

#include "chat/jinja.h"
#include "chat/jinja_ast.h"

namespace enclave::chat {
namespace {

using Kind = Value::Kind;

// Code points of a UTF-8 string as byte ranges (Python indexes strings by code point).
std::vector<std::string> CodePoints(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

bool IsPySpace(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

std::string Strip(const std::string& s, const std::string* chars, bool left, bool right) {
  auto strip_char = [&](unsigned char c) { return chars ? chars->find(static_cast<char>(c)) != std::string::npos : IsPySpace(c); };
  size_t b = 0, e = s.size();
  if (left) while (b < e && strip_char(s[b])) ++b;
  if (right) while (e > b && strip_char(s[e - 1])) --e;
  return s.substr(b, e - b);
}

std::string KindName(const Value& v) {
  switch (v.kind) {
    case Kind::kUndefined: return "undefined";
    case Kind::kNone: return "none";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "str";
    case Kind::kList: return "list";
    case Kind::kDict: return "dict";
    case Kind::kNamespace: return "namespace";
    case Kind::kFunction: return "function";
  }
  return "?";
}

class Evaluator {
 public:
  Evaluator(const RenderLimits& limits, const Value& context, std::optional<std::tm> now)
      : limits_(limits), now_(now) {
    scopes_.emplace_back();
    if (context.dict) {
      for (const auto& [k, v] : *context.dict) scopes_.back().emplace_back(k, v);
    }
  }

  enum class Flow { kNormal, kBreak, kContinue };

  Result<Flow> Exec(const Node& n) {
    if (++depth_ > limits_.max_depth * 4) return Error(n.line, "template nests too deeply");
    Result<Flow> r = ExecInner(n);
    --depth_;
    return r;
  }

  std::string TakeOutput() { return std::move(out_); }

 private:
  Status Error(int line, const std::string& what) const {
    return InvalidArgumentError(fmt::format("chat template line {}: {}", line, what));
  }

  // Containers can share sub-lists, so a small program can build a value whose printed form is
  // exponentially large; bound the printed size before printing it.
  static uint64_t PrintedSizeAtLeast(const Value& v, uint64_t limit) {
    uint64_t n = 2;
    if (v.kind == Kind::kString) return v.s.size() + 2;
    if (v.list) {
      for (const auto& x : *v.list) {
        n += PrintedSizeAtLeast(x, limit) + 2;
        if (n > limit) return n;
      }
    }
    if (v.dict) {
      for (const auto& [k, x] : *v.dict) {
        n += k.size() + 4 + PrintedSizeAtLeast(x, limit);
        if (n > limit) return n;
      }
    }
    return n + 24;
  }
  Status CheckPrintable(int line, const Value& v) const {
    if ((v.list || v.dict) && PrintedSizeAtLeast(v, limits_.max_output_bytes) > limits_.max_output_bytes) {
      return Error(line, fmt::format("value too large to print (over {} bytes)", limits_.max_output_bytes));
    }
    return Status::Ok();
  }

  Status Append(int line, const std::string& s) {
    if (out_.size() + s.size() > limits_.max_output_bytes) {
      return Error(line, fmt::format("output exceeds the limit of {} bytes", limits_.max_output_bytes));
    }
    out_ += s;
    return Status::Ok();
  }

  Value* Lookup(const std::string& name) {
    for (auto s = scopes_.rbegin(); s != scopes_.rend(); ++s) {
      for (auto& [k, v] : *s) {
        if (k == name) return &v;
      }
    }
    return nullptr;
  }
  void Assign(const std::string& name, Value v) {
    for (auto& [k, old] : scopes_.back()) {
      if (k == name) {
        old = std::move(v);
        return;
      }
    }
    scopes_.back().emplace_back(name, std::move(v));
  }

  Result<Flow> ExecInner(const Node& n) {
    switch (n.kind) {
      case Node::Kind::kBody:
        for (const auto& c : n.children) {
          ASSIGN_OR_RETURN(Flow f, Exec(*c));
          if (f != Flow::kNormal) return f;
        }
        return Flow::kNormal;
      case Node::Kind::kText:
        RETURN_IF_ERROR(Append(n.line, n.text));
        return Flow::kNormal;
      case Node::Kind::kOutput: {
        ASSIGN_OR_RETURN(Value v, Eval(*n.expr));
        RETURN_IF_ERROR(CheckPrintable(n.line, v));
        RETURN_IF_ERROR(Append(n.line, ToPythonString(v)));
        return Flow::kNormal;
      }
      case Node::Kind::kIf:
        for (const auto& [cond, body] : n.branches) {
          ASSIGN_OR_RETURN(Value c, Eval(*cond));
          if (c.Truthy()) return Exec(*body);
        }
        if (n.else_body) return Exec(*n.else_body);
        return Flow::kNormal;
      case Node::Kind::kSet: {
        ASSIGN_OR_RETURN(Value v, Eval(*n.expr));
        if (n.targets.size() == 1) {
          Assign(n.targets[0], std::move(v));
        } else {
          Value* ns = Lookup(n.targets[0]);
          if (!ns || ns->kind != Kind::kNamespace) {
            return Error(n.line, fmt::format("cannot set attribute '{}' of '{}': only namespace() objects can be "
                                             "changed", n.targets[1], n.targets[0]));
          }
          // A namespace holding itself (directly or through lists and dicts) would be a reference
          // cycle that is never freed.
          std::unordered_set<const void*> seen;
          if (Reaches(v, ns->dict.get(), 0, seen)) {
            return Error(n.line, fmt::format("cannot store namespace '{}' inside itself", n.targets[0]));
          }
          ns->Set(n.targets[1], std::move(v));
        }
        return Flow::kNormal;
      }
      case Node::Kind::kBreak: return Flow::kBreak;
      case Node::Kind::kContinue: return Flow::kContinue;
      case Node::Kind::kFor: return ExecFor(n);
    }
    return Flow::kNormal;
  }

  Result<Flow> ExecFor(const Node& n) {
    ASSIGN_OR_RETURN(Value seq, Eval(*n.expr));
    List items;
    if (seq.kind == Kind::kList) {
      items = *seq.list;
    } else if (seq.kind == Kind::kDict) {
      for (const auto& kv : *seq.dict) items.push_back(Value::Str(kv.first));
    } else if (seq.kind == Kind::kString) {
      for (auto& c : CodePoints(seq.s)) items.push_back(Value::Str(c));
    } else if (seq.kind == Kind::kUndefined) {
      // jinja2 iterates an undefined value as empty.
    } else {
      return Error(n.line, fmt::format("cannot loop over a value of type {}", KindName(seq)));
    }
    scopes_.emplace_back();
    // `for x in xs if cond` filters before the loop variables are computed.
    if (n.filter) {
      List kept;
      for (auto& item : items) {
        BindTargets(n, item);
        ASSIGN_OR_RETURN(Value c, Eval(*n.filter));
        if (c.Truthy()) kept.push_back(item);
      }
      items = std::move(kept);
    }
    const int64_t len = static_cast<int64_t>(items.size());
    for (int64_t k = 0; k < len; ++k) {
      if (++iterations_ > limits_.max_loop_iterations) {
        return Error(n.line, fmt::format("more than {} loop iterations", limits_.max_loop_iterations));
      }
      // jinja2 starts every iteration from the enclosing values: what the body set in the previous
      // iteration is gone.
      scopes_.back().clear();
      BindTargets(n, items[k]);
      Value loop = Value::MakeDict();
      loop.Set("index", Value::Int(k + 1));
      loop.Set("index0", Value::Int(k));
      loop.Set("revindex", Value::Int(len - k));
      loop.Set("revindex0", Value::Int(len - k - 1));
      loop.Set("first", Value::Bool(k == 0));
      loop.Set("last", Value::Bool(k == len - 1));
      loop.Set("length", Value::Int(len));
      loop.Set("previtem", k > 0 ? items[k - 1] : Value::Undefined());
      loop.Set("nextitem", k + 1 < len ? items[k + 1] : Value::Undefined());
      Assign("loop", loop);
      ASSIGN_OR_RETURN(Flow f, Exec(*n.body));
      if (f == Flow::kBreak) break;
    }
    scopes_.pop_back();
    if (len == 0 && n.else_body) return Exec(*n.else_body);
    return Flow::kNormal;
  }

  // Shared sub-containers are visited once, so a value built by doubling a list stays linear to walk.
  static bool Reaches(const Value& v, const Dict* target, int depth, std::unordered_set<const void*>& seen) {
    if (depth > 64) return true;  // treat absurd nesting as a cycle: refuse rather than recurse
    if (v.dict) {
      if (v.dict.get() == target) return true;
      if (!seen.insert(v.dict.get()).second) return false;
      for (const auto& kv : *v.dict) {
        if (Reaches(kv.second, target, depth + 1, seen)) return true;
      }
    }
    if (v.list) {
      if (!seen.insert(v.list.get()).second) return false;
      for (const auto& x : *v.list) {
        if (Reaches(x, target, depth + 1, seen)) return true;
      }
    }
    return false;
  }

  static bool HoldsFunction(const Value& v, int depth, std::unordered_set<const void*>& seen) {
    if (v.kind == Kind::kFunction || depth > 64) return true;
    if (v.list && seen.insert(v.list.get()).second) {
      for (const auto& x : *v.list) {
        if (HoldsFunction(x, depth + 1, seen)) return true;
      }
    }
    if (v.dict && seen.insert(v.dict.get()).second) {
      for (const auto& kv : *v.dict) {
        if (HoldsFunction(kv.second, depth + 1, seen)) return true;
      }
    }
    return false;
  }

  void BindTargets(const Node& n, const Value& item) {
    if (n.targets.size() == 1) {
      Assign(n.targets[0], item);
      return;
    }
    for (size_t t = 0; t < n.targets.size(); ++t) {
      const bool ok = item.kind == Kind::kList && t < item.list->size();
      Assign(n.targets[t], ok ? (*item.list)[t] : Value::Undefined());
    }
  }

  Result<Value> Eval(const Expr& e) {
    if (++depth_ > limits_.max_depth * 4) return Error(e.line, "expression nests too deeply");
    Result<Value> r = EvalInner(e);
    --depth_;
    return r;
  }

  Result<Value> EvalInner(const Expr& e) {
    switch (e.kind) {
      case Expr::Kind::kLiteral: return e.literal;
      case Expr::Kind::kName: {
        if (Value* v = Lookup(e.name)) return *v;
        if (IsGlobalFunction(e.name)) return Value::Function(e.name);
        return Value::Undefined();
      }
      case Expr::Kind::kAttr: {
        ASSIGN_OR_RETURN(Value obj, Eval(*e.a));
        return GetAttr(e.line, obj, e.name);
      }
      case Expr::Kind::kItem: {
        ASSIGN_OR_RETURN(Value obj, Eval(*e.a));
        ASSIGN_OR_RETURN(Value key, Eval(*e.b));
        return GetItem(e.line, obj, key);
      }
      case Expr::Kind::kSlice: return EvalSlice(e);
      case Expr::Kind::kCall: return EvalCall(e);
      case Expr::Kind::kFilter: return EvalFilter(e);
      case Expr::Kind::kTest: {
        ASSIGN_OR_RETURN(bool r, EvalTest(e));
        return Value::Bool(r != e.negated);
      }
      case Expr::Kind::kUnary: {
        ASSIGN_OR_RETURN(Value v, Eval(*e.a));
        if (e.name == "not") return Value::Bool(!v.Truthy());
        if (v.kind == Kind::kInt) {
          if (e.name == "-" && v.i == INT64_MIN) return Error(e.line, "integer overflow");
          return Value::Int(e.name == "-" ? -v.i : v.i);
        }
        if (v.kind == Kind::kFloat) return Value::Float(e.name == "-" ? -v.f : v.f);
        return Error(e.line, fmt::format("bad operand type for unary {}: {}", e.name, KindName(v)));
      }
      case Expr::Kind::kBinary: return EvalBinary(e);
      case Expr::Kind::kCond: {
        ASSIGN_OR_RETURN(Value c, Eval(*e.b));
        if (c.Truthy()) return Eval(*e.a);
        if (e.c) return Eval(*e.c);
        return Value::Undefined();
      }
      case Expr::Kind::kList: {
        List l;
        for (const auto& a : e.args) {
          ASSIGN_OR_RETURN(Value v, Eval(*a));
          l.push_back(std::move(v));
        }
        return Value::MakeList(std::move(l));
      }
      case Expr::Kind::kDict: {
        Value d = Value::MakeDict();
        for (size_t k = 0; k + 1 < e.args.size(); k += 2) {
          ASSIGN_OR_RETURN(Value key, Eval(*e.args[k]));
          ASSIGN_OR_RETURN(Value v, Eval(*e.args[k + 1]));
          d.Set(ToPythonString(key), std::move(v));
        }
        return d;
      }
    }
    return Value::Undefined();
  }

  Result<Value> GetAttr(int line, const Value& obj, const std::string& name) {
    if (obj.kind == Kind::kDict || obj.kind == Kind::kNamespace) {
      if (const Value* v = obj.Find(name)) return *v;
      return Value::Undefined();
    }
    if (obj.kind == Kind::kUndefined) return Error(line, fmt::format("'{}' of an undefined value", name));
    if (obj.kind == Kind::kList && !name.empty() && std::isdigit(static_cast<unsigned char>(name[0]))) {
      int64_t k = 0;
      const auto r = std::from_chars(name.data(), name.data() + name.size(), k);
      if (r.ec != std::errc()) return Value::Undefined();
      return GetItem(line, obj, Value::Int(k));
    }
    return Value::Undefined();
  }

  Result<Value> GetItem(int line, const Value& obj, const Value& key) {
    if (obj.kind == Kind::kDict || obj.kind == Kind::kNamespace) {
      if (const Value* v = obj.Find(ToPythonString(key))) return *v;
      return Value::Undefined();
    }
    if ((obj.kind == Kind::kList || obj.kind == Kind::kString) && key.kind == Kind::kInt) {
      if (obj.kind == Kind::kList) {
        int64_t k = key.i < 0 ? key.i + static_cast<int64_t>(obj.list->size()) : key.i;
        if (k < 0 || k >= static_cast<int64_t>(obj.list->size())) return Value::Undefined();
        return (*obj.list)[k];
      }
      auto cps = CodePoints(obj.s);
      int64_t k = key.i < 0 ? key.i + static_cast<int64_t>(cps.size()) : key.i;
      if (k < 0 || k >= static_cast<int64_t>(cps.size())) return Value::Undefined();
      return Value::Str(cps[k]);
    }
    if (obj.kind == Kind::kUndefined) return Error(line, fmt::format("item {} of an undefined value", PythonRepr(key)));
    return Value::Undefined();
  }

  Result<Value> EvalSlice(const Expr& e) {
    ASSIGN_OR_RETURN(Value obj, Eval(*e.a));
    std::optional<int64_t> bounds[3];
    for (int k = 0; k < 3; ++k) {
      if (!e.args[k]) continue;
      ASSIGN_OR_RETURN(Value v, Eval(*e.args[k]));
      if (v.kind == Kind::kNone) continue;
      if (v.kind != Kind::kInt) return Error(e.line, "slice bounds must be integers");
      bounds[k] = v.i;
    }
    List items;
    if (obj.kind == Kind::kList) {
      items = *obj.list;
    } else if (obj.kind == Kind::kString) {
      for (auto& c : CodePoints(obj.s)) items.push_back(Value::Str(c));
    } else {
      return Error(e.line, fmt::format("cannot slice a value of type {}", KindName(obj)));
    }
    const int64_t n = static_cast<int64_t>(items.size());
    const int64_t step = bounds[2].value_or(1);
    if (step == 0) return Error(e.line, "slice step cannot be zero");
    auto clamp = [&](std::optional<int64_t> b, int64_t dflt, int64_t lo, int64_t hi) {
      if (!b) return dflt;
      int64_t v = *b < 0 ? *b + n : *b;
      return std::clamp(v, lo, hi);
    };
    const int64_t start = step > 0 ? clamp(bounds[0], 0, 0, n) : clamp(bounds[0], n - 1, -1, n - 1);
    const int64_t stop = step > 0 ? clamp(bounds[1], n, 0, n) : clamp(bounds[1], -1, -1, n - 1);
    List out;
    for (int64_t k = start; step > 0 ? k < stop : k > stop; k += step) out.push_back(items[k]);
    if (obj.kind == Kind::kString) {
      std::string s;
      for (auto& v : out) s += v.s;
      return Value::Str(std::move(s));
    }
    return Value::MakeList(std::move(out));
  }

  Result<std::vector<Value>> EvalArgs(const Expr& e) {
    std::vector<Value> args;
    for (const auto& a : e.args) {
      ASSIGN_OR_RETURN(Value v, Eval(*a));
      args.push_back(std::move(v));
    }
    return args;
  }
  Result<Value> Kwarg(const Expr& e, const std::string& name) {
    for (const auto& [k, v] : e.kwargs) {
      if (k == name) return Eval(*v);
    }
    return Value::Undefined();
  }

  static bool IsGlobalFunction(const std::string& name) {
    return name == "namespace" || name == "range" || name == "raise_exception" || name == "strftime_now";
  }

  Result<Value> EvalCall(const Expr& e) {
    ASSIGN_OR_RETURN(std::vector<Value> args, EvalArgs(e));
    if (e.a->kind == Expr::Kind::kAttr) {
      ASSIGN_OR_RETURN(Value obj, Eval(*e.a->a));
      return CallMethod(e, obj, e.a->name, args);
    }
    ASSIGN_OR_RETURN(Value callee, Eval(*e.a));
    if (callee.kind == Kind::kFunction) {
      const std::string& fn = callee.s;
      if (fn == "namespace") {
        Value ns = Value::MakeNamespace();
        for (const auto& a : args) {
          if (a.kind == Kind::kDict) for (const auto& [k, v] : *a.dict) ns.Set(k, v);
        }
        for (const auto& [k, v] : e.kwargs) {
          ASSIGN_OR_RETURN(Value val, Eval(*v));
          ns.Set(k, std::move(val));
        }
        return ns;
      }
      if (fn == "range") {
        int64_t a = 0, b = 0, step = 1;
        for (const auto& v : args) {
          if (v.kind != Kind::kInt) return Error(e.line, "range() takes integers");
        }
        if (args.size() == 1) b = args[0].i;
        else if (args.size() >= 2) { a = args[0].i; b = args[1].i; if (args.size() > 2) step = args[2].i; }
        if (step == 0) return Error(e.line, "range() step cannot be zero");
        List out;
        for (int64_t k = a; step > 0 ? k < b : k > b; k += step) {
          if (out.size() >= limits_.max_loop_iterations) return Error(e.line, "range() too long");
          out.push_back(Value::Int(k));
        }
        return Value::MakeList(std::move(out));
      }
      if (fn == "raise_exception") {
        return InvalidArgumentError(fmt::format("chat template raised an error: {}",
                                                args.empty() ? "" : ToPythonString(args[0])));
      }
      if (fn == "strftime_now") {
        if (args.size() != 1 || args[0].kind != Kind::kString) return Error(e.line, "strftime_now() takes one format string");
        return StrftimeNow(e.line, args[0].s);
      }
    }
    if (e.a->kind == Expr::Kind::kName && callee.IsUndefined()) {
      return Error(e.line, fmt::format("unknown function '{}'", e.a->name));
    }
    return Error(e.line, fmt::format("a value of type {} cannot be called", KindName(callee)));
  }

  // transformers' strftime_now: datetime.now().strftime(format). Python hands the format to the C
  // library's strftime in the C locale, as we do.
  Result<Value> StrftimeNow(int line, const std::string& format) {
    if (format.size() > 256) return Error(line, "strftime_now() format longer than 256 bytes");
    std::tm tm{};
    if (now_) {
      tm = *now_;
    } else {
      const std::time_t t = std::time(nullptr);
      if (localtime_r(&t, &tm) == nullptr) return Error(line, "strftime_now(): the local time is unavailable");
    }
    if (format.empty()) return Value::Str("");
    std::string buf(format.size() * 16 + 64, '\0');  // the longest expansion (%c) is under 64 bytes
    const size_t n = std::strftime(buf.data(), buf.size(), format.c_str(), &tm);
    if (n == 0) return Error(line, fmt::format("strftime_now(): format '{}' gives no output", format));
    buf.resize(n);
    return Value::Str(std::move(buf));
  }

  Result<Value> CallMethod(const Expr& e, const Value& obj, const std::string& m, const std::vector<Value>& args) {
    auto arg_str = [&](size_t k) -> const std::string* {
      return k < args.size() && args[k].kind == Kind::kString ? &args[k].s : nullptr;
    };
    if (obj.kind == Kind::kString) {
      const std::string& s = obj.s;
      if (m == "strip" || m == "lstrip" || m == "rstrip") {
        return Value::Str(Strip(s, arg_str(0), m != "rstrip", m != "lstrip"));
      }
      if (m == "lower" || m == "upper") {
        std::string r = s;
        for (auto& c : r) c = static_cast<char>(m == "lower" ? std::tolower(static_cast<unsigned char>(c)) : std::toupper(static_cast<unsigned char>(c)));
        return Value::Str(r);
      }
      if (m == "startswith" || m == "endswith") {
        const std::string* p = arg_str(0);
        if (!p) return Error(e.line, m + "() takes a string");
        const bool r = m == "startswith" ? s.compare(0, p->size(), *p) == 0
                                         : s.size() >= p->size() && s.compare(s.size() - p->size(), p->size(), *p) == 0;
        return Value::Bool(r);
      }
      if (m == "split") {
        List out;
        const std::string* sep = arg_str(0);
        int64_t maxsplit = args.size() > 1 && args[1].kind == Kind::kInt ? args[1].i : -1;
        if (sep == nullptr) {
          size_t i = 0;
          while (i < s.size()) {
            while (i < s.size() && IsPySpace(s[i])) ++i;
            if (i >= s.size()) break;
            if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
              out.push_back(Value::Str(Strip(s.substr(i), nullptr, false, true)));
              break;
            }
            size_t j = i;
            while (j < s.size() && !IsPySpace(s[j])) ++j;
            out.push_back(Value::Str(s.substr(i, j - i)));
            i = j;
          }
        } else {
          if (sep->empty()) return Error(e.line, "split() separator is empty");
          size_t i = 0;
          for (;;) {
            size_t j = s.find(*sep, i);
            if (j == std::string::npos || (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit)) {
              out.push_back(Value::Str(s.substr(i)));
              break;
            }
            out.push_back(Value::Str(s.substr(i, j - i)));
            i = j + sep->size();
          }
        }
        return Value::MakeList(std::move(out));
      }
      if (m == "replace") {
        const std::string *a = arg_str(0), *b = arg_str(1);
        if (!a || !b) return Error(e.line, "replace() takes two strings");
        return Value::Str(Replace(s, *a, *b));
      }
      if (m == "find") {
        const std::string* p = arg_str(0);
        if (!p) return Error(e.line, "find() takes a string");
        const size_t at = s.find(*p);
        return Value::Int(at == std::string::npos ? -1 : static_cast<int64_t>(CodePoints(s.substr(0, at)).size()));
      }
    }
    if (obj.kind == Kind::kDict) {
      if (m == "get") {
        if (args.empty()) return Error(e.line, "get() needs a key");
        if (const Value* v = obj.Find(ToPythonString(args[0]))) return *v;
        return args.size() > 1 ? args[1] : Value::None();
      }
      if (m == "items" || m == "keys" || m == "values") {
        List out;
        for (const auto& [k, v] : *obj.dict) {
          if (m == "items") out.push_back(Value::MakeList({Value::Str(k), v}));
          else out.push_back(m == "keys" ? Value::Str(k) : v);
        }
        return Value::MakeList(std::move(out));
      }
    }
    return Error(e.line, fmt::format("unsupported method '{}' on a value of type {}", m, KindName(obj)));
  }

  static std::string Replace(const std::string& s, const std::string& a, const std::string& b) {
    if (a.empty()) return s;
    std::string out;
    size_t i = 0;
    for (size_t j; (j = s.find(a, i)) != std::string::npos; i = j + a.size()) out += s.substr(i, j - i) + b;
    return out + s.substr(i);
  }

  Result<Value> EvalFilter(const Expr& e) {
    ASSIGN_OR_RETURN(Value v, Eval(*e.a));
    ASSIGN_OR_RETURN(std::vector<Value> args, EvalArgs(e));
    const std::string& f = e.name;
    if (f == "tojson" || f == "string" || f == "join" || f == "trim") RETURN_IF_ERROR(CheckPrintable(e.line, v));
    if (f == "trim") return Value::Str(Strip(ToPythonString(v), nullptr, true, true));
    if (f == "string") return Value::Str(ToPythonString(v));
    if (f == "safe") return v;
    if (f == "lower" || f == "upper") return CallMethod(e, Value::Str(ToPythonString(v)), f, {});
    if (f == "length" || f == "count") {
      if (v.kind == Kind::kString) return Value::Int(static_cast<int64_t>(CodePoints(v.s).size()));
      if (v.kind == Kind::kList) return Value::Int(static_cast<int64_t>(v.list->size()));
      if (v.kind == Kind::kDict) return Value::Int(static_cast<int64_t>(v.dict->size()));
      return Error(e.line, fmt::format("a value of type {} has no length", KindName(v)));
    }
    if (f == "tojson") {
      std::unordered_set<const void*> seen;
      if (HoldsFunction(v, 0, seen)) return Error(e.line, "tojson: the value holds a function or nests deeper than 64 levels");
      ASSIGN_OR_RETURN(Value indent, Kwarg(e, "indent"));
      if (indent.IsUndefined() && !args.empty()) indent = args[0];
      return Value::Str(ToJson(v, indent.kind == Kind::kInt ? static_cast<int>(indent.i) : -1));
    }
    if (f == "first" || f == "last") {
      if (v.kind == Kind::kList) {
        if (v.list->empty()) return Value::Undefined();
        return f == "first" ? v.list->front() : v.list->back();
      }
      if (v.kind == Kind::kString) {
        auto cps = CodePoints(v.s);
        if (cps.empty()) return Value::Undefined();
        return Value::Str(f == "first" ? cps.front() : cps.back());
      }
      return Error(e.line, fmt::format("'{}' needs a list or string", f));
    }
    if (f == "join") {
      if (v.kind != Kind::kList) return Error(e.line, "join needs a list");
      const std::string sep = args.empty() ? "" : ToPythonString(args[0]);
      std::string out;
      for (size_t k = 0; k < v.list->size(); ++k) out += (k ? sep : "") + ToPythonString((*v.list)[k]);
      return Value::Str(out);
    }
    if (f == "default" || f == "d") {
      const bool boolean = args.size() > 1 && args[1].Truthy();
      if (v.IsUndefined() || (boolean && !v.Truthy())) return args.empty() ? Value::Str("") : args[0];
      return v;
    }
    if (f == "replace") {
      if (args.size() < 2) return Error(e.line, "replace needs two arguments");
      return Value::Str(Replace(ToPythonString(v), ToPythonString(args[0]), ToPythonString(args[1])));
    }
    if (f == "list") {
      if (v.kind == Kind::kList) return v;
      if (v.kind == Kind::kString) {
        List out;
        for (auto& c : CodePoints(v.s)) out.push_back(Value::Str(c));
        return Value::MakeList(std::move(out));
      }
      if (v.kind == Kind::kDict) return CallMethod(e, v, "keys", {});
      return Error(e.line, "list needs a sequence");
    }
    if (f == "items") return CallMethod(e, v, "items", {});
    if (f == "int") {
      if (v.kind == Kind::kFloat) return Value::Int(static_cast<int64_t>(v.f));
      if (v.kind == Kind::kString) {
        int64_t k = 0;
        const std::string t = Strip(v.s, nullptr, true, true);
        const auto r = std::from_chars(t.data(), t.data() + t.size(), k);
        return Value::Int(r.ec == std::errc() && r.ptr == t.data() + t.size() ? k : 0);
      }
      return Value::Int(v.IsNumber() ? static_cast<int64_t>(v.AsDouble()) : 0);
    }
    if (f == "abs" && v.IsNumber()) return v.kind == Kind::kFloat ? Value::Float(std::fabs(v.f)) : Value::Int(v.i == INT64_MIN ? v.i : std::llabs(v.i));
    if (f == "reverse" && v.kind == Kind::kList) {
      List out(v.list->rbegin(), v.list->rend());
      return Value::MakeList(std::move(out));
    }
    if (f == "reverse" && v.kind == Kind::kString) {
      std::vector<std::string> cps = CodePoints(v.s);
      std::string out;
      for (auto it = cps.rbegin(); it != cps.rend(); ++it) out += *it;
      return Value::Str(std::move(out));
    }
    if (f == "map" || f == "selectattr" || f == "rejectattr" || f == "select" || f == "reject") {
      return EvalListFilter(e, v, args);
    }
    return Error(e.line, fmt::format("unsupported filter '{}'", f));
  }

  // map(attribute=...), selectattr(attr[, test[, arg]]), rejectattr(...).
  Result<Value> EvalListFilter(const Expr& e, const Value& v, const std::vector<Value>& args) {
    if (v.kind != Kind::kList) return Error(e.line, fmt::format("'{}' needs a list", e.name));
    List out;
    if (e.name == "map") {
      ASSIGN_OR_RETURN(Value attr, Kwarg(e, "attribute"));
      if (attr.kind != Kind::kString) return Error(e.line, "only map(attribute='...') is supported");
      for (const auto& item : *v.list) {
        ASSIGN_OR_RETURN(Value x, GetAttr(e.line, item, attr.s));
        out.push_back(std::move(x));
      }
      return Value::MakeList(std::move(out));
    }
    if (e.name == "select" || e.name == "reject") {
      // select(test[, args...]): items for which the test holds; no test: truthy items.
      for (const auto& item : *v.list) {
        bool keep = item.Truthy();
        if (!args.empty()) {
          ASSIGN_OR_RETURN(keep, ApplyTest(e.line, ToPythonString(args[0]), item,
                                           std::vector<Value>(args.begin() + 1, args.end())));
        }
        if (keep == (e.name == "select")) out.push_back(item);
      }
      return Value::MakeList(std::move(out));
    }
    if (args.empty() || args[0].kind != Kind::kString) return Error(e.line, e.name + " needs an attribute name");
    for (const auto& item : *v.list) {
      ASSIGN_OR_RETURN(Value x, GetAttr(e.line, item, args[0].s));
      bool keep;
      if (args.size() == 1) {
        keep = x.Truthy();
      } else {
        ASSIGN_OR_RETURN(keep, ApplyTest(e.line, ToPythonString(args[1]), x,
                                         std::vector<Value>(args.begin() + 2, args.end())));
      }
      if (keep == (e.name == "selectattr")) out.push_back(item);
    }
    return Value::MakeList(std::move(out));
  }

  Result<bool> EvalTest(const Expr& e) {
    ASSIGN_OR_RETURN(Value v, Eval(*e.a));
    ASSIGN_OR_RETURN(std::vector<Value> args, EvalArgs(e));
    return ApplyTest(e.line, e.name, v, args);
  }

  Result<bool> ApplyTest(int line, const std::string& t, const Value& v, const std::vector<Value>& args) {
    if (t == "defined") return !v.IsUndefined();
    if (t == "undefined") return v.IsUndefined();
    if (t == "none") return v.kind == Kind::kNone;
    if (t == "string") return v.kind == Kind::kString;
    if (t == "number") return v.kind == Kind::kInt || v.kind == Kind::kFloat;
    if (t == "integer") return v.kind == Kind::kInt;
    if (t == "float") return v.kind == Kind::kFloat;
    if (t == "boolean") return v.kind == Kind::kBool;
    if (t == "true") return v.kind == Kind::kBool && v.b;
    if (t == "false") return v.kind == Kind::kBool && !v.b;
    if (t == "mapping") return v.kind == Kind::kDict;
    if (t == "sequence" || t == "iterable") return v.kind == Kind::kList || v.kind == Kind::kString || v.kind == Kind::kDict;
    if (t == "even" || t == "odd") {
      if (v.kind != Kind::kInt) return Error(line, "even/odd need an integer");
      return (v.i % 2 == 0) == (t == "even");
    }
    if (t == "equalto" || t == "eq" || t == "==") return !args.empty() && Equal(v, args[0]);
    if (t == "ne" || t == "!=") return args.empty() || !Equal(v, args[0]);
    if (t == "in") {
      if (args.empty()) return Error(line, "'in' test needs a container");
      return Contains(line, args[0], v);
    }
    return Error(line, fmt::format("unsupported test '{}'", t));
  }

  Result<bool> Contains(int line, const Value& container, const Value& item) {
    if (container.kind == Kind::kString) {
      if (item.kind != Kind::kString) return Error(line, "'in <string>' needs a string on the left");
      return container.s.find(item.s) != std::string::npos;
    }
    if (container.kind == Kind::kList) {
      for (const auto& x : *container.list) {
        if (Equal(x, item)) return true;
      }
      return false;
    }
    if (container.kind == Kind::kDict || container.kind == Kind::kNamespace) {
      return container.Find(ToPythonString(item)) != nullptr;
    }
    if (container.kind == Kind::kUndefined) return Error(line, "'in' an undefined value");
    return Error(line, fmt::format("argument of type {} is not iterable", KindName(container)));
  }

  Result<Value> EvalBinary(const Expr& e) {
    const std::string& op = e.name;
    ASSIGN_OR_RETURN(Value a, Eval(*e.a));
    if (op == "and") return a.Truthy() ? Eval(*e.b) : Result<Value>(a);
    if (op == "or") return a.Truthy() ? Result<Value>(a) : Eval(*e.b);
    ASSIGN_OR_RETURN(Value b, Eval(*e.b));
    if (op == "==") return Value::Bool(Equal(a, b));
    if (op == "!=") return Value::Bool(!Equal(a, b));
    if (op == "in" || op == "not in") {
      ASSIGN_OR_RETURN(bool r, Contains(e.line, b, a));
      return Value::Bool(r == (op == "in"));
    }
    if (op == "~") {
      RETURN_IF_ERROR(CheckPrintable(e.line, a));
      RETURN_IF_ERROR(CheckPrintable(e.line, b));
      if (a.s.size() + b.s.size() > limits_.max_output_bytes) return Error(e.line, "string too long");
      return Value::Str(ToPythonString(a) + ToPythonString(b));
    }
    if (op == "<" || op == ">" || op == "<=" || op == ">=") {
      int cmp;
      if (a.IsNumber() && b.IsNumber()) cmp = a.AsDouble() < b.AsDouble() ? -1 : a.AsDouble() > b.AsDouble() ? 1 : 0;
      else if (a.kind == Kind::kString && b.kind == Kind::kString) cmp = a.s.compare(b.s);
      else return Error(e.line, fmt::format("cannot compare {} with {}", KindName(a), KindName(b)));
      const bool r = op == "<" ? cmp < 0 : op == ">" ? cmp > 0 : op == "<=" ? cmp <= 0 : cmp >= 0;
      return Value::Bool(r);
    }
    if (op == "+") {
      if (a.kind == Kind::kString && b.kind == Kind::kString) {
        if (a.s.size() + b.s.size() > limits_.max_output_bytes) return Error(e.line, "string too long");
        return Value::Str(a.s + b.s);
      }
      if (a.kind == Kind::kList && b.kind == Kind::kList) {
        if (a.list->size() + b.list->size() > limits_.max_loop_iterations) return Error(e.line, "list too long");
        List l = *a.list;
        l.insert(l.end(), b.list->begin(), b.list->end());
        return Value::MakeList(std::move(l));
      }
    }
    if (op == "*" && a.kind == Kind::kInt && b.kind == Kind::kString) std::swap(a, b);
    if (op == "*" && a.kind == Kind::kString && b.kind == Kind::kInt) {
      if (b.i > 0 && a.s.size() * static_cast<uint64_t>(b.i) > limits_.max_output_bytes) return Error(e.line, "string repetition too long");
      std::string r;
      for (int64_t k = 0; k < b.i; ++k) r += a.s;
      return Value::Str(r);
    }
    if (a.IsNumber() && b.IsNumber() && a.kind != Kind::kBool && b.kind != Kind::kBool) {
      const bool ints = a.kind == Kind::kInt && b.kind == Kind::kInt;
      int64_t r = 0;
      if (ints && (op == "+" || op == "-" || op == "*")) {
        const bool overflow = op == "+" ? __builtin_add_overflow(a.i, b.i, &r)
                              : op == "-" ? __builtin_sub_overflow(a.i, b.i, &r)
                                          : __builtin_mul_overflow(a.i, b.i, &r);
        if (overflow) return Error(e.line, "integer overflow");
        return Value::Int(r);
      }
      if (op == "**") {
        if (ints && b.i >= 0) {
          if (a.i == 0 || a.i == 1) return Value::Int(b.i == 0 ? 1 : a.i);
          if (a.i == -1) return Value::Int(b.i % 2 == 0 ? 1 : -1);
          int64_t p = 1;  // |a| >= 2: overflows within 63 steps
          for (int64_t k = 0; k < b.i; ++k) {
            if (__builtin_mul_overflow(p, a.i, &p)) return Error(e.line, "integer overflow");
          }
          return Value::Int(p);
        }
        if (a.AsDouble() == 0 && b.AsDouble() < 0) return Error(e.line, "zero to a negative power");
        return Value::Float(std::pow(a.AsDouble(), b.AsDouble()));
      }
      if (op == "+") return Value::Float(a.AsDouble() + b.AsDouble());
      if (op == "-") return Value::Float(a.AsDouble() - b.AsDouble());
      if (op == "*") return Value::Float(a.AsDouble() * b.AsDouble());
      if (b.AsDouble() == 0) return Error(e.line, "division by zero");
      if (op == "/") return Value::Float(a.AsDouble() / b.AsDouble());
      if (op == "//") {
        if (ints) {
          if (b.i == -1) {
            if (a.i == INT64_MIN) return Error(e.line, "integer overflow");
            return Value::Int(-a.i);
          }
          const int64_t q = a.i / b.i;
          return Value::Int((a.i % b.i != 0) && ((a.i < 0) != (b.i < 0)) ? q - 1 : q);
        }
        return Value::Float(std::floor(a.AsDouble() / b.AsDouble()));
      }
      if (op == "%") {
        if (ints) {
          if (b.i == -1) return Value::Int(0);  // avoids INT64_MIN % -1
          const int64_t m = a.i % b.i;
          return Value::Int(m != 0 && ((m < 0) != (b.i < 0)) ? m + b.i : m);
        }
        return Value::Float(a.AsDouble() - b.AsDouble() * std::floor(a.AsDouble() / b.AsDouble()));
      }
    }
    return Error(e.line, fmt::format("unsupported operand types for {}: {} and {}", op, KindName(a), KindName(b)));
  }

  const RenderLimits& limits_;
  const std::optional<std::tm> now_;
  std::vector<std::vector<std::pair<std::string, Value>>> scopes_;
  std::string out_;
  uint64_t iterations_ = 0;
  int depth_ = 0;
};

}  // namespace

Result<std::string> Template::Render(const Value& context, const RenderLimits& limits,
                                     std::optional<std::tm> now) const {
  Evaluator ev(limits, context, now);
  ASSIGN_OR_RETURN(auto flow, ev.Exec(*root_));
  (void)flow;
  return ev.TakeOutput();
}

}  // namespace enclave::chat
