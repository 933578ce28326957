// SPDX-License-Identifier: MIT
// Tests of the IDX reader (ohq/io/idx.hpp): the Fashion-MNIST test files from Debian's
// dataset-fashion-mnist (skipped when absent) and hand-made good and bad files, plain and gzip.
// Built twice: with OHQ_HAS_ZLIB (test_io_idx) and without (test_io_idx_nozlib).
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <ohq/io/idx.hpp>
#include <string>
#include <vector>

namespace io = ohq::io;

namespace {

const std::filesystem::path fashion_dir = "/usr/share/datasets/fashion-mnist";

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

void put_be32(std::vector<std::byte>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::byte>((v >> shift) & 0xFF));
}

std::vector<std::byte> images_file(std::uint32_t n, std::uint32_t rows, std::uint32_t cols,
                                   std::size_t data_bytes, std::uint32_t magic = io::idx_images_magic) {
  std::vector<std::byte> out;
  put_be32(out, magic);
  put_be32(out, n);
  put_be32(out, rows);
  put_be32(out, cols);
  for (std::size_t k = 0; k < data_bytes; ++k) out.push_back(static_cast<std::byte>(k * 7 % 256));
  return out;
}

std::vector<std::byte> labels_file(std::uint32_t n, std::size_t data_bytes) {
  std::vector<std::byte> out;
  put_be32(out, io::idx_labels_magic);
  put_be32(out, n);
  for (std::size_t k = 0; k < data_bytes; ++k) out.push_back(static_cast<std::byte>(k % 10));
  return out;
}

[[maybe_unused]] std::string error_of(const ohq::status& s) { return s.message(); }

#if defined(OHQ_HAS_ZLIB)
std::vector<std::byte> gzip(const std::vector<std::byte>& in) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::vector<std::byte> out(deflateBound(&zs, static_cast<uLong>(in.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}
#endif

}  // namespace

TEST_CASE("idx: plain image and label files") {
  const auto img = images_file(3, 2, 4, 24);
  auto r = io::try_read_idx_images(img);
  REQUIRE_MESSAGE(r.has_value(), r.error().what());
  CHECK(r->count == 3);
  CHECK(r->rows == 2);
  CHECK(r->cols == 4);
  CHECK(r->image_size() == 8);
  REQUIRE(r->pixels.size() == 24);
  CHECK(r->image(2)[0] == static_cast<std::uint8_t>(16 * 7));
  io::idx_options o;
  o.limit = 2;
  auto limited = io::try_read_idx_images(img, o);
  REQUIRE(limited.has_value());
  CHECK(limited->count == 2);
  CHECK(limited->pixels.size() == 16);
  o.limit = 0;
  CHECK(io::try_read_idx_images(img, o)->count == 0);

  const auto lab = labels_file(12, 12);
  auto l = io::try_read_idx_labels(lab);
  REQUIRE(l.has_value());
  CHECK(l->count() == 12);
  CHECK(l->labels[11] == 1);
  CHECK(io::try_read_idx_images(images_file(0, 28, 28, 0))->count == 0);
}

TEST_CASE("idx: bad files give clear errors") {
  const auto check_images = [](const std::vector<std::byte>& file, ohq::errc code, const std::string& part,
                               io::idx_options o = {}) {
    auto r = io::try_read_idx_images(file, o);
    REQUIRE(!r.has_value());
    INFO(r.error().message());
    CHECK(r.error().code() == code);
    CHECK(contains(r.error().message(), "idx: "));
    CHECK(contains(r.error().message(), part));
  };
  check_images({}, ohq::errc::parse_error, "empty");
  check_images(std::vector<std::byte>(3), ohq::errc::parse_error, "too short");
  check_images(labels_file(3, 3), ohq::errc::invalid_argument,
               "this is an IDX label file (magic 0x00000801)");
  check_images(images_file(1, 1, 1, 1, 0x12345678), ohq::errc::parse_error, "bad magic number 0x12345678");
  check_images(images_file(1, 1, 1, 4, 0x00000D03), ohq::errc::unsupported, "element type 0x0000000d");
  auto cut_header = images_file(1, 1, 1, 0);
  cut_header.resize(10);
  check_images(cut_header, ohq::errc::parse_error, "ends inside the IDX header");
  check_images(images_file(10, 28, 28, 100), ohq::errc::parse_error,
               "truncated: the header claims 10 images (7840 bytes of data) but only 100");
  check_images(images_file(1, 2, 2, 9), ohq::errc::parse_error, "5 bytes after the 1 images");
  check_images(images_file(5, 0, 28, 0), ohq::errc::parse_error, "dimension 1 of the IDX header is 0");
  check_images(images_file(0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu, 0), ohq::errc::limit_exceeded, "max_bytes");
  check_images(images_file(60000, 28, 28, 0), ohq::errc::limit_exceeded, "more than the limit of 1000",
               io::idx_options{std::size_t(-1), 1000});
  // With a limit the plain file is still checked against its header.
  check_images(images_file(10, 28, 28, 100), ohq::errc::parse_error, "truncated",
               io::idx_options{1, 1u << 30});

  auto l = io::try_read_idx_labels(images_file(1, 1, 1, 1));
  REQUIRE(!l.has_value());
  CHECK(contains(l.error().message(), "this is an IDX image file"));
  auto lshort = io::try_read_idx_labels(labels_file(10, 3));
  REQUIRE(!lshort.has_value());
  CHECK(contains(lshort.error().message(), "truncated"));

  // Every truncation of a valid file is an error.
  const auto good = images_file(2, 3, 3, 18);
  for (std::size_t len = 0; len < good.size(); ++len) {
    CHECK(!io::try_read_idx_images(std::span<const std::byte>(good).first(len)).has_value());
  }
}

TEST_CASE("idx: loading from files") {
  const auto dir = std::filesystem::temp_directory_path() / "ohq_idx_test";
  std::filesystem::create_directories(dir);
  const auto path = dir / "tiny-images-idx3-ubyte";
  {
    const auto img = images_file(3, 2, 4, 24);
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(img.data()), static_cast<std::streamsize>(img.size()));
  }
  auto r = io::try_load_idx_images(path);
  REQUIRE_MESSAGE(r.has_value(), r.error().what());
  CHECK(r->count == 3);
  CHECK(io::load_idx_images(path).pixels == r->pixels);
  auto wrong = io::try_load_idx_labels(path);
  REQUIRE(!wrong.has_value());
  CHECK(contains(wrong.error().message(), "idx: '" + path.native() + "': this is an IDX image file"));
  CHECK_THROWS_AS(io::load_idx_labels(path), ohq::error);
  auto missing = io::try_load_idx_images(dir / "missing");
  REQUIRE(!missing.has_value());
  CHECK(missing.error().code() == ohq::errc::io_error);
  CHECK(contains(missing.error().message(), "cannot open"));
  std::filesystem::remove_all(dir);
}

