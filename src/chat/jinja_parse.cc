// Lexer and parser of the Jinja interpreter.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

#include "chat/jinja.h"
#include "chat/jinja_ast.h"

namespace enclave::chat {
namespace {

constexpr int kMaxParseDepth = 100;

bool IsNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Splits a template into text and tag tokens, applying whitespace control, trim_blocks and
// lstrip_blocks as jinja2 does for Hugging Face chat templates.
// A string literal's body decoded as jinja2 decodes it (Python's "unicode-escape" codec): \n \t
// \r \\ \' \" \a \b \f \v, \xHH, \uHHHH, \UHHHHHHHH, octal \ooo, and a backslash
// before any other character kept as written.
Result<std::string> Unescape(std::string_view body) {
  std::string out;
  auto append_code_point = [&out](uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  };
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\' || i + 1 == body.size()) {
      out += body[i];
      continue;
    }
    const char e = body[++i];
    switch (e) {
      case '\n': break;  // a backslash-newline continues the line
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'v': out += '\v'; break;
      case '\\': case '\'': case '"': out += e; break;
      case 'x': case 'u': case 'U': {
        const size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        uint32_t cp = 0;
        if (i + digits >= body.size()) {
          return InvalidArgumentError(fmt::format("truncated \\{} escape in a string literal", e));
        }
        for (size_t k = 1; k <= digits; ++k) {
          const char h = body[i + k];
          if (!std::isxdigit(static_cast<unsigned char>(h))) {
            return InvalidArgumentError(fmt::format("truncated \\{} escape in a string literal", e));
          }
          cp = cp * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0'
                                                                                             : (h | 0x20) - 'a' + 10);
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
          return InvalidArgumentError("a string literal escapes a code point that UTF-8 cannot hold");
        }
        append_code_point(cp);
        i += digits;
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          uint32_t cp = static_cast<uint32_t>(e - '0');
          for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7'; ++k) {
            cp = cp * 8 + static_cast<uint32_t>(body[++i] - '0');
          }
          append_code_point(cp);
        } else {
          out += '\\';
          out += e;
        }
    }
  }
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string_view source) {
    // jinja2 normalises newlines to "\n" and, without keep_trailing_newline, drops one final newline.
    src_.reserve(source.size());
    for (size_t i = 0; i < source.size(); ++i) {
      if (source[i] == '\r') {
        src_ += '\n';
        if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
      } else {
        src_ += source[i];
      }
    }
    if (!src_.empty() && src_.back() == '\n') src_.pop_back();
  }

  Result<std::vector<Token>> Run() {
    std::vector<Token> out;
    size_t pos = 0;
    bool strip_next = false;  // the previous tag ended with '-'
    bool trim_newline = false;  // the previous tag was a block/comment (trim_blocks)
    while (pos <= src_.size()) {
      size_t open = src_.find('{', pos);
      while (open != std::string::npos && open + 1 < src_.size() && src_[open + 1] != '{' && src_[open + 1] != '%' &&
             src_[open + 1] != '#') {
        open = src_.find('{', open + 1);
      }
      if (open + 1 >= src_.size()) open = std::string::npos;
      std::string text = src_.substr(pos, open == std::string::npos ? std::string::npos : open - pos);
      const char kind = open == std::string::npos ? 0 : src_[open + 1];
      const bool minus = kind && open + 2 < src_.size() && src_[open + 2] == '-';
      const bool plus = kind && open + 2 < src_.size() && src_[open + 2] == '+';
      // Trailing side first, on the text as written (jinja2 applies both rules to the source).
      if (minus) {
        size_t k = text.size();
        while (k > 0 && std::isspace(static_cast<unsigned char>(text[k - 1]))) --k;
        text.erase(k);
      } else if ((kind == '%' || kind == '#') && !plus) {
        // lstrip_blocks: spaces and tabs from the start of the line up to a block tag go.
        size_t k = text.size();
        while (k > 0 && (text[k - 1] == ' ' || text[k - 1] == '\t')) --k;
        const bool line_start = k > 0 ? text[k - 1] == '\n' : LineStartBefore(pos);
        if (line_start) text.erase(k);
      }
      if (strip_next) {
        size_t k = 0;
        while (k < text.size() && std::isspace(static_cast<unsigned char>(text[k]))) ++k;
        text.erase(0, k);
      } else if (trim_newline && !text.empty() && text[0] == '\n') {
        text.erase(0, 1);
      }
      if (open == std::string::npos) {
        Emit(&out, std::move(text));
        break;
      }
      Emit(&out, std::move(text));
      line_ = LineAt(open);
      size_t p = open + 2 + ((minus || plus) ? 1 : 0);
      if (kind == '#') {
        const size_t close = src_.find("#}", p);
        if (close == std::string::npos) return Error("unclosed comment '{#'");
        strip_next = close > p && src_[close - 1] == '-';
        trim_newline = true;
        pos = close + 2;
        continue;
      }
      out.push_back({kind == '{' ? Token::Type::kVarBegin : Token::Type::kBlockBegin, "", line_});
      const char* end_tag = kind == '{' ? "}}" : "%}";
      // Raw blocks: {% raw %}...{% endraw %} pass through verbatim.
      bool closed = false;
      while (p < src_.size()) {
        const char c = src_[p];
        if (c == '\n') ++line_;
        if (std::isspace(static_cast<unsigned char>(c))) { ++p; continue; }
        if ((c == '-' && src_.compare(p + 1, 2, end_tag) == 0) || src_.compare(p, 2, end_tag) == 0) {
          strip_next = c == '-';
          p += strip_next ? 3 : 2;
          closed = true;
          break;
        }
        if (c == '\'' || c == '"') {
          size_t q = p + 1;
          while (q < src_.size() && src_[q] != c) q += src_[q] == '\\' ? 2 : 1;
          if (q >= src_.size()) return Error("unterminated string literal");
          auto s = Unescape(std::string_view(src_).substr(p + 1, q - p - 1));
          if (!s.ok()) return Error(s.status().message());
          out.push_back({Token::Type::kString, std::move(*s), line_});
          p = q + 1;
        } else if (std::isdigit(static_cast<unsigned char>(c))) {
          size_t q = p;
          bool is_float = false;
          while (q < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[q])) || src_[q] == '_' ||
                                     (src_[q] == '.' && !is_float && q + 1 < src_.size() &&
                                      std::isdigit(static_cast<unsigned char>(src_[q + 1]))))) {
            is_float |= src_[q] == '.';
            ++q;
          }
          // An exponent (1e20, 2.5E-3) makes a float, as in jinja2's lexer.
          if (q < src_.size() && (src_[q] == 'e' || src_[q] == 'E')) {
            size_t r = q + 1;
            if (r < src_.size() && (src_[r] == '+' || src_[r] == '-')) ++r;
            if (r < src_.size() && std::isdigit(static_cast<unsigned char>(src_[r]))) {
              while (r < src_.size() && std::isdigit(static_cast<unsigned char>(src_[r]))) ++r;
              is_float = true;
              q = r;
            }
          }
          std::string num = src_.substr(p, q - p);
          std::erase(num, '_');
          out.push_back({is_float ? Token::Type::kFloat : Token::Type::kInt, num, line_});
          p = q;
        } else if (IsNameStart(c)) {
          size_t q = p;
          while (q < src_.size() && IsNameChar(src_[q])) ++q;
          out.push_back({Token::Type::kName, src_.substr(p, q - p), line_});
          p = q;
        } else {
          static const char* kOps[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">",
                                       "(", ")", "[", "]", "{", "}", ",", ".", ":", "|", "=", nullptr};
          bool matched = false;
          for (const char** op = kOps; *op; ++op) {
            if (src_.compare(p, std::strlen(*op), *op) == 0) {
              out.push_back({Token::Type::kOp, *op, line_});
              p += std::strlen(*op);
              matched = true;
              break;
            }
          }
          if (!matched) return Error(fmt::format("unexpected character '{}'", c));
        }
      }
      if (!closed) return Error(fmt::format("tag opened with '{{{}' is never closed", kind));
      out.push_back({kind == '{' ? Token::Type::kVarEnd : Token::Type::kBlockEnd, "", line_});
      trim_newline = kind == '%';
      pos = p;
    }
    out.push_back({Token::Type::kEnd, "", line_});
    return out;
  }

 private:
  bool LineStartBefore(size_t pos) const { return pos == 0 || src_[pos - 1] == '\n'; }
  int LineAt(size_t pos) const { return 1 + static_cast<int>(std::count(src_.begin(), src_.begin() + pos, '\n')); }
  void Emit(std::vector<Token>* out, std::string text) {
    if (!text.empty()) out->push_back({Token::Type::kText, std::move(text), line_});
  }
  Status Error(const std::string& what) const {
    return InvalidArgumentError(fmt::format("chat template line {}: {}", line_, what));
  }

  std::string src_;
  int line_ = 1;
};

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  Result<std::unique_ptr<Node>> ParseTemplate() {
    ASSIGN_OR_RETURN(auto body, ParseBody({}));
    if (Peek().type != Token::Type::kEnd) return Error(Peek(), "unexpected tag");
    return body;
  }

 private:
  const Token& Peek(size_t k = 0) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  const Token& Next() { return t_[std::min(i_++, t_.size() - 1)]; }
  bool IsOp(const char* op, size_t k = 0) const { return Peek(k).type == Token::Type::kOp && Peek(k).text == op; }
  bool IsName(const char* n, size_t k = 0) const { return Peek(k).type == Token::Type::kName && Peek(k).text == n; }
  Status Error(const Token& at, const std::string& what) const {
    return InvalidArgumentError(fmt::format("chat template line {}: {}{}", at.line, what,
                                            at.text.empty() ? "" : " near '" + at.text + "'"));
  }
  Status Expect(Token::Type type, const char* text, const char* what) {
    if (Peek().type != type || (text && Peek().text != text)) return Error(Peek(), std::string("expected ") + what);
    ++i_;
    return Status::Ok();
  }

  // Parses statements until a block tag whose keyword is in `stops` (left unconsumed).
  Result<std::unique_ptr<Node>> ParseBody(const std::vector<std::string>& stops) {
    if (++depth_ > kMaxParseDepth) return Error(Peek(), "template nested too deeply");
    auto body = std::make_unique<Node>();
    body->kind = Node::Kind::kBody;
    for (;;) {
      const Token& tok = Peek();
      if (tok.type == Token::Type::kEnd) break;
      if (tok.type == Token::Type::kText) {
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::kText;
        n->text = Next().text;
        body->children.push_back(std::move(n));
        continue;
      }
      if (tok.type == Token::Type::kVarBegin) {
        Next();
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::kOutput;
        n->line = tok.line;
        ASSIGN_OR_RETURN(n->expr, ParseExpr());
        RETURN_IF_ERROR(Expect(Token::Type::kVarEnd, nullptr, "'}}'"));
        body->children.push_back(std::move(n));
        continue;
      }
      // Block tag.
      const Token& kw = Peek(1);
      if (kw.type != Token::Type::kName) return Error(kw, "expected a statement keyword");
      if (std::find(stops.begin(), stops.end(), kw.text) != stops.end()) break;
      Next();
      Next();
      ASSIGN_OR_RETURN(auto stmt, ParseStatement(kw));
      if (stmt) body->children.push_back(std::move(stmt));
    }
    --depth_;
    return body;
  }

  Status EndTag() { return Expect(Token::Type::kBlockEnd, nullptr, "'%}'"); }
  Status ExpectBlock(const char* keyword) {
    RETURN_IF_ERROR(Expect(Token::Type::kBlockBegin, nullptr, (std::string("{% ") + keyword + " %}").c_str()));
    RETURN_IF_ERROR(Expect(Token::Type::kName, keyword, keyword));
    return Status::Ok();
  }

  Result<std::unique_ptr<Node>> ParseStatement(const Token& kw) {
    auto n = std::make_unique<Node>();
    n->line = kw.line;
    if (kw.text == "if") {
      n->kind = Node::Kind::kIf;
      ASSIGN_OR_RETURN(ExprPtr cond, ParseExpr());
      RETURN_IF_ERROR(EndTag());
      ASSIGN_OR_RETURN(auto body, ParseBody({"elif", "else", "endif"}));
      n->branches.emplace_back(std::move(cond), std::move(body));
      for (;;) {
        if (Peek().type != Token::Type::kBlockBegin) return Error(Peek(), "'if' without 'endif'");
        const std::string k = Peek(1).text;
        Next();
        Next();
        if (k == "elif") {
          ASSIGN_OR_RETURN(ExprPtr c, ParseExpr());
          RETURN_IF_ERROR(EndTag());
          ASSIGN_OR_RETURN(auto b, ParseBody({"elif", "else", "endif"}));
          n->branches.emplace_back(std::move(c), std::move(b));
        } else if (k == "else") {
          RETURN_IF_ERROR(EndTag());
          ASSIGN_OR_RETURN(n->else_body, ParseBody({"endif"}));
        } else if (k == "endif") {
          RETURN_IF_ERROR(EndTag());
          break;
        } else {
          return Error(Peek(), fmt::format("'{}' where 'endif' was expected", k));
        }
      }
      return n;
    }
    if (kw.text == "for") {
      n->kind = Node::Kind::kFor;
      do {
        if (Peek().type != Token::Type::kName) return Error(Peek(), "expected a loop variable");
        n->targets.push_back(Next().text);
      } while (IsOp(",") && (Next(), true));
      RETURN_IF_ERROR(Expect(Token::Type::kName, "in", "'in'"));
      ASSIGN_OR_RETURN(n->expr, ParseOr(/*allow_cond=*/false));
      if (IsName("if")) {
        Next();
        ASSIGN_OR_RETURN(n->filter, ParseOr(false));
      }
      if (IsName("recursive")) return Error(Peek(), "unsupported construct 'recursive' loop");
      RETURN_IF_ERROR(EndTag());
      ASSIGN_OR_RETURN(n->body, ParseBody({"else", "endfor"}));
      if (IsName("else", 1)) {
        Next();
        Next();
        RETURN_IF_ERROR(EndTag());
        ASSIGN_OR_RETURN(n->else_body, ParseBody({"endfor"}));
      }
      RETURN_IF_ERROR(ExpectBlock("endfor"));
      RETURN_IF_ERROR(EndTag());
      return n;
    }
    if (kw.text == "set") {
      n->kind = Node::Kind::kSet;
      if (Peek().type != Token::Type::kName) return Error(Peek(), "expected a variable name after 'set'");
      n->targets.push_back(Next().text);
      if (IsOp(".")) {
        Next();
        if (Peek().type != Token::Type::kName) return Error(Peek(), "expected an attribute name");
        n->targets.push_back(Next().text);
      }
      if (!IsOp("=")) return Error(Peek(), "unsupported construct: block 'set' (expected '=')");
      Next();
      ASSIGN_OR_RETURN(n->expr, ParseExpr());
      RETURN_IF_ERROR(EndTag());
      return n;
    }
    if (kw.text == "break" || kw.text == "continue") {
      n->kind = kw.text == "break" ? Node::Kind::kBreak : Node::Kind::kContinue;
      RETURN_IF_ERROR(EndTag());
      return n;
    }
    return Error(kw, fmt::format("unsupported construct '{}'", kw.text));
  }

  // Expressions, lowest precedence first (jinja2's grammar).
  Result<ExprPtr> ParseExpr() { return ParseOr(true); }

  Result<ExprPtr> ParseOr(bool allow_cond) {
    if (++depth_ > kMaxParseDepth) return Error(Peek(), "expression nested too deeply");
    ASSIGN_OR_RETURN(ExprPtr left, ParseAnd());
    while (IsName("or")) {
      Next();
      ASSIGN_OR_RETURN(ExprPtr right, ParseAnd());
      left = Binary("or", std::move(left), std::move(right));
    }
    if (allow_cond && IsName("if")) {
      Next();
      auto e = std::make_unique<Expr>();
      e->kind = Expr::Kind::kCond;
      e->a = std::move(left);
      ASSIGN_OR_RETURN(e->b, ParseOr(false));
      if (IsName("else")) {
        Next();
        ASSIGN_OR_RETURN(e->c, ParseOr(true));
      }
      left = std::move(e);
    }
    --depth_;
    return left;
  }
  Result<ExprPtr> ParseAnd() {
    ASSIGN_OR_RETURN(ExprPtr left, ParseNot());
    while (IsName("and")) {
      Next();
      ASSIGN_OR_RETURN(ExprPtr right, ParseNot());
      left = Binary("and", std::move(left), std::move(right));
    }
    return left;
  }
  Result<ExprPtr> ParseNot() {
    if (IsName("not")) {
      Next();
      ASSIGN_OR_RETURN(ExprPtr e, ParseNot());
      return Unary("not", std::move(e));
    }
    return ParseCompare();
  }
  // A chain `a < b < c` means `a < b and b < c` in jinja2; it is refused rather than evaluated
  // as `(a < b) < c`.
  Result<ExprPtr> ParseCompare() {
    ASSIGN_OR_RETURN(ExprPtr left, ParseConcat());
    for (int n = 0;; ++n) {
      if (n == 1 && (IsOp("==") || IsOp("!=") || IsOp("<") || IsOp(">") || IsOp("<=") || IsOp(">=") ||
                     IsName("in") || (IsName("not") && IsName("in", 1)))) {
        return Error(Peek(), "unsupported construct: chained comparison");
      }
      std::string op;
      if (IsOp("==") || IsOp("!=") || IsOp("<") || IsOp(">") || IsOp("<=") || IsOp(">=")) {
        op = Next().text;
      } else if (IsName("in")) {
        Next();
        op = "in";
      } else if (IsName("not") && IsName("in", 1)) {
        Next();
        Next();
        op = "not in";
      } else {
        break;
      }
      ASSIGN_OR_RETURN(ExprPtr right, ParseConcat());
      left = Binary(op, std::move(left), std::move(right));
    }
    return left;
  }
  Result<ExprPtr> ParseConcat() {
    ASSIGN_OR_RETURN(ExprPtr left, ParseAdd());
    while (IsOp("~")) {
      Next();
      ASSIGN_OR_RETURN(ExprPtr right, ParseAdd());
      left = Binary("~", std::move(left), std::move(right));
    }
    return left;
  }
  Result<ExprPtr> ParseAdd() {
    ASSIGN_OR_RETURN(ExprPtr left, ParseMul());
    while (IsOp("+") || IsOp("-")) {
      const std::string op = Next().text;
      ASSIGN_OR_RETURN(ExprPtr right, ParseMul());
      left = Binary(op, std::move(left), std::move(right));
    }
    return left;
  }
  Result<ExprPtr> ParseMul() {
    ASSIGN_OR_RETURN(ExprPtr left, ParsePow());
    while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
      const std::string op = Next().text;
      ASSIGN_OR_RETURN(ExprPtr right, ParsePow());
      left = Binary(op, std::move(left), std::move(right));
    }
    return left;
  }
  // `**` binds tighter than `*` and, unlike Python, groups left to right and after the sign
  // (`-2 ** 2` is 4), as jinja2 parses it.
  Result<ExprPtr> ParsePow() {
    ASSIGN_OR_RETURN(ExprPtr left, ParseUnary());
    while (IsOp("**")) {
      Next();
      ASSIGN_OR_RETURN(ExprPtr right, ParseUnary());
      left = Binary("**", std::move(left), std::move(right));
    }
    return left;
  }
  // As jinja2's parse_unary: a sign applies to the operand before its filters and tests
  // (`-1 | abs` is abs(-1)).
  Result<ExprPtr> ParseUnary(bool with_filters = true) {
    ExprPtr e;
    if (IsOp("-") || IsOp("+")) {
      const std::string op = Next().text;
      if (++depth_ > kMaxParseDepth) return Error(Peek(), "expression nested too deeply");
      ASSIGN_OR_RETURN(ExprPtr operand, ParseUnary(false));
      --depth_;
      e = Unary(op, std::move(operand));
    } else {
      ASSIGN_OR_RETURN(e, ParsePostfix());
    }
    if (!with_filters) return e;
    // Filters and tests bind tighter than arithmetic on their left operand in jinja2's grammar for
    // our purposes: `x|length > 0`, `x is defined`.
    for (;;) {
      if (IsOp("|")) {
        Next();
        if (Peek().type != Token::Type::kName) return Error(Peek(), "expected a filter name");
        auto f = std::make_unique<Expr>();
        f->kind = Expr::Kind::kFilter;
        f->line = Peek().line;
        f->name = Next().text;
        f->a = std::move(e);
        if (IsOp("(")) RETURN_IF_ERROR(ParseArgs(f.get()));
        e = std::move(f);
      } else if (IsName("is")) {
        Next();
        auto t = std::make_unique<Expr>();
        t->kind = Expr::Kind::kTest;
        t->line = Peek().line;
        if (IsName("not")) {
          Next();
          t->negated = true;
        }
        if (Peek().type != Token::Type::kName) return Error(Peek(), "expected a test name");
        t->name = Next().text;
        t->a = std::move(e);
        if (IsOp("(")) {
          RETURN_IF_ERROR(ParseArgs(t.get()));
        } else if (Peek().type == Token::Type::kString || Peek().type == Token::Type::kInt ||
                   Peek().type == Token::Type::kFloat) {
          ASSIGN_OR_RETURN(ExprPtr arg, ParsePrimary());  // `x is divisibleby 3`, `x == y` forms
          t->args.push_back(std::move(arg));
        }
        e = std::move(t);
      } else {
        return e;
      }
    }
  }
  Status ParseArgs(Expr* call) {
    Next();  // (
    while (!IsOp(")")) {
      if (Peek().type == Token::Type::kName && IsOp("=", 1)) {
        std::string key = Next().text;
        Next();
        ASSIGN_OR_RETURN(ExprPtr v, ParseExpr());
        call->kwargs.emplace_back(std::move(key), std::move(v));
      } else {
        ASSIGN_OR_RETURN(ExprPtr v, ParseExpr());
        call->args.push_back(std::move(v));
      }
      if (IsOp(",")) {
        Next();
      } else if (!IsOp(")")) {
        return Error(Peek(), "expected ',' or ')' in arguments");
      }
    }
    Next();  // )
    return Status::Ok();
  }
  Result<ExprPtr> ParsePostfix() {
    ASSIGN_OR_RETURN(ExprPtr e, ParsePrimary());
    for (;;) {
      if (IsOp(".")) {
        Next();
        if (Peek().type != Token::Type::kName && Peek().type != Token::Type::kInt) {
          return Error(Peek(), "expected an attribute name");
        }
        auto a = std::make_unique<Expr>();
        a->kind = Expr::Kind::kAttr;
        a->line = Peek().line;
        a->name = Next().text;
        a->a = std::move(e);
        e = std::move(a);
      } else if (IsOp("[")) {
        Next();
        auto it = std::make_unique<Expr>();
        it->line = Peek().line;
        it->a = std::move(e);
        ExprPtr lo, hi, step;
        if (!IsOp(":")) {
          ASSIGN_OR_RETURN(lo, ParseExpr());
        }
        if (IsOp(":")) {
          Next();
          it->kind = Expr::Kind::kSlice;
          if (!IsOp("]") && !IsOp(":")) {
            ASSIGN_OR_RETURN(hi, ParseExpr());
          }
          if (IsOp(":")) {
            Next();
            if (!IsOp("]")) {
              ASSIGN_OR_RETURN(step, ParseExpr());
            }
          }
          it->args.push_back(std::move(lo));
          it->args.push_back(std::move(hi));
          it->args.push_back(std::move(step));
        } else {
          it->kind = Expr::Kind::kItem;
          it->b = std::move(lo);
        }
        RETURN_IF_ERROR(Expect(Token::Type::kOp, "]", "']'"));
        e = std::move(it);
      } else if (IsOp("(")) {
        auto c = std::make_unique<Expr>();
        c->kind = Expr::Kind::kCall;
        c->line = Peek().line;
        c->a = std::move(e);
        RETURN_IF_ERROR(ParseArgs(c.get()));
        e = std::move(c);
      } else {
        return e;
      }
    }
  }
  Result<ExprPtr> ParsePrimary() {
    const Token& tok = Peek();
    auto e = std::make_unique<Expr>();
    e->line = tok.line;
    switch (tok.type) {
      case Token::Type::kString: {
        e->kind = Expr::Kind::kLiteral;
        std::string s = Next().text;
        while (Peek().type == Token::Type::kString) s += Next().text;  // adjacent literals concatenate
        e->literal = Value::Str(std::move(s));
        return e;
      }
      case Token::Type::kInt: {
        e->kind = Expr::Kind::kLiteral;
        const std::string& t = Next().text;
        int64_t v = 0;
        const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
        if (r.ec != std::errc() || r.ptr != t.data() + t.size()) return Error(tok, "integer literal out of range");
        e->literal = Value::Int(v);
        return e;
      }
      case Token::Type::kFloat: {
        e->kind = Expr::Kind::kLiteral;
        const std::string& t = Next().text;
        double v = 0;
        const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
        if (r.ec != std::errc() || r.ptr != t.data() + t.size()) return Error(tok, "float literal out of range");
        e->literal = Value::Float(v);
        return e;
      }
      case Token::Type::kName: {
        const std::string n = Next().text;
        e->kind = Expr::Kind::kLiteral;
        if (n == "true" || n == "True") e->literal = Value::Bool(true);
        else if (n == "false" || n == "False") e->literal = Value::Bool(false);
        else if (n == "none" || n == "None") e->literal = Value::None();
        else {
          e->kind = Expr::Kind::kName;
          e->name = n;
        }
        return e;
      }
      case Token::Type::kOp:
        if (tok.text == "(") {
          Next();
          ASSIGN_OR_RETURN(ExprPtr inner, ParseExpr());
          if (IsOp(",")) {  // a tuple: treated as a list
            e->kind = Expr::Kind::kList;
            e->args.push_back(std::move(inner));
            while (IsOp(",")) {
              Next();
              if (IsOp(")")) break;
              ASSIGN_OR_RETURN(ExprPtr item, ParseExpr());
              e->args.push_back(std::move(item));
            }
            RETURN_IF_ERROR(Expect(Token::Type::kOp, ")", "')'"));
            return e;
          }
          RETURN_IF_ERROR(Expect(Token::Type::kOp, ")", "')'"));
          return inner;
        }
        if (tok.text == "[") {
          Next();
          e->kind = Expr::Kind::kList;
          while (!IsOp("]")) {
            ASSIGN_OR_RETURN(ExprPtr item, ParseExpr());
            e->args.push_back(std::move(item));
            if (IsOp(",")) Next();
            else if (!IsOp("]")) return Error(Peek(), "expected ',' or ']'");
          }
          Next();
          return e;
        }
        if (tok.text == "{") {
          Next();
          e->kind = Expr::Kind::kDict;
          while (!IsOp("}")) {
            ASSIGN_OR_RETURN(ExprPtr k, ParseExpr());
            RETURN_IF_ERROR(Expect(Token::Type::kOp, ":", "':'"));
            ASSIGN_OR_RETURN(ExprPtr v, ParseExpr());
            e->args.push_back(std::move(k));
            e->args.push_back(std::move(v));
            if (IsOp(",")) Next();
            else if (!IsOp("}")) return Error(Peek(), "expected ',' or '}'");
          }
          Next();
          return e;
        }
        [[fallthrough]];
      default:
        return Error(tok, "expected an expression");
    }
  }

  static ExprPtr Binary(const std::string& op, ExprPtr a, ExprPtr b) {
    auto e = std::make_unique<Expr>();
    e->kind = Expr::Kind::kBinary;
    e->name = op;
    e->line = a->line;
    e->a = std::move(a);
    e->b = std::move(b);
    return e;
  }
  static ExprPtr Unary(const std::string& op, ExprPtr a) {
    auto e = std::make_unique<Expr>();
    e->kind = Expr::Kind::kUnary;
    e->name = op;
    e->line = a->line;
    e->a = std::move(a);
    return e;
  }

  std::vector<Token> t_;
  size_t i_ = 0;
  int depth_ = 0;
};

}  // namespace

Template::~Template() = default;

Result<std::unique_ptr<Template>> Template::Parse(std::string_view source) {
  ASSIGN_OR_RETURN(std::vector<Token> tokens, Lexer(source).Run());
  Parser parser(std::move(tokens));
  std::unique_ptr<Template> t(new Template());
  ASSIGN_OR_RETURN(t->root_, parser.ParseTemplate());
  return t;
}

}  // namespace enclave::chat
