// SPDX-License-Identifier: MIT
/// @file Defines run-time arch dispatch of the integer kernels: the arch paths, the kernel table
/// per (arch, kernel), selection once from ohq::cpu(), and the overrides (OHQ_ARCH, set_arch).
///
/// Which SIMD kernels exist in a program: those of the arch the including TU is compiled for
/// (e.g. -mavx2 -mfma defines the AVX2 kernels inline) plus those of the opt-in per-arch TUs
/// that cmake/OhqKernels.cmake adds (ohq_add_arch_kernels). Each arch header defines one weak
/// extern "C" entry function; this header only declares them weakly, so a baseline TU finds an
/// entry when some TU of the program defined it, and a null address otherwise. No code compiled
/// for an arch is reachable except through its entry, and an entry is used only after the CPU
/// check passed: a baseline binary runs on any x86-64 and uses AVX-512 only where it exists.
#pragma once

#include <ohq/core/cpu_features.hpp>
#include <ohq/core/error.hpp>
#include <ohq/kernels/instances.hpp>
#include <ohq/kernels/w8a8_types.hpp>
#include <ohq/kernels/gemm_lowbit_types.hpp>
#include <ohq/kernels/scalar/gemm_lowbit.hpp>
#include <ohq/kernels/avx2/gemm_lowbit.hpp>  // empty unless compiled for AVX2 + FMA
#include <ohq/kernels/scalar/gemm_w8a8.hpp>
#include <ohq/kernels/avx2/gemm_w8a8.hpp>    // empty unless compiled for AVX2 + FMA
#include <ohq/kernels/avx512/gemm_w8a8.hpp>  // empty unless compiled for AVX-512 F/BW/VL/VNNI
#include <ohq/kernels/avx512/gemm_lowbit.hpp>  // empty unless compiled for AVX-512 F/BW/VL/VNNI
#include <ohq/kernels/depthwise_types.hpp>
#include <ohq/kernels/scalar/depthwise.hpp>
#include <ohq/kernels/avx2/depthwise.hpp>  // empty unless compiled for AVX2 + FMA
#include <ohq/kernels/avx512/depthwise.hpp>  // empty unless compiled for AVX-512 F/BW/VL/VNNI
#include <ohq/kernels/eltwise_types.hpp>
#include <ohq/kernels/scalar/eltwise.hpp>
#include <ohq/kernels/avx2/eltwise.hpp>  // empty unless compiled for AVX2 + FMA
#include <ohq/kernels/avx2/gemm_lut.hpp>   // empty unless compiled for AVX2 + FMA
#include <ohq/kernels/winograd_types.hpp>
#include <ohq/kernels/scalar/winograd.hpp>
#include <ohq/kernels/avx2/winograd.hpp>  // empty unless compiled for AVX2 + FMA

#include <atomic>
#include <cstdlib>
#include <string_view>

#if defined(__GNUC__) && defined(__ELF__)
#define OHQ_KERNELS_WEAK_ENTRIES 1
extern "C" __attribute__((weak)) const ohq::kernels::w8a8_kernel_entry* ohq_kernels_avx2_gemm_w8a8() noexcept;
extern "C" __attribute__((weak)) const ohq::kernels::w8a8_kernel_entry* ohq_kernels_avx512_vnni_gemm_w8a8() noexcept;
extern "C" __attribute__((weak)) const ohq::kernels::gemm_kernel_entry* ohq_kernels_avx2_gemm_lowbit(unsigned) noexcept;
extern "C" __attribute__((weak)) const ohq::kernels::gemm_kernel_entry* ohq_kernels_avx512_vnni_gemm_lowbit(unsigned) noexcept;
extern "C" __attribute__((weak)) const ohq::kernels::depthwise_kernel_entry* ohq_kernels_avx2_depthwise() noexcept;
extern "C" __attribute__((weak)) const ohq::kernels::depthwise_kernel_entry* ohq_kernels_avx512_vnni_depthwise() noexcept;
extern "C" __attribute__((weak)) const ohq::kernels::eltwise_kernel_entry* ohq_kernels_avx2_eltwise() noexcept;
extern "C" __attribute__((weak)) const ohq::kernels::winograd_kernel_entry* ohq_kernels_avx2_winograd() noexcept;
extern "C" __attribute__((weak)) const ohq::kernels::w8a8_kernel_entry* ohq_kernels_avx2_gemm_lut_w1() noexcept;
extern "C" __attribute__((weak)) const ohq::kernels::w8a8_kernel_entry* ohq_kernels_avx2_gemm_lut_w2() noexcept;
extern "C" __attribute__((weak)) const ohq::kernels::w8a8_kernel_entry* ohq_kernels_avx2_gemm_lut_w3() noexcept;
#endif