#if defined(OHQ_HAS_ZLIB)

TEST_CASE("idx: gzip files") {
  const auto plain = images_file(50, 4, 5, 1000);
  const auto gz = gzip(plain);
  auto r = io::try_read_idx_images(gz);
  REQUIRE_MESSAGE(r.has_value(), r.error().what());
  CHECK(r->count == 50);
  CHECK(r->pixels == io::try_read_idx_images(plain)->pixels);
  io::idx_options o;
  o.limit = 7;
  CHECK(io::try_read_idx_images(gz, o)->pixels.size() == 7 * 20);

  // Concatenated members decode as one stream.
  const auto head = gzip(std::vector<std::byte>(plain.begin(), plain.begin() + 500));
  auto both = gzip(std::vector<std::byte>(plain.begin() + 500, plain.end()));
  both.insert(both.begin(), head.begin(), head.end());
  auto multi = io::try_read_idx_images(both);
  REQUIRE_MESSAGE(multi.has_value(), multi.error().what());
  CHECK(multi->pixels == r->pixels);

  const auto fails = [](const std::vector<std::byte>& file, const std::string& part) {
    auto x = io::try_read_idx_images(file);
    REQUIRE(!x.has_value());
    INFO(x.error().message());
    CHECK(contains(x.error().message(), part));
  };
  auto truncated = gz;
  truncated.resize(gz.size() / 2);
  fails(truncated, "truncated");
  auto bad_crc = gz;
  bad_crc[gz.size() - 6] ^= std::byte{0x01};  // the CRC-32 in the gzip trailer
  fails(bad_crc, "corrupt gzip data (zlib: incorrect data check)");
  auto corrupt = gz;
  for (std::size_t k = 12; k < 40 && k < corrupt.size(); ++k) corrupt[k] = std::byte{0xFF};
  CHECK(!io::try_read_idx_images(corrupt).has_value());
  auto trailing = gz;
  trailing.push_back(std::byte{'x'});
  fails(trailing, "non-gzip data follow");
  fails(gzip(images_file(1000000, 28, 28, 100)), "the decompressed data ends after 100 bytes");
  auto longer = plain;
  longer.push_back(std::byte{1});
  fails(gzip(longer), "longer than the 50 images");
  io::idx_options small;
  small.max_bytes = 500;
  auto lim = io::try_read_idx_images(gz, small);
  REQUIRE(!lim.has_value());
  CHECK(lim.error().code() == ohq::errc::limit_exceeded);

  // Every truncation of the gzip file is an error; random damage never crashes.
  for (std::size_t len = 0; len < gz.size(); ++len) {
    CHECK(!io::try_read_idx_images(std::span<const std::byte>(gz).first(len)).has_value());
  }
  for (std::size_t k = 0; k < gz.size(); ++k) {
    auto damaged = gz;
    damaged[k] ^= std::byte{0x5A};
    (void)io::try_read_idx_images(damaged);
  }
}

