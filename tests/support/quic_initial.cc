// QUIC client Initial packets, protected as a client would (RFC 9001 §5). Keys come from the
// project's own derivation (muhafiz_parse_quic); encryption and header protection are done
// here with OpenSSL directly, so the parser's decrypt path is checked against an independent
// implementation of the sealing side.
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <memory>
#include <stdexcept>

#include "dataplane/parse/quic.h"
#include "tests/support/packet_builder.h"

namespace muhafiz::testing {

namespace {

constexpr size_t kAeadTagLen = 16;     // RFC 9001 §5.3: AEAD_AES_128_GCM
constexpr size_t kHpSampleLen = 16;    // RFC 9001 §5.4.2
constexpr size_t kLengthFieldLen = 2;  // we always write Length as a 2-byte varint
constexpr uint32_t kVersion2 = 0x6b3343cf;

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

CipherCtx new_ctx() {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) throw std::runtime_error("quic: EVP_CIPHER_CTX_new failed");
  return ctx;
}

// AES-128-GCM seal; returns ciphertext followed by the 16-byte tag.
ByteVector aead_seal(const uint8_t (&key)[16], const uint8_t (&nonce)[12], ByteView aad, ByteView plaintext) {
  CipherCtx ctx = new_ctx();
  ByteVector out(plaintext.size() + kAeadTagLen);
  int len = 0;
  bool ok = EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) == 1 &&
            EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key, nonce) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1 &&
            EVP_EncryptUpdate(ctx.get(), out.data(), &len, plaintext.data(), static_cast<int>(plaintext.size())) == 1;
  int final_len = 0;
  ok = ok && EVP_EncryptFinal_ex(ctx.get(), out.data() + len, &final_len) == 1 &&
       EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kAeadTagLen),
                           out.data() + plaintext.size()) == 1;
  if (!ok) throw std::runtime_error("quic: AES-128-GCM seal failed");
  return out;
}

// RFC 9001 §5.4.3: mask = AES-ECB(hp_key, sample).
std::array<uint8_t, 16> header_protection_mask(const uint8_t (&hp)[16], ByteView sample) {
  CipherCtx ctx = new_ctx();
  std::array<uint8_t, 32> out{};
  int len = 0;
  const bool ok = EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_ecb(), nullptr, hp, nullptr) == 1 &&
                  EVP_CIPHER_CTX_set_padding(ctx.get(), 0) == 1 &&
                  EVP_EncryptUpdate(ctx.get(), out.data(), &len, sample.data(), static_cast<int>(sample.size())) == 1 &&
                  len == 16;
  if (!ok) throw std::runtime_error("quic: AES-ECB header protection failed");
  std::array<uint8_t, 16> mask{};
  std::copy_n(out.begin(), 16, mask.begin());
  return mask;
}

size_t header_length(const QuicInitialSpec& spec) {
  ByteVector token_len;
  append_quic_varint(token_len, spec.token.size());
  return 1 + 4 + 1 + spec.dcid.size() + 1 + spec.scid.size() + token_len.size() + spec.token.size() +
         kLengthFieldLen + spec.packet_number_length;
}

}  // namespace

void append_quic_varint(ByteVector& out, uint64_t v) {
  if (v < 0x40) {
    append_u8(out, static_cast<uint8_t>(v));
  } else if (v < 0x4000) {
    append_u16be(out, static_cast<uint16_t>(0x4000 | v));
  } else if (v < 0x40000000) {
    append_u32be(out, static_cast<uint32_t>(0x80000000u | v));
  } else {
    throw std::length_error("quic varint: values from 2^30 are not needed here");
  }
}

std::vector<QuicCryptoChunk> quic_crypto_chunks(ByteView hello, std::span<const size_t> offsets) {
  std::vector<QuicCryptoChunk> chunks;
  uint64_t at = 0;
  for (ByteVector& piece : split_at(hello, offsets)) {
    const size_t n = piece.size();
    chunks.push_back(QuicCryptoChunk{at, std::move(piece)});
    at += n;
  }
  return chunks;
}

