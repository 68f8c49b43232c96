// streamwright-<pipeline>: runs one stage of a pipeline of the catalogue (topologies/catalog.h);
// the build makes one executable per pipeline, with SW_PIPELINE naming it.
#include "runtime/service.h"
#include "topologies/catalog.h"

int main(int argc, char** argv) { return sw::service_main(argc, argv, sw::topologies::find_pipeline(SW_PIPELINE).service); }
