#include "rules/match/tag_filter.h"

#include <sys/mman.h>

#include <cstdint>
#include <new>

namespace muhafiz::rules {

TagFilter::TagFilter(size_t keys) {
  if (keys == 0) return;
  const size_t count = (keys * kMemoryBitsPerKey + 63) / 64;
  const size_t len = count * sizeof(uint64_t);
  // Anonymous memory comes zeroed. A filter of a megabyte or more is read at random, so it gets
  // a 2 MiB-aligned start and a transparent huge page hint like the snapshot: one TLB entry
  // instead of a page walk per query.
  constexpr size_t kHugePage = size_t{2} << 20;
  const bool huge = len >= kHugePage / 2;
  const size_t map_len = huge ? (len + kHugePage - 1) / kHugePage * kHugePage + kHugePage : len;
  void* map = ::mmap(nullptr, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED) throw std::bad_alloc();
  auto addr = reinterpret_cast<uintptr_t>(map);
  if (huge) {
    addr = (addr + kHugePage - 1) / kHugePage * kHugePage;
    ::madvise(reinterpret_cast<void*>(addr), map_len - kHugePage, MADV_HUGEPAGE);  // a hint
  }
  map_ = map;
  map_len_ = map_len;
  words_ = reinterpret_cast<uint64_t*>(addr);
  word_count_ = count;
}

TagFilter::~TagFilter() {
  if (map_) ::munmap(map_, map_len_);
}

}  // namespace muhafiz::rules