ByteVector quic_initial_plaintext(const QuicInitialSpec& spec) {
  ByteVector frames;
  for (const QuicCryptoChunk& c : spec.crypto) {
    append_u8(frames, 0x06);  // CRYPTO (RFC 9000 §19.6)
    append_quic_varint(frames, c.offset);
    append_quic_varint(frames, c.data.size());
    append(frames, c.data);
  }
  const size_t fixed = header_length(spec) + kAeadTagLen;
  if (fixed + frames.size() < spec.datagram_size) frames.resize(spec.datagram_size - fixed, 0x00);  // PADDING
  // RFC 9001 §5.4.2: the sample starts 4 bytes after the packet number start.
  const size_t min_payload = 4 + kHpSampleLen - spec.packet_number_length - kAeadTagLen;
  if (frames.size() < min_payload) frames.resize(min_payload, 0x00);
  return frames;
}

ByteVector quic_client_initial(const QuicInitialSpec& spec) {
  if (spec.packet_number_length < 1 || spec.packet_number_length > 4) {
    throw std::invalid_argument("quic: packet number length must be 1..4");
  }
  if (spec.dcid.size() < 8 || spec.dcid.size() > 20 || spec.scid.size() > 20) {
    throw std::invalid_argument("quic: client DCID must be 8..20 bytes (RFC 9000 §7.2), SCID at most 20");
  }
  parse::QuicInitialDecryptor deriver;
  parse::QuicInitialKeys keys{};
  if (!deriver.ok() || !deriver.derive(spec.version, spec.dcid, &keys)) {
    throw std::runtime_error("quic: Initial key derivation failed");
  }

  const ByteVector plaintext = quic_initial_plaintext(spec);
  const size_t length = spec.packet_number_length + plaintext.size() + kAeadTagLen;
  if (length >= 0x4000) throw std::length_error("quic: packet over the 2-byte Length field");

  // Long header (RFC 9000 §17.2.2); the Initial type is 0b00 in v1 and 0b01 in v2 (RFC 9369 §3.2).
  const uint8_t type_bits = spec.version == kVersion2 ? 0x01 : 0x00;
  ByteVector packet;
  append_u8(packet, static_cast<uint8_t>(0xc0 | type_bits << 4 | (spec.packet_number_length - 1)));
  append_u32be(packet, spec.version);
  append_u8(packet, static_cast<uint8_t>(spec.dcid.size()));
  append(packet, spec.dcid);
  append_u8(packet, static_cast<uint8_t>(spec.scid.size()));
  append(packet, spec.scid);
  append_quic_varint(packet, spec.token.size());
  append(packet, spec.token);
  append_u16be(packet, static_cast<uint16_t>(0x4000 | length));
  const size_t pn_offset = packet.size();
  for (size_t i = spec.packet_number_length; i-- > 0;) {
    append_u8(packet, static_cast<uint8_t>(spec.packet_number >> (8 * i)));
  }

  // RFC 9001 §5.3: nonce = IV xor the packet number, left-padded to the IV length.
  uint8_t nonce[12];
  std::copy_n(keys.iv, 12, nonce);
  for (size_t i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<uint8_t>(uint64_t{spec.packet_number} >> (8 * i));
  append(packet, aead_seal(keys.key, nonce, packet, plaintext));

  // RFC 9001 §5.4.1: mask the low 4 bits of the first byte and the packet number bytes.
  const auto mask = header_protection_mask(keys.hp, ByteView(packet).subspan(pn_offset + 4, kHpSampleLen));
  packet[0] = static_cast<uint8_t>(packet[0] ^ (mask[0] & 0x0f));
  for (size_t i = 0; i < spec.packet_number_length; ++i) {
    packet[pn_offset + i] = static_cast<uint8_t>(packet[pn_offset + i] ^ mask[1 + i]);
  }
  return packet;
}

}  // namespace muhafiz::testing
