#include "template/swarm_context.h"

#include <string>

namespace capsule::tmpl {
namespace {

constexpr std::string_view kName = "expansion";

Value Field(std::string_view s) { return Value::String(s); }

Function Join() {
  Function f;
  f.params = Function::Params::kString;
  f.fixed = 1;
  f.variadic = true;
  f.fn = [](const Vec<Value>& a) -> absl::StatusOr<Value> {
    if (a.empty()) {
      // What Go's strings.Join(s[1:], s[0]) does with no arguments.
      return absl::InvalidArgumentError("runtime error: slice bounds out of range [1:0]");
    }
    Str out;
    for (size_t i = 1; i < a.size(); ++i) {
      if (i > 1) out.append(a[0].s());
      out.append(a[i].s());
    }
    return Value::String(std::move(out));
  };
  return f;
}

Function StringFn(std::function<absl::StatusOr<Value>(const Str&)> fn) {
  Function f;
  f.params = Function::Params::kString;
  f.fixed = 1;
  f.fn = [fn = std::move(fn)](const Vec<Value>& a) { return fn(a[0].s()); };
  return f;
}

absl::StatusOr<Str> Run(std::string_view text, FuncMap funcs, const Value& data,
                        const Limits& limits) {
  absl::StatusOr<Template> t = Template::Parse(kName, text, std::move(funcs), limits);
  if (!t.ok()) return t.status();
  return t->Execute(data);
}

// The task's reference with File target `target`, looked up through `lookup`.
absl::StatusOr<Value> Dependency(const std::vector<SwarmFileRef>& refs,
                                 const DependencyLookup& lookup, std::string_view kind,
                                 const Str& target, bool* used) {
  if (!lookup) return absl::InvalidArgumentError(Cat({kind, "s unavailable"}));
  for (const SwarmFileRef& ref : refs) {
    if (ref.target == std::string_view(target)) {
      absl::StatusOr<Str> data = lookup(ref.id);
      if (!data.ok()) return data.status();
      if (used != nullptr) *used = true;
      return Value::String(*std::move(data));
    }
  }
  return absl::InvalidArgumentError(Cat({kind, " target ", target, " not found"}));
}

}  // namespace

std::string SwarmTaskName(std::string_view service_name, uint64_t slot, std::string_view node_id,
                          std::string_view task_id) {
  if (slot != 0) return Cat({service_name, ".", std::to_string(slot), ".", task_id});
  return Cat({service_name, ".", node_id, ".", task_id});
}

Value SwarmContextValue(const SwarmTask& t, bool payload) {
  Map labels;
  for (const auto& [k, v] : t.service_labels) labels.emplace(Str(k), Field(v));
  Struct service{"struct { ID string; Name string; Labels map[string]string }",
                 {{"ID", Field(t.service_id)},
                  {"Name", Field(t.service_name)},
                  {"Labels", Value::FromMap(std::move(labels))}}};
  const SwarmNode none;
  const SwarmNode& n = t.node ? *t.node : none;
  Struct platform{"template.Platform",
                  {{"Architecture", Field(n.architecture)}, {"OS", Field(n.os)}}};
  Struct node{"struct { ID string; Hostname string; Platform template.Platform }",
              {{"ID", Field(t.node_id)},
               {"Hostname", Field(n.hostname)},
               {"Platform", Value::FromStruct(std::move(platform))}}};
  Struct task{"struct { ID string; Name string; Slot string }",
              {{"ID", Field(t.task_id)},
               {"Name", Field(t.task_name)},
               {"Slot", Field(t.slot != 0 ? std::to_string(t.slot) : t.node_id)}}};
  Struct ctx{payload ? "*template.PayloadContext" : "*template.Context",
             {{"Service", Value::FromStruct(std::move(service))},
              {"Node", Value::FromStruct(std::move(node))},
              {"Task", Value::FromStruct(std::move(task))}}};
  return Value::FromStruct(std::move(ctx));
}

absl::StatusOr<Str> ExpandSpecString(const SwarmTask& task, std::string_view s,
                                     const Limits& limits) {
  FuncMap funcs;
  funcs["join"] = Join();
  return Run(s, std::move(funcs), SwarmContextValue(task, false), limits);
}

absl::StatusOr<Str> ExpandPayload(const SwarmTask& task, std::string_view payload,
                                  const DependencyLookup& secrets, const DependencyLookup& configs,
                                  bool* used_secret, const Limits& limits) {
  bool used = false;
  FuncMap funcs;
  funcs["join"] = Join();
  funcs["secret"] = StringFn([&](const Str& target) {
    return Dependency(task.secrets, secrets, "secret", target, &used);
  });
  funcs["config"] = StringFn([&](const Str& target) {
    return Dependency(task.configs, configs, "config", target, nullptr);
  });
  funcs["env"] = StringFn([&](const Str& name) -> absl::StatusOr<Value> {
    for (const std::string& e : task.env) {
      const size_t eq = e.find('=');
      if (eq != std::string::npos && std::string_view(e).substr(0, eq) == std::string_view(name)) {
        return Value::String(std::string_view(e).substr(eq + 1));
      }
    }
    return Value::String(std::string_view());
  });
  absl::StatusOr<Str> out = Run(payload, std::move(funcs), SwarmContextValue(task, true), limits);
  if (used_secret != nullptr) *used_secret = used;
  return out;
}

}  // namespace capsule::tmpl
