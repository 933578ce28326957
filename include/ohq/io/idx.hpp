// SPDX-License-Identifier: MIT
/// @file Defines the IDX reader (MNIST / Fashion-MNIST images and labels), plain or gzip-compressed.
///
/// Reads unsigned-byte IDX files: images (magic 0x00000803, dims [N, rows, cols]) and labels
/// (magic 0x00000801, dims [N]). Gzip files are decompressed with zlib when `OHQ_HAS_ZLIB` is
/// defined (link zlib); otherwise they are rejected with a message saying so. The header's claimed
/// size is checked against the limit and, for plain files, against the file size before anything
/// is allocated; gzip data is decompressed in bounded chunks, so a short stream claiming a huge
/// size allocates only what it really holds.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <ohq/core/error.hpp>
#include <ohq/io/detail/no_throw.hpp>
#include <ohq/io/file.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#if defined(OHQ_HAS_ZLIB)
#include <zlib.h>
#endif

namespace ohq::io {

/// Magic number of an unsigned-byte image file: type 0x08, 3 dimensions.
inline constexpr std::uint32_t idx_images_magic = 0x00000803;
/// Magic number of an unsigned-byte label file: type 0x08, 1 dimension.
inline constexpr std::uint32_t idx_labels_magic = 0x00000801;

/// Options of the IDX readers.
struct idx_options {
  /// Read at most this many items (the rest is neither decompressed nor stored).
  std::size_t limit = std::numeric_limits<std::size_t>::max();
  /// Largest decoded size accepted (header plus data, after decompression): 1 GiB by default
  /// (the Fashion-MNIST training images take 47 MB).
  std::size_t max_bytes = std::size_t{1} << 30;
};

/// Images of an IDX file: `count` images of `rows` x `cols` unsigned bytes, row-major.
struct idx_images {
  std::size_t count = 0;
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<std::uint8_t> pixels;  ///< count * rows * cols bytes

  /// Bytes per image.
  [[nodiscard]] std::size_t image_size() const noexcept { return rows * cols; }
  /// Image `i` (precondition: i < count).
  [[nodiscard]] std::span<const std::uint8_t> image(std::size_t i) const noexcept {
    OHQ_ASSERT(i < count);
    return std::span<const std::uint8_t>(pixels).subspan(i * image_size(), image_size());
  }
};

/// Labels of an IDX file.
struct idx_labels {
  std::vector<std::uint8_t> labels;
  [[nodiscard]] std::size_t count() const noexcept { return labels.size(); }
};

namespace detail {

inline bool is_gzip(std::span<const std::byte> file) noexcept {
  return file.size() >= 2 && file[0] == std::byte{0x1F} && file[1] == std::byte{0x8B};
}

/// The decoded byte stream of an IDX file: the bytes themselves, or their gzip decompression.
class idx_source {
 public:
  idx_source() = default;
  idx_source(const idx_source&) = delete;
  idx_source& operator=(const idx_source&) = delete;
  ~idx_source() {
#if defined(OHQ_HAS_ZLIB)
    if (inflating_) inflateEnd(&zs_);
#endif
  }

  status open(std::span<const std::byte> file) {
    file_ = file;
    gzip_ = is_gzip(file);
    if (!gzip_) return {};
#if defined(OHQ_HAS_ZLIB)
    zs_ = z_stream{};
    if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK) {
      return make_status(errc::io_error, "cannot initialise zlib");
    }
    inflating_ = true;
    return {};
#else
    return make_status(
        errc::unsupported,
        "the file is gzip-compressed, but gzip support is not compiled in (build with zlib and "
        "define OHQ_HAS_ZLIB); gunzip the file first");
#endif
  }

  [[nodiscard]] bool gzip() const noexcept { return gzip_; }
  [[nodiscard]] std::size_t decoded() const noexcept { return decoded_; }

