#include "template/swarm_context.h"

#include <gtest/gtest.h>

#include <string>

namespace capsule::tmpl {
namespace {

SwarmTask Task() {
  SwarmTask t;
  t.service_id = "svc1";
  t.service_name = "web";
  t.service_labels = {{"tier", "front"}};
  t.node_id = "node1";
  t.node = SwarmNode{"host-a", "linux", "x86_64"};
  t.task_id = "task1";
  t.slot = 3;
  t.task_name = SwarmTaskName(t.service_name, t.slot, t.node_id, t.task_id);
  t.env = {"X=ex", "EMPTY=", "NOVALUE", "T={{.Service.Name}}"};
  t.secrets = {{"sid-pw", "pw"}, {"sid-other", "/abs/other"}};
  return t;
}

// Secret data by ID, counting which IDs were asked for.
struct FakeSecrets {
  std::vector<std::string> asked;
  DependencyLookup Lookup() {
    return [this](const std::string& id) -> absl::StatusOr<Str> {
      asked.push_back(id);
      if (id == "sid-pw") return Str("s3cret");
      if (id == "sid-other") return Str("other");
      return absl::NotFoundError("secret " + id + " not found");
    };
  }
};

std::string Payload(const SwarmTask& t, std::string_view text, FakeSecrets* s = nullptr,
                    bool* used = nullptr) {
  absl::StatusOr<Str> r =
      ExpandPayload(t, text, s != nullptr ? s->Lookup() : DependencyLookup(), {}, used);
  return r.ok() ? std::string(*r) : "ERR " + std::string(r.status().message());
}

TEST(SwarmTaskName, SlotOrNodeId) {
  EXPECT_EQ(SwarmTaskName("web", 2, "n", "t"), "web.2.t");
  EXPECT_EQ(SwarmTaskName("web", 0, "n", "t"), "web.n.t");
}

TEST(SwarmContext, SpecStringSeesServiceNodeAndTask) {
  absl::StatusOr<Str> r = ExpandSpecString(
      Task(),
      "{{.Service.ID}} {{.Service.Name}} {{.Service.Labels.tier}} {{.Node.ID}} "
      "{{.Node.Hostname}} {{.Node.Platform.OS}} {{.Node.Platform.Architecture}} {{.Task.ID}} "
      "{{.Task.Name}} {{.Task.Slot}} {{join \"-\" \"a\" \"b\"}}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(std::string(*r), "svc1 web front node1 host-a linux x86_64 task1 web.3.task1 3 a-b");
}

TEST(SwarmContext, GlobalTaskSlotIsTheNodeId) {
  SwarmTask t = Task();
  t.slot = 0;
  absl::StatusOr<Str> r = ExpandSpecString(t, "{{.Task.Slot}}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::string(*r), "node1");
}

TEST(SwarmContext, SpecStringsHaveNoPayloadFunctions) {
  absl::StatusOr<Str> r = ExpandSpecString(Task(), "{{env \"X\"}}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(std::string(r.status().message()),
            "template: expansion:1: function \"env\" not defined");
}

TEST(SwarmContext, MissingLabelIsAnError) {
  EXPECT_EQ(Payload(Task(), "{{.Service.Labels.nope}}"),
            "ERR template: expansion:1:2: executing \"expansion\" at <.Service.Labels.nope>: map "
            "has no entry for key \"nope\"");
}

TEST(SwarmContext, UnknownFieldNamesGoType) {
  EXPECT_EQ(Payload(Task(), "{{.Nope}}"),
            "ERR template: expansion:1:2: executing \"expansion\" at <.Nope>: can't evaluate "
            "field Nope in type *template.PayloadContext");
}

TEST(SwarmPayload, EnvIsTheRawSpecValue) {
  EXPECT_EQ(Payload(Task(),
                    "{{env \"X\"}}|{{env \"EMPTY\"}}|{{env \"NOVALUE\"}}|{{env \"NO\"}}|"
                    "{{env \"T\"}}"),
            "ex||||{{.Service.Name}}");
}

TEST(SwarmPayload, SecretOfAReferencedTargetExpands) {
  FakeSecrets s;
  bool used = false;
  EXPECT_EQ(Payload(Task(), "pw={{secret \"pw\"}} o={{secret \"/abs/other\"}}", &s, &used),
            "pw=s3cret o=other");
  EXPECT_TRUE(used);
  EXPECT_EQ(s.asked, (std::vector<std::string>{"sid-pw", "sid-other"}));
}

TEST(SwarmPayload, SecretTheTaskDoesNotReferenceIsRefused) {
  FakeSecrets s;
  bool used = false;
  // "sid-pw" exists in the lookup, but only under the target "pw": neither its ID nor its
  // name nor another path reaches it, and the lookup is never asked.
  for (const char* target : {"sid-pw", "other", "/run/secrets/pw", "unrelated"}) {
    const std::string want =
        std::string("ERR template: expansion:1:2: executing \"expansion\" at <secret \"") + target +
        "\">: error calling secret: secret target " + target + " not found";
    EXPECT_EQ(Payload(Task(), std::string("{{secret \"") + target + "\"}}", &s, &used), want);
  }
  EXPECT_TRUE(s.asked.empty());
  EXPECT_FALSE(used);
}

TEST(SwarmPayload, SecretsUnavailableWithoutALookup) {
  EXPECT_EQ(Payload(Task(), "{{secret \"pw\"}}"),
            "ERR template: expansion:1:2: executing \"expansion\" at <secret \"pw\">: error "
            "calling secret: secrets unavailable");
}

TEST(SwarmPayload, ConfigGoesThroughTheInjectedLookup) {
  SwarmTask t = Task();
  absl::StatusOr<Str> none = ExpandPayload(t, "{{config \"c\"}}", {}, {});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(std::string(none.status().message()),
            "template: expansion:1:2: executing \"expansion\" at <config \"c\">: error calling "
            "config: configs unavailable");
  DependencyLookup configs = [](const std::string& id) -> absl::StatusOr<Str> {
    return Str("cfg-" + id);
  };
  absl::StatusOr<Str> missing = ExpandPayload(t, "{{config \"c\"}}", {}, configs);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(std::string(missing.status().message()),
            "template: expansion:1:2: executing \"expansion\" at <config \"c\">: error calling "
            "config: config target c not found");
  t.configs = {{"cid", "c"}};
  absl::StatusOr<Str> found = ExpandPayload(t, "{{config \"c\"}}", {}, configs);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(std::string(*found), "cfg-cid");
}

TEST(SwarmPayload, PayloadWithoutNodeDescriptionRendersEmptyNodeFields) {
  SwarmTask t = Task();
  t.node.reset();
  EXPECT_EQ(Payload(t, "[{{.Node.ID}}|{{.Node.Hostname}}|{{.Node.Platform.OS}}]"), "[node1||]");
}

}  // namespace
}  // namespace capsule::tmpl