namespace ohq::kernels {

// arch, all_archs, arch_count: kernels/instances.hpp

/// "scalar", "avx2", "avx512" (the OHQ_ARCH spellings).
constexpr std::string_view to_string(arch a) noexcept {
  switch (a) {
    case arch::scalar: return "scalar";
    case arch::avx2: return "avx2";
    case arch::avx512_vnni: return "avx512";
  }
  return "unknown";
}

/// Parses an OHQ_ARCH value: scalar | avx2 | avx512 (also avx512_vnni, avx512-vnni).
inline result<arch> try_parse_arch(std::string_view s) {
  if (s == "scalar") return arch::scalar;
  if (s == "avx2") return arch::avx2;
  if (s == "avx512" || s == "avx512_vnni" || s == "avx512-vnni") return arch::avx512_vnni;
  return make_status(errc::invalid_argument, "unknown kernel arch '", s, "' (expected scalar, avx2 or avx512)");
}

/// The kernels of every path compiled into this program (null where a path is absent).
struct kernel_table {
  const w8a8_kernel_entry* gemm_w8a8[arch_count] = {};
  /// The low-bit GEMM families by storage width ([0]: 1 bit, [1]: 2 bits, [3]: 4 bits), filled from
  /// kernels/instances.hpp; a family without an avx512_vnni line runs its avx2 kernel there.
  const gemm_kernel_entry* gemm_lowbit[4][arch_count] = {};
  /// Depthwise convolutions; AVX-512 VNNI has its own kernel (the AVX2 one where it is not built).
  const depthwise_kernel_entry* depthwise[arch_count] = {};
  /// Element-wise ops and pooling; AVX-512 runs the AVX2 kernels.
  const eltwise_kernel_entry* eltwise[arch_count] = {};
  /// The table-lookup GEMM kernels by code width ([0]: 1 bit .. [2]: 3 bits; kernels/pack_lut.hpp's
  /// layout, w8a8_gemm_args), filled from kernels/instances.hpp's lut lines; avx512_vnni runs avx2's.
  const w8a8_kernel_entry* gemm_lut[3][arch_count] = {};
  /// Winograd F(2x2, 3x3) convolutions (kernels/winograd.hpp); AVX-512 runs the AVX2 kernel.
  const winograd_kernel_entry* winograd[arch_count] = {};
};

namespace detail {
/// Path a's low-bit kernel for `bits`-bit storage compiled into this program, or null.
inline const gemm_kernel_entry* built_gemm_lowbit(arch a, unsigned bits) noexcept {
  switch (a) {
    case arch::scalar: return find_gemm_lowbit_entry<arch::scalar>(bits);
    case arch::avx2:
#if defined(__AVX2__) && defined(__FMA__)
      return ohq_kernels_avx2_gemm_lowbit(bits);
#elif defined(OHQ_KERNELS_WEAK_ENTRIES)
      return &ohq_kernels_avx2_gemm_lowbit != nullptr ? ohq_kernels_avx2_gemm_lowbit(bits) : nullptr;
#else
      return nullptr;
#endif
    case arch::avx512_vnni:
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512VNNI__)
      return ohq_kernels_avx512_vnni_gemm_lowbit(bits);
#elif defined(OHQ_KERNELS_WEAK_ENTRIES)
      return &ohq_kernels_avx512_vnni_gemm_lowbit != nullptr ? ohq_kernels_avx512_vnni_gemm_lowbit(bits) : nullptr;
#else
      return nullptr;
#endif
  }
  return nullptr;
}
/// The instance lines of the low-bit families into table t, then the fallback: a family without an
/// AVX-512 kernel uses its AVX2 kernel on the avx512_vnni path (every AVX-512 CPU has AVX2).
inline void fill_gemm_lowbit(kernel_table& t) noexcept {
  for (const gemm_instance& line : gemm_instances)
    if (line.weight_bits < 8 && line.method == gemm_method::dot) t.gemm_lowbit[line.weight_bits - 1][std::size_t(line.path)] = built_gemm_lowbit(line.path, line.weight_bits);
  for (auto& family : t.gemm_lowbit)
    if (family[std::size_t(arch::avx512_vnni)] == nullptr)
      family[std::size_t(arch::avx512_vnni)] = family[std::size_t(arch::avx2)];
}

/// The AVX2 entry function `name` where this program may have one: defined in this TU when it is
/// compiled for AVX2, else found through its weak declaration (null when no TU defined it).
#if (defined(__AVX2__) && defined(__FMA__)) || defined(OHQ_KERNELS_WEAK_ENTRIES)
#define OHQ_KERNELS_AVX2_ENTRY(name) (&name)
#else
#define OHQ_KERNELS_AVX2_ENTRY(name) nullptr
#endif

/// f(), or null when the program has no such entry (f null). Taking the address as a parameter
/// keeps g++'s -Waddress quiet in TUs that define the entry (compiled for AVX2).
template <class Entry>
const Entry* call_entry(const Entry* (*f)() noexcept) noexcept {
  return f != nullptr ? f() : nullptr;
}

/// Path a's table-lookup kernel for `bits`-bit codes compiled into this program, or null.
inline const w8a8_kernel_entry* built_gemm_lut(arch a, unsigned bits) noexcept {
  if (a != arch::avx2) return nullptr;
#if defined(OHQ_KERNELS_WEAK_ENTRIES)
  // defined in this TU when it is compiled for AVX2, else only if some TU of the program defined it
  switch (bits) {
    case 1: return call_entry(OHQ_KERNELS_AVX2_ENTRY(ohq_kernels_avx2_gemm_lut_w1));
    case 2: return call_entry(OHQ_KERNELS_AVX2_ENTRY(ohq_kernels_avx2_gemm_lut_w2));
    case 3: return call_entry(OHQ_KERNELS_AVX2_ENTRY(ohq_kernels_avx2_gemm_lut_w3));
    default: return nullptr;
  }
#else
  (void)bits;
  return nullptr;
#endif
}
inline void fill_gemm_lut(kernel_table& t) noexcept {
  for (const gemm_instance& line : gemm_instances)
    if (line.method == gemm_method::lut) t.gemm_lut[line.weight_bits - 1][std::size_t(line.path)] = built_gemm_lut(line.path, line.weight_bits);
  for (auto& family : t.gemm_lut)
    if (family[std::size_t(arch::avx512_vnni)] == nullptr)
      family[std::size_t(arch::avx512_vnni)] = family[std::size_t(arch::avx2)];
}

/// A family with a scalar and an AVX2 kernel (depthwise, eltwise, Winograd): its row of the table,
/// the AVX-512 path running the AVX2 kernel (every AVX-512 CPU has AVX2), or scalar without one
/// (depthwise then takes its own AVX-512 kernel where the program has it).
template <class Entry>
void fill_scalar_avx2(const Entry* (&row)[arch_count], const Entry* scalar_entry,
                      const Entry* (*avx2_entry)() noexcept) noexcept {
  row[std::size_t(arch::scalar)] = scalar_entry;
  if (avx2_entry != nullptr) row[std::size_t(arch::avx2)] = avx2_entry();
  row[std::size_t(arch::avx512_vnni)] = avx2_entry != nullptr ? row[std::size_t(arch::avx2)] : scalar_entry;
}

inline kernel_table build_kernel_table() noexcept {
  kernel_table t;
  fill_gemm_lowbit(t);
  fill_gemm_lut(t);
  t.gemm_w8a8[std::size_t(arch::scalar)] = scalar::gemm_w8a8_entry();
  // compiled for the arch here: the entry is defined in this TU; otherwise only if some TU defined it
#if defined(__AVX2__) && defined(__FMA__)
  t.gemm_w8a8[std::size_t(arch::avx2)] = ohq_kernels_avx2_gemm_w8a8();
#elif defined(OHQ_KERNELS_WEAK_ENTRIES)
  if (&ohq_kernels_avx2_gemm_w8a8 != nullptr) t.gemm_w8a8[std::size_t(arch::avx2)] = ohq_kernels_avx2_gemm_w8a8();
#endif
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512VNNI__)
  t.gemm_w8a8[std::size_t(arch::avx512_vnni)] = ohq_kernels_avx512_vnni_gemm_w8a8();
#elif defined(OHQ_KERNELS_WEAK_ENTRIES)
  if (&ohq_kernels_avx512_vnni_gemm_w8a8 != nullptr)
    t.gemm_w8a8[std::size_t(arch::avx512_vnni)] = ohq_kernels_avx512_vnni_gemm_w8a8();
#endif
  fill_scalar_avx2(t.depthwise, scalar::depthwise_entry(), OHQ_KERNELS_AVX2_ENTRY(ohq_kernels_avx2_depthwise));
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512VNNI__)
  t.depthwise[std::size_t(arch::avx512_vnni)] = ohq_kernels_avx512_vnni_depthwise();
