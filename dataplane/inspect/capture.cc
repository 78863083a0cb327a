#include "dataplane/inspect/capture.h"

#include <pcap/pcap.h>

#include <stdexcept>

namespace muhafiz::inspect {

struct CaptureReader::Handle {
  pcap_t* pcap = nullptr;
  ~Handle() {
    if (pcap != nullptr) pcap_close(pcap);
  }
};

CaptureReader::CaptureReader(const std::string& path) : handle_(std::make_unique<Handle>()) {
  char err[PCAP_ERRBUF_SIZE] = {};
  handle_->pcap = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_MICRO, err);
  if (handle_->pcap == nullptr) {
    throw std::runtime_error("cannot read capture " + path + ": " + err);
  }
  link_type_ = static_cast<uint32_t>(pcap_datalink(handle_->pcap));
}

CaptureReader::~CaptureReader() = default;

ReadResult CaptureReader::next(CaptureRecord* rec) {
  pcap_pkthdr* hdr = nullptr;
  const u_char* data = nullptr;
  const int rc = pcap_next_ex(handle_->pcap, &hdr, &data);
  if (rc == 1) {
    rec->frame = ++frame_;
    rec->time_us = static_cast<uint64_t>(hdr->ts.tv_sec) * 1'000'000u + static_cast<uint64_t>(hdr->ts.tv_usec);
    rec->wire_len = hdr->len;
    rec->data = parse::Bytes(data, hdr->caplen);
    return ReadResult::kRecord;
  }
  if (rc == PCAP_ERROR_BREAK) return ReadResult::kEnd;
  error_ = pcap_geterr(handle_->pcap);
  return ReadResult::kTruncated;
}

}  // namespace muhafiz::inspect
