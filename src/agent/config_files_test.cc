#include "agent/config_files.h"

#include <gtest/gtest.h>

namespace capsule::agent {
namespace {

ConfigReference Ref(const std::string& id, const std::string& target) {
  ConfigReference r;
  r.config_id = id;
  r.config_name = "app.conf";
  r.has_file = true;
  r.target = target;
  return r;
}

TEST(ConfigDestination, RelativeTargetIsUnderRoot) {
  EXPECT_EQ(ConfigDestination(Ref("c1", "app.conf")), "/app.conf");
  EXPECT_EQ(ConfigDestination(Ref("c1", "etc/app.conf")), "/etc/app.conf");
}

TEST(ConfigDestination, AbsoluteTargetIsUsedAsGiven) {
  EXPECT_EQ(ConfigDestination(Ref("c1", "/etc/app.conf")), "/etc/app.conf");
}

TEST(ConfigData, IsTheCachedBytesOfTheConfigId) {
  SecretCache cache;
  cache.Put("c1", SecretBytes::CopyFrom(std::string_view("port=80\n")));
  Task task;
  std::shared_ptr<const SecretBytes> data = ConfigData(cache, task, Ref("c1", "app.conf"));
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(data->view(), "port=80\n");
  EXPECT_EQ(ConfigData(cache, task, Ref("c2", "app.conf")), nullptr);
}

}  // namespace
}  // namespace capsule::agent