  /// Reads up to `n` decoded bytes into `out`; `got < n` only at the end of the data.
  status read(std::byte* out, std::size_t n, std::size_t& got) {
    got = 0;
    if (!gzip_) {
      got = std::min(n, file_.size() - pos_);
      if (got != 0) std::memcpy(out, file_.data() + pos_, got);
      pos_ += got;
      decoded_ += got;
      return {};
    }
#if defined(OHQ_HAS_ZLIB)
    constexpr std::size_t max_chunk = std::size_t{1} << 30;  // zlib counts in 32-bit uInt
    while (got < n && !finished_) {
      if (zs_.avail_in == 0 && pos_ < file_.size()) {
        const std::size_t in = std::min(max_chunk, file_.size() - pos_);
        zs_.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(file_.data() + pos_));
        zs_.avail_in = static_cast<uInt>(in);
        pos_ += in;
      }
      const std::size_t want = std::min(max_chunk, n - got);
      zs_.next_out = reinterpret_cast<Bytef*>(out + got);
      zs_.avail_out = static_cast<uInt>(want);
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      const std::size_t produced = want - zs_.avail_out;
      got += produced;
      decoded_ += produced;
      if (rc == Z_STREAM_END) {
        // Another gzip member may follow (concatenated files); anything else is an error.
        const std::size_t rest = zs_.avail_in + (file_.size() - pos_);
        if (rest == 0) {
          finished_ = true;
          break;
        }
        const std::size_t at = file_.size() - rest;
        if (!is_gzip(file_.subspan(at))) {
          return make_status(errc::parse_error, rest,
                             " bytes of non-gzip data follow the gzip stream at byte offset ", at);
        }
        if (inflateReset(&zs_) != Z_OK) return make_status(errc::io_error, "zlib inflateReset failed");
        continue;
      }
      if (rc == Z_BUF_ERROR && zs_.avail_in == 0 && pos_ >= file_.size()) {
        return make_status(errc::parse_error, "the gzip stream is truncated (ends after ", decoded_,
                           " decompressed bytes)");
      }
      if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_STREAM_ERROR) {
        return make_status(errc::parse_error,
                           "corrupt gzip data (zlib: ", zs_.msg != nullptr ? zs_.msg : "error", ") after ",
                           decoded_, " decompressed bytes");
      }
      if (rc == Z_MEM_ERROR) return make_status(errc::limit_exceeded, "zlib ran out of memory");
      if (rc != Z_OK && rc != Z_BUF_ERROR) return make_status(errc::io_error, "zlib error ", rc);
    }
    return {};
#else
    (void)out;
    (void)n;
    return make_status(errc::unsupported, "gzip support is not compiled in");
#endif
  }

 private:
  std::span<const std::byte> file_;
  std::size_t pos_ = 0;
  std::size_t decoded_ = 0;
  bool gzip_ = false;
#if defined(OHQ_HAS_ZLIB)
  z_stream zs_{};
  bool inflating_ = false;
  bool finished_ = false;
#endif
};

inline std::uint32_t read_be32(const std::byte* p) noexcept {
  return (static_cast<std::uint32_t>(p[0]) << 24) | (static_cast<std::uint32_t>(p[1]) << 16) |
         (static_cast<std::uint32_t>(p[2]) << 8) | static_cast<std::uint32_t>(p[3]);
}

inline std::string hex32(std::uint32_t v) {
  constexpr char digits[] = "0123456789abcdef";
  std::string s = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) s += digits[(v >> shift) & 0xF];
  return s;
}

/// Reads the header (magic and `rank` dims) and then the first `min(N, limit)` items of
/// `item_size(dims)` bytes each into `data`. Returns N in `total` and the item count read in `count`.
inline status read_idx(std::span<const std::byte> file, const idx_options& options, std::uint32_t magic,
                       int rank, std::uint32_t (&dims)[3], std::vector<std::uint8_t>& data,
                       std::size_t& count) {
  const bool want_images = magic == idx_images_magic;
  const char* what = want_images ? "image" : "label";
  if (file.empty()) return make_status(errc::parse_error, "the file is empty");
  idx_source src;
  OHQ_TRY_STATUS(src.open(file));
  const auto header_size = static_cast<std::size_t>(4 + 4 * rank);
  std::byte header[16] = {};
  std::size_t got = 0;
  OHQ_TRY_STATUS(src.read(header, 4, got));
  if (got < 4) {
    return make_status(errc::parse_error, "the file is too short for an IDX header (", got, " bytes)");
  }
  const std::uint32_t found = read_be32(header);
  if (found != magic) {
    if (found == idx_images_magic || found == idx_labels_magic) {
      return make_status(errc::invalid_argument, "this is an IDX ",
                         found == idx_images_magic ? "image" : "label", " file (magic ", hex32(found),
                         "), expected ", what, "s (magic ", hex32(magic), ")");
    }
    if ((found >> 16) == 0 && ((found >> 8) & 0xFF) != 0x08) {
      return make_status(errc::unsupported, "IDX element type ", hex32((found >> 8) & 0xFF),
                         " is not supported; only unsigned bytes (0x08) are read (magic ", hex32(found), ")");
    }
    return make_status(errc::parse_error, "bad magic number ", hex32(found), "; expected ", hex32(magic),
                       " for an IDX ", what, " file");
  }
  OHQ_TRY_STATUS(src.read(header + 4, header_size - 4, got));
  if (got < header_size - 4) {
    return make_status(errc::parse_error, "the file ends inside the IDX header (", 4 + got, " of ",
                       header_size, " bytes)");
  }
  std::uint64_t item = 1;  // bytes per item
  for (int k = 0; k < rank; ++k) dims[k] = read_be32(header + 4 + 4 * k);
  for (int k = 1; k < rank; ++k) {
    if (dims[k] == 0) return make_status(errc::parse_error, "dimension ", k, " of the IDX header is 0");
    item *= dims[k];  // at most 2 factors below 2^32: no overflow
  }
  const std::uint64_t n = dims[0];
  const std::uint64_t max_data = options.max_bytes > header_size ? options.max_bytes - header_size : 0;
  if (n > max_data / item) {
    return make_status(errc::limit_exceeded, "the header claims ", n, " ", what, "s of ", item,
                       " bytes, more than the limit of ", options.max_bytes,
                       " bytes (idx_options::max_bytes)");
  }
  const std::uint64_t claimed = n * item;
  if (!src.gzip() && file.size() - header_size != claimed) {
    const std::size_t have = file.size() - header_size;
    if (have < claimed) {
      return make_status(errc::parse_error, "the file is truncated: the header claims ", n, " ", what, "s (",
                         claimed, " bytes of data) but only ", have, " bytes follow it");
    }
    return make_status(errc::parse_error, "the file has ", have - claimed, " bytes after the ", n, " ", what,
                       "s its header claims");
  }
  count = static_cast<std::size_t>(std::min<std::uint64_t>(n, options.limit));
  const auto needed = static_cast<std::size_t>(count * item);
  // Grow in bounded chunks so that a short gzip stream claiming much cannot allocate much.
  constexpr std::size_t chunk = std::size_t{8} << 20;
  data.clear();
  while (data.size() < needed) {
    const std::size_t old = data.size();
    const std::size_t step = std::min(chunk, needed - old);
    data.resize(old + step);
    OHQ_TRY_STATUS(src.read(reinterpret_cast<std::byte*>(data.data() + old), step, got));
    if (got < step) {
      return make_status(errc::parse_error, "the data is truncated: the header claims ", n, " ", what, "s (",
                         claimed, " bytes of data) but the ", src.gzip() ? "decompressed " : "",
                         "data ends after ", old + got, " bytes");
    }
  }
  if (count == n && src.gzip()) {
    std::byte extra[1];
    OHQ_TRY_STATUS(src.read(extra, 1, got));
    if (got != 0) {
      return make_status(errc::parse_error, "the decompressed data is longer than the ", n, " ", what,
                         "s its header claims");
    }
  }
  return {};
}

