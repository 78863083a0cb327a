// Offline capture reading (pcap and pcapng through libpcap) for muhafiz-inspect.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "dataplane/parse/byte_reader.h"

namespace muhafiz::inspect {

struct CaptureRecord {
  uint64_t frame = 0;        // 1-based record number, as Wireshark numbers frames
  uint64_t time_us = 0;      // capture timestamp in microseconds
  uint32_t wire_len = 0;     // original length on the wire
  parse::Bytes data;         // captured bytes (may be shorter than wire_len)
};

enum class ReadResult : uint8_t { kRecord, kEnd, kTruncated };

class CaptureReader {
 public:
  // Throws std::runtime_error with a one-line reason when the file cannot be opened or is
  // not a pcap/pcapng capture.
  explicit CaptureReader(const std::string& path);
  ~CaptureReader();
  CaptureReader(const CaptureReader&) = delete;
  CaptureReader& operator=(const CaptureReader&) = delete;

  uint32_t link_type() const noexcept { return link_type_; }
  // kTruncated: the file ends (or breaks) inside a record; error() says how.
  ReadResult next(CaptureRecord* rec);
  const std::string& error() const noexcept { return error_; }

 private:
  struct Handle;
  std::unique_ptr<Handle> handle_;
  uint32_t link_type_ = 0;
  uint64_t frame_ = 0;
  std::string error_;
};

}  // namespace muhafiz::inspect
