#include "dataplane/parse/dns.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace muhafiz::parse {
namespace {

using namespace std::string_view_literals;
using Wire = std::vector<uint8_t>;

// ---- builders for the long or generated messages; short ones are spelled out byte by byte ----

void put16(Wire& w, uint16_t v) {
  w.push_back(static_cast<uint8_t>(v >> 8));
  w.push_back(static_cast<uint8_t>(v & 0xff));
}

// RFC 1035 §4.1.1 header: ID, flags, QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT.
Wire header(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an = 0, uint16_t ns = 0,
            uint16_t ar = 0) {
  Wire w;
  for (uint16_t v : {id, flags, qd, an, ns, ar}) put16(w, v);
  return w;
}

void put_label(Wire& w, std::string_view bytes) {
  w.push_back(static_cast<uint8_t>(bytes.size()));
  w.insert(w.end(), bytes.begin(), bytes.end());
}

// Labels, then the root byte.
void put_name(Wire& w, std::initializer_list<std::string_view> labels) {
  for (std::string_view l : labels) put_label(w, l);
  w.push_back(0);
}

void put_pointer(Wire& w, size_t offset) { put16(w, static_cast<uint16_t>(0xc000 | offset)); }

// QTYPE, QCLASS.
void put_type_class(Wire& w, uint16_t qtype, uint16_t qclass) {
  put16(w, qtype);
  put16(w, qclass);
}

ParseStatus parse(Bytes msg, DnsMessage* m) { return parse_dns_message(msg, m); }

// The first `len` bytes of `b` as their own buffer, so ASan sees any read past them.
Wire prefix(Bytes b, size_t len) {
  const Bytes head = b.first(len);
  return Wire(head.begin(), head.end());
}

// RFC 3629 §4 syntax; the text form promises valid UTF-8 (JSON alerts depend on it).
bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<uint8_t>(s[i]);
    size_t n = 0;  // continuation bytes
    uint32_t min_cp = 0;
    if (b < 0x80) {
      n = 0;
    } else if (b >= 0xc2 && b <= 0xdf) {
      n = 1;
      min_cp = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      n = 2;
      min_cp = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 3;
      min_cp = 0x10000;
    } else {
      return false;
    }
    if (i + n >= s.size() && n > 0) return false;
    uint32_t cp = n == 0 ? b : (b & (0x7fu >> (n + 1)));
    for (size_t k = 1; k <= n; ++k) {
      const auto c = static_cast<uint8_t>(s[i + k]);
      if ((c & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3fu);
    }
    if (cp < min_cp || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

// ---- the basics ----

// www.example.com A IN, as dig sends it without EDNS.
constexpr uint8_t kSimpleA[] = {
    0x12, 0x34,                                    // ID
    0x01, 0x00,                                    // flags: QR=0 query, opcode 0, RD=1
    0x00, 0x01,                                    // QDCOUNT 1
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00,            // ANCOUNT, NSCOUNT, ARCOUNT 0
    3,    'w',  'w',  'w',                         // offset 12: label "www"
    7,    'e',  'x',  'a',  'm',  'p',  'l', 'e',  // label "example"
    3,    'c',  'o',  'm',                         // label "com"
    0,                                             // root
    0x00, 0x01,                                    // QTYPE A
    0x00, 0x01,                                    // QCLASS IN
};

TEST(DnsMessageTest, SimpleAQuery) {
  DnsMessage m;
  ASSERT_EQ(parse(kSimpleA, &m), ParseStatus::kOk);
  EXPECT_EQ(m.id, 0x1234);
  EXPECT_EQ(m.flags, 0x0100);
  EXPECT_FALSE(m.is_response);
  EXPECT_EQ(m.opcode, 0);
  EXPECT_EQ(m.rcode, 0);
  EXPECT_EQ(m.qdcount, 1);
  EXPECT_EQ(m.ancount + m.nscount + m.arcount, 0);
  ASSERT_EQ(m.question_count, 1);
  EXPECT_EQ(m.questions[0].name.view(), "www.example.com");
  EXPECT_EQ(m.questions[0].name.label_count, 3);
  EXPECT_FALSE(m.questions[0].name.compressed);
  EXPECT_EQ(m.questions[0].qtype, 1);
  EXPECT_EQ(m.questions[0].qclass, 1);
  EXPECT_EQ(m.anomalies, 0u);
}

// AAAA with an EDNS(0) OPT record in the additional section (RFC 6891 §6.1.2).
TEST(DnsMessageTest, AaaaQueryWithEdns) {
  const Wire msg = {
      0xab, 0xcd,                               // ID
      0x01, 0x20,                               // flags: RD, AD (RFC 6840 §5.7)
      0x00, 0x01, 0x00, 0x00, 0x00, 0x00,       // QDCOUNT 1, ANCOUNT 0, NSCOUNT 0
      0x00, 0x01,                               // ARCOUNT 1: the OPT record
      4,    'i',  'p',  'v',  '6',              // label "ipv6"
      6,    'g',  'o',  'o',  'g',  'l',  'e',  // label "google"
      3,    'c',  'o',  'm',  0,                // label "com", root
      0x00, 0x1c,                               // QTYPE AAAA (28)
      0x00, 0x01,                               // QCLASS IN
      0x00,                                     // OPT: owner root
      0x00, 0x29,                               // TYPE OPT (41)
      0x04, 0xd0,                               // UDP payload size 1232
      0x00, 0x00, 0x00, 0x00,                   // extended RCODE, version, flags
      0x00, 0x00,                               // RDLEN 0
  };
  DnsMessage m;
  ASSERT_EQ(parse(msg, &m), ParseStatus::kOk);
  ASSERT_EQ(m.question_count, 1);
  EXPECT_EQ(m.questions[0].name.view(), "ipv6.google.com");
  EXPECT_EQ(m.questions[0].qtype, 28);
  EXPECT_EQ(m.arcount, 1);
  EXPECT_EQ(m.anomalies, 0u) << "bytes after the question belong to the counted OPT record";
}

TEST(DnsMessageTest, SeveralQuestions) {
  Wire msg = header(7, 0x0100, 3);
  put_name(msg, {"a", "example"});
  put_type_class(msg, 1, 1);  // A IN
  put_name(msg, {"b", "example"});
  put_type_class(msg, 28, 1);  // AAAA IN
  put_name(msg, {"c", "example"});
  put_type_class(msg, 16, 3);  // TXT CH
  DnsMessage m;
  ASSERT_EQ(parse(msg, &m), ParseStatus::kOk);
  ASSERT_EQ(m.question_count, 3);
  EXPECT_EQ(m.questions[0].name.view(), "a.example");
  EXPECT_EQ(m.questions[1].name.view(), "b.example");
  EXPECT_EQ(m.questions[2].name.view(), "c.example");
  EXPECT_EQ(m.questions[1].qtype, 28);
  EXPECT_EQ(m.questions[2].qtype, 16);
  EXPECT_EQ(m.questions[2].qclass, 3);
  EXPECT_EQ(m.anomalies, uint32_t{kDnsMultipleQuestions});
}

// Resolvers randomise case (draft-vixie-dnsext-dns0x20); blocklists compare lower case.
TEST(DnsMessageTest, MixedCaseIsLowered) {
  Wire msg = header(1, 0x0000, 1);
  put_name(msg, {"WwW", "ExAmPlE", "COM"});
  put_type_class(msg, 1, 1);
  DnsMessage m;
  ASSERT_EQ(parse(msg, &m), ParseStatus::kOk);
  EXPECT_EQ(m.questions[0].name.view(), "www.example.com");
  EXPECT_FALSE(m.has(kDnsNonLdhName));
}

TEST(DnsMessageTest, RootName) {
  const Wire msg = {
      0x00, 0x02, 0x00, 0x00,                          // ID, flags: iterative query
      0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // QDCOUNT 1
      0x00,                                            // root name
      0x00, 0x02, 0x00, 0x01,                          // NS IN: a priming query
  };
  DnsMessage m;
  ASSERT_EQ(parse(msg, &m), ParseStatus::kOk);
  ASSERT_EQ(m.question_count, 1);
  EXPECT_EQ(m.questions[0].name.view(), "");
  EXPECT_EQ(m.questions[0].name.label_count, 0);
  EXPECT_EQ(m.questions[0].qtype, 2);
  EXPECT_EQ(m.anomalies, 0u);
}

// mDNS (RFC 6762 §5.4): QCLASS keeps the unicast-response bit; the class is the low 15 bits.
TEST(DnsMessageTest, MdnsQueryWithQuBit) {
  const Wire msg = {
      0x00, 0x00,                                                // ID 0 (RFC 6762 §18.1)
      0x00, 0x00,                                                // flags 0
      0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,            // QDCOUNT 1
      9,    '_',  's',  'e',  'r',  'v',  'i',  'c',  'e', 's',  // "_services"
      7,    '_',  'd',  'n',  's',  '-',  's',  'd',             // "_dns-sd"
      4,    '_',  'u',  'd',  'p',                               // "_udp"
      5,    'l',  'o',  'c',  'a',  'l',  0,                     // "local", root
      0x00, 0x0c,                                                // QTYPE PTR
      0x80, 0x01,                                                // QCLASS: QU bit + IN
  };
  DnsMessage m;
  ASSERT_EQ(parse(msg, &m), ParseStatus::kOk);
  ASSERT_EQ(m.question_count, 1);
  EXPECT_EQ(m.questions[0].name.view(), "_services._dns-sd._udp.local");
  EXPECT_EQ(m.questions[0].qtype, 12);
  EXPECT_EQ(m.questions[0].qclass, 0x8001);
  EXPECT_NE(m.questions[0].qclass & kDnsQclassUnicastResponse, 0);
  EXPECT_EQ(m.questions[0].qclass & ~kDnsQclassUnicastResponse, 1);
  EXPECT_EQ(m.anomalies, 0u);
}

// NXDOMAIN answer: the authority section is counted, so its bytes are not "trailing".
TEST(DnsMessageTest, Response) {
  Wire msg = {
      0x12, 0x34,                   // ID
      0x81, 0x83,                   // flags: QR=1, opcode 0, RD, RA, RCODE 3 (NXDOMAIN)
      0x00, 0x01, 0x00, 0x00,       // QDCOUNT 1, ANCOUNT 0
      0x00, 0x01, 0x00, 0x00,       // NSCOUNT 1 (an SOA), ARCOUNT 0
      4,    'n',  'o',  'p',  'e',  // 12: "nope"
      7,    'e',  'x',  'a',  'm',  'p',  'l',  'e',  0,  // 17: "example", root
      0x00, 0x01, 0x00, 0x01,                             // A IN
      0xc0, 0x11,  // SOA owner: pointer to "example" (not decoded here)
      0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10,  // SOA IN TTL 3600 (rest omitted)
  };
  DnsMessage m;
  ASSERT_EQ(parse(msg, &m), ParseStatus::kOk);
  EXPECT_TRUE(m.is_response);
  EXPECT_EQ(m.opcode, 0);
  EXPECT_EQ(m.rcode, 3);
  EXPECT_EQ(m.nscount, 1);
  ASSERT_EQ(m.question_count, 1);
  EXPECT_EQ(m.questions[0].name.view(), "nope.example");
  EXPECT_EQ(m.anomalies, 0u);
}

TEST(DnsMessageTest, OpcodeAndRcodeFields) {
  Wire msg = header(9, 0x2805, 1);  // opcode 5 (UPDATE, RFC 2136), RCODE 5 (REFUSED)
  put_name(msg, {"example"});
  put_type_class(msg, 6, 1);  // the zone section: SOA IN
  DnsMessage m;
  ASSERT_EQ(parse(msg, &m), ParseStatus::kOk);
  EXPECT_FALSE(m.is_response);
  EXPECT_EQ(m.opcode, 5);
  EXPECT_EQ(m.rcode, 5);
}

TEST(DnsMessageTest, NoQuestionIsOk) {
  const Wire msg = header(1, 0x0100, 0);  // header only, QDCOUNT 0
  DnsMessage m;
  ASSERT_EQ(parse(msg, &m), ParseStatus::kOk);
  EXPECT_EQ(m.question_count, 0);
  EXPECT_EQ(m.anomalies, uint32_t{kDnsNoQuestion});
}

TEST(DnsMessageTest, ReservedZBitFlagged) {
  Wire msg = header(1, 0x0140, 1);  // RD plus the Z bit
  put_name(msg, {"example"});
  put_type_class(msg, 1, 1);
  DnsMessage m;
  ASSERT_EQ(parse(msg, &m), ParseStatus::kOk);
  EXPECT_EQ(m.anomalies, uint32_t{kDnsReservedZBit});
}

TEST(DnsMessageTest, TrailingDataFlaggedOnlyWhenNoRecordsAreCounted) {
  Wire msg = prefix(kSimpleA, std::size(kSimpleA));
  msg.insert(msg.end(), {0xde, 0xad, 0xbe});  // 3 bytes no section accounts for
  DnsMessage m;
  ASSERT_EQ(parse(msg, &m), ParseStatus::kOk);
  EXPECT_EQ(m.anomalies, uint32_t{kDnsTrailingData});
  msg[11] = 1;  // ARCOUNT 1: the bytes may be a record (not decoded)
  ASSERT_EQ(parse(msg, &m), ParseStatus::kOk);
  EXPECT_EQ(m.anomalies, 0u);
}

// ---- QDCOUNT cap ----

Wire message_with_questions(uint16_t qdcount, size_t present) {
  Wire msg = header(1, 0x0100, qdcount);
  for (size_t i = 0; i < present; ++i) {
    put_name(msg, {"q" + std::to_string(i), "example"});
    put_type_class(msg, static_cast<uint16_t>(i + 1), 1);
  }
  return msg;
}

TEST(DnsMessageTest, QuestionsBeyondTheCapAreFlaggedNotDecoded) {
  const Wire msg = message_with_questions(kMaxDnsQuestions + 1, kMaxDnsQuestions + 1);
  DnsMessage m;
  ASSERT_EQ(parse(msg, &m), ParseStatus::kOk);
  ASSERT_EQ(m.question_count, kMaxDnsQuestions);
  EXPECT_EQ(m.questions[kMaxDnsQuestions - 1].name.view(),
            "q" + std::to_string(kMaxDnsQuestions - 1) + ".example");
  EXPECT_EQ(m.anomalies, uint32_t{kDnsTooManyQuestions | kDnsMultipleQuestions});

  const Wire exact = message_with_questions(kMaxDnsQuestions, kMaxDnsQuestions);
  ASSERT_EQ(parse(exact, &m), ParseStatus::kOk);
  EXPECT_EQ(m.question_count, kMaxDnsQuestions);
  EXPECT_FALSE(m.has(kDnsTooManyQuestions));
}

// QDCOUNT 65535 with kMaxDnsQuestions questions present: we stop at the cap and do not walk (or
// flag) the rest.
TEST(DnsMessageTest, HugeQdcountStopsAtTheCap) {
  const Wire msg = message_with_questions(0xffff, kMaxDnsQuestions);
  DnsMessage m;
  ASSERT_EQ(parse(msg, &m), ParseStatus::kOk);
  EXPECT_EQ(m.question_count, kMaxDnsQuestions);
  EXPECT_TRUE(m.has(kDnsTooManyQuestions));
  EXPECT_FALSE(m.has(kDnsTruncatedQuestions));
}

// ---- compression pointers (RFC 1035 §4.1.4) ----

// Two questions, the second compressed against the first. Also the truncation subject below.
constexpr uint8_t kTwoQuestions[] = {
    0xbe, 0xef,                                      // ID
    0x01, 0x00,                                      // flags: RD
    0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // QDCOUNT 2
    3,    'w',  'w',  'w',                           // 12: "www"
    7,    'e',  'x',  'a',  'm',  'p',  'l',  'e',   // 16: "example"
    3,    'c',  'o',  'm',  0,                       // 24: "com", 28: root
    0x00, 0x01, 0x00, 0x01,                          // 29: A IN; question 1 ends at 33
    4,    'm',  'a',  'i',  'l',                     // 33: "mail"
    0xc0, 0x10,                                      // 38: pointer to 16 ("example.com")
    0x00, 0x0f, 0x00, 0x01,                          // 40: MX IN; message ends at 44
};
constexpr size_t kTwoQuestionsFirstEnd = 33;

TEST(DnsNameTest, PointerInQuestionTwoIntoQuestionOne) {
  DnsMessage m;
  ASSERT_EQ(parse(kTwoQuestions, &m), ParseStatus::kOk);
  ASSERT_EQ(m.question_count, 2);
  EXPECT_EQ(m.questions[0].name.view(), "www.example.com");
  EXPECT_FALSE(m.questions[0].name.compressed);
  EXPECT_EQ(m.questions[1].name.view(), "mail.example.com");
  EXPECT_TRUE(m.questions[1].name.compressed);
  EXPECT_EQ(m.questions[1].name.label_count, 3);
  EXPECT_EQ(m.questions[1].qtype, 15) << "the cursor resumes after the pointer, not after com";
  EXPECT_EQ(m.anomalies, uint32_t{kDnsMultipleQuestions | kDnsPointerInQuestion});
}

TEST(DnsNameTest, ReadNameAdvancesOnSuccessOnlyAndResumesAfterThePointer) {
  ByteReader in{Bytes(kTwoQuestions)};
  DnsName name;
  in.seek(33);
  ASSERT_EQ(read_dns_name(in, &name), ParseStatus::kOk);
  EXPECT_EQ(name.view(), "mail.example.com");
  EXPECT_EQ(in.offset(), 40u);

  Wire bad = prefix(kTwoQuestions, std::size(kTwoQuestions));
  bad[39] = 40;  // pointer now targets 40, forward of the name
  ByteReader in2{Bytes(bad)};
  in2.seek(33);
  EXPECT_EQ(read_dns_name(in2, &name), ParseStatus::kMalformed);
  EXPECT_EQ(in2.offset(), 33u);
}

// Each case: question 1 at offset 12 (and question 2 where given) built as spelled out.
struct PointerCase {
  const char* description;
  Wire msg;
  ParseStatus expected;
};

std::ostream& operator<<(std::ostream& os, const PointerCase& c) { return os << c.description; }

class DnsPointerTest : public testing::TestWithParam<PointerCase> {};

TEST_P(DnsPointerTest, Decodes) {
  DnsMessage m;
  EXPECT_EQ(parse(GetParam().msg, &m), GetParam().expected) << GetParam().description;
}

Wire cat(Wire a, const Wire& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

INSTANTIATE_TEST_SUITE_P(
    Pointers, DnsPointerTest,
    testing::Values(
        PointerCase{"self loop",
                    cat(header(1, 0, 1), {0xc0, 0x0c,  // 12: pointer to 12
                                          0x00, 0x01, 0x00, 0x01}),
                    ParseStatus::kMalformed},
        PointerCase{"into its own labels (a.a.a...)",
                    cat(header(1, 0, 1), {1, 'a',      // 12: "a"
                                          0xc0, 0x0c,  // 14: pointer back to 12
                                          0x00, 0x01, 0x00, 0x01}),
                    ParseStatus::kMalformed},
        PointerCase{"A->B->A loop reached from question 2",
                    cat(header(1, 0, 2), {4,                       // 12: label of 4 bytes holding:
                                          0xc0, 0x0f,              // 13: A, pointer to 15
                                          0xc0, 0x0d,              // 15: B, pointer to 13
                                          0,                       // 17: root
                                          0x00, 0x01, 0x00, 0x01,  // 18: A IN
                                          0xc0, 0x0d,              // 22: pointer to A
                                          0x00, 0x01, 0x00, 0x01}),
                    ParseStatus::kMalformed},
        PointerCase{"forward to a valid name",
                    cat(header(1, 0, 2), {0xc0, 0x12,              // 12: pointer to 18
                                          0x00, 0x01, 0x00, 0x01,  // 14: A IN
                                          1, 'b', 0,               // 18: "b"
                                          0x00, 0x01, 0x00, 0x01}),
                    ParseStatus::kMalformed},
        PointerCase{"into the header (offset 0)",
                    cat(header(0x0161, 0, 1), {0xc0, 0x00,  // 12: pointer to the ID bytes
                                               0x00, 0x01, 0x00, 0x01}),
                    ParseStatus::kMalformed},
        PointerCase{"into the header (offset 11)",
                    cat(header(1, 0, 1), {0xc0, 0x0b, 0x00, 0x01, 0x00, 0x01}),
                    ParseStatus::kMalformed},
        PointerCase{"offset uses all 14 bits (far past the end)",
                    cat(header(1, 0, 1), {0xff, 0xff, 0x00, 0x01, 0x00, 0x01}),
                    ParseStatus::kMalformed},
        PointerCase{"backwards, but the labels there run past the end",
                    cat(header(1, 0, 2), {2, 0x3f, 'a',  // 12: label "?a"; 13 looks like len 63
                                          0,             // 15: root
                                          0x00, 0x01, 0x00, 0x01,  // 16: A IN
                                          0xc0, 0x0d,              // 20: pointer to 13
                                          0x00, 0x01, 0x00, 0x01}),
                    ParseStatus::kMalformed},
        PointerCase{"question 2 is just a pointer to question 1",
                    cat(header(1, 0, 2), {1, 'a', 0,               // 12: "a"
                                          0x00, 0x01, 0x00, 0x01,  // 15: A IN
                                          0xc0, 0x0c,              // 19: pointer to 12
                                          0x00, 0x01, 0x00, 0x01}),
                    ParseStatus::kOk}));

// A chain of exactly `jumps` pointers for question N's name. The chain lives in the labels of
// earlier "carrier" questions, where pointer bytes are just label content: a root byte, then
// 2-byte pointers each to the one before. The last question is a pointer to the chain's end.
Wire pointer_chain_message(size_t jumps) {
  constexpr size_t kSlotsPerLabel = 31;  // 62-byte labels
  constexpr size_t kLabelsPerCarrier = 3;
  const size_t slots = jumps;  // slot 0 holds the root byte; slots 1..jumps-1 hold pointers
  const size_t carriers =
      (slots + kSlotsPerLabel * kLabelsPerCarrier - 1) / (kSlotsPerLabel * kLabelsPerCarrier);
  Wire msg = header(1, 0, static_cast<uint16_t>(carriers + 1));
  size_t slot = 0;
  size_t previous = 0;
  for (size_t c = 0; c < carriers; ++c) {
    for (size_t l = 0; l < kLabelsPerCarrier; ++l) {
      msg.push_back(2 * kSlotsPerLabel);
      for (size_t s = 0; s < kSlotsPerLabel; ++s, ++slot) {
        const size_t here = msg.size();
        if (slot == 0) {
          msg.insert(msg.end(), {0x00, 'x'});  // the chain's end: a root byte
        } else if (slot < slots) {
          put_pointer(msg, previous);
        } else {
          msg.insert(msg.end(), {'p', 'p'});  // padding
        }
        if (slot < slots) previous = here;
      }
    }
    msg.push_back(0);
    put_type_class(msg, 1, 1);
  }
  put_pointer(msg, previous);  // the last question: jump number `jumps`
  put_type_class(msg, 1, 1);
  return msg;
}

TEST(DnsNameTest, PointerJumpCap) {
  static_assert(kMaxDnsPointerJumps == 127);
  DnsMessage m;
  const Wire at_cap = pointer_chain_message(kMaxDnsPointerJumps);
  ASSERT_EQ(parse(at_cap, &m), ParseStatus::kOk);
  ASSERT_EQ(m.question_count, m.qdcount);
  const DnsName& last = m.questions[m.question_count - 1].name;
  EXPECT_EQ(last.view(), "");
  EXPECT_TRUE(last.compressed);

  const Wire over = pointer_chain_message(kMaxDnsPointerJumps + 1);
  EXPECT_EQ(parse(over, &m), ParseStatus::kMalformed);

  const Wire one = pointer_chain_message(1);
  ASSERT_EQ(parse(one, &m), ParseStatus::kOk);
  EXPECT_EQ(m.question_count, 2);
}

// ---- label and name limits (RFC 1035 §2.3.4) ----

Wire one_question(const Wire& name) {
  Wire msg = cat(header(1, 0x0100, 1), name);
  put_type_class(msg, 1, 1);
  return msg;
}

Wire name_of_label_lengths(std::initializer_list<size_t> lengths) {
  Wire name;
  for (size_t len : lengths) put_label(name, std::string(len, 'a'));
  name.push_back(0);
  return name;
}

TEST(DnsNameTest, LabelOf63IsOkAnd64IsRejected) {
  DnsMessage m;
  ASSERT_EQ(parse(one_question(name_of_label_lengths({63, 3})), &m), ParseStatus::kOk);
  EXPECT_EQ(m.questions[0].name.view(), std::string(63, 'a') + ".aaa");
  // 64 = 0x40: the length byte reads as the extended label type (RFC 6891 §5).
  Wire bad = one_question(name_of_label_lengths({63, 3}));
  bad[12] = 64;
  bad.insert(bad.begin() + 13, 'a');
  EXPECT_EQ(parse(bad, &m), ParseStatus::kMalformed);
}

TEST(DnsNameTest, NameOf255WireBytesIsOkAnd256IsRejected) {
  DnsMessage m;
  // 4 length bytes + 63+63+63+61 + root = 255.
  ASSERT_EQ(parse(one_question(name_of_label_lengths({63, 63, 63, 61})), &m), ParseStatus::kOk);
  EXPECT_EQ(m.questions[0].name.len, 250 + 3);
  EXPECT_EQ(parse(one_question(name_of_label_lengths({63, 63, 63, 62})), &m),
            ParseStatus::kMalformed);

  // 127 one-byte labels = 255; 128 = 257.
  Wire many;
  for (int i = 0; i < 127; ++i) put_label(many, "a");
  many.push_back(0);
  ASSERT_EQ(parse(one_question(many), &m), ParseStatus::kOk);
  EXPECT_EQ(m.questions[0].name.label_count, 127);
  many.insert(many.begin(), {1, 'a'});
  EXPECT_EQ(parse(one_question(many), &m), ParseStatus::kMalformed);
}

// The limit is on the uncompressed name: labels reached through a pointer count too.
TEST(DnsNameTest, WireLengthCountsLabelsBehindPointers) {
  for (size_t own : {61, 62}) {
    Wire msg = header(1, 0, 2);
    msg = cat(msg, name_of_label_lengths({63, 63, 63}));  // 12: question 1, 193 wire bytes
    put_type_class(msg, 1, 1);
    put_label(msg, std::string(own, 'b'));  // question 2: 1 + own bytes, then
    put_pointer(msg, 12);                   // question 1's 193 bytes
    put_type_class(msg, 1, 1);
    DnsMessage m;
    EXPECT_EQ(parse(msg, &m), own == 61 ? ParseStatus::kOk : ParseStatus::kMalformed) << own;
  }
}

TEST(DnsNameTest, ReservedLabelTypesAreRejected) {
  // 0x40: extended label (RFC 6891 §5), 0x41: bit-string label (RFC 2673, historic),
  // 0x80 and 0xbf: type 10, reserved (RFC 1035 §4.1.4).
  for (int type : {0x40, 0x41, 0x7f, 0x80, 0xbf}) {
    const auto type_byte = static_cast<uint8_t>(type);
    DnsMessage m;
    Wire first = one_question({type_byte, 'a', 'b', 0});
    EXPECT_EQ(parse(first, &m), ParseStatus::kMalformed) << int{type_byte};

    // In question 2 it is still malformed, not a truncation.
    Wire second = cat(header(1, 0, 2), {1, 'a', 0,               // 12: "a"
                                        0x00, 0x01, 0x00, 0x01,  // A IN
                                        type_byte, 'a', 0,       // 19: question 2's name
                                        0x00, 0x01, 0x00, 0x01});
    EXPECT_EQ(parse(second, &m), ParseStatus::kMalformed) << int{type_byte};
  }
}

// ---- text form (compared by hand with tshark 4.0 `-T fields -e dns.qry.name`) ----

struct TextCase {
  std::string_view label;     // one label's raw bytes
  std::string_view expected;  // its text
  bool non_ldh;
};

std::ostream& operator<<(std::ostream& os, const TextCase& c) {
  os << "label";
  for (char ch : c.label) os << ' ' << std::hex << int{static_cast<uint8_t>(ch)} << std::dec;
  return os;
}

class DnsNameTextTest : public testing::TestWithParam<TextCase> {};

TEST_P(DnsNameTextTest, MatchesTsharkLowerCased) {
  const TextCase& c = GetParam();
  Wire name;
  put_label(name, c.label);
  name.push_back(0);
  // Without and with 16 bytes after the question: a label of at most 16 bytes is read 16 bytes
  // at a time only when the message has that many from its start (dns.cc, append_label).
  for (const size_t trailing : {0, 16}) {
    Wire msg = one_question(name);
    msg.insert(msg.end(), trailing, 0xee);
    DnsMessage m;
    ASSERT_EQ(parse(msg, &m), ParseStatus::kOk) << trailing;
    EXPECT_EQ(m.questions[0].name.view(), c.expected) << trailing;
    EXPECT_EQ(m.questions[0].name.non_ldh, c.non_ldh) << trailing;
    EXPECT_EQ(m.has(kDnsNonLdhName), c.non_ldh) << trailing;
    EXPECT_TRUE(is_valid_utf8(m.questions[0].name.view())) << trailing;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Text, DnsNameTextTest,
    testing::Values(
        TextCase{"a-b_C9"sv, "a-b_c9"sv, false},
        TextCase{"a.b"sv, "a.b"sv, true},  // '.' inside a label is not escaped (as tshark)
        TextCase{"a b"sv, "a b"sv, true},
        TextCase{"back\\slash"sv, "back\\slash"sv, true},    // nor is '\'
        TextCase{"q\"t'(x);$@*"sv, "q\"t'(x);$@*"sv, true},  // printable ASCII as is
        TextCase{"x\0y"sv, "x\\000y"sv, true},               // control bytes in octal
        TextCase{"\x01\x1b\x1f\x7f"sv, "\\001\\033\\037\\177"sv, true},
        TextCase{"\a\b\t\n\v\f\r"sv, "\\a\\b\\t\\n\\v\\f\\r"sv, true},
        TextCase{"caf\xc3\xa9"sv, "caf\xc3\xa9"sv, true},              // valid UTF-8 kept
        TextCase{"\xc3\x89T\xc3\xa9"sv, "\xc3\x89t\xc3\xa9"sv, true},  // only A-Z lowered
        TextCase{"\xe2\x82\xac"sv, "\xe2\x82\xac"sv, true},            // U+20AC
        TextCase{"\xf0\x9f\x98\x80"sv, "\xf0\x9f\x98\x80"sv, true},    // U+1F600
        TextCase{"\xc2\xa0"sv, "\xc2\xa0"sv, true},                    // U+00A0 is printable
        TextCase{"\x80\xff"sv, "\xef\xbf\xbd\xef\xbf\xbd"sv, true},    // one U+FFFD per byte
        TextCase{"\x80\x80\x80\x80"sv, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"sv, true},
        TextCase{"\xc3Z"sv, "\xef\xbf\xbdz"sv, true},  // cut sequence: one U+FFFD, then 'Z'
        TextCase{"\xe2\x82Z"sv, "\xef\xbf\xbdz"sv, true},
        TextCase{"\xf0\x9fZ"sv, "\xef\xbf\xbdz"sv, true},
        TextCase{"a\xc3"sv, "a\xef\xbf\xbd"sv, true},            // cut by the label's end
        TextCase{"\xed\xa0\x80"sv, "\xef\xbf\xbd"sv, true},      // surrogate
        TextCase{"\xf4\x90\x80\x80"sv, "\xef\xbf\xbd"sv, true},  // above U+10FFFF
        TextCase{"\xf5\x80\x80\x80"sv, "\xef\xbf\xbd"sv, true},
        TextCase{"\xfe"sv, "\xef\xbf\xbd"sv, true},
        TextCase{"\xc0\x80"sv, "\xef\xbf\xbd"sv, true},     // overlong: tshark shows \u0000
        TextCase{"\xc2\x85"sv, "\\u0085"sv, true},          // C1 control
        TextCase{"\xc2\xad"sv, "\\u00AD"sv, true},          // soft hyphen (Cf)
        TextCase{"a\xe2\x80\xaez"sv, "a\\u202Ez"sv, true},  // right-to-left override
        TextCase{"\xef\xbb\xbf"sv, "\\uFEFF"sv, true},
        TextCase{"\xef\xbf\xbe"sv, "\\uFFFE"sv, true},  // noncharacter
        TextCase{"\xf3\xa0\x80\x81"sv, "\\U000E0001"sv, true},
        TextCase{"\xf0\x9f\xbf\xbe"sv, "\\U0001FFFE"sv, true}));

// A printable-ASCII label goes through the fold and class tables; one with a byte that needs
// escaping falls back to the byte-wise path from its start. The text and the non-LDH flag must
// be what the byte-wise rules above give, wherever that byte falls. (UTF-8 after printable
// bytes, the other fallback, is in the text cases above: "caf\xc3\xa9".)
TEST(DnsNameTest, LongAsciiLabelsMatchTheByteWiseRules) {
  auto expected_text = [](std::string_view label) {
    static constexpr char kCEscapes[] = "abtnvfr";
    std::string out;
    for (const char ch : label) {
      const auto b = static_cast<uint8_t>(ch);
      if (b >= 'A' && b <= 'Z') {
        out += static_cast<char>(b - 'A' + 'a');
      } else if (b >= 0x20 && b < 0x7f) {
        out += ch;
      } else if (b >= 0x07 && b <= 0x0d) {
        out += '\\';
        out += kCEscapes[b - 0x07];
      } else {
        out += '\\';
        out += static_cast<char>('0' + ((b >> 6) & 7));
        out += static_cast<char>('0' + ((b >> 3) & 7));
        out += static_cast<char>('0' + (b & 7));
      }
    }
    return out;
  };
  auto ldh = [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_';
  };
  std::mt19937 rng(2026);
  constexpr std::string_view kAlphabet = "abcxyzABCXYZ0189-_";
  for (int round = 0; round < 20000; ++round) {
    const size_t labels = 1 + rng() % 3;
    Wire name;
    std::string want;
    bool want_non_ldh = false;
    for (size_t l = 0; l < labels; ++l) {
      std::string label;
      // Half the rounds keep to labels of at most 16 bytes, which are read 16 bytes at a time
      // where the message holds 16 bytes from their start.
      const size_t len = 1 + rng() % (round % 2 ? 16 : 63);
      for (size_t i = 0; i < len; ++i) {
        const auto r = static_cast<uint32_t>(rng() % 100);
        if (r < 90) {
          label += kAlphabet[rng() % kAlphabet.size()];  // LDH, both cases
        } else if (r < 97) {
          label += static_cast<char>(0x20 + rng() % 0x5f);  // any printable ASCII
        } else {
          label += static_cast<char>(rng() % 0x80 < 0x20 ? rng() % 0x20 : 0x7f);  // control
        }
      }
      put_label(name, label);
      if (l) want += '.';
      want += expected_text(label);
      for (const char ch : label) want_non_ldh |= !ldh(ch);
    }
    name.push_back(0);
    Wire msg = one_question(name);
    if (round % 4 >= 2) msg.insert(msg.end(), 16, 0xee);  // the last label too has 16 bytes
    DnsMessage m;
    ASSERT_EQ(parse(msg, &m), ParseStatus::kOk);
    ASSERT_EQ(m.questions[0].name.view(), want) << "round " << round;
    ASSERT_EQ(m.questions[0].name.non_ldh, want_non_ldh) << "round " << round << ": " << want;
  }
}

TEST(DnsNameTest, DotsAndCutSequencesAcrossLabels) {
  DnsMessage m;
  // Labels "." and ".." print as "...." (ambiguous, as in tshark).
  ASSERT_EQ(parse(one_question({1, '.', 2, '.', '.', 0}), &m), ParseStatus::kOk);
  EXPECT_EQ(m.questions[0].name.view(), "....");
  // A sequence never spans labels: each half is its own broken sequence.
  ASSERT_EQ(parse(one_question({1, 0xc3, 1, 0xa9, 0}), &m), ParseStatus::kOk);
  EXPECT_EQ(m.questions[0].name.view(), "\xef\xbf\xbd.\xef\xbf\xbd"sv);
}

// The worst case for the text buffer: 250 label bytes that each print as 4 characters.
TEST(DnsNameTest, LongestTextFits) {
  Wire name;
  for (size_t len : {63, 63, 63, 61}) put_label(name, std::string(len, '\x01'));
  name.push_back(0);
  DnsMessage m;
  ASSERT_EQ(parse(one_question(name), &m), ParseStatus::kOk);
  EXPECT_EQ(m.questions[0].name.len, 250 * 4 + 3);
  EXPECT_LE(m.questions[0].name.len, kMaxDnsNameTextLen);
  EXPECT_EQ(m.questions[0].name.view().substr(0, 8), "\\001\\001");
}

// ---- truncation ----

// kTwoQuestions cut to every length: the header or question 1 incomplete -> malformed; question 1
// complete -> ok with one question and the truncation flag; whole -> two questions.
TEST(DnsTruncationTest, EveryLengthOfATwoQuestionMessage) {
  struct Row {
    size_t first_len, last_len;
    ParseStatus status;
    uint8_t questions;
    uint32_t anomalies;
  };
  const Row table[] = {
      {0, kDnsHeaderLen - 1, ParseStatus::kMalformed, 0, 0},
      {kDnsHeaderLen, kTwoQuestionsFirstEnd - 1, ParseStatus::kMalformed, 0, 0},
      {kTwoQuestionsFirstEnd, std::size(kTwoQuestions) - 1, ParseStatus::kOk, 1,
       kDnsMultipleQuestions | kDnsTruncatedQuestions},
      {std::size(kTwoQuestions), std::size(kTwoQuestions), ParseStatus::kOk, 2,
       kDnsMultipleQuestions | kDnsPointerInQuestion},
  };
  size_t checked = 0;
  for (const Row& row : table) {
    for (size_t len = row.first_len; len <= row.last_len; ++len, ++checked) {
      // A copy of exactly `len` bytes, so ASan sees any read past it.
      const Wire cut = prefix(kTwoQuestions, len);
      DnsMessage m;
      ASSERT_EQ(parse(cut, &m), row.status) << "length " << len;
      if (row.status != ParseStatus::kOk) continue;
      ASSERT_EQ(m.question_count, row.questions) << "length " << len;
      EXPECT_EQ(m.anomalies, row.anomalies) << "length " << len;
      EXPECT_EQ(m.questions[0].name.view(), "www.example.com");
      EXPECT_EQ(m.questions[0].qtype, 1);
      if (row.questions == 2) {
        EXPECT_EQ(m.questions[1].name.view(), "mail.example.com");
      }
    }
  }
  EXPECT_EQ(checked, std::size(kTwoQuestions) + 1);
}

TEST(DnsTruncationTest, EveryLengthOfTheSimpleQuery) {
  for (size_t len = 0; len < std::size(kSimpleA); ++len) {
    const Wire cut = prefix(kSimpleA, len);
    DnsMessage m;
    EXPECT_EQ(parse(cut, &m), ParseStatus::kMalformed) << "length " << len;
  }
}

// ---- TCP framing (RFC 1035 §4.2.2, RFC 7766 §8) ----

Wire framed(Bytes msg) {
  Wire out;
  put16(out, static_cast<uint16_t>(msg.size()));
  return cat(out, prefix(msg, msg.size()));
}

TEST(DnsTcpTest, TwoMessagesInOneSegment) {
  const Wire stream = cat(framed(kSimpleA), framed(kTwoQuestions));
  Bytes rest(stream);
  Bytes msg;
  size_t consumed = 0;

  ASSERT_EQ(next_dns_tcp_message(rest, &msg, &consumed), ParseStatus::kOk);
  EXPECT_EQ(consumed, 2 + std::size(kSimpleA));
  EXPECT_EQ(Wire(msg.begin(), msg.end()), prefix(kSimpleA, std::size(kSimpleA)));
  DnsMessage m;
  ASSERT_EQ(parse_dns_message(msg, &m), ParseStatus::kOk);
  EXPECT_EQ(m.questions[0].name.view(), "www.example.com");

  rest = rest.subspan(consumed);
  ASSERT_EQ(next_dns_tcp_message(rest, &msg, &consumed), ParseStatus::kOk);
  EXPECT_EQ(consumed, 2 + std::size(kTwoQuestions));
  ASSERT_EQ(parse_dns_message(msg, &m), ParseStatus::kOk);
  EXPECT_EQ(m.question_count, 2);

  rest = rest.subspan(consumed);
  EXPECT_TRUE(rest.empty());
  EXPECT_EQ(next_dns_tcp_message(rest, &msg, &consumed), ParseStatus::kNeedMore);
  EXPECT_EQ(consumed, 0u);
  EXPECT_TRUE(msg.empty());
}

// The first message is whole; the second is cut at every length: always kNeedMore for it.
TEST(DnsTcpTest, PartialSecondMessageNeedsMore) {
  const Wire first = framed(kSimpleA);
  const Wire second = framed(kTwoQuestions);
  for (size_t len = 0; len < second.size(); ++len) {
    const Wire stream = cat(first, Wire(second.begin(), second.begin() + static_cast<long>(len)));
    Bytes msg;
    size_t consumed = 0;
    ASSERT_EQ(next_dns_tcp_message(Bytes(stream), &msg, &consumed), ParseStatus::kOk);
    ASSERT_EQ(consumed, first.size());
    const Bytes rest = Bytes(stream).subspan(consumed);
    EXPECT_EQ(next_dns_tcp_message(rest, &msg, &consumed), ParseStatus::kNeedMore) << len;
    EXPECT_EQ(consumed, 0u);
  }
}

TEST(DnsTcpTest, LengthPrefixEdgeCases) {
  struct Case {
    const char* description;
    Wire stream;
    ParseStatus expected;
    size_t consumed;
  };
  Wire twelve = {0x00, 0x0c};  // prefix 12: a bare header is the smallest message
  twelve.insert(twelve.end(), size_t{12}, uint8_t{0});
  const Case cases[] = {
      {"empty", {}, ParseStatus::kNeedMore, 0},
      {"half a prefix", {0x00}, ParseStatus::kNeedMore, 0},
      {"length 0", {0x00, 0x00}, ParseStatus::kMalformed, 0},
      {"length 11, shorter than a header", {0x00, 0x0b, 1, 2, 3}, ParseStatus::kMalformed, 0},
      {"length 12 with 11 present", Wire(twelve.begin(), twelve.end() - 1), ParseStatus::kNeedMore,
       0},
      {"length 12", twelve, ParseStatus::kOk, 14},
      {"length 65535, 3 bytes present", {0xff, 0xff, 1, 2, 3}, ParseStatus::kNeedMore, 0},
  };
  for (const Case& c : cases) {
    Bytes msg;
    size_t consumed = 99;
    EXPECT_EQ(next_dns_tcp_message(Bytes(c.stream), &msg, &consumed), c.expected) << c.description;
    EXPECT_EQ(consumed, c.consumed) << c.description;
    EXPECT_EQ(msg.size(), c.consumed == 0 ? 0 : c.consumed - 2) << c.description;
  }
}

// ---- adversarial sweep and anomaly names ----

// Every byte of the valid messages set to every value: never kNeedMore (UDP cannot grow),
// and kOk only with sane output. ASan/UBSan builds catch any read past the copy.
TEST(DnsRobustnessTest, EveryByteEveryValue) {
  size_t parsed = 0, ok = 0;
  for (const Bytes base : {Bytes(kSimpleA), Bytes(kTwoQuestions)}) {
    for (size_t pos = 0; pos < base.size(); ++pos) {
      for (int v = 0; v < 256; ++v) {
        Wire msg = prefix(base, base.size());
        msg[pos] = static_cast<uint8_t>(v);
        DnsMessage m;
        const ParseStatus status = parse(msg, &m);
        ++parsed;
        ASSERT_TRUE(status == ParseStatus::kOk || status == ParseStatus::kMalformed);
        if (status != ParseStatus::kOk) continue;
        ++ok;
        ASSERT_LE(m.question_count, std::min<size_t>(m.qdcount, kMaxDnsQuestions));
        for (size_t q = 0; q < m.question_count; ++q) {
          const std::string_view text = m.questions[q].name.view();
          ASSERT_LE(text.size(), kMaxDnsNameTextLen);
          ASSERT_TRUE(is_valid_utf8(text)) << pos << " " << v;
          for (char ch : text) ASSERT_FALSE(ch >= 'A' && ch <= 'Z') << text;
        }
      }
    }
  }
  EXPECT_GT(ok, parsed / 4) << "the sweep should mostly hit decodable messages";
}

TEST(DnsAnomalyTest, EveryBitHasOneDistinctName) {
  static_assert(std::size(kDnsAnomalies) == kDnsAnomalyCount);
  std::set<std::string_view> names;
  uint32_t seen = 0;
  for (DnsAnomaly a : kDnsAnomalies) {
    const auto bits = static_cast<uint32_t>(a);
    EXPECT_EQ(bits & (bits - 1), 0u) << "one bit per anomaly";
    EXPECT_EQ(seen & bits, 0u);
    seen |= bits;
    EXPECT_NE(to_string(a), "unknown");
    EXPECT_TRUE(names.insert(to_string(a)).second) << to_string(a);
  }
  EXPECT_EQ(to_string(kDnsTruncatedQuestions), "truncated_questions");
  EXPECT_EQ(to_string(static_cast<DnsAnomaly>(0)), "unknown");
  EXPECT_EQ(to_string(static_cast<DnsAnomaly>(kDnsTrailingData | kDnsNoQuestion)), "unknown");
}

}  // namespace
}  // namespace muhafiz::parse
