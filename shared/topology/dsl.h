#pragma once
// The Streamwright DSL, after Kafka Streams: stream -> filter/map -> group_by -> window_by ->
// count/aggregate -> to_stream -> to. Building records typed factories; each task instantiates
// its own processors from them. group_by cuts the graph: the records go through the
// repartition topic `<app>-<name>-repartition` into a new sub-topology (a separate service).
//
// In parts:
//   options.h           Consumed, Grouped, Materialized, Produced, MissingRow, Windowed, ...
//   processors.h        sources, filter, map, join, sinks (internal)
//   window_cache.h      the window cache every windowed aggregate keeps its state in (internal)
//   window_aggregate.h  the windowed aggregates and two-phase aggregation (internal)
//   fluent.h            StreamsBuilder, KStream, KGroupedStream, TimeWindowedKStream, KTable
// Extensions (several input topics, aggregates with a history) are in dsl_ext.h.
#include "topology/fluent.h"
#include "topology/options.h"
#include "topology/processors.h"
#include "topology/serde.h"
#include "topology/topology.h"
#include "topology/window_aggregate.h"
#include "topology/window_cache.h"
#include "window/windows.h"
