// Realistic generated domain names for the benchmarks: 2-4 labels over a weighted mix of 18
// TLDs (com.pk, net.pk and co.uk count as two labels), labels of 3-12 characters from syllables
// and digits, and the leading labels real hosts carry (www., cdn., random ones). Deterministic
// for a seed. Shared by perf/rules/rules_bench.cc and perf/dataplane/worker_bench.cc.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace muhafiz::perf {

struct Tld {
  const char* name;
  int weight;
};
constexpr Tld kTlds[] = {{"com", 40},   {"net", 8},   {"org", 6}, {"pk", 5}, {"com.pk", 4},
                         {"net.pk", 1}, {"co.uk", 3}, {"de", 4},  {"ru", 4}, {"info", 3},
                         {"xyz", 3},    {"io", 3},    {"in", 2},  {"br", 2}, {"top", 3},
                         {"online", 2}, {"cn", 3},    {"fr", 2}};

class NameGen {
 public:
  explicit NameGen(uint64_t seed) : rng_(seed) {
    for (const Tld& t : kTlds) {
      for (int i = 0; i < t.weight; ++i) tld_pick_.push_back(t.name);
    }
  }
  std::string label() {
    static constexpr char kCons[] = "bcdfghjklmnprstvwxyz";
    static constexpr char kVow[] = "aeiou";
    const size_t len = 3 + rng_() % 10;
    std::string s;
    while (s.size() < len) {
      const uint64_t r = rng_();
      if (r % 11 == 0) {
        s += static_cast<char>('0' + r / 11 % 10);
      } else {
        s += kCons[r / 11 % 20];
        s += kVow[r / 220 % 5];
      }
    }
    s.resize(len);
    return s;
  }
  // 2-4 labels including the TLD.
  std::string name() {
    std::string tld = tld_pick_[rng_() % tld_pick_.size()];
    const size_t tld_labels = tld.find('.') == std::string::npos ? 1 : 2;
    const size_t labels = std::max<size_t>(2 + rng_() % 3, tld_labels + 1);
    std::string n = tld;
    for (size_t i = tld_labels; i < labels; ++i) n = label() + "." + n;
    return n;
  }
  std::string prefix() {
    static const char* kCommon[] = {"www", "cdn", "img", "m", "api", "static"};
    const uint64_t r = rng_() % 6;
    if (r < 2) return "";
    if (r < 4) return std::string(kCommon[rng_() % 6]) + ".";
    if (r < 5) return label() + ".";
    return label() + "." + label() + ".";
  }
  uint64_t next() { return rng_(); }

 private:
  std::mt19937_64 rng_;
  std::vector<std::string> tld_pick_;
};

}  // namespace muhafiz::perf