#elif defined(OHQ_KERNELS_WEAK_ENTRIES)
  if (&ohq_kernels_avx512_vnni_depthwise != nullptr)
    t.depthwise[std::size_t(arch::avx512_vnni)] = ohq_kernels_avx512_vnni_depthwise();
#endif
  fill_scalar_avx2(t.eltwise, scalar::eltwise_entry(), OHQ_KERNELS_AVX2_ENTRY(ohq_kernels_avx2_eltwise));
  fill_scalar_avx2(t.winograd, scalar::winograd_entry(), OHQ_KERNELS_AVX2_ENTRY(ohq_kernels_avx2_winograd));
  return t;
}
}  // namespace detail

/// The table, filled once.
inline const kernel_table& kernels() noexcept {
  static const kernel_table table = detail::build_kernel_table();
  return table;
}

/// True when the kernels of path `a` are compiled into this program.
inline bool built(arch a) noexcept { return kernels().gemm_w8a8[std::size_t(a)] != nullptr; }

/// True when CPU `f` can execute path `a`.
inline bool cpu_supports(arch a, const cpu_features& f = cpu()) noexcept {
  switch (a) {
    case arch::scalar: return true;
    case arch::avx2: return f.has_avx2_set();
    case arch::avx512_vnni: return f.has_avx512_vnni_set();
  }
  return false;
}

