#include "lake/parquet/compression.h"

#include <snappy.h>
#include <zstd.h>

#include <stdexcept>

namespace sw::lake::parquet {

struct Compressor::Zstd {
  ZSTD_CCtx* cctx = nullptr;
  ~Zstd() { ZSTD_freeCCtx(cctx); }
};

Compressor::Compressor(Codec codec, int zstd_level) : codec_(codec), level_(zstd_level) {
  if (codec != Codec::uncompressed && codec != Codec::snappy && codec != Codec::zstd)
    throw std::invalid_argument(std::string("compression codec ") + to_string(codec) +
                                " is not supported for writing (zstd, snappy or none)");
  if (codec == Codec::zstd) {
    if (zstd_level < 1 || zstd_level > ZSTD_maxCLevel())
      throw std::invalid_argument("ZSTD level must be between 1 and " + std::to_string(ZSTD_maxCLevel()) + ", got " +
                                  std::to_string(zstd_level));
    zstd_ = std::make_unique<Zstd>();
    zstd_->cctx = ZSTD_createCCtx();
    if (!zstd_->cctx) throw std::bad_alloc();
  }
}

Compressor::~Compressor() = default;

void Compressor::compress(std::string_view in, std::string& out) {
  const std::size_t base = out.size();
  switch (codec_) {
    case Codec::zstd: {
      const std::size_t bound = ZSTD_compressBound(in.size());
      out.resize(base + bound);
      const std::size_t n = ZSTD_compressCCtx(zstd_->cctx, out.data() + base, bound, in.data(), in.size(), level_);
      if (ZSTD_isError(n)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(n));
      out.resize(base + n);
      return;
    }
    case Codec::snappy: {
      out.resize(base + snappy::MaxCompressedLength(in.size()));
      std::size_t n = 0;
      snappy::RawCompress(in.data(), in.size(), out.data() + base, &n);
      out.resize(base + n);
      return;
    }
    default:
      out.append(in);
      return;
  }
}

bool decompress(Codec codec, std::string_view in, std::size_t uncompressed_size, std::string& out,
                std::string& error) {
  switch (codec) {
    case Codec::uncompressed:
      if (in.size() != uncompressed_size) {
        error = "uncompressed page of " + std::to_string(in.size()) + " bytes, header says " +
                std::to_string(uncompressed_size);
        return false;
      }
      out.assign(in);
      return true;
    case Codec::zstd: {
      out.resize(uncompressed_size);
      const std::size_t n = ZSTD_decompress(out.data(), out.size(), in.data(), in.size());
      if (ZSTD_isError(n)) {
        error = std::string("zstd: ") + ZSTD_getErrorName(n);
        return false;
      }
      if (n != uncompressed_size) {
        error = "zstd page decompressed to " + std::to_string(n) + " bytes, header says " +
                std::to_string(uncompressed_size);
        return false;
      }
      return true;
    }
    case Codec::snappy: {
      std::size_t n = 0;
      if (!snappy::GetUncompressedLength(in.data(), in.size(), &n) || n != uncompressed_size) {
        error = "snappy page length does not match its header";
        return false;
      }
      out.resize(n);
      if (!snappy::RawUncompress(in.data(), in.size(), out.data())) {
        error = "snappy: corrupt page";
        return false;
      }
      return true;
    }
    default:
      error = std::string("compression codec ") + to_string(codec) + " is not supported";
      return false;
  }
}

Codec codec_from_name(std::string_view name) {
  if (name == "zstd") return Codec::zstd;
  if (name == "snappy") return Codec::snappy;
  if (name == "none" || name == "uncompressed") return Codec::uncompressed;
  throw std::invalid_argument("unknown compression '" + std::string(name) + "' (zstd, snappy or none)");
}

}  // namespace sw::lake::parquet
