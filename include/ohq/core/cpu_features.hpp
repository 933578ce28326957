// SPDX-License-Identifier: MIT
/// @file Defines `ohq::cpu_features` and run-time CPU feature detection (cpuid + xgetbv, HWCAP).
///
/// Detection answers "may this process execute instruction set X": on x86 a feature counts only
/// when the CPU has it *and* the OS saves the register state it needs (XCR0 via xgetbv), exactly
/// as the Intel SDM prescribes; an AVX-512 CPU under an OS without ZMM state support reports none.
#pragma once

#include <cstdint>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define OHQ_ARCH_X86 1
#elif defined(__aarch64__)
#define OHQ_ARCH_AARCH64 1
#if defined(__linux__)
#include <sys/auxv.h>
#endif
#endif

namespace ohq {

/// What the CPU (and OS) running this process supports.
struct cpu_features {
  bool sse42 = false;
  bool avx = false;
  bool avx2 = false;
  bool fma = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512dq = false;
  bool avx512vnni = false;
  bool avx512vbmi = false;
  bool avx512vpopcntdq = false;
  bool avx512bf16 = false;
  bool avx_vnni = false;
  bool neon = false;
  bool neon_dotprod = false;
  std::string vendor;

  /// The AVX-512 subset ohq's avx512 kernels need (F, BW, VL, VNNI).
  [[nodiscard]] bool has_avx512_vnni_set() const noexcept {
    return avx512f && avx512bw && avx512vl && avx512vnni;
  }
  /// The AVX2 subset ohq's avx2 kernels need.
  [[nodiscard]] bool has_avx2_set() const noexcept { return avx2 && fma; }
};

namespace detail {

#if defined(OHQ_ARCH_X86)
struct cpuid_regs {
  std::uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};
inline cpuid_regs cpuid(std::uint32_t leaf, std::uint32_t subleaf) {
  cpuid_regs r;
  __cpuid_count(leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx);
  return r;
}
/// XCR0: which register states the OS saves on a context switch. Read with the raw opcode so no
/// -mxsave is needed (the caller has checked OSXSAVE first).
inline std::uint64_t read_xcr0() {
  std::uint32_t lo = 0, hi = 0;
  __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
  return (std::uint64_t{hi} << 32) | lo;
}
inline constexpr bool bit(std::uint32_t reg, int n) { return (reg >> n) & 1u; }
#endif

inline cpu_features detect_cpu_features() {
  cpu_features f;
#if defined(OHQ_ARCH_X86)
  const std::uint32_t max_leaf = __get_cpuid_max(0, nullptr);
  if (max_leaf == 0) return f;
  const cpuid_regs l0 = cpuid(0, 0);
  char vendor[13] = {};
  const std::uint32_t words[3] = {l0.ebx, l0.edx, l0.ecx};
  for (int i = 0; i < 12; ++i) vendor[i] = static_cast<char>((words[i / 4] >> (8 * (i % 4))) & 0xff);
  f.vendor = vendor;

  const cpuid_regs l1 = cpuid(1, 0);
  f.sse42 = bit(l1.ecx, 20);
  const bool osxsave = bit(l1.ecx, 27);
  const std::uint64_t xcr0 = osxsave ? read_xcr0() : 0;
  const bool os_avx = (xcr0 & 0x6) == 0x6;        // XMM and YMM state
  const bool os_avx512 = (xcr0 & 0xe6) == 0xe6;   // plus opmask, ZMM_Hi256, Hi16_ZMM
  f.avx = os_avx && bit(l1.ecx, 28);
  f.fma = f.avx && bit(l1.ecx, 12);
  if (max_leaf >= 7) {
    const cpuid_regs l7 = cpuid(7, 0);
    f.avx2 = f.avx && bit(l7.ebx, 5);
    f.avx512f = os_avx512 && bit(l7.ebx, 16);
    f.avx512dq = f.avx512f && bit(l7.ebx, 17);
    f.avx512bw = f.avx512f && bit(l7.ebx, 30);
    f.avx512vl = f.avx512f && bit(l7.ebx, 31);
    f.avx512vbmi = f.avx512f && bit(l7.ecx, 1);
    f.avx512vnni = f.avx512f && bit(l7.ecx, 11);
    f.avx512vpopcntdq = f.avx512f && bit(l7.ecx, 14);
    if (l7.eax >= 1) {
      const cpuid_regs l7s1 = cpuid(7, 1);
      f.avx_vnni = f.avx2 && bit(l7s1.eax, 4);
      f.avx512bf16 = f.avx512f && bit(l7s1.eax, 5);
    }
  }
#elif defined(OHQ_ARCH_AARCH64)
  f.neon = true;  // Advanced SIMD is mandatory on AArch64
#if defined(__linux__) && defined(AT_HWCAP)
  constexpr unsigned long hwcap_asimddp = 1ul << 20;
  f.neon_dotprod = (getauxval(AT_HWCAP) & hwcap_asimddp) != 0;
#elif defined(__ARM_FEATURE_DOTPROD)
  f.neon_dotprod = true;
#endif
#endif
  return f;
}

}  // namespace detail

/// The features of the CPU running this process, detected once.
inline const cpu_features& cpu() {
  static const cpu_features features = detail::detect_cpu_features();
  return features;
}

/// One line per feature group, e.g. "x86: sse4.2 avx2 fma avx512f ...".
inline std::string describe(const cpu_features& f) {
  std::string out;
  auto add = [&out](bool present, const char* name) {
    if (present) (out += ' ') += name;
  };
#if defined(OHQ_ARCH_X86)
  out = "x86-64 (" + f.vendor + "):";
#elif defined(OHQ_ARCH_AARCH64)
  out = "aarch64:";
#else
  out = "unknown architecture:";
#endif
  add(f.sse42, "sse4.2");
  add(f.avx, "avx");
  add(f.avx2, "avx2");
  add(f.fma, "fma");
  add(f.avx512f, "avx512f");
  add(f.avx512bw, "avx512bw");
  add(f.avx512vl, "avx512vl");
  add(f.avx512dq, "avx512dq");
  add(f.avx512vnni, "avx512vnni");
  add(f.avx512vbmi, "avx512vbmi");
  add(f.avx512vpopcntdq, "avx512vpopcntdq");
  add(f.avx512bf16, "avx512bf16");
  add(f.avx_vnni, "avx-vnni");
  add(f.neon, "neon");
  add(f.neon_dotprod, "dotprod");
  return out;
}

}  // namespace ohq