/// ok when path `a` can run here; otherwise errc::unsupported_cpu naming what is missing.
inline status check_arch(arch a, const cpu_features& f = cpu()) {
  if (!cpu_supports(a, f))
    return make_status(errc::unsupported_cpu, "kernel arch '", to_string(a), "' needs ",
                       a == arch::avx2 ? "AVX2 and FMA" : "AVX-512 F, BW, VL and VNNI", ", which this CPU lacks (",
                       describe(f), ")");
  if (!built(a))
    return make_status(errc::unsupported_cpu, "kernel arch '", to_string(a),
                       "' is not compiled into this program (build a TU for it, e.g. ohq_add_arch_kernels() in CMake)");
  return {};
}

/// The fastest path that is both built and supported by CPU `f`.
inline arch best_arch(const cpu_features& f = cpu()) noexcept {
  for (std::size_t i = arch_count; i-- > 1;)
    if (check_arch(all_archs[i], f).ok()) return all_archs[i];
  return arch::scalar;
}

/// The path selected by an OHQ_ARCH value (null or empty: best_arch), or why it cannot run.
inline result<arch> try_select_arch(const char* ohq_arch, const cpu_features& f = cpu()) {
  if (ohq_arch == nullptr || *ohq_arch == '\0') return best_arch(f);
  auto a = try_parse_arch(ohq_arch);
  if (!a) return make_status(a.error().code(), "OHQ_ARCH: ", a.error().message());
  if (auto s = check_arch(*a, f); !s.ok()) return make_status(s.code(), "OHQ_ARCH=", ohq_arch, ": ", s.message());
  return *a;
}

