#include "format/model_report.h"

#include <fmt/format.h>

#include <algorithm>

namespace enclave {
namespace {

std::string ShapeString(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::string HumanBytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.2f} {}", v, units[u]);
}

std::string HumanCount(uint64_t n) {
  if (n >= 1000000000ull) return fmt::format("{:.2f} B", n / 1e9);
  if (n >= 1000000ull) return fmt::format("{:.2f} M", n / 1e6);
  if (n >= 1000ull) return fmt::format("{:.2f} K", n / 1e3);
  return std::to_string(n);
}

}  // namespace

nlohmann::ordered_json SummariseLongArrays(const nlohmann::ordered_json& value, size_t max_items) {
  if (value.is_array()) {
    if (value.size() > max_items) {
      nlohmann::ordered_json head = nlohmann::ordered_json::array();
      for (size_t i = 0; i < std::min<size_t>(8, value.size()); ++i) {
        head.push_back(SummariseLongArrays(value[i], max_items));
      }
      return {{"type", "array"}, {"length", value.size()}, {"head", head}};
    }
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& v : value) out.push_back(SummariseLongArrays(v, max_items));
    return out;
  }
  if (value.is_object()) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (auto it = value.begin(); it != value.end(); ++it) {
      out[it.key()] = SummariseLongArrays(it.value(), max_items);
    }
    return out;
  }
  return value;
}

std::string ModelReportToText(const ModelReport& r) {
  std::string out;
  out += fmt::format("path:          {}\n", r.path);
  out += fmt::format("format:        {}\n", r.format);
  out += fmt::format("architecture:  {}\n", r.architecture.empty() ? "(unknown)" : r.architecture);
  out += fmt::format("file size:     {} ({} bytes)\n", HumanBytes(r.file_size), r.file_size);
  out += fmt::format("parameters:    {} ({})\n", HumanCount(r.parameter_count), r.parameter_count);
  out += fmt::format("tensors:       {}\n", r.tensors.size());
  out += "\nmetadata:\n";
  for (auto it = r.metadata.begin(); it != r.metadata.end(); ++it) {
    std::string v = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
    if (v.size() > 160) v = v.substr(0, 157) + "...";
    // Keep one line per key even for multi-line strings (chat templates).
    for (auto& c : v) {
      if (c == '\n') c = ' ';
    }
    out += fmt::format("  {:<48} {}\n", it.key(), v);
  }
  size_t name_w = 4;
  for (const auto& t : r.tensors) name_w = std::max(name_w, t.name.size());
  name_w = std::min<size_t>(name_w, 64);
  out += "\ntensors:\n";
  out += fmt::format("  {:<{}} {:<8} {:<28} {:>14} {:>14}\n", "name", name_w, "type", "shape",
                     "bytes", "offset");
  for (const auto& t : r.tensors) {
    out += fmt::format("  {:<{}} {:<8} {:<28} {:>14} {:>14}\n", t.name, name_w, t.type,
                       ShapeString(t.shape), t.bytes, t.offset);
  }
  out += "\n";
  if (r.problems.empty()) {
    out += "problems:      none\n";
  } else {
    out += fmt::format("problems:      {}\n", r.problems.size());
    for (const auto& p : r.problems) out += "  - " + p + "\n";
  }
  return out;
}

nlohmann::ordered_json ModelReportToJson(const ModelReport& r) {
  nlohmann::ordered_json j;
  j["path"] = r.path;
  j["format"] = r.format;
  j["architecture"] = r.architecture;
  j["file_size"] = r.file_size;
  j["parameter_count"] = r.parameter_count;
  j["metadata"] = r.metadata;
  nlohmann::ordered_json tensors = nlohmann::ordered_json::array();
  for (const auto& t : r.tensors) {
    tensors.push_back({{"name", t.name},
                       {"type", t.type},
                       {"shape", t.shape},
                       {"n_elements", t.n_elements},
                       {"bytes", t.bytes},
                       {"offset", t.offset},
                       {"file", t.file}});
  }
  j["tensors"] = tensors;
  j["problems"] = r.problems;
  return j;
}

}  // namespace enclave
