// A cache-resident membership filter in front of the host slot table. Nearly every name the
// dataplane looks up is on no list, and at 1M entries the slot table (16 MB and more) is out of
// every cache, so a probe of the table costs an uncached read per suffix. The filter answers
// "certainly not in the table" from 12 bits per name (1.5 MB at 1M names), so a miss touches the
// table only for the ~1% of suffixes the filter lets through. Each of those costs an uncached
// read, which is why 12 bits beat 8 (3.3% through) at 1M names. 16 bits (2 MB, 0.5% by
// simulation) were slower again, probably because less of the filter stays in this VM's cache
// (perf/RESULTS.md, rules run 4).
//
// A register-blocked Bloom filter (Putze, Sanders, Singler, "Cache-, hash- and space-efficient
// Bloom filters", 2007): each key sets kBitsPerKey bits inside one 64-bit word, so a query is
// one load and one compare. Keys are the slot table's 32-bit tags, remixed here so the word and
// the bits do not depend on the tag's top bits (those already pick the slot). Built when a
// snapshot is loaded, from the tags the slots hold, so the file format does not change and the
// filter cannot disagree with the table: no false negatives by construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "rules/match/fingerprint.h"
#include "rules/match/prefetch.h"

namespace muhafiz::rules {

class TagFilter {
 public:
  static constexpr size_t kBitsPerKey = 4;         // bits set in the key's word
  static constexpr size_t kMemoryBitsPerKey = 12;  // filter size per key: ~1.1% false positives

  TagFilter() = default;
  // Room for `keys` tags; add() each, then query. Zero keys: maybe_contains() is always false.
  // Throws std::bad_alloc when the memory cannot be mapped.
  explicit TagFilter(size_t keys);
  TagFilter(TagFilter&& other) noexcept { swap(other); }
  TagFilter& operator=(TagFilter&& other) noexcept {
    TagFilter(std::move(other)).swap(*this);
    return *this;
  }
  TagFilter(const TagFilter&) = delete;
  TagFilter& operator=(const TagFilter&) = delete;
  ~TagFilter();

  void add(uint32_t tag) noexcept {
    const uint64_t m = mix(tag);
    words_[word_of(m)] |= mask_of(m);
  }
  // False: the tag was never added. True: it probably was (or words_ is empty: never).
  bool maybe_contains(uint32_t tag) const noexcept { return test(query(tag)); }

  // The same test in two steps, so a caller can start fetching the words of several tags
  // before it tests the first (a lookup tests several suffixes of a name).
  struct Query {
    size_t word;
    uint64_t mask;
  };
  Query query(uint32_t tag) const noexcept {
    const uint64_t m = mix(tag);
    return Query{word_of(m), mask_of(m)};
  }
  void prefetch(Query q) const noexcept {
    if (word_count_ != 0) rules::prefetch(&words_[q.word]);
  }
  bool test(Query q) const noexcept {
    return word_count_ != 0 && (words_[q.word] & q.mask) == q.mask;
  }
  size_t bytes() const noexcept { return word_count_ * sizeof(uint64_t); }

 private:
  // Multiply by an odd constant and fold: every tag bit reaches the low word (word index) and
  // the high word (bit positions).
  static uint64_t mix(uint32_t tag) noexcept {
    return fp::fold_mul(tag ^ 0x5bd1e995ull, 0x9fb21c651e98df25ull);  // odd multiplier
  }
  size_t word_of(uint64_t m) const noexcept {
    return static_cast<size_t>((static_cast<uint64_t>(static_cast<uint32_t>(m)) * word_count_) >>
                               32);
  }
  // kBitsPerKey positions of 6 bits each from the high half (they may coincide).
  static uint64_t mask_of(uint64_t m) noexcept {
    static_assert(kBitsPerKey == 4);
    const auto hi = static_cast<uint32_t>(m >> 32);
    return (uint64_t{1} << (hi & 63)) | (uint64_t{1} << ((hi >> 6) & 63)) |
           (uint64_t{1} << ((hi >> 12) & 63)) | (uint64_t{1} << ((hi >> 18) & 63));
  }

  void swap(TagFilter& o) noexcept {
    std::swap(map_, o.map_);
    std::swap(map_len_, o.map_len_);
    std::swap(words_, o.words_);
    std::swap(word_count_, o.word_count_);
  }

  void* map_ = nullptr;  // the mapping (words_ lies inside it, huge-page aligned when large)
  size_t map_len_ = 0;
  uint64_t* words_ = nullptr;
  size_t word_count_ = 0;
};

}  // namespace muhafiz::rules
