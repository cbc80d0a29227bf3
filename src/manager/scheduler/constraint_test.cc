#include "manager/scheduler/constraint.h"

#include <gtest/gtest.h>

namespace capsule::scheduler {
namespace {

Node TestNode() {
  Node n;
  n.id = "n1abc";
  n.hostname = "w1";
  n.role = "worker";
  n.addr = "127.0.12.5";
  n.labels = {{"zone", "a"}, {"Disk", "SSD"}};
  return n;
}

struct ParseCase {
  std::string expr;
  std::string error;  // "" = parses
};

TEST(ConstraintParse, SwarmkitMessages) {
  const std::vector<ParseCase> cases = {
      {"node.hostname==w1", ""},
      {" node.hostname == w1 ", ""},
      {"node.labels.zone!=a", ""},
      {"node.hostname=w1", "constraint expected one operator from ==, !="},
      {"node.hostname", "constraint expected one operator from ==, !="},
      {"==w1", "key '' is invalid"},
      {"n==w1", "key 'n' is invalid"},
      {"1node==w1", "key '1node' is invalid"},
      {"node.host name==w1", "key 'node.host name' is invalid"},
      {"node.hostname==", "value '' is invalid"},
      {"node.hostname==a,b", "value 'a,b' is invalid"},
      {"node.hostname==w 1", ""},
      {"node.labels.x==a:b/c*", ""},
  };
  for (const ParseCase& c : cases) {
    StatusOr<std::vector<Constraint>> got = ParseConstraints({c.expr});
    if (c.error.empty()) {
      EXPECT_TRUE(got.ok()) << c.expr << ": " << got.status();
    } else {
      ASSERT_FALSE(got.ok()) << c.expr;
      EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(got.status().message(), c.error) << c.expr;
    }
  }
}

TEST(ConstraintParse, VeryLongInputDoesNotCrash) {
  EXPECT_TRUE(ParseConstraints({"node.labels.k==" + std::string(100000, 'a')}).ok());
  EXPECT_FALSE(ParseConstraints({std::string(100000, '=') + "x"}).ok());
}

struct MatchCase {
  std::string expr;
  bool matches;
};

TEST(ConstraintMatch, Table) {
  const Node n = TestNode();
  const std::vector<MatchCase> cases = {
      {"node.id==n1abc", true},
      {"node.id!=n1abc", false},
      {"node.id==n1", false},
      {"node.hostname==w1", true},
      {"node.hostname==W1", true},  // values compare case-insensitively
      {"NODE.HOSTNAME==w1", true},  // and keys too
      {"node.hostname!=w2", true},
      {"node.role==worker", true},
      {"node.role==manager", false},
      {"node.role!=manager", true},
      {"node.labels.zone==a", true},
      {"node.labels.zone==b", false},
      {"node.labels.ZONE==a", false},  // the label name is case-sensitive
      {"node.labels.disk==ssd", false},
      {"node.labels.Disk==ssd", true},
      {"node.labels.missing!=x", true},  // a missing label is ""
      {"node.labels.missing==x", false},
      {"node.ip==127.0.12.5", true},
      {"node.ip==127.0.12.0/24", true},
      {"node.ip!=127.0.13.0/24", true},
      {"node.ip==10.0.0.0/8", false},
      {"node.platform.os==linux", true},
      {"engine.labels.x==y", false},  // unknown keys never match
      {"node.nosuch==y", false},
  };
  for (const MatchCase& c : cases) {
    StatusOr<std::vector<Constraint>> cs = ParseConstraints({c.expr});
    ASSERT_TRUE(cs.ok()) << c.expr;
    EXPECT_EQ(NodeMatches(*cs, n), c.matches) << c.expr;
  }
}

TEST(ConstraintMatch, AllMustHold) {
  const Node n = TestNode();
  EXPECT_TRUE(NodeMatches(*ParseConstraints({"node.role==worker", "node.labels.zone==a"}), n));
  EXPECT_FALSE(NodeMatches(*ParseConstraints({"node.role==worker", "node.labels.zone==b"}), n));
  EXPECT_TRUE(NodeMatches({}, n));
}

}  // namespace
}  // namespace capsule::scheduler
