#include "rules/bundle/bundle.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rules/bundle/hashing.h"
#include "rules/bundle/keys.h"

namespace muhafiz::rules {
namespace {

constexpr int64_t kCreated = 1767225600;  // 2026-01-01
constexpr int64_t kExpires = 1798761600;  // 2027-01-01
constexpr int64_t kNow = 1780000000;      // 2026-05-28, between the two
constexpr std::string_view kName = "pta-csam-7.bundle";

SecretKey publisher_key() { return SecretKey::from_seed(std::array<uint8_t, 32>{1}); }
SecretKey other_key() { return SecretKey::from_seed(std::array<uint8_t, 32>{2}); }

List sample_list(uint64_t version = 7) {
  List l;
  l.meta.id = "pta-csam";
  l.meta.publisher = "pta";
  l.meta.category = "csam";
  l.meta.version = version;
  l.meta.created = kCreated;
  l.meta.expires = kExpires;
  l.meta.default_action = Action::kBlock;
  l.meta.alert = true;
  l.entries = {
      {"case-1", EntryKind::kDomain, "bad.example", std::nullopt, "case-42"},
      {"case-2", EntryKind::kExact, "www.evil.example", Action::kNxdomain, ""},
      {"case-3", EntryKind::kUrl, "img.example.org/b/c.jpg", std::nullopt, ""},
      {"case-4", EntryKind::kIp, "192.0.2.0/24", Action::kDrop, ""},
      {"case-5", EntryKind::kPattern, "/^cdn[0-9]+\\.bad\\.example$/i", std::nullopt, ""},
  };
  return l;
}

VerifyOptions at_now() {
  VerifyOptions opts;
  opts.now = kNow;
  return opts;
}

std::string signed_text(const List& list) {
  return write_bundle_text(make_full_bundle(list), publisher_key());
}

// The text before the signature line.
std::string body_of(const std::string& text) {
  return text.substr(0, text.rfind('\n', text.size() - 2) + 1);
}

// Edits signed content and signs it again with the publisher's key: what a buggy or hostile
// publisher tool could produce. The signature holds; the content checks must catch the rest.
std::string edit_and_resign(const std::string& text, std::string_view from, std::string_view to) {
  std::string body = body_of(text);
  const size_t pos = body.find(from);
  EXPECT_NE(pos, std::string::npos) << "test edit not found: " << from;
  if (pos != std::string::npos) body.replace(pos, from.size(), to);
  return sign_bundle_body(body, publisher_key());
}

template <typename F>
void expect_error(F&& f, std::string_view needle) {
  try {
    f();
    ADD_FAILURE() << "no error, expected one containing: " << needle;
  } catch (const BundleError& e) {
    EXPECT_NE(std::string_view(e.what()).find(needle), std::string_view::npos)
        << "message: " << e.what() << "\nexpected to contain: " << needle;
  }
}

void expect_refused(const std::string& text, std::string_view needle,
                    const VerifyOptions& opts = at_now()) {
  expect_error([&] { verify_bundle(text, kName, publisher_key().public_key(), opts); }, needle);
}

std::vector<Entry> sorted_by_id(std::vector<Entry> v) {
  std::sort(v.begin(), v.end(), [](const Entry& a, const Entry& b) { return a.id < b.id; });
  return v;
}

// ---- round trip ---------------------------------------------------------------------------------

TEST(Bundle, SignVerifyRoundTrip) {
  const List list = sample_list();
  const std::string text = signed_text(list);
  EXPECT_TRUE(text.starts_with("MUHAFIZ-BUNDLE 1\n{\"type\":\"full\""));
  const std::string sig_line = text.substr(body_of(text).size());
  EXPECT_TRUE(sig_line.starts_with("SIGNATURE ed25519 " + publisher_key().public_key().id() + " "));
  EXPECT_EQ(sig_line.size(), 18 + 16 + 1 + 128 + 1);

  const Bundle b = verify_bundle(text, kName, publisher_key().public_key(), at_now());
  EXPECT_EQ(b.type, BundleType::kFull);
  EXPECT_EQ(b.meta, list.meta);
  EXPECT_EQ(b.entries, list.entries);
  EXPECT_EQ(b.digest, list_digest(list));
  EXPECT_EQ(b.signer_key_id, publisher_key().public_key().id());
  EXPECT_EQ(bundle_list(b, kName).entries, list.entries);
  // Deterministic: the same list gives the same bytes (Ed25519 signatures are deterministic).
  EXPECT_EQ(signed_text(list), text);
}

TEST(Bundle, HashedListRoundTrip) {
  List list = sample_list();
  list.meta.hash_key = generate_hash_key_hex();
  list.entries.push_back({"case-6", EntryKind::kHashedDomain,
                          hashed_entry_value(list.meta.hash_key, "hidden.example"), std::nullopt,
                          ""});
  const Bundle b = verify_bundle(signed_text(list), kName, publisher_key().public_key(), at_now());
  EXPECT_EQ(b.meta.hash_key, list.meta.hash_key);
  EXPECT_EQ(b.entries, list.entries);
}

// ---- tampering
// ------------------------------------------------------------------------------------

TEST(Bundle, TamperedEntryByteIsRefused) {
  const std::string text = signed_text(sample_list());
  std::string tampered = text;
  const size_t pos = tampered.find("bad.example");
  ASSERT_NE(pos, std::string::npos);
  tampered[pos] = 'c';  // cad.example: still a valid, canonical entry
  expect_refused(tampered, "pta-csam-7.bundle: signature does not verify with key " +
                               publisher_key().public_key().id() +
                               ": the bundle was changed after signing or signed by another key");
}

TEST(Bundle, TamperedHeaderIsRefused) {
  const std::string text = signed_text(sample_list());
  std::string tampered = text;
  const size_t pos = tampered.find("\"version\":7");
  ASSERT_NE(pos, std::string::npos);
  tampered.replace(pos, 11, "\"version\":9");  // a replayed list dressed as newer
  expect_refused(tampered, "signature does not verify");
}

// Any single changed byte anywhere in the file is refused, whatever check catches it.
TEST(Bundle, EveryFlippedByteIsRefused) {
  const std::string text = signed_text(sample_list());
  const PublicKey pub = publisher_key().public_key();
  for (size_t i = 0; i < text.size(); ++i) {
    std::string tampered = text;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    EXPECT_THROW(verify_bundle(tampered, kName, pub, at_now()), BundleError) << "byte " << i;
  }
}

TEST(Bundle, TruncationAtEveryOffsetIsRefused) {
  const std::string text = signed_text(sample_list());
  const PublicKey pub = publisher_key().public_key();
  for (size_t n = 0; n < text.size(); ++n) {
    EXPECT_THROW(verify_bundle(std::string_view(text).substr(0, n), kName, pub, at_now()),
                 BundleError)
        << "length " << n;
  }
  expect_refused(text.substr(0, text.size() - 1), "truncated");
  expect_refused(text.substr(0, text.size() - 40), "truncated");
}

TEST(Bundle, RemovedSignatureLineIsRefused) {
  const std::string text = signed_text(sample_list());
  expect_refused(body_of(text), "no signature line at the end");
  // Also with something appended after the signature.
  expect_refused(text + "{\"id\":\"x\"}\n", "no signature line at the end");
}

TEST(Bundle, WrongKeyIsRefused) {
  const std::string text = signed_text(sample_list());
  const PublicKey other = other_key().public_key();
  expect_error([&] { verify_bundle(text, kName, other, at_now()); },
               "signature does not verify with the pinned key " + other.id() +
                   ": the bundle says it was signed by key " + publisher_key().public_key().id());
  // Signed by the other key, checked against the pinned publisher key.
  const std::string by_other = sign_bundle_body(body_of(text), other_key());
  expect_refused(by_other, "signature does not verify with the pinned key");
}

TEST(Bundle, EditedKeyIdOnSignatureLineIsRefused) {
  const std::string text = signed_text(sample_list());
  std::string edited = text;
  const std::string id = publisher_key().public_key().id();
  edited.replace(edited.find(id, body_of(text).size()), id.size(), other_key().public_key().id());
  expect_refused(edited, "the line was edited");
}

TEST(Bundle, MalformedSignatureLineIsRefused) {
  const std::string body = body_of(signed_text(sample_list()));
  const std::string id = publisher_key().public_key().id();
  expect_refused(body + "SIGNATURE ed25519 " + id + "\n", "is not \"SIGNATURE ed25519");
  expect_refused(body + "SIGNATURE rsa " + id + " 00\n", "unsupported signature algorithm");
  expect_refused(body + "SIGNATURE ed25519 " + id + " " + std::string(126, 'a') + "\n",
                 "128 lower-case hex");
  expect_refused(body + "SIGNATURE ed25519 " + id + " " + std::string(128, 'A') + "\n",
                 "128 lower-case hex");
  expect_refused(body + "SIGNATURE ed25519 XYZ " + std::string(128, 'a') + "\n", "key id");
}

// ---- format and schema
// ------------------------------------------------------------------------------

TEST(Bundle, FormatLineIsChecked) {
  const std::string text = signed_text(sample_list());
  expect_refused("", "empty file");
  expect_refused("hello\n", "not a muhafiz bundle");
  expect_refused("MUHAFIZ-BUNDLEX 1\n", "not a muhafiz bundle");
  expect_refused("MUHAFIZ-BUNDLE 01\n", "not a muhafiz bundle");
  expect_refused(edit_and_resign(text, "MUHAFIZ-BUNDLE 1", "MUHAFIZ-BUNDLE 2"),
                 "bundle format version 2 is not supported (this muhafiz reads version 1)");
}

TEST(Bundle, UnknownFieldsAreErrors) {
  const std::string text = signed_text(sample_list());
  expect_refused(edit_and_resign(text, "\"evidence\":\"case-42\"}",
                                 "\"evidence\":\"case-42\",\"color\":\"red\"}"),
                 "pta-csam-7.bundle:3: entry: unknown field \"color\"");
  expect_refused(edit_and_resign(text, "\"entries\":5}", "\"entries\":5,\"signed_by\":\"fia\"}"),
                 "pta-csam-7.bundle:2: header: unknown field \"signed_by\"");
  expect_refused(edit_and_resign(text, "\"hash_key\":\"\"", "\"hash_key\":\"\",\"shadow\":true"),
                 "list: unknown field \"shadow\"");
  // A full bundle has no delta fields.
  expect_refused(edit_and_resign(text, "\"entries\":5}", "\"entries\":5,\"removed\":0}"),
                 "unknown field \"removed\"");
}

TEST(Bundle, MissingDuplicateAndMistypedFieldsAreErrors) {
  const std::string text = signed_text(sample_list());
  expect_refused(edit_and_resign(text, "{\"id\":\"case-1\",", "{"), "missing field \"id\"");
  expect_refused(edit_and_resign(text, "\"alert\":true,", ""), "missing field \"alert\"");
  // Duplicate keys: JSON parsers disagree on which one wins, so neither does.
  expect_refused(
      edit_and_resign(text, "{\"id\":\"case-1\",", "{\"id\":\"case-1\",\"id\":\"case-9\","),
      "field \"id\" appears twice");
  expect_refused(edit_and_resign(text, "\"version\":7", "\"version\":\"7\""),
                 "field \"version\" must be a non-negative integer");
  expect_refused(edit_and_resign(text, "\"version\":7", "\"version\":7.0"),
                 "field \"version\" must be a non-negative integer");
  expect_refused(edit_and_resign(text, "\"version\":7", "\"version\":-7"),
                 "field \"version\" must be a non-negative integer");
  expect_refused(edit_and_resign(text, "\"alert\":true", "\"alert\":1"), "must be true or false");
  expect_refused(edit_and_resign(text, "\"kind\":\"domain\"", "\"kind\":\"regex\""),
                 "unknown kind \"regex\"");
  expect_refused(edit_and_resign(text, "\"action\":\"nxdomain\"", "\"action\":\"refuse\""),
                 "unknown action \"refuse\"");
  expect_refused(edit_and_resign(text, "\"type\":\"full\"", "\"type\":\"patch\""),
                 "neither \"full\" nor \"delta\"");
  expect_refused(edit_and_resign(text, "{\"id\":\"case-1\",", "[{\"id\":\"case-1\","),
                 "not valid JSON");
  expect_refused(edit_and_resign(text,
                                 "{\"id\":\"case-1\",\"kind\":\"domain\",\"value\":\"bad.example\","
                                 "\"evidence\":\"case-42\"}",
                                 "[1]"),
                 "pta-csam-7.bundle:3: expected a JSON object");
}

TEST(Bundle, EntryCountMismatchIsRefused) {
  const std::string text = signed_text(sample_list());
  expect_refused(
      edit_and_resign(text, "\"entries\":5", "\"entries\":4"),
      "pta-csam-7.bundle:2: the header announces 4 entries but the bundle holds 5 lines");
  expect_refused(edit_and_resign(text, "\"entries\":5", "\"entries\":6"), "announces 6 entries");
  expect_refused(edit_and_resign(text, "\"entries\":5", "\"entries\":20000001"),
                 "more than 20000000");
}

TEST(Bundle, NonCanonicalValuesInsideASignedBundleAreRefused) {
  const std::string text = signed_text(sample_list());
  expect_refused(edit_and_resign(text, "\"value\":\"bad.example\"", "\"value\":\"BAD.example\""),
                 "pta-csam-7.bundle:3: entry \"case-1\": domain \"BAD.example\" is not canonical "
                 "(\"bad.example\")");
  expect_refused(edit_and_resign(text, "img.example.org/b/c.jpg", "img.example.org/a/../b/c.jpg"),
                 "is not canonical (\"img.example.org/b/c.jpg\")");
  expect_refused(edit_and_resign(text, "192.0.2.0/24", "192.0.2.1/24"), "entry \"case-4\": ip");
  expect_refused(edit_and_resign(text, "\"value\":\"bad.example\"", "\"value\":\"bad..example\""),
                 "is not canonical");
  expect_refused(edit_and_resign(text, "\"value\":\"bad.example\"", "\"value\":\"192.0.2.7\""),
                 "is an IP address");
  expect_refused(edit_and_resign(text, "\"value\":\"bad.example\"", "\"value\":\"\""),
                 "empty value");
  expect_refused(edit_and_resign(text, "\"value\":\"bad.example\"",
                                 "\"value\":\"" + std::string(9000, 'a') + "\""),
                 "longer than 8192 bytes");
  expect_refused(edit_and_resign(text, "\"id\":\"case-1\"", "\"id\":\"case 1\""),
                 "printable ASCII");
  // Hashed values: 32 lower-case hex digits, and only in a list with a hash key.
  expect_refused(
      edit_and_resign(text, "\"kind\":\"domain\",\"value\":\"bad.example\"",
                      "\"kind\":\"hashed_domain\",\"value\":\"" + std::string(32, 'a') + "\""),
      "hashed entry in a list without a hash key");
  // Same entries, other meta: the digest in the header no longer fits.
  expect_refused(
      edit_and_resign(text, "\"hash_key\":\"\"", "\"hash_key\":\"" + std::string(64, 'b') + "\""),
      "header digest");
}

TEST(Bundle, DuplicateEntriesAreRefused) {
  const std::string text = signed_text(sample_list());
  expect_refused(edit_and_resign(text, "\"id\":\"case-2\"", "\"id\":\"case-1\""),
                 "entry id \"case-1\" is used twice");
  expect_refused(edit_and_resign(text, "\"kind\":\"exact\",\"value\":\"www.evil.example\"",
                                 "\"kind\":\"domain\",\"value\":\"bad.example\""),
                 "entries \"case-1\" and \"case-2\" both hold domain bad.example");
  List dup = sample_list();
  dup.entries.push_back({"case-9", EntryKind::kDomain, "bad.example", std::nullopt, ""});
  expect_error([&] { validate_list(dup, "in.csv"); },
               "entries \"case-1\" and \"case-9\" both hold domain bad.example");
}

TEST(Bundle, HeaderDigestMustMatchTheEntries) {
  const std::string text = signed_text(sample_list());
  const std::string digest = list_digest(sample_list());
  std::string other = digest;
  other[0] = other[0] == 'a' ? 'b' : 'a';
  expect_refused(edit_and_resign(text, digest, other), "does not match the entries");
}

// ---- expiry and rollback
// ----------------------------------------------------------------------------

TEST(Bundle, ExpiredListIsRefusedWithTheDate) {
  const std::string text = signed_text(sample_list());
  VerifyOptions opts = at_now();
  opts.now = kExpires - 1;
  EXPECT_NO_THROW(verify_bundle(text, kName, publisher_key().public_key(), opts));
  opts.now = kExpires;
  expect_refused(text, "list pta-csam version 7 expired on 2027-01-01 (UTC)", opts);
  opts.allow_expired = true;
  EXPECT_NO_THROW(verify_bundle(text, kName, publisher_key().public_key(), opts));

  List never = sample_list();
  never.meta.expires = 0;
  opts = at_now();
  opts.now = 4102444800;  // 2100-01-01
  EXPECT_NO_THROW(verify_bundle(signed_text(never), kName, publisher_key().public_key(), opts));
}

TEST(Bundle, RollbackIsRefused) {
  const std::string v7 = signed_text(sample_list(7));
  VerifyOptions opts = at_now();
  opts.min_version = 8;
  expect_refused(
      v7, "list pta-csam version 7 is older than version 8 already accepted: refusing a rollback",
      opts);
  opts.min_version = 7;
  EXPECT_NO_THROW(verify_bundle(v7, kName, publisher_key().public_key(), opts));
  opts.min_version = 6;
  EXPECT_NO_THROW(verify_bundle(v7, kName, publisher_key().public_key(), opts));
}

TEST(Bundle, SameVersionWithOtherContentIsRefused) {
  const List accepted = sample_list(7);
  List other = sample_list(7);
  other.entries.pop_back();
  VerifyOptions opts = at_now();
  opts.min_version = 7;
  opts.known_digest = list_digest(accepted);
  expect_refused(signed_text(other), "a publisher must not reuse a version number", opts);
  EXPECT_NO_THROW(verify_bundle(signed_text(accepted), kName, publisher_key().public_key(), opts));
  // Rebuilt later (only `created` differs): the same list, accepted.
  List rebuilt = sample_list(7);
  rebuilt.meta.created += 3600;
  EXPECT_NO_THROW(verify_bundle(signed_text(rebuilt), kName, publisher_key().public_key(), opts));
  // A newer version is not compared with the accepted digest.
  EXPECT_NO_THROW(
      verify_bundle(signed_text(sample_list(8)), kName, publisher_key().public_key(), opts));
}

TEST(Bundle, ExpectedListIdIsChecked) {
  VerifyOptions opts = at_now();
  opts.expected_list_id = "fia-csam";
  expect_refused(signed_text(sample_list()), "holds list \"pta-csam\", expected \"fia-csam\"",
                 opts);
}

TEST(Bundle, MetaIsValidated) {
  List l = sample_list();
  l.meta.id = "PTA CSAM";
  expect_error([&] { validate_list(l, "x"); }, "list id \"PTA CSAM\" is not a name");
  l = sample_list();
  l.meta.version = 0;
  expect_error([&] { validate_list(l, "x"); }, "version must be 1 or more");
  l = sample_list();
  l.meta.expires = l.meta.created;
  expect_error([&] { validate_list(l, "x"); }, "is not after created");
  l = sample_list();
  l.meta.hash_key = "abc";
  expect_error([&] { validate_list(l, "x"); }, "hash_key is not 64 lower-case hex digits");
}

// ---- digest
// -------------------------------------------------------------------------------------------

TEST(ListDigest, NamesContentNotOrderOrBuildTime) {
  const List a = sample_list();
  List reordered = a;
  std::reverse(reordered.entries.begin(), reordered.entries.end());
  EXPECT_EQ(list_digest(a), list_digest(reordered));
  List later = a;
  later.meta.created += 86400;
  EXPECT_EQ(list_digest(a), list_digest(later));

  List changed = a;
  changed.entries[0].evidence = "case-43";
  EXPECT_NE(list_digest(a), list_digest(changed));
  changed = a;
  changed.meta.expires += 1;
  EXPECT_NE(list_digest(a), list_digest(changed));
  changed = a;
  changed.meta.default_action = Action::kNxdomain;
  EXPECT_NE(list_digest(a), list_digest(changed));
  EXPECT_TRUE(is_lower_hex(list_digest(a), kDigestBytes));
}

// ---- deltas
// -------------------------------------------------------------------------------------------

List next_version() {
  List v7 = sample_list(7);
  v7.entries.erase(v7.entries.begin() + 3);  // case-4 removed
  v7.entries[1].action = Action::kBlock;     // case-2 changed
  v7.entries.push_back({"case-7", EntryKind::kDomain, "new.example", std::nullopt, "case-77"});
  v7.meta.expires += 86400;
  return v7;
}

TEST(Delta, MakeApplyRoundTrip) {
  const List v6 = sample_list(6);
  const List v7 = next_version();
  const Bundle d = make_delta(v6, v7);
  EXPECT_EQ(d.type, BundleType::kDelta);
  EXPECT_EQ(d.base_version, 6u);
  EXPECT_EQ(d.base_digest, list_digest(v6));
  EXPECT_EQ(d.digest, list_digest(v7));
  ASSERT_EQ(d.entries.size(), 2u);
  EXPECT_EQ(d.entries[0].id, "case-2");
  EXPECT_EQ(d.entries[1].id, "case-7");
  EXPECT_EQ(d.removed, std::vector<std::string>{"case-4"});

  // Through the signed text, as a filter receives it.
  const std::string text = write_bundle_text(d, publisher_key());
  EXPECT_NE(text.find("\"type\":\"delta\""), std::string::npos);
  EXPECT_NE(text.find("{\"removed\":\"case-4\"}\n"), std::string::npos);
  const Bundle received =
      verify_bundle(text, "pta-csam-7.delta", publisher_key().public_key(), at_now());
  EXPECT_EQ(received.removed, d.removed);
  EXPECT_EQ(received.entries, d.entries);

  const List applied = apply_delta(v6, received, "pta-csam-7.delta");
  EXPECT_EQ(applied.meta, v7.meta);
  EXPECT_EQ(sorted_by_id(applied.entries), sorted_by_id(v7.entries));
  EXPECT_EQ(list_digest(applied), list_digest(v7));

  expect_error([&] { bundle_list(received, "pta-csam-7.delta"); }, "a full bundle is needed here");
}

TEST(Delta, BaseMismatchIsRefused) {
  const List v6 = sample_list(6);
  const Bundle d = make_delta(v6, next_version());
  expect_error([&] { apply_delta(sample_list(5), d, "d.bundle"); },
               "d.bundle: applies to version 6 of pta-csam, but the list at hand is version 5; "
               "fetch the full bundle");
  List other_v6 = v6;
  other_v6.entries.pop_back();
  expect_error([&] { apply_delta(other_v6, d, "d.bundle"); },
               "not the content this delta was made from");
  List other_list = v6;
  other_list.meta.id = "fia-csam";
  expect_error([&] { apply_delta(other_list, d, "d.bundle"); },
               "cannot apply to list \"fia-csam\"");
  expect_error([&] { apply_delta(v6, make_full_bundle(v6), "f.bundle"); }, "not a delta bundle");
}

TEST(Delta, MakeRefusesUnrelatedOrOlderLists) {
  List other = sample_list(8);
  other.meta.id = "fia-csam";
  expect_error([&] { make_delta(sample_list(6), other); },
               "a delta joins two versions of one list");
  expect_error([&] { make_delta(sample_list(7), sample_list(7)); },
               "is not above the base version 7");
  expect_error([&] { make_delta(sample_list(7), sample_list(6)); }, "is not above");
}

TEST(Delta, SchemaIsStrict) {
  const std::string text =
      write_bundle_text(make_delta(sample_list(6), next_version()), publisher_key());
  expect_refused(edit_and_resign(text, "\"base_version\":6", "\"base_version\":7"),
                 "base_version 7 is not below the list version 7");
  expect_refused(edit_and_resign(text, ",\"removed\":1}", "}"), "missing field \"removed\"");
  expect_refused(edit_and_resign(text, "{\"removed\":\"case-4\"}", "{\"removed\":\"case-7\"}"),
                 "entry \"case-7\" both added and removed");
  expect_refused(
      edit_and_resign(text, "{\"removed\":\"case-4\"}", "{\"removed\":\"case-4\",\"why\":1}"),
      "removal: unknown field \"why\"");
  expect_refused(edit_and_resign(text, "\"removed\":1}", "\"removed\":2}"), "and 2 removals");
}

TEST(Delta, ResultDigestIsChecked) {
  // A delta whose removals were cut (and re-signed) gives a list other than the publisher's.
  const List v6 = sample_list(6);
  Bundle d = make_delta(v6, next_version());
  d.removed.clear();
  expect_error([&] { apply_delta(v6, d, "d.bundle"); }, "differs from the publisher's version 7");
  Bundle bad_remove = make_delta(v6, next_version());
  bad_remove.removed = {"case-404"};
  expect_error([&] { apply_delta(v6, bad_remove, "d.bundle"); }, "removes entry \"case-404\"");
}

TEST(Diff, AddedRemovedChanged) {
  const ListDiff d = diff_lists(sample_list(6), next_version());
  ASSERT_EQ(d.added.size(), 1u);
  EXPECT_EQ(d.added[0].id, "case-7");
  ASSERT_EQ(d.removed.size(), 1u);
  EXPECT_EQ(d.removed[0].id, "case-4");
  ASSERT_EQ(d.changed.size(), 1u);
  EXPECT_EQ(d.changed[0].first.action, Action::kNxdomain);
  EXPECT_EQ(d.changed[0].second.action, Action::kBlock);
  const ListDiff none = diff_lists(sample_list(6), sample_list(7));
  EXPECT_TRUE(none.added.empty() && none.removed.empty() && none.changed.empty());
}

TEST(Inspect, ChecksEverythingButTheSignature) {
  std::string text = signed_text(sample_list());
  const Bundle b = inspect_bundle(sign_bundle_body(body_of(text), other_key()), kName);
  EXPECT_EQ(b.signer_key_id, other_key().public_key().id());
  expect_error(
      [&] { inspect_bundle(edit_and_resign(text, "\"entries\":5", "\"entries\":4"), kName); },
      "announces 4 entries");
}

}  // namespace
}  // namespace muhafiz::rules
