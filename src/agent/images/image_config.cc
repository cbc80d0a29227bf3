// Image config JSON and change lines (declared in image_config.h).
#include "agent/images/image_config.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace capsule::agent {
namespace {

using nlohmann::json;

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string Unquote(const std::string& s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) {
    return s.substr(1, s.size() - 2);
  }
  return s;
}

// Splits "a=b c=\"d e\"" into words, honouring double quotes.
std::vector<std::string> Words(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false, any = false;
  for (char c : s) {
    if (c == '"') {
      quoted = !quoted;
      any = true;
    } else if ((c == ' ' || c == '\t') && !quoted) {
      if (any) out.push_back(cur);
      cur.clear();
      any = false;
    } else {
      cur += c;
      any = true;
    }
  }
  if (any) out.push_back(cur);
  return out;
}

// ["a","b"] (exec form) or a shell command (→ /bin/sh -c).
StatusOr<std::vector<std::string>> CommandForm(const std::string& arg) {
  if (!arg.empty() && arg[0] == '[') {
    json v = json::parse(arg, nullptr, false);
    if (v.is_array() &&
        std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_string(); })) {
      return v.get<std::vector<std::string>>();
    }
  }
  return std::vector<std::string>{"/bin/sh", "-c", arg};
}

// "K=V K2=V2" or the legacy "K V".
StatusOr<std::vector<std::pair<std::string, std::string>>> Pairs(const std::string& instr,
                                                                 const std::string& arg) {
  std::vector<std::pair<std::string, std::string>> out;
  const std::vector<std::string> words = Words(arg);
  if (words.empty()) return absl::InvalidArgumentError(instr + " requires at least one argument");
  if (words[0].find('=') == std::string::npos) {
    const size_t sp = arg.find_first_of(" \t");
    if (sp == std::string::npos) {
      return absl::InvalidArgumentError(instr + " must have two arguments");
    }
    out.emplace_back(words[0], Unquote(Trim(arg.substr(sp))));
    return out;
  }
  for (const std::string& w : words) {
    const size_t eq = w.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError("Syntax error - can't find = in \"" + w +
                                        "\". Must be of the form: name=value");
    }
    out.emplace_back(w.substr(0, eq), w.substr(eq + 1));
  }
  return out;
}

void SetEnv(std::vector<std::string>* env, const std::string& key, const std::string& value) {
  for (std::string& e : *env) {
    if (e.compare(0, key.size() + 1, key + "=") == 0) {
      e = key + "=" + value;
      return;
    }
  }
  env->push_back(key + "=" + value);
}

json OrNull(const std::vector<std::string>& v) { return v.empty() ? json(nullptr) : json(v); }

std::vector<std::string> Strings(const json& v) {
  std::vector<std::string> out;
  if (v.is_array()) {
    for (const json& x : v) {
      if (x.is_string()) out.push_back(x.get<std::string>());
    }
  }
  return out;
}

std::string Str(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

Status ApplyChanges(const std::vector<std::string>& changes, ImageConfig* config) {
  for (const std::string& raw : changes) {
    const std::string line = Trim(raw);
    if (line.empty() || line[0] == '#') continue;
    const size_t sp = line.find_first_of(" \t");
    std::string instr = line.substr(0, sp);
    const std::string arg = sp == std::string::npos ? "" : Trim(line.substr(sp));
    std::transform(instr.begin(), instr.end(), instr.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (instr == "ENV" || instr == "LABEL") {
      ASSIGN_OR_RETURN(auto pairs, Pairs(instr, arg));
      for (auto& [k, v] : pairs) {
        if (instr == "ENV") {
          SetEnv(&config->env, k, v);
        } else {
          config->labels[k] = v;
        }
      }
    } else if (instr == "CMD") {
      ASSIGN_OR_RETURN(config->cmd, CommandForm(arg));
    } else if (instr == "ENTRYPOINT") {
      ASSIGN_OR_RETURN(config->entrypoint, CommandForm(arg));
    } else if (instr == "WORKDIR") {
      if (arg.empty()) return absl::InvalidArgumentError("WORKDIR requires exactly one argument");
      config->working_dir = Unquote(arg);
    } else if (instr == "USER") {
      if (arg.empty()) return absl::InvalidArgumentError("USER requires exactly one argument");
      config->user = Unquote(arg);
    } else {
      return absl::InvalidArgumentError(instr + " is not a valid change command");
    }
  }
  return absl::OkStatus();
}

nlohmann::json ContainerConfigJson(const ImageConfig& config) {
  return {{"Hostname", ""},
          {"Domainname", ""},
          {"User", config.user},
          {"AttachStdin", false},
          {"AttachStdout", false},
          {"AttachStderr", false},
          {"Tty", false},
          {"OpenStdin", false},
          {"StdinOnce", false},
          {"Env", OrNull(config.env)},
          {"Cmd", OrNull(config.cmd)},
          {"Image", ""},
          {"Volumes", nullptr},
          {"WorkingDir", config.working_dir},
          {"Entrypoint", OrNull(config.entrypoint)},
          {"OnBuild", nullptr},
          {"Labels", config.labels.empty() ? json(nullptr) : json(config.labels)}};
}

std::string ImportConfigJson(const ImageConfig& config, TimePoint created,
                             const std::string& diff_id, const std::string& comment) {
  json c = ContainerConfigJson(config);
  json doc = {
      {"architecture", "amd64"},
      {"comment", comment.empty() ? "Imported from -" : comment},
      {"config", c},
      {"created", FormatRfc3339Nano(created)},
      {"history", json::array({{{"created", FormatRfc3339Nano(created)},
                                {"comment", comment.empty() ? "Imported from -" : comment}}})},
      {"os", "linux"},
      {"rootfs", {{"type", "layers"}, {"diff_ids", json::array({diff_id})}}}};
  return doc.dump();
}

StatusOr<ParsedConfig> ParseConfigJson(const std::string& text) {
  json doc = json::parse(text, nullptr, false);
  if (!doc.is_object())
    return absl::InvalidArgumentError("invalid image config: not a JSON object");
  ParsedConfig out;
  auto c = doc.find("config");
  if (c != doc.end() && c->is_object()) {
    out.config.env = Strings(c->value("Env", json()));
    out.config.cmd = Strings(c->value("Cmd", json()));
    out.config.entrypoint = Strings(c->value("Entrypoint", json()));
    out.config.working_dir = Str(*c, "WorkingDir");
    out.config.user = Str(*c, "User");
    auto labels = c->find("Labels");
    if (labels != c->end() && labels->is_object()) {
      for (auto& [k, v] : labels->items()) {
        if (v.is_string()) out.config.labels[k] = v.get<std::string>();
      }
    }
  }
  out.comment = Str(doc, "comment");
  const std::string created = Str(doc, "created");
  if (!created.empty() && !ParseRfc3339Nano(created, &out.created)) {
    // Other time zones or formats: keep the epoch rather than refuse the image.
    out.created = TimePoint{};
  }
  auto rootfs = doc.find("rootfs");
  if (rootfs != doc.end() && rootfs->is_object())
    out.layers = Strings(rootfs->value("diff_ids", json()));
  return out;
}

}  // namespace capsule::agent