namespace detail {
inline std::atomic<int>& selected_arch() noexcept {
  static std::atomic<int> selected{-1};
  return selected;
}
}  // namespace detail

/// The path in use: chosen once (OHQ_ARCH if set, else best_arch()) unless set_arch() chose.
/// Errors: OHQ_ARCH names an unknown path (invalid_argument) or one this CPU/build lacks (unsupported_cpu).
inline result<arch> try_active_arch() {
  const int s = detail::selected_arch().load(std::memory_order_acquire);
  if (s >= 0) return static_cast<arch>(s);
  auto a = try_select_arch(std::getenv("OHQ_ARCH"));
  if (!a) return a.error();
  int expected = -1;
  detail::selected_arch().compare_exchange_strong(expected, int(*a), std::memory_order_acq_rel);
  return static_cast<arch>(detail::selected_arch().load(std::memory_order_acquire));
}

/// Forces path `a` for kernels prepared from now on. errc::unsupported_cpu when it cannot run here.
inline status try_set_arch(arch a) {
  if (auto s = check_arch(a); !s.ok()) return s;
  detail::selected_arch().store(int(a), std::memory_order_release);
  return {};
}

/// Forgets the selection; the next try_active_arch() reads OHQ_ARCH again.
inline void reset_arch() noexcept { detail::selected_arch().store(-1, std::memory_order_release); }

#ifndef OHQ_NO_EXCEPTIONS
/// `try_active_arch().value()`.
inline arch active_arch() { return try_active_arch().value(); }
/// Throws ohq::error (errc::unsupported_cpu) when `a` cannot run here.
inline void set_arch(arch a) { throw_if_error(try_set_arch(a)); }
#endif

/// The W8A8 GEMM kernel of path `a`, or errc::unsupported_cpu.
inline result<const w8a8_kernel_entry*> try_gemm_w8a8_kernel(arch a) {
  if (auto s = check_arch(a); !s.ok()) return s;
  return kernels().gemm_w8a8[std::size_t(a)];
}

/// The depthwise convolution kernel of path `a`, or errc::unsupported_cpu.
inline result<const depthwise_kernel_entry*> try_depthwise_kernel(arch a) {
  if (auto s = check_arch(a); !s.ok()) return s;
  const depthwise_kernel_entry* k = kernels().depthwise[std::size_t(a)];
  if (k == nullptr)
    return make_status(errc::unsupported_cpu, "kernel arch '", to_string(a), "' has no depthwise kernel in this program");
  return k;
}

/// The element-wise and pooling kernels of path `a`, or errc::unsupported_cpu.
inline result<const eltwise_kernel_entry*> try_eltwise_kernel(arch a) {
  if (auto s = check_arch(a); !s.ok()) return s;
  const eltwise_kernel_entry* k = kernels().eltwise[std::size_t(a)];
  if (k == nullptr)
    return make_status(errc::unsupported_cpu, "kernel arch '", to_string(a), "' has no eltwise kernels in this program");
  return k;
}

/// The Winograd F(2x2, 3x3) convolution kernel of path `a`, or errc::unsupported_cpu.
inline result<const winograd_kernel_entry*> try_winograd_kernel(arch a) {
  if (auto s = check_arch(a); !s.ok()) return s;
  const winograd_kernel_entry* k = kernels().winograd[std::size_t(a)];
  if (k == nullptr)
    return make_status(errc::unsupported_cpu, "kernel arch '", to_string(a), "' has no Winograd kernel in this program");
  return k;
}

}  // namespace ohq::kernels
