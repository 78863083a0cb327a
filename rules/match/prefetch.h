// A cache prefetch the compiler cannot drop.
//
// GCC 12 removes a call to a function whose only effect is __builtin_prefetch when it does not
// inline it: the callee counts as free of side effects, so its call is dead code (cddce1). Every
// table prefetch of the flow table and the verdict cache was compiled away that way, so a
// burst's table reads each stalled in turn. An asm statement marked volatile is always
// emitted (DPDK's rte_prefetch0 takes the same route). A prefetch never faults, so the address
// may be past the end of a buffer or unmapped (ASan does not see it). It lives with the matcher,
// the lowest layer that prefetches; the dataplane includes it from here.
// tests/codegen/check_prefetch.py checks the hot paths' object code for the instructions.
#pragma once

namespace muhafiz::rules {

inline void prefetch(const void* p) noexcept {
#if defined(__x86_64__) || (defined(__i386__) && defined(__SSE__))
  asm volatile("prefetcht0 (%0)" : : "r"(p));  // AT&T syntax, GCC's and Clang's default
#elif defined(__aarch64__)
  asm volatile("prfm pldl1keep, [%0]" : : "r"(p));
#elif defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7
  asm volatile("pld [%0]" : : "r"(p));
#else  // may be dropped as described above; tests/codegen/check_prefetch.py skips such machines
  __builtin_prefetch(p);
#endif
}

}  // namespace muhafiz::rules
