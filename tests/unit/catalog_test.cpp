// The pipeline catalogue: every entry is consistent with the topology it builds, so the tools that
// derive from it (launcher, lag exporter, Helm chart, scripts) see real topics and stages.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "services/loadgen/options.h"
#include "topologies/catalog.h"

namespace sw::topologies {
namespace {

bool has_topic(const Topology& t, const std::string& name, TopicRole role) {
  return std::any_of(t.topics().begin(), t.topics().end(),
                     [&](const TopicUse& u) { return u.name == name && u.role == role; });
}

TEST(Catalog, EveryEntryMatchesTheTopologyItBuilds) {
  ASSERT_GE(catalog().size(), 3u);
  std::set<std::string> names;
  for (const auto& p : catalog()) {
    SCOPED_TRACE(p.name);
    EXPECT_TRUE(names.insert(p.name).second) << "duplicate name";
    EXPECT_EQ(p.executable(), "streamwright-" + p.name);
    EXPECT_EQ(p.service.name, p.executable());
    EXPECT_EQ(p.service.default_application_id, p.name);
    ASSERT_TRUE(p.build_default);
    const Topology t = p.build_default(p.name);
    EXPECT_EQ(t.application_id(), p.name);
    EXPECT_FALSE(t.subtopologies().empty());
    ASSERT_FALSE(p.input_topic_options.empty());
    for (const auto& [topic, option] : p.input_topic_options) {
      EXPECT_TRUE(has_topic(t, topic, TopicRole::input)) << topic;
      EXPECT_FALSE(option.empty());
    }
    EXPECT_TRUE(has_topic(t, p.output_topic, TopicRole::output)) << p.output_topic;
    EXPECT_TRUE(has_topic(t, p.dead_letter_topic, TopicRole::dead_letter)) << p.dead_letter_topic;
    for (const auto& w : p.watch_topics) EXPECT_TRUE(has_topic(t, w, TopicRole::output)) << w;
    // The demo's load generator: a mode it has, or a replay of the pipeline's sample data.
    const auto& modes = loadgen::generator_modes();
    if (p.loadgen_mode == "replay")
      EXPECT_NE(std::find(p.loadgen_args.begin(), p.loadgen_args.end(), "--replay"), p.loadgen_args.end());
    else
      EXPECT_NE(std::find(modes.begin(), modes.end(), p.loadgen_mode), modes.end()) << p.loadgen_mode;
    EXPECT_FALSE(p.output_label.empty());
    for (const auto& [option, value] : p.defaults) EXPECT_EQ(option.rfind("--", 0), 0u) << option;
    for (const auto& [option, value] : p.demo_defaults) EXPECT_EQ(option.rfind("--", 0), 0u) << option;
    for (const auto& sink : p.sinks) {
      EXPECT_EQ(sink.input_topics.size(), sink.topic_options.size());
      for (const auto& topic : sink.input_topics) EXPECT_TRUE(has_topic(t, topic, TopicRole::output)) << topic;
    }
  }
}

TEST(Catalog, UnknownNamesAreRejectedWithTheKnownOnes) {
  try {
    find_pipeline("nope");
    FAIL() << "accepted";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("unknown pipeline 'nope'"), std::string::npos) << what;
    for (const auto& p : catalog()) EXPECT_NE(what.find(p.name), std::string::npos) << what;
  }
  EXPECT_EQ(&find_pipeline("crash-monitor"), &catalog().front());
}

TEST(Catalog, JsonListsEveryPipelineWithItsStagesTopicsAndGroups) {
  const auto j = nlohmann::json::parse(catalog_json());
  ASSERT_EQ(j.size(), catalog().size());
  for (std::size_t i = 0; i < j.size(); ++i) {
    const auto& p = catalog()[i];
    const Topology t = p.build_default(p.name);
    EXPECT_EQ(j[i]["name"], p.name);
    EXPECT_EQ(j[i]["executable"], p.executable());
    ASSERT_EQ(j[i]["stages"].size(), t.subtopologies().size());
    for (std::size_t s = 0; s < t.subtopologies().size(); ++s) {
      const auto& st = t.subtopologies()[s];
      EXPECT_EQ(j[i]["stages"][s]["name"], st.name);
      EXPECT_EQ(j[i]["stages"][s]["group"], t.group_id(st.name));
      EXPECT_EQ(j[i]["stages"][s]["kind"], st.stores.empty() ? "stateless" : "stateful");
    }
    EXPECT_EQ(j[i]["topics"].size(), t.topics().size());
  }
}

TEST(Catalog, HelmCatalogueNamesInternalTopicsByThePlaceholder) {
  const auto y = helm_catalogue_yaml();
  for (const auto& p : catalog()) EXPECT_NE(y.find("\n  " + p.name + ":\n"), std::string::npos) << p.name;
  EXPECT_NE(y.find("inputTopic: \"<app>-crashes-by-user-repartition\""), std::string::npos) << y;
  EXPECT_EQ(y.find("crash-monitor-crashes-by-user"), std::string::npos) << y;
}

}  // namespace
}  // namespace sw::topologies
