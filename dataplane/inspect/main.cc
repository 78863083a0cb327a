// muhafiz-inspect CAPTURE: offline extraction with the dataplane's own decoders.
#include <CLI/CLI.hpp>
#include <iostream>

#include "dataplane/inspect/inspect.h"

int main(int argc, char** argv) {
  muhafiz::inspect::InspectOptions opts;
  CLI::App app{
      "Prints what Muhafiz extracts from a capture (pcap or pcapng): DNS query names, TLS and QUIC "
      "ClientHello SNI, HTTP Host and request-target, one JSON object per line.\n"
      "Exit status: 0 done, 1 usage, 2 capture missing/unreadable, 3 capture truncated (what it held "
      "was printed).",
      "muhafiz-inspect"};
  app.add_option("capture", opts.capture, "capture file (pcap or pcapng)")->required();
  app.add_flag("--summary", opts.summary, "print counts per kind and per anomaly instead of observations");
  app.add_option("--ruleset", opts.ruleset,
                 "compiled ruleset (muhafiz-list compile): add each observation's verdict");
  app.add_option("--max-flows", opts.extractor.flows.capacity, "flow table capacity")
      ->default_val(opts.extractor.flows.capacity);
  app.add_option("--buffers", opts.extractor.flows.buffers, "reassembly buffers (flows with a split message)")
      ->default_val(opts.extractor.flows.buffers);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : muhafiz::inspect::kExitUsage;
  }
  std::ios::sync_with_stdio(false);
  return muhafiz::inspect::run_inspect(opts, std::cout, std::cerr);
}
