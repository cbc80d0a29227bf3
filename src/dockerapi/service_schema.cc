#include "dockerapi/service_schema.h"

#include <memory>

#include "dockerapi/request_json.h"

namespace capsule::dockerapi {

using http::GoKind;
using S = http::GoSchema;

const http::GoSchema& ServiceSpecSchema() {
  static const S* schema = [] {
    auto file = std::make_shared<S>(S{"SecretReferenceFileTarget",
                                      "swarm.SecretReferenceFileTarget",
                                      {{"Name", GoKind::kString, nullptr, ""},
                                       {"UID", GoKind::kString, nullptr, ""},
                                       {"GID", GoKind::kString, nullptr, ""},
                                       {"Mode", GoKind::kUint32, nullptr, "fs.FileMode"}}});
    auto ref = std::make_shared<S>(S{"SecretReference",
                                     "swarm.SecretReference",
                                     {{"File", GoKind::kStruct, file, ""},
                                      {"SecretID", GoKind::kString, nullptr, ""},
                                      {"SecretName", GoKind::kString, nullptr, ""}}});
    auto config_file = std::make_shared<S>(
        S{"ConfigReferenceFileTarget", "swarm.ConfigReferenceFileTarget", file->fields});
    auto runtime = std::make_shared<S>(
        S{"ConfigReferenceRuntimeTarget", "swarm.ConfigReferenceRuntimeTarget", {}});
    auto config_ref = std::make_shared<S>(S{"ConfigReference",
                                            "swarm.ConfigReference",
                                            {{"File", GoKind::kStruct, config_file, ""},
                                             {"Runtime", GoKind::kStruct, runtime, ""},
                                             {"ConfigID", GoKind::kString, nullptr, ""},
                                             {"ConfigName", GoKind::kString, nullptr, ""}}});
    auto container = std::make_shared<S>(
        S{"ContainerSpec",
          "swarm.ContainerSpec",
          {{"Image", GoKind::kString, nullptr, ""},
           {"Labels", GoKind::kStringMap, nullptr, ""},
           {"Command", GoKind::kStringSlice, nullptr, ""},
           {"Args", GoKind::kStringSlice, nullptr, ""},
           {"Hostname", GoKind::kString, nullptr, ""},
           {"Env", GoKind::kStringSlice, nullptr, ""},
           {"Dir", GoKind::kString, nullptr, ""},
           {"User", GoKind::kString, nullptr, ""},
           {"Groups", GoKind::kStringSlice, nullptr, ""},
           {"Init", GoKind::kBool, nullptr, ""},
           {"StopSignal", GoKind::kString, nullptr, ""},
           {"TTY", GoKind::kBool, nullptr, ""},
           {"OpenStdin", GoKind::kBool, nullptr, ""},
           {"ReadOnly", GoKind::kBool, nullptr, ""},
           {"StopGracePeriod", GoKind::kInt64, nullptr, "time.Duration"},
           {"Hosts", GoKind::kStringSlice, nullptr, ""},
           {"Secrets", GoKind::kStructSlice, ref, "[]*swarm.SecretReference"},
           {"Configs", GoKind::kStructSlice, config_ref, "[]*swarm.ConfigReference"},
           {"Isolation", GoKind::kString, nullptr, "container.Isolation"}}});
    auto restart = std::make_shared<S>(
        S{"RestartPolicy",
          "swarm.RestartPolicy",
          {{"Condition", GoKind::kString, nullptr, "swarm.RestartPolicyCondition"},
           {"Delay", GoKind::kInt64, nullptr, "time.Duration"},
           {"MaxAttempts", GoKind::kUint64, nullptr, ""},
           {"Window", GoKind::kInt64, nullptr, "time.Duration"}}});
    auto platform = std::make_shared<S>(
        S{"Platform",
          "swarm.Platform",
          {{"Architecture", GoKind::kString, nullptr, ""}, {"OS", GoKind::kString, nullptr, ""}}});
    auto placement =
        std::make_shared<S>(S{"Placement",
                              "swarm.Placement",
                              {{"Constraints", GoKind::kStringSlice, nullptr, ""},
                               {"MaxReplicas", GoKind::kUint64, nullptr, ""},
                               {"Platforms", GoKind::kStructSlice, platform, "[]swarm.Platform"}}});
    auto network = std::make_shared<S>(S{"NetworkAttachmentConfig",
                                         "swarm.NetworkAttachmentConfig",
                                         {{"Target", GoKind::kString, nullptr, ""},
                                          {"Aliases", GoKind::kStringSlice, nullptr, ""},
                                          {"DriverOpts", GoKind::kStringMap, nullptr, ""}}});
    auto task = std::make_shared<S>(
        S{"TaskSpec",
          "swarm.TaskSpec",
          {{"ContainerSpec", GoKind::kStruct, container, "swarm.ContainerSpec"},
           {"RestartPolicy", GoKind::kStruct, restart, "swarm.RestartPolicy"},
           {"Placement", GoKind::kStruct, placement, "swarm.Placement"},
           {"ForceUpdate", GoKind::kUint64, nullptr, ""},
           {"Networks", GoKind::kStructSlice, network, "[]swarm.NetworkAttachmentConfig"},
           {"Runtime", GoKind::kString, nullptr, "swarm.RuntimeType"}}});
    auto replicated = std::make_shared<S>(S{"ReplicatedService",
                                            "swarm.ReplicatedService",
                                            {{"Replicas", GoKind::kUint64, nullptr, ""}}});
    auto global = std::make_shared<S>(S{"GlobalService", "swarm.GlobalService", {}});
    auto mode = std::make_shared<S>(
        S{"ServiceMode",
          "swarm.ServiceMode",
          {{"Replicated", GoKind::kStruct, replicated, "swarm.ReplicatedService"},
           {"Global", GoKind::kStruct, global, "swarm.GlobalService"}}});
    auto update = std::make_shared<S>(S{"UpdateConfig",
                                        "swarm.UpdateConfig",
                                        {{"Parallelism", GoKind::kUint64, nullptr, ""},
                                         {"Delay", GoKind::kInt64, nullptr, "time.Duration"},
                                         {"FailureAction", GoKind::kString, nullptr, ""},
                                         {"Monitor", GoKind::kInt64, nullptr, "time.Duration"},
                                         {"MaxFailureRatio", GoKind::kFloat64, nullptr, "float32"},
                                         {"Order", GoKind::kString, nullptr, ""}}});
    auto endpoint =
        std::make_shared<S>(S{"EndpointSpec",
                              "swarm.EndpointSpec",
                              {{"Mode", GoKind::kString, nullptr, "swarm.ResolutionMode"}}});
    return new S{"ServiceSpec",
                 "swarm.ServiceSpec",
                 {{"Name", GoKind::kString, nullptr, ""},
                  {"Labels", GoKind::kStringMap, nullptr, ""},
                  {"TaskTemplate", GoKind::kStruct, task, "swarm.TaskSpec"},
                  {"Mode", GoKind::kStruct, mode, "swarm.ServiceMode"},
                  {"UpdateConfig", GoKind::kStruct, update, "swarm.UpdateConfig"},
                  {"RollbackConfig", GoKind::kStruct, update, "swarm.UpdateConfig"},
                  {"Networks", GoKind::kStructSlice, network, "[]swarm.NetworkAttachmentConfig"},
                  {"EndpointSpec", GoKind::kStruct, endpoint, "swarm.EndpointSpec"}}};
  }();
  return *schema;
}

StatusOr<ServiceSpec> ReadServiceSpec(const std::string& body) {
  ASSIGN_OR_RETURN(nlohmann::json v, ReadJsonBody(body, ServiceSpecSchema()));
  return ParseServiceSpec(Json::parse(v.dump()));
}

}  // namespace capsule::dockerapi
