// Capture files: classic libpcap and pcapng, both little-endian, microsecond timestamps.
#include <fstream>
#include <stdexcept>

#include "tests/support/packet_builder.h"

namespace muhafiz::testing {

namespace {

constexpr uint32_t kPcapMagic = 0xa1b2c3d4;           // microsecond resolution
constexpr uint32_t kPcapngSectionHeader = 0x0a0d0d0a;  // pcapng SHB block type
constexpr uint32_t kPcapngByteOrderMagic = 0x1a2b3c4d;
constexpr uint32_t kPcapngInterfaceDescription = 1;
constexpr uint32_t kPcapngEnhancedPacket = 6;
constexpr uint16_t kOptEndOfOpt = 0;
constexpr uint16_t kOptShbUserAppl = 4;
constexpr uint16_t kOptIfTsresol = 9;

void append_pcapng_option(ByteVector& out, uint16_t code, ByteView value) {
  append_u16le(out, code);
  append_u16le(out, static_cast<uint16_t>(value.size()));
  append(out, value);
  while (out.size() % 4 != 0) out.push_back(0);
}

// A block: type, total length, body (padded to 32 bits), total length again.
void append_pcapng_block(ByteVector& out, uint32_t type, ByteVector body) {
  while (body.size() % 4 != 0) body.push_back(0);
  const auto total = static_cast<uint32_t>(body.size() + 12);
  append_u32le(out, type);
  append_u32le(out, total);
  append(out, body);
  append_u32le(out, total);
}

}  // namespace

PcapWriter::PcapWriter(PcapLinkType link_type, uint32_t snaplen) : link_type_(link_type), snaplen_(snaplen) {}

void PcapWriter::add(ByteView frame, uint64_t timestamp_usec) {
  if (frame.size() > snaplen_) throw std::length_error("PcapWriter: frame longer than the snap length");
  frames_.push_back(Record{timestamp_usec, ByteVector(frame.begin(), frame.end())});
}

ByteVector PcapWriter::pcap_bytes() const {
  ByteVector out;
  append_u32le(out, kPcapMagic);
  append_u16le(out, 2);  // version 2.4
  append_u16le(out, 4);
  append_u32le(out, 0);  // thiszone
  append_u32le(out, 0);  // sigfigs
  append_u32le(out, snaplen_);
  append_u32le(out, static_cast<uint32_t>(link_type_));
  for (const Record& r : frames_) {
    append_u32le(out, static_cast<uint32_t>(r.timestamp_usec / 1000000));
    append_u32le(out, static_cast<uint32_t>(r.timestamp_usec % 1000000));
    append_u32le(out, static_cast<uint32_t>(r.data.size()));  // captured
    append_u32le(out, static_cast<uint32_t>(r.data.size()));  // on the wire
    append(out, r.data);
  }
  return out;
}

ByteVector PcapWriter::pcapng_bytes() const {
  ByteVector out;
  {
    ByteVector shb;
    append_u32le(shb, kPcapngByteOrderMagic);
    append_u16le(shb, 1);  // version 1.0
    append_u16le(shb, 0);
    append_u32le(shb, 0xffffffff);  // section length unknown (-1)
    append_u32le(shb, 0xffffffff);
    append_pcapng_option(shb, kOptShbUserAppl, to_bytes("muhafiz test support"));
    append_pcapng_option(shb, kOptEndOfOpt, {});
    append_pcapng_block(out, kPcapngSectionHeader, std::move(shb));
  }
  {
    ByteVector idb;
    append_u16le(idb, static_cast<uint16_t>(link_type_));
    append_u16le(idb, 0);  // reserved
    append_u32le(idb, snaplen_);
    const uint8_t microseconds[] = {6};  // 10^-6
    append_pcapng_option(idb, kOptIfTsresol, microseconds);
    append_pcapng_option(idb, kOptEndOfOpt, {});
    append_pcapng_block(out, kPcapngInterfaceDescription, std::move(idb));
  }
  for (const Record& r : frames_) {
    ByteVector epb;
    append_u32le(epb, 0);  // interface id
    append_u32le(epb, static_cast<uint32_t>(r.timestamp_usec >> 32));
    append_u32le(epb, static_cast<uint32_t>(r.timestamp_usec));
    append_u32le(epb, static_cast<uint32_t>(r.data.size()));
    append_u32le(epb, static_cast<uint32_t>(r.data.size()));
    append(epb, r.data);
    append_pcapng_block(out, kPcapngEnhancedPacket, std::move(epb));
  }
  return out;
}

ByteVector PcapWriter::bytes(CaptureFormat format) const {
  return format == CaptureFormat::kPcapng ? pcapng_bytes() : pcap_bytes();
}

void PcapWriter::save(const std::string& path, CaptureFormat format) const {
  const ByteVector data = bytes(format);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  f.close();
  if (!f) throw std::runtime_error("PcapWriter: cannot write " + path);
}

}  // namespace muhafiz::testing