TEST_CASE("idx: Fashion-MNIST test set (Debian dataset-fashion-mnist)") {
  const auto images_path = fashion_dir / "t10k-images-idx3-ubyte.gz";
  const auto labels_path = fashion_dir / "t10k-labels-idx1-ubyte.gz";
  if (!std::filesystem::exists(images_path) || !std::filesystem::exists(labels_path)) {
    MESSAGE("skipped: ", fashion_dir.native(), " not installed (apt install dataset-fashion-mnist)");
    return;
  }
  auto images = io::try_load_idx_images(images_path);
  REQUIRE_MESSAGE(images.has_value(), images.error().what());
  CHECK(images->count == 10000);
  CHECK(images->rows == 28);
  CHECK(images->cols == 28);
  CHECK(images->pixels.size() == 10000u * 28 * 28);
  auto labels = io::try_load_idx_labels(labels_path);
  REQUIRE_MESSAGE(labels.has_value(), labels.error().what());
  REQUIRE(labels->count() == 10000);
  std::array<int, 10> per_class{};
  for (std::uint8_t c : labels->labels) {
    REQUIRE(c < 10);
    ++per_class[c];
  }
  for (int n : per_class) CHECK(n == 1000);  // the test set is balanced
  io::idx_options o;
  o.limit = 64;
  auto first = io::try_load_idx_images(images_path, o);
  REQUIRE(first.has_value());
  CHECK(first->count == 64);
  CHECK(std::equal(first->pixels.begin(), first->pixels.end(), images->pixels.begin()));
  auto wrong = io::try_load_idx_labels(images_path);
  REQUIRE(!wrong.has_value());
  CHECK(contains(wrong.error().message(), "this is an IDX image file"));
}

#else

TEST_CASE("idx: gzip without zlib gives a clear error") {
  const std::vector<std::byte> gz = {std::byte{0x1F}, std::byte{0x8B}, std::byte{8}, std::byte{0}};
  auto r = io::try_read_idx_images(gz);
  REQUIRE(!r.has_value());
  CHECK(r.error().code() == ohq::errc::unsupported);
  CHECK(contains(error_of(r.error()), "gzip support is not compiled in"));
  CHECK(contains(error_of(r.error()), "gunzip the file"));
  const auto images_path = fashion_dir / "t10k-images-idx3-ubyte.gz";
  if (std::filesystem::exists(images_path)) {
    auto f = io::try_load_idx_images(images_path);
    REQUIRE(!f.has_value());
    CHECK(contains(f.error().message(), "gunzip the file"));
  }
}

#endif

TEST_CASE("idx: fuzz regressions and the seed corpus read without a crash") {
  // tests/fuzz/regressions/idx/ holds inputs that crashed the idx fuzz target (none so far), and
  // tests/fuzz/seeds/idx/ the seeds: every one must give a value or an error, under every compiler.
  std::size_t files = 0;
  const std::filesystem::path root = std::filesystem::path(OHQ_FUZZ_REGRESSIONS).parent_path();
  for (const auto& dir : {root / "regressions" / "idx", root / "seeds" / "idx"}) {
    if (!std::filesystem::is_directory(dir)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (!entry.is_regular_file() || entry.path().filename().string().rfind("README", 0) == 0) continue;
      INFO(entry.path().string());
      ++files;
      auto images = io::try_load_idx_images(entry.path());
      if (images) CHECK(images->pixels.size() == images->count * images->rows * images->cols);
      else CHECK(images.error().code() != ohq::errc::io_error);
      auto labels = io::try_load_idx_labels(entry.path());
      if (!labels) CHECK(labels.error().code() != ohq::errc::io_error);
    }
  }
  CHECK(files > 0);
}
