#include "rules/bundle/keys.h"

#include <sodium.h>
#include <sys/stat.h>

#include <optional>
#include <utility>
#include <vector>

#include "rules/bundle/file_io.h"
#include "rules/bundle/hashing.h"

namespace muhafiz::rules {

static_assert(kPublicKeyBytes == crypto_sign_PUBLICKEYBYTES);
static_assert(kSeedBytes == crypto_sign_SEEDBYTES);
static_assert(kSignatureBytes == crypto_sign_BYTES);

namespace {

constexpr std::string_view kPublicTag = "muhafiz-public-key";
constexpr std::string_view kSecretTag = "muhafiz-secret-key";
constexpr std::string_view kHashKeyTag = "muhafiz-hash-key";
constexpr std::string_view kKeyFileVersion = "1";
constexpr std::string_view kAlgorithm = "ed25519";

std::vector<std::string_view> split_spaces(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

// The one non-comment line of a key file, split into fields, with its line number.
std::vector<std::string_view> key_line(std::string_view text, std::string_view name,
                                       std::string_view tag, size_t* line_no) {
  std::optional<std::vector<std::string_view>> found;
  size_t n = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++n;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const auto fields = split_spaces(line);
    if (fields.empty() || fields[0].starts_with('#')) continue;
    if (found) {
      throw BundleError(std::string(name) + ":" + std::to_string(n) +
                        ": a key file holds one key line");
    }
    if (fields[0] != tag) {
      throw BundleError(std::string(name) + ":" + std::to_string(n) + ": expected \"" +
                        std::string(tag) + " ...\", found \"" + std::string(fields[0]) +
                        "\" (is this the right kind of key file?)");
    }
    if (fields.size() < 2 || fields[1] != kKeyFileVersion) {
      throw BundleError(std::string(name) + ":" + std::to_string(n) +
                        ": unsupported key file version (this muhafiz reads version 1)");
    }
    found = fields;
    *line_no = n;
  }
  if (!found) throw BundleError(std::string(name) + ": no key line (empty key file?)");
  return *found;
}

// "<tag> 1 ed25519 <key id> <64 hex>": the 32 key bytes and the key id as written.
void parse_ed25519_line(std::string_view text, std::string_view name, std::string_view tag,
                        std::array<uint8_t, 32>* bytes, std::string_view* key_id, size_t* line_no) {
  const auto f = key_line(text, name, tag, line_no);
  const std::string where = std::string(name) + ":" + std::to_string(*line_no) + ": ";
  if (f.size() != 5) {
    throw BundleError(where + "expected \"" + std::string(tag) + " 1 ed25519 <key id> <key hex>\"");
  }
  if (f[2] != kAlgorithm) {
    throw BundleError(where + "unsupported key algorithm \"" + std::string(f[2]) +
                      "\" (only ed25519)");
  }
  if (!from_hex(f[4], *bytes)) throw BundleError(where + "the key is not 64 hex digits");
  *key_id = f[3];
}

}  // namespace

std::string PublicKey::id() const {
  init_sodium();
  std::array<uint8_t, crypto_generichash_BYTES> h{};
  crypto_generichash(h.data(), h.size(), bytes.data(), bytes.size(), nullptr, 0);
  return to_hex(std::span<const uint8_t>(h.data(), kKeyIdBytes));
}

SecretKey SecretKey::generate() {
  init_sodium();
  std::array<uint8_t, kSeedBytes> seed{};
  randombytes_buf(seed.data(), seed.size());
  SecretKey key = from_seed(seed);
  sodium_memzero(seed.data(), seed.size());
  return key;
}

SecretKey SecretKey::from_seed(std::span<const uint8_t, kSeedBytes> seed) {
  init_sodium();
  SecretKey key;
  crypto_sign_seed_keypair(key.public_.bytes.data(), key.secret_.data(), seed.data());
  return key;
}

SecretKey::SecretKey(SecretKey&& other) noexcept : secret_(other.secret_), public_(other.public_) {
  sodium_memzero(other.secret_.data(), other.secret_.size());
}

SecretKey& SecretKey::operator=(SecretKey&& other) noexcept {
  if (this != &other) {
    secret_ = other.secret_;
    public_ = other.public_;
    sodium_memzero(other.secret_.data(), other.secret_.size());
  }
  return *this;
}

SecretKey::~SecretKey() { sodium_memzero(secret_.data(), secret_.size()); }

std::array<uint8_t, kSignatureBytes> SecretKey::sign(std::string_view message) const {
  std::array<uint8_t, kSignatureBytes> sig{};
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), secret_.data());
  return sig;
}

