// SPDX-License-Identifier: MIT
// libFuzzer target: IDX images and labels (io/idx.hpp), plain and gzip (built with zlib).
#include "fuzz_common.hpp"

#include <ohq/io/idx.hpp>

#include <cstddef>
#include <cstdint>

namespace {

constexpr ohq::errc idx_errors[] = {ohq::errc::parse_error, ohq::errc::invalid_argument, ohq::errc::unsupported,
                                    ohq::errc::limit_exceeded};

void check(const ohq::status& s, const char* where) {
  ohq_fuzz::check_error(s, {idx_errors[0], idx_errors[1], idx_errors[2], idx_errors[3]}, where);
}

void run(std::span<const std::byte> file, const ohq::io::idx_options& options) {
  if (auto images = ohq::io::try_read_idx_images(file, options)) {
    if (images->pixels.size() != images->count * images->rows * images->cols)
      ohq_fuzz::finding("idx images: pixel count differs from count * rows * cols");
    if (images->count > options.limit) ohq_fuzz::finding("idx images: more images than idx_options::limit");
    if (images->count != 0 && images->image(images->count - 1).size() != images->image_size())
      ohq_fuzz::finding("idx images: last image has the wrong size");
  } else {
    check(images.error(), "try_read_idx_images");
  }
  if (auto labels = ohq::io::try_read_idx_labels(file, options)) {
    if (labels->count() > options.limit) ohq_fuzz::finding("idx labels: more labels than idx_options::limit");
  } else {
    check(labels.error(), "try_read_idx_labels");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file = ohq_fuzz::bytes(data, size);
  ohq::io::idx_options options;
  options.max_bytes = std::size_t{64} << 20;  // the fuzzer's -malloc_limit_mb stays above this
  run(file, options);
  options.limit = 2;  // the partial read (gzip: the rest is not even decompressed)
  run(file, options);
  return 0;
}
