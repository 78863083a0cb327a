#include "rules/cli/list_commands.h"

#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "rules/bundle/bundle.h"
#include "rules/bundle/hashing.h"
#include "rules/bundle/utc_time.h"
#include "rules/list/sources.h"

namespace muhafiz::rules::cli {

namespace {

constexpr std::array kAllKinds = {
    EntryKind::kDomain, EntryKind::kExact,        EntryKind::kUrl,         EntryKind::kPattern,
    EntryKind::kIp,     EntryKind::kHashedDomain, EntryKind::kHashedExact, EntryKind::kHashedUrl,
};

// A command-line mistake found after parsing (a bad date, an unknown action): exit 2 like any
// other error, with the option named.
[[noreturn]] void fail(const std::string& message) { throw BundleError(message); }

// "domain 8, url 3" in kind order; "none" when empty.
std::string kind_counts(const std::vector<Entry>& entries) {
  std::array<size_t, kAllKinds.size()> counts{};
  for (const Entry& e : entries) ++counts[static_cast<size_t>(e.kind)];
  std::string out;
  for (size_t i = 0; i < kAllKinds.size(); ++i) {
    if (counts[i] == 0) continue;
    if (!out.empty()) out += ", ";
    out += std::string(to_string(kAllKinds[i])) + " " + std::to_string(counts[i]);
  }
  return out.empty() ? "none" : out;
}

std::string entry_text(const Entry& e) {
  std::string out = std::string(to_string(e.kind)) + " " + e.value + "  id=" + e.id;
  if (e.action) out += " action=" + std::string(to_string(*e.action));
  if (!e.evidence.empty()) out += " evidence=" + e.evidence;
  return out;
}

std::string expiry_text(int64_t expires) { return expires == 0 ? "never" : format_utc(expires); }

std::string bundle_kind_text(const Bundle& b) {
  return b.type == BundleType::kFull ? "full"
                                     : "delta from version " + std::to_string(b.base_version);
}

void print_source_messages(const SourceResult& r) {
  for (const SourceError& e : r.notes) std::cerr << "note: " << e.message() << "\n";
  for (const SourceError& e : r.skipped) std::cerr << "skipped: " << e.message() << "\n";
}

SourceFormat format_of(const std::string& path, const std::string& format) {
  if (!format.empty()) {
    const auto f = source_format_from_string(format);
    if (!f) fail("--format " + format + ": expected csv, plain, hosts, rpz or yaml");
    return *f;
  }
  const auto f = guess_source_format(path);
  if (!f) {
    fail(path +
         ": cannot tell the format from the file name; give --format "
         "(csv, plain, hosts, rpz or yaml)");
  }
  return *f;
}

// Entries of every input, in order. A (kind, value) given twice with the same action is kept
// once (with a note); with different actions, or one id for two entries, it is an error.
std::vector<Entry> read_inputs(const std::vector<std::string>& paths, const std::string& format,
                               bool skip_invalid) {
  std::vector<Entry> merged;
  std::vector<const std::string*> origin;
  std::unordered_map<std::string, size_t> by_value;
  std::unordered_map<std::string, size_t> by_id;
  size_t skipped = 0;
  for (const std::string& path : paths) {
    SourceResult r = read_source(path, format_of(path, format), SourceOptions{skip_invalid});
    print_source_messages(r);
    skipped += r.skipped.size();
    for (Entry& e : r.entries) {
      std::string key = std::string(to_string(e.kind)) + '\0' + e.value;
      const std::string what = std::string(to_string(e.kind)) + " " + e.value;
      if (const auto it = by_value.find(key); it != by_value.end()) {
        const Entry& first = merged[it->second];
        if (first.action != e.action) {
          fail(path + ": " + what + ": its action differs from the same entry in " +
               *origin[it->second]);
        }
        std::cerr << "note: " << path << ": " << what << " is also in " << *origin[it->second]
                  << ", dropped\n";
        continue;
      }
      if (const auto it = by_id.find(e.id); it != by_id.end()) {
        fail(path + ": entry id '" + e.id + "' (" + what + ") is also used in " +
             *origin[it->second] + " for " + std::string(to_string(merged[it->second].kind)) + " " +
             merged[it->second].value);
      }
      by_value.emplace(std::move(key), merged.size());
      by_id.emplace(e.id, merged.size());
      origin.push_back(&path);
      merged.push_back(std::move(e));
    }
  }
  if (skipped > 0) std::cerr << "skipped " << skipped << " invalid lines (--skip-invalid)\n";
  return merged;
}

int64_t date_option(const std::string& option, const std::string& text) {
  const auto t = parse_utc(text);
  if (!t) fail(option + " " + text + ": expected a UTC date, 2027-01-01 or 2027-01-01T12:00:00Z");
  return *t;
}

// Bundles used as history (a delta's base, the last accepted version): signed by the same key,
// possibly expired since.
Bundle read_history_bundle(const std::string& path, const PublicKey& key,
                           const std::string& list_id) {
  VerifyOptions opts;
  opts.allow_expired = true;
  if (!list_id.empty()) opts.expected_list_id = list_id;
  return read_bundle(path, key, opts);
}

// ---- keygen -----------------------------------------------------------------------------------

struct KeygenArgs {
  std::string secret_path;
  std::string public_path;
  std::string hash_key_path;
};

void run_keygen(const KeygenArgs& a) {
  if (!a.hash_key_path.empty()) {
    if (!a.secret_path.empty() || !a.public_path.empty()) {
      fail(
          "keygen: --hash-key makes a list hash key alone; run keygen again for --secret/--public");
    }
    write_hash_key_file(a.hash_key_path, generate_hash_key_hex());
    std::cout << "wrote list hash key " << a.hash_key_path << " (mode 0600)\n";
    return;
  }
  if (a.secret_path.empty() || a.public_path.empty()) {
    fail("keygen: give --secret and --public (a signing key pair), or --hash-key");
  }
  const SecretKey key = SecretKey::generate();
  write_key_files(key, a.secret_path, a.public_path);
  std::cout << "wrote secret key " << a.secret_path
            << " (mode 0600, keep it offline) and public key " << a.public_path << "\nkey id "
            << key.public_key().id() << "\n";
}

// ---- build ------------------------------------------------------------------------------------

struct BuildArgs {
  std::string list_id;
  uint64_t version = 0;
  std::string category;
  std::string publisher;
  std::string default_action = "block";
  bool alert = false;
  std::string expires;
  std::string created;
  std::vector<std::string> inputs;
  std::string format;
  bool skip_invalid = false;
  std::string hash_key_file;
  std::string key_path;
  std::string out;
  std::string delta_from;
};

void run_build(const BuildArgs& a) {
  const SecretKey key = read_secret_key(a.key_path);
  ListMeta meta;
  meta.id = a.list_id;
  meta.publisher = a.publisher;
  meta.category = a.category;
  meta.version = a.version;
  meta.alert = a.alert;
  const auto action = action_from_string(a.default_action);
  if (!action) {
    fail("--default-action " + a.default_action +
         ": expected block, nxdomain, nodata, redirect, drop or allow");
  }
  meta.default_action = *action;
  const int64_t now = unix_now();
  meta.created = a.created.empty() ? now : date_option("--created", a.created);
  if (a.expires != "never") {
    meta.expires = date_option("--expires", a.expires);
    if (meta.expires <= now) {
      fail("--expires " + a.expires + " is in the past; a filter would refuse the list at once");
    }
  }
  if (!a.hash_key_file.empty()) meta.hash_key = read_hash_key_file(a.hash_key_file);

  List list{meta, read_inputs(a.inputs, a.format, a.skip_invalid)};
  if (list.entries.empty())
    fail(a.out + ": no entries in the inputs; refusing to publish an empty list");
  const auto hashed = std::count_if(list.entries.begin(), list.entries.end(),
                                    [](const Entry& e) { return is_hashed(e.kind); });
  if (hashed > 0 && meta.hash_key.empty()) {
    fail(std::to_string(hashed) +
         " hashed entries but no --hash-key-file: give the key they were hashed with");
  }
  validate_list(list, a.out);

  std::string text;
  std::string summary;
  if (a.delta_from.empty()) {
    text = write_bundle_text(make_full_bundle(list), key);
    summary =
        "full, " + std::to_string(list.entries.size()) + " entries: " + kind_counts(list.entries);
  } else {
    const Bundle base = read_history_bundle(a.delta_from, key.public_key(), meta.id);
    const Bundle delta = make_delta(bundle_list(base, a.delta_from), list);
    text = write_bundle_text(delta, key);
    summary = "delta from version " + std::to_string(base.meta.version) + ", " +
              std::to_string(delta.entries.size()) + " added or changed (" +
              kind_counts(delta.entries) + "), " + std::to_string(delta.removed.size()) +
              " removed; " + std::to_string(list.entries.size()) + " entries in version " +
              std::to_string(meta.version);
  }
  write_file_replacing(a.out, text);
  std::cout << "wrote " << a.out << ": list " << meta.id << " version " << meta.version << " ("
            << summary << ")\nexpires " << expiry_text(meta.expires) << ", signed by key "
            << key.public_key().id() << "\n";
}

// ---- verify -----------------------------------------------------------------------------------

struct VerifyArgs {
  std::string public_path;
  uint64_t min_version = 0;
  std::string known_digest;
  std::string previous;
  std::string list_id;
  std::string base;
  std::string bundle;
};

void run_verify(const VerifyArgs& a) {
  const PublicKey key = read_public_key(a.public_path);
  VerifyOptions opts;
  if (!a.list_id.empty()) opts.expected_list_id = a.list_id;
  opts.min_version = a.min_version;
  opts.known_digest = a.known_digest;
  if (!a.known_digest.empty() && !is_lower_hex(a.known_digest, kDigestBytes)) {
    fail("--known-digest: expected the 64 lower-case hex digits `show` prints");
  }
  if (!a.known_digest.empty() && a.min_version == 0) {
    fail("--known-digest: give --min-version, the version that digest was accepted at");
  }
  if (!a.previous.empty()) {
    const Bundle prev = read_history_bundle(a.previous, key, a.list_id);
    if (prev.meta.version > opts.min_version) {
      opts.min_version = prev.meta.version;
      opts.known_digest = prev.digest;
    } else if (prev.meta.version == opts.min_version && opts.known_digest.empty()) {
      opts.known_digest = prev.digest;
    }
  }
  const Bundle b = read_bundle(a.bundle, key, opts);
  std::cout << a.bundle << ": OK: list " << b.meta.id << " version " << b.meta.version << " ("
            << bundle_kind_text(b) << "), " << b.entries.size()
            << (b.type == BundleType::kFull ? " entries" : " added or changed");
  if (b.type == BundleType::kDelta) std::cout << ", " << b.removed.size() << " removed";
  std::cout << ", expires " << expiry_text(b.meta.expires) << ", signed by key " << b.signer_key_id
            << "\ndigest " << b.digest << "\n";
  if (b.type == BundleType::kDelta) {
    if (a.base.empty()) {
      std::cout << "note: give --base (the full bundle of version " << b.base_version
                << ") to check the list this delta produces\n";
      return;
    }
    const Bundle base = read_history_bundle(a.base, key, b.meta.id);
    const List result = apply_delta(bundle_list(base, a.base), b, a.bundle);
    std::cout << "applied to " << a.base << ": version " << result.meta.version << " holds "
              << result.entries.size() << " entries (" << kind_counts(result.entries) << ")\n";
  } else if (!a.base.empty()) {
    fail("--base: " + a.bundle + " is a full bundle; --base is for deltas");
  }
}

// ---- diff -------------------------------------------------------------------------------------

struct DiffArgs {
  std::string public_path;
  std::string old_path;
  std::string new_path;
};

void print_meta_changes(const ListMeta& a, const ListMeta& b) {
  const auto line = [](const char* field, const std::string& x, const std::string& y) {
    if (x != y) std::cout << "meta " << field << ": " << x << " -> " << y << "\n";
  };
  line("publisher", a.publisher, b.publisher);
  line("category", a.category, b.category);
  line("created", format_utc(a.created), format_utc(b.created));
  line("expires", expiry_text(a.expires), expiry_text(b.expires));
  line("default_action", std::string(to_string(a.default_action)),
       std::string(to_string(b.default_action)));
  line("alert", a.alert ? "yes" : "no", b.alert ? "yes" : "no");
  line("hash_key", a.hash_key.empty() ? "none" : "set", b.hash_key.empty() ? "none" : "set");
  if (!a.hash_key.empty() && !b.hash_key.empty() && a.hash_key != b.hash_key) {
    std::cout << "meta hash_key: changed (every hashed entry changes with it)\n";
  }
}

void run_diff(const DiffArgs& a) {
  std::optional<PublicKey> key;
  if (!a.public_path.empty()) key = read_public_key(a.public_path);
  const auto load = [&](const std::string& path) {
    return key ? read_history_bundle(path, *key, "") : inspect_bundle_file(path);
  };
  if (!key) std::cerr << "note: signatures not checked (give --public to check them)\n";
  const Bundle old_bundle = load(a.old_path);
  const Bundle new_bundle = load(a.new_path);
  const List old_list = bundle_list(old_bundle, a.old_path);
  const List new_list = new_bundle.type == BundleType::kFull
                            ? bundle_list(new_bundle, a.new_path)
                            : apply_delta(old_list, new_bundle, a.new_path);
  if (old_list.meta.id != new_list.meta.id) {
    fail(a.new_path + ": list " + new_list.meta.id + ", but " + a.old_path + " holds list " +
         old_list.meta.id + "; diff compares two versions of one list");
  }
  const ListDiff d = diff_lists(old_list, new_list);
  std::vector<Entry> changed_new;
  for (const auto& [before, after] : d.changed) changed_new.push_back(after);
  std::cout << "list " << new_list.meta.id << ": version " << old_list.meta.version << " -> "
            << new_list.meta.version << "\n";
  print_meta_changes(old_list.meta, new_list.meta);
  std::cout << "added:   " << d.added.size() << " (" << kind_counts(d.added) << ")\n"
            << "removed: " << d.removed.size() << " (" << kind_counts(d.removed) << ")\n"
            << "changed: " << d.changed.size() << " (" << kind_counts(changed_new) << ")\n";
  for (const Entry& e : d.added) std::cout << "+ " << entry_text(e) << "\n";
  for (const Entry& e : d.removed) std::cout << "- " << entry_text(e) << "\n";
  for (const auto& [before, after] : d.changed) {
    std::cout << "~ " << entry_text(before) << "\n  -> " << entry_text(after) << "\n";
  }
}

// ---- hash -------------------------------------------------------------------------------------

struct HashArgs {
  std::string key_file;
  std::string in;
  std::string format;
  std::string out;
  bool skip_invalid = false;
};

// The id rules/list derives for an entry without one: the first 8 bytes of
// SHA-256("<kind>:<value>"), in hex. An id derived from a plaintext value would let anyone
// confirm a guessed address without the hash key, so hashed output never keeps one.
std::string plaintext_derived_id(EntryKind kind, const std::string& value) {
  const std::string input = std::string(to_string(kind)) + ":" + value;
  std::array<uint8_t, crypto_hash_sha256_BYTES> md{};
  crypto_hash_sha256(md.data(), reinterpret_cast<const unsigned char*>(input.data()), input.size());
  return to_hex(std::span<const uint8_t>(md.data(), 8));
}

// RFC 4180 field, quoted when it holds a separator, a quote or edge blanks (rules/list trims
// unquoted fields).
std::string csv_field(std::string_view s) {
  const bool quote = s.find_first_of(",\"") != std::string_view::npos ||
                     (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.back() == ' ' ||
                                     s.back() == '\t'));
  if (!quote) return std::string(s);
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Best effort: an id or evidence that spells out the address (or a URL's host) would undo the
// hashing.
bool reveals(std::string_view text, const Entry& plain) {
  const std::string t = ascii_lower(text);
  const std::string_view value = plain.value;
  const std::string_view host = value.substr(0, value.find('/'));
  return !t.empty() && (t.find(value) != std::string::npos || t.find(host) != std::string::npos);
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {};
  struct stat sb {};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

void run_hash(const HashArgs& a) {
  const std::string key_hex = read_hash_key_file(a.key_file);
  if (same_file(a.in, a.out))
    fail("--out " + a.out + " is the input file; the plaintext must stay apart");
  SourceResult r = read_source(a.in, format_of(a.in, a.format), SourceOptions{a.skip_invalid});
  print_source_messages(r);
  std::string csv = "kind,value,action,id,evidence\n";
  std::vector<Entry> hashed;
  hashed.reserve(r.entries.size());
  for (const Entry& e : r.entries) {
    Entry h = e;
    switch (e.kind) {
      case EntryKind::kDomain:
        h.kind = EntryKind::kHashedDomain;
        break;
      case EntryKind::kExact:
        h.kind = EntryKind::kHashedExact;
        break;
      case EntryKind::kUrl:
        h.kind = EntryKind::kHashedUrl;
        break;
      case EntryKind::kPattern:
      case EntryKind::kIp:
        fail(a.in + ": entry " + e.id + " (" + std::string(to_string(e.kind)) + "): only domain, " +
             "exact and url entries can be hashed; keep " + std::string(to_string(e.kind)) +
             " entries in a list of their own");
      case EntryKind::kHashedDomain:
      case EntryKind::kHashedExact:
      case EntryKind::kHashedUrl:
        fail(a.in + ": entry " + e.id + " is already hashed");
    }
    if (reveals(e.id, e)) {
      fail(a.in + ": entry id '" + e.id +
           "' spells out its address; give an opaque id (a case "
           "number) or none");
    }
    if (reveals(e.evidence, e)) {
      fail(a.in + ": the evidence of entry " + e.id +
           " spells out its address; hashing would "
           "not hide it");
    }
    h.value = hashed_entry_value(key_hex, e.value);
    const bool derived = e.id == plaintext_derived_id(e.kind, e.value);
    csv += std::string(to_string(h.kind)) + "," + h.value + "," +
           (h.action ? std::string(to_string(*h.action)) : std::string()) + "," +
           (derived ? std::string() : csv_field(h.id)) + "," + csv_field(h.evidence) + "\n";
    hashed.push_back(std::move(h));
  }
  if (hashed.empty()) fail(a.in + ": no entries to hash");
  write_file_replacing(a.out, csv);
  std::cout << "wrote " << a.out << ": " << hashed.size() << " hashed entries ("
            << kind_counts(hashed) << "); build the list with --hash-key-file " << a.key_file
            << "\n";
}

// ---- show -------------------------------------------------------------------------------------

struct ShowArgs {
  std::string public_path;
  bool entries = false;
  std::string bundle;
};

void run_show(const ShowArgs& a) {
  Bundle b;
  std::string signature;
  if (!a.public_path.empty()) {
    const PublicKey key = read_public_key(a.public_path);
    b = read_history_bundle(a.bundle, key, "");
    signature = "by key " + b.signer_key_id + " (verified with " + a.public_path + ")";
  } else {
    b = inspect_bundle_file(a.bundle);
    signature = "by key " + b.signer_key_id + " (NOT checked: give --public)";
  }
  const ListMeta& m = b.meta;
  const int64_t now = unix_now();
  std::string expiry = expiry_text(m.expires);
  if (m.expires != 0 && m.expires <= now) {
    expiry += "  EXPIRED: filters refuse this list";
  } else if (m.expires != 0) {
    expiry += "  (in " + std::to_string((m.expires - now) / 86400) + " days)";
  }
  std::map<std::string, size_t> overrides;
  for (const Entry& e : b.entries) {
    if (e.action) ++overrides[std::string(to_string(*e.action))];
  }
  std::string override_text;
  for (const auto& [name, count] : overrides) {
    override_text += (override_text.empty() ? "" : ", ") + name + " " + std::to_string(count);
  }
  std::cout << "bundle     " << a.bundle << " (" << bundle_kind_text(b) << ", format "
            << kBundleFormatVersion << ")\n"
            << "list       " << m.id << "\n"
            << "publisher  " << m.publisher << "\n"
            << "category   " << m.category << "\n"
            << "version    " << m.version << "\n"
            << "created    " << format_utc(m.created) << "\n"
            << "expires    " << expiry << "\n"
            << "action     " << to_string(m.default_action)
            << (override_text.empty() ? "" : " (overridden: " + override_text + ")") << "\n"
            << "alert      " << (m.alert ? "yes: matches raise FIA alerts" : "no") << "\n"
            << "hash key   " << (m.hash_key.empty() ? "none" : "set") << "\n";
  if (b.type == BundleType::kFull) {
    std::cout << "entries    " << b.entries.size() << ": " << kind_counts(b.entries) << "\n";
  } else {
    std::cout << "changes    " << b.entries.size() << " added or changed ("
              << kind_counts(b.entries) << "), " << b.removed.size() << " removed\n"
              << "base       version " << b.base_version << ", digest " << b.base_digest << "\n";
  }
  std::cout << "digest     " << b.digest << "\n"
            << "signed     " << signature << "\n";
  if (a.entries) {
    for (const Entry& e : b.entries) std::cout << "  " << entry_text(e) << "\n";
    for (const std::string& id : b.removed) std::cout << "  removed id=" << id << "\n";
  }
}

}  // namespace

void add_list_commands(CLI::App& app) {
  {
    auto args = std::make_shared<KeygenArgs>();
    CLI::App* sub = app.add_subcommand(
        "keygen",
        "Make a publisher signing key pair (Ed25519), or with --hash-key a list hash key. "
        "Existing files are never overwritten.");
    sub->add_option("--secret", args->secret_path, "secret key file to create (mode 0600)");
    sub->add_option("--public", args->public_path, "public key file to create (pin it in filters)");
    sub->add_option("--hash-key", args->hash_key_path,
                    "instead: create a 32-byte list hash key file (for hashed entries)");
    sub->callback([args] { run_keygen(*args); });
  }
  {
    auto args = std::make_shared<BuildArgs>();
    CLI::App* sub = app.add_subcommand(
        "build",
        "Read list sources and write a signed bundle (full, or a delta with --delta-from).");
    sub->add_option("--list-id", args->list_id, "list id, e.g. pta-csam")->required();
    sub->add_option("--version", args->version, "list version, above every earlier one")
        ->required()
        ->check(CLI::PositiveNumber);
    sub->add_option("--category", args->category, "category, e.g. csam")->required();
    sub->add_option("--publisher", args->publisher, "publisher, e.g. pta")->required();
    sub->add_option("--default-action", args->default_action,
                    "block, nxdomain, nodata, redirect, drop or allow")
        ->default_val("block");
    sub->add_flag("--alert", args->alert, "matches of this list raise FIA alerts");
    sub->add_option("--expires", args->expires,
                    "expiry date (UTC), 2027-01-01 or 2027-01-01T00:00:00Z, or 'never'")
        ->required();
    sub->add_option("--created", args->created, "creation date (UTC); default: now");
    sub->add_option("--in", args->inputs, "list source (repeat for several)")->required();
    sub->add_option("--format", args->format,
                    "csv, plain, hosts, rpz or yaml for every --in; default: from each file name");
    sub->add_flag("--skip-invalid", args->skip_invalid,
                  "skip bad source lines (each is reported) instead of failing");
    sub->add_option("--hash-key-file", args->hash_key_file,
                    "the list hash key the hashed entries were made with");
    sub->add_option("--key", args->key_path, "publisher secret key file")->required();
    sub->add_option("--out", args->out, "bundle file to write")->required();
    sub->add_option("--delta-from", args->delta_from,
                    "full bundle of an earlier version: write a delta from it");
    sub->callback([args] { run_build(*args); });
  }
  {
    auto args = std::make_shared<VerifyArgs>();
    CLI::App* sub = app.add_subcommand(
        "verify",
        "Check a bundle as a filter would: signature with the pinned key, format, entries, expiry, "
        "rollback. Exit 0 when it passes, 2 with the reason.");
    sub->add_option("--public", args->public_path, "the publisher's pinned public key file")
        ->required();
    sub->add_option("--min-version", args->min_version,
                    "refuse versions below this one (anti-rollback)");
    sub->add_option(
        "--known-digest", args->known_digest,
        "digest accepted at --min-version: the same version with other content is refused");
    sub->add_option("--previous", args->previous,
                    "the last accepted bundle: sets --min-version and --known-digest from it");
    sub->add_option("--list-id", args->list_id, "refuse a bundle of another list");
    sub->add_option("--base", args->base, "for a delta: the full bundle it applies to");
    sub->add_option("bundle", args->bundle, "bundle file")->required();
    sub->callback([args] { run_verify(*args); });
  }
  {
    auto args = std::make_shared<DiffArgs>();
    CLI::App* sub = app.add_subcommand(
        "diff",
        "What changed between two versions of a list: counts by kind, then the entries. "
        "NEW may be a delta of OLD.");
    sub->add_option("--public", args->public_path, "check both signatures with this public key");
    sub->add_option("old", args->old_path, "full bundle of the earlier version")->required();
    sub->add_option("new", args->new_path, "bundle of the later version (full or delta)")
        ->required();
    sub->callback([args] { run_diff(*args); });
  }
  {
    auto args = std::make_shared<HashArgs>();
    CLI::App* sub = app.add_subcommand(
        "hash",
        "Turn domain, exact and url entries into hashed_domain, hashed_exact and hashed_url (keyed "
        "BLAKE2b); the output CSV holds no plaintext value and no id derived from one.");
    sub->add_option("--key-file", args->key_file, "list hash key file (keygen --hash-key)")
        ->required();
    sub->add_option("--in", args->in, "plaintext list source")->required();
    sub->add_option("--format", args->format, "format of --in; default: from the file name");
    sub->add_option("--out", args->out, "CSV file to write")->required();
    sub->add_flag("--skip-invalid", args->skip_invalid, "skip bad source lines (each is reported)");
    sub->callback([args] { run_hash(*args); });
  }
  {
    auto args = std::make_shared<ShowArgs>();
    CLI::App* sub = app.add_subcommand("show", "Print a bundle's list, version, dates and counts.");
    sub->add_option("--public", args->public_path, "check the signature with this public key");
    sub->add_flag("--entries", args->entries, "also print every entry");
    sub->add_option("bundle", args->bundle, "bundle file")->required();
    sub->callback([args] { run_show(*args); });
  }
}

}  // namespace muhafiz::rules::cli
