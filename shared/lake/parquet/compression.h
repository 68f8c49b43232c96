#pragma once
// Page compression: ZSTD (libzstd), Snappy (libsnappy) or none.
#include <memory>
#include <string>
#include <string_view>

#include "lake/parquet/metadata.h"

namespace sw::lake::parquet {

class Compressor {
 public:
  // Throws std::invalid_argument for a codec this build cannot write (only uncompressed, snappy
  // and zstd are supported) or a ZSTD level outside [1, 22].
  explicit Compressor(Codec codec, int zstd_level = 3);
  ~Compressor();
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;

  Codec codec() const noexcept { return codec_; }
  // Appends the compressed form of `in` to `out` (reuses one ZSTD context).
  void compress(std::string_view in, std::string& out);

 private:
  Codec codec_;
  int level_;
  struct Zstd;
  std::unique_ptr<Zstd> zstd_;
};

// Decompresses `in` into `out` (replaced), which must come to exactly `uncompressed_size` bytes.
// Returns false with `error` set otherwise, or for a codec this build cannot read.
bool decompress(Codec codec, std::string_view in, std::size_t uncompressed_size, std::string& out,
                std::string& error);

// The codec from its name ("zstd", "snappy", "none"/"uncompressed"); throws std::invalid_argument.
Codec codec_from_name(std::string_view name);

}  // namespace sw::lake::parquet
