#pragma once
// Secrets from mounted files (a Kubernetes Secret volume, a Docker secret): the file's contents
// are the value, without trailing line breaks, so that neither the command line nor the
// environment has to carry the secret itself.
#include <string>

namespace sw {

// Reads a secret from `path`. Throws std::invalid_argument naming `what` (the flag, variable or
// property that pointed at the file) and the path, never the contents, if the file cannot be
// read, is not a regular file, or is larger than 1 MiB.
std::string read_secret_file(const std::string& path, const std::string& what);

}  // namespace sw
