// Internal: tokens and syntax tree of the Jinja interpreter (see jinja.h).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja_value.h"

namespace enclave::chat {

struct Token {
  enum class Type { kText, kVarBegin, kVarEnd, kBlockBegin, kBlockEnd, kName, kString, kInt, kFloat, kOp, kEnd };
  Type type;
  std::string text;
  int line = 1;
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kLiteral, kName, kAttr, kItem, kSlice, kCall, kFilter, kTest, kUnary, kBinary, kCond, kList, kDict,
  };
  Kind kind;
  int line = 0;
  Value literal;            // kLiteral
  std::string name;         // kName, kAttr (attribute), kFilter / kTest (filter or test name), kUnary/kBinary op
  ExprPtr a, b, c;          // operands: object / left / condition ...
  std::vector<ExprPtr> args;                                 // call / filter / test args; list items
  std::vector<std::pair<std::string, ExprPtr>> kwargs;       // keyword args; dict items use `args` pairs
  bool negated = false;     // `is not`
};

struct Node {
  enum class Kind { kBody, kText, kOutput, kIf, kFor, kSet, kBreak, kContinue };
  Kind kind;
  int line = 0;
  std::string text;                                   // kText
  ExprPtr expr;                                       // kOutput, kSet value, kFor iterable
  std::vector<std::unique_ptr<Node>> children;        // kBody
  std::vector<std::pair<ExprPtr, std::unique_ptr<Node>>> branches;  // kIf: (condition, body)
  std::unique_ptr<Node> else_body;                    // kIf, kFor
  std::vector<std::string> targets;                   // kFor loop variables; kSet: name [, attribute]
  ExprPtr filter;                                     // kFor: `for x in xs if cond`
  std::unique_ptr<Node> body;                         // kFor
};

}  // namespace enclave::chat
