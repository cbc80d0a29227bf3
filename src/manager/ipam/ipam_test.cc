#include <gtest/gtest.h>

#include "manager/ipam/ipv4.h"
#include "manager/ipam/pool.h"

namespace capsule::ipam {
namespace {

Network NetworkWith(std::vector<IpamConfig> configs) {
  Network n;
  n.name = "net";
  n.ipam = std::move(configs);
  return n;
}

TEST(Ipv4Test, ParsesDottedQuadsAndPrefixes) {
  EXPECT_EQ(*ParseIpv4("10.0.1.3"), 0x0a000103u);
  StatusOr<Ipv4Prefix> p = ParseIpv4Prefix("10.30.0.5/24");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->First(), 0x0a1e0000u);
  EXPECT_EQ(p->Last(), 0x0a1e00ffu);
  EXPECT_EQ(FormatPrefix(*p), "10.30.0.5/24");
}

TEST(Ipv4Test, RejectsWhatGoRejects) {
  for (const char* bad : {"", "bogus", "10.0.0", "10.0.0.256", "10.0.0.1/33", "10.0.0.1/",
                          "10.0.0.1/-1", "1000.0.0.1/8", "10.0.0.1/24x"}) {
    StatusOr<Ipv4Prefix> p = ParseIpv4Prefix(bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.status().message(), std::string("invalid CIDR address: ") + bad);
  }
}

TEST(IpamConfigTest, DefaultGatewayIsTheFirstAddress) {
  StatusOr<std::vector<IpamConfig>> c = CompleteConfigs({{"10.30.0.5/24", "", ""}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)[0].gateway, "10.30.0.1");
  EXPECT_EQ((*c)[0].subnet, "10.30.0.5/24");  // kept as given, as Docker shows it
}

TEST(IpamConfigTest, DockerMessagesForBadConfigs) {
  struct Case {
    IpamConfig config;
    StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"bogus", "", ""},
       StatusCode::kUnknown,
       "Invalid subnet bogus : invalid CIDR address: bogus"},
      {{"", "", "10.60.0.1"}, StatusCode::kUnknown, "Invalid subnet  : invalid CIDR address: "},
      {{"10.60.0.0/24", "", "bogus"},
       StatusCode::kInvalidArgument,
       "ipam configuration: invalid gateway bogus"},
      {{"10.60.0.0/24", "bogus", ""},
       StatusCode::kInvalidArgument,
       "ipam configuration: invalid range bogus"},
      {{"10.30.0.0/24", "", "10.31.0.1"},
       StatusCode::kInvalidArgument,
       "ipam configuration: subnet 10.30.0.0/24 does not contain gateway 10.31.0.1"},
      {{"10.30.0.0/24", "10.31.0.0/28", ""},
       StatusCode::kInvalidArgument,
       "ipam configuration: subnet 10.30.0.0/24 does not contain range 10.31.0.0/28"},
  };
  for (const Case& c : cases) {
    StatusOr<std::vector<IpamConfig>> got = CompleteConfigs({c.config});
    ASSERT_FALSE(got.ok()) << c.message;
    EXPECT_EQ(got.status().code(), c.code) << c.message;
    EXPECT_EQ(got.status().message(), c.message);
  }
}

TEST(IpamConfigTest, OverlappingConfigsOfOneNetworkAreRefused) {
  StatusOr<std::vector<IpamConfig>> got =
      CompleteConfigs({{"10.40.0.0/16", "", ""}, {"10.40.1.0/24", "", ""}});
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().message(),
            "ipam configuration: subnet 10.40.1.0/24 overlaps with subnet 10.40.0.0/16");
}

TEST(SubnetPoolTest, FirstFreeBlockOfTheDefaultPool) {
  StatusOr<Ipv4Prefix> first = AllocateSubnet({"10.0.0.0/8"}, 24, {});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(FormatPrefix(*first), "10.0.0.0/24");
  StatusOr<Ipv4Prefix> second = AllocateSubnet({"10.0.0.0/8"}, 24, {*first});
  EXPECT_EQ(FormatPrefix(*second), "10.0.1.0/24");
}

