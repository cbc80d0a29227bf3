#include "node/machine_resources.h"

#include <gtest/gtest.h>

#include "objects/objects.h"

namespace capsule::node {
namespace {

TEST(MachineResourcesTest, ParsesMemTotalInKiB) {
  EXPECT_EQ(ParseMemTotal("MemTotal:       24683520 kB\nMemFree: 1 kB\n"), 24683520LL * 1024);
  EXPECT_EQ(ParseMemTotal("Foo: 1 kB\nMemTotal: 2 kB\n"), 2048);
}

TEST(MachineResourcesTest, MissingOrMalformedMemTotalIsZero) {
  EXPECT_EQ(ParseMemTotal(""), 0);
  EXPECT_EQ(ParseMemTotal("MemFree: 5 kB\n"), 0);
  EXPECT_EQ(ParseMemTotal("MemTotal: x kB\n"), 0);
  EXPECT_EQ(ParseMemTotal("XMemTotal: 5 kB\n"), 0);
}

TEST(MachineResourcesTest, ThisMachineReportsCpusAndMemory) {
  MachineResources r = ReadMachineResources();
  EXPECT_GE(r.nano_cpus, 1000000000LL);
  EXPECT_EQ(r.nano_cpus % 1000000000LL, 0);
  EXPECT_GT(r.memory_bytes, 64LL << 20);
}

TEST(MachineResourcesTest, NodeDescriptionCarriesThemAndTheStoreKeepsThem) {
  Node n;
  n.id = "n1";
  EXPECT_EQ(NodeJson(n, 1)["Description"]["Resources"].dump(), "{}");  // not reported
  n.nano_cpus = 2000000000;
  n.memory_bytes = 25276510208;
  EXPECT_EQ(NodeJson(n, 1)["Description"]["Resources"].dump(),
            R"({"NanoCPUs":2000000000,"MemoryBytes":25276510208})");  // as the oracle's nodes.json
  StatusOr<Node> back = DecodeNodeMeta(EncodeNodeMeta(n));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->nano_cpus, 2000000000);
  EXPECT_EQ(back->memory_bytes, 25276510208);
}

}  // namespace
}  // namespace capsule::node
