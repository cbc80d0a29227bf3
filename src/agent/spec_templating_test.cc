#include "agent/spec_templating.h"

#include <gtest/gtest.h>

namespace capsule::agent {
namespace {

tmpl::SwarmTask Context() {
  tmpl::SwarmTask t;
  t.service_id = "svc1";
  t.service_name = "web";
  t.node_id = "node1";
  t.node = tmpl::SwarmNode{"host-a", "linux", "x86_64"};
  t.task_id = "t1";
  t.slot = 2;
  t.task_name = "web.2.t1";
  return t;
}

TEST(SpecTemplating, EnvValuesAndHostnameAreExpanded) {
  std::vector<std::string> env = {"A={{.Service.Name}}-{{.Task.Slot}}", "B", "C=x={{.Node.ID}}",
                                  "D={{.Node.Hostname}}/{{.Node.Platform.OS}}"};
  std::string hostname = "{{.Node.Hostname}}-{{.Task.Slot}}";
  ASSERT_TRUE(ExpandContainerSpec(Context(), &env, &hostname).ok());
  EXPECT_EQ(env, (std::vector<std::string>{"A=web-2", "B", "C=x=node1", "D=host-a/linux"}));
  EXPECT_EQ(hostname, "host-a-2");
}

TEST(SpecTemplating, PayloadFunctionsAreNotAvailable) {
  std::vector<std::string> env = {"A={{env \"B\"}}"};
  std::string hostname;
  Status s = ExpandContainerSpec(Context(), &env, &hostname);
  EXPECT_EQ(s.message(),
            "expanding env failed: expanding env \"A={{env \\\"B\\\"}}\": template: expansion:1: "
            "function \"env\" not defined");
  EXPECT_EQ(env, std::vector<std::string>{"A={{env \"B\"}}"});
}

TEST(SpecTemplating, BadHostnameNamesTheField) {
  std::vector<std::string> env = {"A=1"};
  std::string hostname = "{{.Node.Nope}}";
  Status s = ExpandContainerSpec(Context(), &env, &hostname);
  EXPECT_EQ(s.message(),
            "expanding hostname failed: template: expansion:1:2: executing \"expansion\" at "
            "<.Node.Nope>: can't evaluate field Nope in type struct { ID string; Hostname string; "
            "Platform template.Platform }");
  EXPECT_EQ(hostname, "{{.Node.Nope}}");
}

TEST(SpecTemplating, LocalNodeDescriptionIsLinuxWithAMachine) {
  tmpl::SwarmNode n = LocalNodeDescription("h");
  EXPECT_EQ(n.hostname, "h");
  EXPECT_EQ(n.os, "linux");
  EXPECT_FALSE(n.architecture.empty());
}

}  // namespace
}  // namespace capsule::agent