template <class Fn>
auto with_file(const std::filesystem::path& path, const idx_options& options, Fn read)
    -> decltype(read(std::span<const std::byte>{})) {
  auto bytes = try_read_file(path, options.max_bytes > std::numeric_limits<std::size_t>::max() - 64
                                       ? options.max_bytes
                                       : options.max_bytes + 64);
  if (!bytes) return make_status(bytes.error().code(), "idx: ", bytes.error().message());
  auto r = read(std::span<const std::byte>(*bytes));
  if (r) return r;
  std::string message = r.error().message();
  constexpr std::string_view prefix = "idx: ";
  if (message.compare(0, prefix.size(), prefix) == 0) message.erase(0, prefix.size());
  return make_status(r.error().code(), "idx: '", path.native(), "': ", message);
}

}  // namespace detail

/// Decodes an IDX image file (plain or gzip) held in memory. Never throws.
inline result<idx_images> try_read_idx_images(std::span<const std::byte> file,
                                              const idx_options& options = {}) {
  return detail::no_throw([&]() -> result<idx_images> {
    idx_images out;
    std::uint32_t dims[3] = {};
    const status s = detail::read_idx(file, options, idx_images_magic, 3, dims, out.pixels, out.count);
    if (!s) return make_status(s.code(), "idx: ", s.message());
    out.rows = dims[1];
    out.cols = dims[2];
    return out;
  });
}

/// Decodes an IDX label file (plain or gzip) held in memory. Never throws.
inline result<idx_labels> try_read_idx_labels(std::span<const std::byte> file,
                                              const idx_options& options = {}) {
  return detail::no_throw([&]() -> result<idx_labels> {
    idx_labels out;
    std::uint32_t dims[3] = {};
    std::size_t count = 0;
    const status s = detail::read_idx(file, options, idx_labels_magic, 1, dims, out.labels, count);
    if (!s) return make_status(s.code(), "idx: ", s.message());
    return out;
  });
}

/// Reads an IDX image file (plain or `.gz`); errors name the file. Never throws.
inline result<idx_images> try_load_idx_images(const std::filesystem::path& path,
                                              const idx_options& options = {}) {
  return detail::no_throw([&]() -> result<idx_images> {
    return detail::with_file(path, options,
                             [&](std::span<const std::byte> b) { return try_read_idx_images(b, options); });
  });
}

/// Reads an IDX label file (plain or `.gz`); errors name the file. Never throws.
inline result<idx_labels> try_load_idx_labels(const std::filesystem::path& path,
                                              const idx_options& options = {}) {
  return detail::no_throw([&]() -> result<idx_labels> {
    return detail::with_file(path, options,
                             [&](std::span<const std::byte> b) { return try_read_idx_labels(b, options); });
  });
}

#ifndef OHQ_NO_EXCEPTIONS
/// `try_load_idx_images(path, options).value()`: throws `ohq::error`.
inline idx_images load_idx_images(const std::filesystem::path& path, const idx_options& options = {}) {
  return try_load_idx_images(path, options).value();
}
/// `try_load_idx_labels(path, options).value()`: throws `ohq::error`.
inline idx_labels load_idx_labels(const std::filesystem::path& path, const idx_options& options = {}) {
  return try_load_idx_labels(path, options).value();
}
#endif

}  // namespace ohq::io
