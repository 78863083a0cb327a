#include "rules/list/model.h"

#include <gtest/gtest.h>

#include <string_view>

namespace muhafiz::rules {
namespace {

struct KindName {
  EntryKind kind;
  std::string_view name;
};

// The strings are part of the source formats (rules/README.md): changing one breaks lists.
constexpr KindName kKinds[] = {
    {EntryKind::kDomain, "domain"},
    {EntryKind::kExact, "exact"},
    {EntryKind::kUrl, "url"},
    {EntryKind::kPattern, "pattern"},
    {EntryKind::kIp, "ip"},
    {EntryKind::kHashedDomain, "hashed_domain"},
    {EntryKind::kHashedExact, "hashed_exact"},
    {EntryKind::kHashedUrl, "hashed_url"},
};

TEST(EntryKindTest, NamesRoundTrip) {
  for (const auto& [kind, name] : kKinds) {
    EXPECT_EQ(to_string(kind), name);
    ASSERT_TRUE(entry_kind_from_string(name).has_value()) << name;
    EXPECT_EQ(*entry_kind_from_string(name), kind) << name;
  }
}

TEST(EntryKindTest, UnknownNamesAreRefused) {
  for (std::string_view bad : {"", "Domain", "DOMAIN", "domains", "hashed", "hashed-domain",
                               " domain", "domain ", "regex"}) {
    EXPECT_FALSE(entry_kind_from_string(bad).has_value()) << "'" << bad << "'";
  }
}

TEST(EntryKindTest, HashedKinds) {
  for (const auto& [kind, name] : kKinds) {
    EXPECT_EQ(is_hashed(kind), name.starts_with("hashed_")) << name;
  }
}

struct ActionName {
  Action action;
  std::string_view name;
};

constexpr ActionName kActions[] = {
    {Action::kBlock, "block"},       {Action::kNxdomain, "nxdomain"}, {Action::kNodata, "nodata"},
    {Action::kRedirect, "redirect"}, {Action::kDrop, "drop"},         {Action::kAllow, "allow"},
};

TEST(ActionTest, NamesRoundTrip) {
  for (const auto& [action, name] : kActions) {
    EXPECT_EQ(to_string(action), name);
    ASSERT_TRUE(action_from_string(name).has_value()) << name;
    EXPECT_EQ(*action_from_string(name), action) << name;
  }
}

TEST(ActionTest, UnknownNamesAreRefused) {
  for (std::string_view bad : {"", "Block", "passthru", "rpz-passthru", "deny", "nx-domain"}) {
    EXPECT_FALSE(action_from_string(bad).has_value()) << "'" << bad << "'";
  }
}

TEST(SourceErrorTest, MessageNamesFileAndLine) {
  EXPECT_EQ((SourceError{"lists/fia.csv", 12, "unknown kind 'x'"}.message()),
            "lists/fia.csv:12: unknown kind 'x'");
  // Line 0: the problem concerns the file as a whole.
  EXPECT_EQ((SourceError{"lists/fia.csv", 0, "cannot read"}.message()),
            "lists/fia.csv: cannot read");
}

}  // namespace
}  // namespace muhafiz::rules
