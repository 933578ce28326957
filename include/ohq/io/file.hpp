// SPDX-License-Identifier: MIT
/// @file Defines `ohq::io::try_read_file`, which reads a whole file into memory under a size limit.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <ohq/core/error.hpp>
#include <ohq/io/detail/no_throw.hpp>
#include <system_error>
#include <vector>

namespace ohq::io {

/// Reads all bytes of `path`. Fails with `errc::io_error` when the file cannot be opened or read
/// and with `errc::limit_exceeded` when it holds more than `max_bytes` bytes (the size is checked
/// while reading, so special files and files that grow are bounded too). Never throws.
inline result<std::vector<std::byte>> try_read_file(const std::filesystem::path& path,
                                                    std::size_t max_bytes) {
  return detail::no_throw([&]() -> result<std::vector<std::byte>> {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      return make_status(errc::io_error, "cannot read '", path.native(), "': it is a directory");
    }
    struct closer {
      void operator()(std::FILE* f) const noexcept { std::fclose(f); }
    };
    errno = 0;
    std::unique_ptr<std::FILE, closer> file(std::fopen(path.c_str(), "rb"));
    if (!file) {
      const int err = errno;
      return make_status(errc::io_error, "cannot open '", path.native(),
                         "': ", std::error_code(err, std::generic_category()).message());
    }
    std::vector<std::byte> bytes;
    constexpr std::size_t chunk = std::size_t{1} << 20;
    // The size on disk is only a hint: read it (plus one byte, to see the end) in one go, then
    // continue in chunks if the file turns out longer.
    std::size_t next = chunk;
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec && size < max_bytes) {
      next = static_cast<std::size_t>(size) + 1;
      bytes.reserve(next);
    }
    for (;;) {
      const std::size_t old = bytes.size();
      if (old > max_bytes) {
        return make_status(errc::limit_exceeded, "'", path.native(), "' is larger than the limit of ",
                           max_bytes, " bytes");
      }
      const std::size_t room = max_bytes - old;  // reading room + 1 bytes detects an oversize file
      const std::size_t want = room >= next ? next : room + 1;
      next = chunk;
      bytes.resize(old + want);
      const std::size_t got = std::fread(bytes.data() + old, 1, want, file.get());
      bytes.resize(old + got);
      if (got < want) {
        if (std::ferror(file.get()) != 0) {
          return make_status(errc::io_error, "error while reading '", path.native(), "'");
        }
        break;
      }
    }
    if (bytes.size() > max_bytes) {
      return make_status(errc::limit_exceeded, "'", path.native(), "' is larger than the limit of ",
                         max_bytes, " bytes");
    }
    return bytes;
  });
}

}  // namespace ohq::io
