// The Kafka settings a stage derives from its configuration: static membership reaches the group
// consumer only, and a user's properties win over the derived ones.
#include <gtest/gtest.h>

#include <stdexcept>

#include "runtime/client_config.h"
#include "runtime/service.h"

namespace sw {
namespace {

RunnerConfig base_config() {
  RunnerConfig c;
  c.bootstrap_servers = "127.0.0.1:9092";
  return c;
}

TEST(StageClientConfigs, DynamicMembershipByDefault) {
  const auto out = stage_client_configs(base_config(), "app-parse", false);
  EXPECT_EQ(out.consumer.get("group.id"), "app-parse");
  EXPECT_FALSE(out.consumer.get("group.instance.id").has_value());
}

TEST(StageClientConfigs, StaticMembershipSetsTheInstanceIdOnTheGroupConsumerOnly) {
  auto config = base_config();
  config.group_instance_id = "crash-monitor-aggregate-1";
  const auto out = stage_client_configs(config, "app-aggregate", true);
  EXPECT_EQ(out.consumer.get("group.instance.id"), "crash-monitor-aggregate-1");
  // The restore consumer is assigned partitions by hand and never joins a group: an instance id
  // there would collide with the main consumer's.
  EXPECT_FALSE(out.restore_consumer.get("group.instance.id").has_value());
  EXPECT_FALSE(out.producer.get("group.instance.id").has_value());
}

TEST(StageClientConfigs, UserPropertiesWin) {
  auto config = base_config();
  config.group_instance_id = "from-flag";
  config.kafka.set_raw("group.instance.id", "from-property");
  config.kafka.set_raw("session.timeout.ms", "6000");
  const auto out = stage_client_configs(config, "g", false);
  EXPECT_EQ(out.consumer.get("group.instance.id"), "from-property");
  EXPECT_EQ(out.consumer.get("session.timeout.ms"), "6000");
}

TEST(GroupInstanceId, KafkasRule) {
  EXPECT_NO_THROW(check_group_instance_id(""));
  EXPECT_NO_THROW(check_group_instance_id("crash-monitor-aggregate-0"));
  EXPECT_NO_THROW(check_group_instance_id("a.b_C-9"));
  EXPECT_NO_THROW(check_group_instance_id(std::string(249, 'x')));
  EXPECT_THROW(check_group_instance_id(std::string(250, 'x')), std::invalid_argument);
  EXPECT_THROW(check_group_instance_id("."), std::invalid_argument);
  EXPECT_THROW(check_group_instance_id(".."), std::invalid_argument);
  EXPECT_THROW(check_group_instance_id("pod 0"), std::invalid_argument);
  EXPECT_THROW(check_group_instance_id("pod/0"), std::invalid_argument);
}

}  // namespace
}  // namespace sw