TEST(SubnetPoolTest, SkipsSubnetsInUseOfAnySize) {
  std::vector<Ipv4Prefix> in_use = {*ParseIpv4Prefix("10.0.0.0/24"),
                                    *ParseIpv4Prefix("10.0.1.0/16")};
  StatusOr<Ipv4Prefix> got = AllocateSubnet({"10.0.0.0/8"}, 24, in_use);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(FormatPrefix(*got), "10.1.0.0/24");
}

TEST(SubnetPoolTest, CustomPoolAndMaskLength) {
  StatusOr<Ipv4Prefix> got = AllocateSubnet({"192.168.0.0/16"}, 26, {});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(FormatPrefix(*got), "192.168.0.0/26");
}

TEST(SubnetPoolTest, ExhaustedPoolsGiveDockersMessage) {
  std::vector<Ipv4Prefix> in_use = {*ParseIpv4Prefix("10.9.0.0/25"),
                                    *ParseIpv4Prefix("10.9.0.128/25")};
  StatusOr<Ipv4Prefix> got = AllocateSubnet({"10.9.0.0/24"}, 25, in_use);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(got.status().message(),
            "could not find an available, non-overlapping IPv4 address pool among the defaults "
            "to assign to the network");
}

TEST(DefaultPoolsTest, Validation) {
  EXPECT_TRUE(ValidateDefaultPools({"10.0.0.0/8"}, 24).ok());
  EXPECT_FALSE(ValidateDefaultPools({"bogus"}, 24).ok());
  EXPECT_FALSE(ValidateDefaultPools({"10.0.0.0/8"}, 30).ok());
  EXPECT_FALSE(ValidateDefaultPools({"10.0.0.0/25"}, 24).ok());
  EXPECT_FALSE(ValidateDefaultPools({}, 24).ok());
}

TEST(NetworkAddressesTest, SkipsNetworkAddressAndGateway) {
  NetworkAddresses a(NetworkWith({{"10.0.1.0/24", "", "10.0.1.1"}}));
  EXPECT_EQ(*a.Allocate(), "10.0.1.2/24");
  EXPECT_EQ(*a.Allocate(), "10.0.1.3/24");
}

TEST(NetworkAddressesTest, RangeStartsTheAllocation) {
  NetworkAddresses a(NetworkWith({{"10.20.0.0/16", "10.20.1.0/24", "10.20.0.254"}}));
  EXPECT_EQ(*a.Allocate(), "10.20.1.0/16");  // as Docker: the range's first address
  EXPECT_EQ(*a.Allocate(), "10.20.1.1/16");
}

TEST(NetworkAddressesTest, ExhaustionAndReuse) {
  // A /30: network .0, gateway .1, one address .2, broadcast .3.
  NetworkAddresses a(NetworkWith({{"10.50.0.0/30", "", "10.50.0.1"}}));
  StatusOr<std::string> only = a.Allocate();
  ASSERT_TRUE(only.ok());
  EXPECT_EQ(*only, "10.50.0.2/30");
  StatusOr<std::string> none = a.Allocate();
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(none.status().message(),
            "could not allocate an address on network net: no available IPv4 addresses");
  a.Release(*only);
  EXPECT_EQ(*a.Allocate(), "10.50.0.2/30");
}

TEST(NetworkAddressesTest, MarkedAddressesAreNotHandedOut) {
  NetworkAddresses a(NetworkWith({{"10.0.1.0/24", "", "10.0.1.1"}}));
  EXPECT_TRUE(a.MarkUsed("10.0.1.2/24"));
  EXPECT_TRUE(a.MarkUsed("10.0.1.3"));
  EXPECT_FALSE(a.MarkUsed("10.9.9.9/24"));  // not in this network
  EXPECT_EQ(*a.Allocate(), "10.0.1.4/24");
}

TEST(NetworkAddressesTest, SecondConfigWhenTheFirstIsFull) {
  NetworkAddresses a(
      NetworkWith({{"10.50.0.0/30", "", "10.50.0.1"}, {"10.40.1.0/24", "", "10.40.1.1"}}));
  EXPECT_EQ(*a.Allocate(), "10.50.0.2/30");
  EXPECT_EQ(*a.Allocate(), "10.40.1.2/24");
}

TEST(VxlanTest, LowestFreeFrom4096) {
  EXPECT_EQ(NextVxlanId({}), 4096u);
  EXPECT_EQ(NextVxlanId({4096, 4097, 4099}), 4098u);
}

}  // namespace
}  // namespace capsule::ipam