bool verify_signature(const PublicKey& key, std::string_view message,
                      std::span<const uint8_t, kSignatureBytes> signature) noexcept {
  return crypto_sign_verify_detached(signature.data(),
                                     reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(), key.bytes.data()) == 0;
}

std::string public_key_file_text(const PublicKey& key) {
  return "# Muhafiz list-signing public key. Pin it in every filter that takes this publisher's "
         "lists.\n" +
         std::string(kPublicTag) + " 1 ed25519 " + key.id() + " " + to_hex(key.bytes) + "\n";
}

std::string secret_key_file_text(const SecretKey& key) {
  const std::span<const uint8_t> seed(key.secret_.data(), kSeedBytes);
  return "# Muhafiz list-signing SECRET key. Keep it offline: whoever holds it can publish "
         "lists.\n" +
         std::string(kSecretTag) + " 1 ed25519 " + key.public_key().id() + " " + to_hex(seed) +
         "\n";
}

PublicKey parse_public_key_file(std::string_view text, std::string_view name) {
  PublicKey key;
  std::string_view id;
  size_t line = 0;
  parse_ed25519_line(text, name, kPublicTag, &key.bytes, &id, &line);
  if (id != key.id()) {
    throw BundleError(std::string(name) + ":" + std::to_string(line) + ": key id " +
                      std::string(id) + " does not match the key (its id is " + key.id() +
                      "): the file was altered");
  }
  return key;
}

SecretKey parse_secret_key_file(std::string_view text, std::string_view name) {
  std::array<uint8_t, 32> seed{};
  std::string_view id;
  size_t line = 0;
  parse_ed25519_line(text, name, kSecretTag, &seed, &id, &line);
  SecretKey key = SecretKey::from_seed(seed);
  sodium_memzero(seed.data(), seed.size());
  if (id != key.public_key().id()) {
    throw BundleError(std::string(name) + ":" + std::to_string(line) + ": key id " +
                      std::string(id) + " does not match the key (its id is " +
                      key.public_key().id() + "): the file was altered");
  }
  return key;
}

void write_key_files(const SecretKey& key, const std::string& secret_path,
                     const std::string& public_path) {
  struct stat st {};
  if (::lstat(public_path.c_str(), &st) == 0) {
    throw BundleError(public_path + ": already exists; refusing to overwrite it");
  }
  std::string secret_text = secret_key_file_text(key);
  try {
    write_new_file(secret_path, secret_text, 0600);
  } catch (...) {
    sodium_memzero(secret_text.data(), secret_text.size());
    throw;
  }
  sodium_memzero(secret_text.data(), secret_text.size());
  write_new_file(public_path, public_key_file_text(key.public_key()), 0644);
}

PublicKey read_public_key(const std::string& path) {
  return parse_public_key_file(read_file(path, kMaxKeyFileBytes), path);
}

SecretKey read_secret_key(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    throw BundleError(path + ": secret key file is readable by group or others; chmod 600 " + path);
  }
  std::string text = read_file(path, kMaxKeyFileBytes);
  try {
    SecretKey key = parse_secret_key_file(text, path);
    sodium_memzero(text.data(), text.size());
    return key;
  } catch (...) {
    sodium_memzero(text.data(), text.size());
    throw;
  }
}

std::string hash_key_file_text(const std::string& key_hex) {
  parse_hash_key(key_hex);
  std::string lower;
  for (const char c : key_hex)
    lower.push_back(c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c);
  return "# Muhafiz list hash key: BLAKE2b key of this list's hashed entries.\n" +
         std::string(kHashKeyTag) + " 1 " + lower + "\n";
}

void write_hash_key_file(const std::string& path, const std::string& key_hex) {
  write_new_file(path, hash_key_file_text(key_hex), 0600);
}

std::string read_hash_key_file(const std::string& path) {
  const std::string text = read_file(path, kMaxKeyFileBytes);
  size_t line = 0;
  const auto f = key_line(text, path, kHashKeyTag, &line);
  std::array<uint8_t, kHashKeyBytes> key{};
  if (f.size() != 3 || !from_hex(f[2], key)) {
    throw BundleError(path + ":" + std::to_string(line) + ": expected \"" +
                      std::string(kHashKeyTag) + " 1 <64 hex digits>\"");
  }
  return to_hex(key);
}

}  // namespace muhafiz::rules
