#include "dataplane/engine/worker_stage.h"

#include <algorithm>
#include <cstring>

#include "dataplane/extract/rules_kind.h"

namespace muhafiz::engine {

using parse::ParseStatus;

namespace {

constexpr uint64_t kUsPerSecond = 1'000'000;

api::EventKind event_kind(extract::ObservationKind k) noexcept {
  switch (k) {
    case extract::ObservationKind::kDns:
      return api::EventKind::kDns;
    case extract::ObservationKind::kTlsSni:
      return api::EventKind::kTlsSni;
    case extract::ObservationKind::kQuicSni:
      return api::EventKind::kQuicSni;
    case extract::ObservationKind::kHttp:
      return api::EventKind::kHttp;
  }
  return api::EventKind::kDns;
}

EngineCounter inspected_counter(extract::ObservationKind k) noexcept {
  switch (k) {
    case extract::ObservationKind::kDns:
      return kInspectedDns;
    case extract::ObservationKind::kTlsSni:
      return kInspectedTlsSni;
    case extract::ObservationKind::kQuicSni:
      return kInspectedQuicSni;
    case extract::ObservationKind::kHttp:
      return kInspectedHttp;
  }
  return kInspectedDns;
}

size_t address_len(parse::IpFamily f) noexcept { return f == parse::IpFamily::kV4 ? 4 : 16; }

// Multicast and broadcast destinations (mDNS, LLMNR, SSDP) are not answered: a reply would
// claim to come from a group address.
bool is_unicast(const parse::IpAddress& a) noexcept {
  if (a.family == parse::IpFamily::kV4) {
    const bool multicast = (a.bytes[0] & 0xf0) == 0xe0;  // 224.0.0.0/4, RFC 5771
    const bool broadcast =
        a.bytes[0] == 255 && a.bytes[1] == 255 && a.bytes[2] == 255 && a.bytes[3] == 255;
    return !multicast && !broadcast;
  }
  return a.bytes[0] != 0xff;  // ff00::/8, RFC 4291 §2.7
}

// The host part of an authority ("Example.com:8080", "[2001:db8::1]:80") compared with a Host
// the extractor lower-cased and stripped of its port.
bool same_host(std::string_view authority, std::string_view host) noexcept {
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    authority =
        authority.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1);
  } else {
    authority = authority.substr(0, authority.rfind(':'));
  }
  return authority.size() == host.size() &&
         std::equal(authority.begin(), authority.end(), host.begin(), [](char a, char b) {
           return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == b;
         });
}

}  // namespace

StageConfig make_stage_config(const EngineConfig& cfg, uint16_t worker) {
  StageConfig s;
  s.mode = cfg.mode;
  s.fail_mode = cfg.fail_mode;
  s.worker = worker;
  s.extractor.flows.capacity = cfg.flow_capacity;
  s.extractor.flows.buffers = cfg.flow_buffers;
  s.extractor.flows.idle_timeout = uint64_t{cfg.flow_idle_timeout_s} * kUsPerSecond;
  s.verdict_cache_capacity = cfg.verdict_cache_capacity;
  s.verdict_cache_timeout_us = uint64_t{cfg.verdict_cache_timeout_s} * kUsPerSecond;
  s.reply = make_reply_config(cfg);
  return s;
}

struct WorkerStage::Packet {
  parse::Bytes frame;
  MatchSource* rules = nullptr;
  const PacketClock* clock = nullptr;
  const parse::PacketInfo& info;
  Decision decision;
  BlockKind blocked = BlockKind::kNone;
  size_t observations = 0;
};

class WorkerStage::Sink : public extract::ObservationSink {
 public:
  Sink(WorkerStage& stage, Packet& p) noexcept : stage_(stage), p_(p) {}
  void on_observation(const extract::Observation& obs) noexcept override {
    stage_.on_observation(p_, obs);
  }

 private:
  WorkerStage& stage_;
  Packet& p_;
};

WorkerStage::WorkerStage(const StageConfig& cfg, WorkerCounters& counters, EventSink& events)
    : cfg_(cfg),
      counters_(counters),
      events_(events),
      extractor_(cfg.extractor),
      cache_(cfg.verdict_cache_capacity, cfg.verdict_cache_timeout_us),
      reply_nxdomain_(cfg.reply),
      reply_stop_page_(cfg.reply),
      reply_buf_(std::make_unique<uint8_t[]>(kMaxReplies * action::kMaxReplyFrameLen)) {
  reply_nxdomain_.dns_answer = action::DnsBlockAnswer::kNxdomain;
  const bool has_stop_page = cfg.reply.stop_page_v4.family != parse::IpFamily::kNone ||
                             cfg.reply.stop_page_v6.family != parse::IpFamily::kNone;
  if (has_stop_page) reply_stop_page_.dns_answer = action::DnsBlockAnswer::kStopPage;
}

Decision WorkerStage::finish(Decision d) noexcept {
  counters_.count(d.reason);
  return d;
}

uint64_t WorkerStage::resource_failures() const noexcept {
  const auto& c = extractor_.stats().counters;
  return c[extract::kReassemblyOverflow] + c[extract::kBufferExhausted];
}

void WorkerStage::prepare(parse::Bytes frame, PreparedFrame* out) const noexcept {
  out->frame = frame;
  out->status = parse::decode_packet(parse::LinkType::kEthernet, frame, &out->info);
  out->hashed = false;  // the engine reuses its PreparedFrames burst after burst
  if (out->status == ParseStatus::kMalformed || out->info.family == parse::IpFamily::kNone) return;
  // Keyed and hashed only when a table will be read: most UDP and bare TCP ACKs meet neither
  // while no flow is decided (process() makes the key itself in the rare case it needs one then).
  out->hashed = (out->status == ParseStatus::kOk && extract::Extractor::uses_flow(out->info)) ||
                cache_.occupied() != 0;
  if (out->hashed) {
    flow::make_flow_key(out->info, &out->flow.key, &out->flow.dir, &out->flow.hash);
    cache_.prefetch(out->flow.hash);
  }
  if (out->status == ParseStatus::kOk)
    extractor_.prefetch(out->info, out->hashed ? &out->flow : nullptr);
}

Decision WorkerStage::process(parse::Bytes frame, MatchSource* rules,
                              const PacketClock& now) noexcept {
  PreparedFrame f;
  prepare(frame, &f);
  return process(f, rules, now);
}

Decision WorkerStage::process(const PreparedFrame& f, MatchSource* rules,
                              const PacketClock& now) noexcept {
  Packet p{f.frame, rules, &now, f.info, {}, BlockKind::kNone, 0};
  const bool closed = cfg_.fail_mode == FailMode::kClosed;
  const ParseStatus s = f.status;
  if (rules != nullptr && rules->version() != last_ruleset_version_) {
    last_ruleset_version_ = rules->version();
    counters_.ruleset_version.set(last_ruleset_version_);
  }

  if (s == ParseStatus::kMalformed) {
    counters_.count(kMalformed);
    return finish(
        {closed ? Forward::kDrop : Forward::kPass, closed ? kUninspectable : kPassed, 0, {}});
  }
  if (p.info.family == parse::IpFamily::kNone) {  // ARP, LLDP, ...: not ours to judge
    counters_.count(kNotIp);
    return finish({});
  }
  if (rules == nullptr) {
    return finish({closed ? Forward::kDrop : Forward::kPass, closed ? kNoRuleset : kPassed, 0, {}});
  }

  // prepare() keyed and hashed the flow when a table needed it then; a flow decided since
  // (earlier in the burst) may need it now.
  const CachedFlow* cached = nullptr;
  if (cache_.occupied() != 0) {
    flow::FlowKey scratch;
    uint64_t hash = 0;
    const flow::FlowKey& key = key_of(f, &scratch, &hash);
    cached = cache_.find(key, hash, now.mono_us);
  }
  if (cached != nullptr && cached->verdict == FlowVerdict::kBlocked) {
    if (cfg_.mode == Mode::kTap) counters_.count(kTapAfterBlock);
    return finish({Forward::kDrop, kFlowBlocked, 0, {}});
  }
  if (check_ip(p, f, cached)) return finish(p.decision);
  if (s != ParseStatus::kOk) {  // a later fragment, ICMP, ESP, ...
    counters_.count(kNotTcpUdp);
    return finish({});
  }

  const uint64_t failures_before = resource_failures();
  Sink sink(*this, p);
  extractor_.process_packet(p.info, f.hashed ? &f.flow : nullptr, 0, now.mono_us, sink);

  // TCP and QUIC, whose later packets the verdict cache stops (prepare() hashed them).
  const bool flow_state = p.info.l4_proto == parse::kIpProtoTcp || p.blocked == BlockKind::kQuic;
  flow::FlowKey scratch;
  if (p.blocked != BlockKind::kNone) {
    if (flow_state) {
      switch (cache_.insert(key_of(f, &scratch), FlowVerdict::kBlocked, now.mono_us)) {
        case VerdictCache::Insert::kUpdated:
          break;
        case VerdictCache::Insert::kNew:
          counters_.count(kVerdictCacheInsert);
          break;
        case VerdictCache::Insert::kExpired:
          counters_.count(kVerdictCacheInsert);
          counters_.count(kVerdictCacheExpire);
          break;
        case VerdictCache::Insert::kEvicted:
          counters_.count(kVerdictCacheInsert);
          counters_.count(kVerdictCacheEvict);
          break;
      }
    }
    if (cfg_.mode == Mode::kTap && p.decision.reply_count == 0) counters_.count(kTapCannotDrop);
    p.decision.forward = Forward::kDrop;
    p.decision.reason = kBlocked;
    return finish(p.decision);
  }
  if (closed && resource_failures() != failures_before) {
    // The stream can no longer be read: fail closed means it does not pass unread.
    if (flow_state) cache_.insert(key_of(f, &scratch), FlowVerdict::kBlocked, now.mono_us);
    return finish({Forward::kDrop, kUninspectable, 0, {}});
  }
  return finish({});
}

const flow::FlowKey& WorkerStage::key_of(const PreparedFrame& f, flow::FlowKey* scratch,
                                         uint64_t* hash) noexcept {
  if (f.hashed) {
    if (hash != nullptr) *hash = f.flow.hash;
    return f.flow.key;
  }
  uint8_t dir = 0;
  flow::make_flow_key(f.info, scratch, &dir, hash);
  return *scratch;
}

// Destination prefix lists, on every packet. Returns true when the packet is dropped for it.
bool WorkerStage::check_ip(Packet& p, const PreparedFrame& f, const CachedFlow* cached) noexcept {
  counters_.count(kInspectedIp);
  rules::Observation o;
  o.kind = rules::ObservationKind::kIp;
  // Fixed-size copies (no libc call), then the prefilter, which answers for nearly every packet.
  if (p.info.family == parse::IpFamily::kV4) {
    o.ip.family = rules::IpFamily::kV4;
    std::memcpy(o.ip.bytes.data(), p.info.dst.bytes, 4);
  } else {
    o.ip.family = rules::IpFamily::kV6;
    std::memcpy(o.ip.bytes.data(), p.info.dst.bytes, 16);
  }
  if (!p.rules->may_match_ip(o.ip)) return false;
  const rules::Verdict v = p.rules->match(o);
  if (!v.matched && v.shadow_list == rules::kNoIndex) return false;
  const bool enforce = v.enforce();
  flow::FlowKey scratch;
  const flow::FlowKey& key = key_of(f, &scratch);
  // Reported once per flow: a shadow ip list must not raise an event per packet.
  if (cached == nullptr) {
    const auto r = cache_.insert(key, enforce ? FlowVerdict::kBlocked : FlowVerdict::kReported,
                                 p.clock->mono_us);
    if (r != VerdictCache::Insert::kUpdated) counters_.count(kVerdictCacheInsert);
    if (r == VerdictCache::Insert::kEvicted) counters_.count(kVerdictCacheEvict);
    if (r == VerdictCache::Insert::kExpired) counters_.count(kVerdictCacheExpire);
    report(p, v, api::EventKind::kIp, {}, {}, enforce && cfg_.mode == Mode::kInline);
  } else if (enforce) {
    cache_.insert(key, FlowVerdict::kBlocked, p.clock->mono_us);  // a new ruleset listed it
    report(p, v, api::EventKind::kIp, {}, {}, cfg_.mode == Mode::kInline);
  }
  if (!enforce) return false;
  counters_.count(kActionSilentDrop);
  if (cfg_.mode == Mode::kTap) counters_.count(kTapCannotDrop);
  p.decision = Decision{Forward::kDrop, kIpBlocked, 0, {}};
  return true;
}

void WorkerStage::on_observation(Packet& p, const extract::Observation& obs) noexcept {
  if (p.observations == kMaxObservationsPerPacket) {
    counters_.count(kObservationOverflow);
    return;
  }
  ++p.observations;
  counters_.count(inspected_counter(obs.kind));
  std::string_view host = obs.host;
  std::string_view path;
  // Initialised from the call, not assigned: a copy of the returned verdict would load the
  // bytes the callee has just stored piecewise, and wait for them (no store-to-load forwarding
  // across several stores); a b_dns profile put 44% of this function's samples on that copy.
  const rules::Verdict v = obs.kind == extract::ObservationKind::kHttp
                               ? match_http(p, obs, &host, &path)
                               : match_name(p, obs);
  if (v.pattern_error) counters_.count(kPatternError);
  const bool enforce = v.enforce();
  BlockKind kind = BlockKind::kOther;
  switch (obs.kind) {
    case extract::ObservationKind::kDns:
      kind = BlockKind::kDns;
      break;
    case extract::ObservationKind::kHttp:
      kind = BlockKind::kHttp;
      break;
    case extract::ObservationKind::kTlsSni:
      kind = BlockKind::kTls;
      break;
    case extract::ObservationKind::kQuicSni:
      kind = BlockKind::kQuic;
      break;
  }
  if (enforce && p.blocked == BlockKind::kNone) block(p, kind, v.action, host);
  // Acted on: dropped inline, or answered in tap mode (a QUIC match there is only counted).
  const bool acted = enforce && (cfg_.mode == Mode::kInline || p.decision.reply_count > 0);
  report(p, v, event_kind(obs.kind), host, path, acted);
}

rules::Verdict WorkerStage::match_name(Packet& p, const extract::Observation& obs) noexcept {
  rules::Observation o;
  o.kind = extract::to_rules_kind(obs.kind);
  o.host = obs.host;
  return p.rules->match(o);
}

rules::Verdict WorkerStage::match_http(Packet& p, const extract::Observation& obs,
                                       std::string_view* host, std::string_view* path) noexcept {
  const RequestUrl url = url_.build(obs.uri);
  if (url.truncated || url.unescape_capped) counters_.count(kHttpPathTruncated);
  *path = url.path;
  rules::Observation o;
  o.kind = rules::ObservationKind::kHttp;
  o.path = url.path;
  o.host = obs.host;
  if (url.authority_host.empty()) return p.rules->match(o);
  // An absolute-form target's authority is what the server uses (RFC 9112 §3.2.2); a Host that
  // says otherwise is checked too, and the stricter verdict stands.
  o.host = url.authority_host;
  *host = url.authority_host;
  rules::Verdict v = p.rules->match(o);
  if (!v.enforce() && !obs.host.empty() && !same_host(url.authority_host, obs.host)) {
    o.host = obs.host;
    const rules::Verdict by_host = p.rules->match(o);
    if (by_host.enforce() || (!v.matched && by_host.matched)) {
      v = by_host;
      *host = obs.host;
    }
  }
  return v;
}

void WorkerStage::block(Packet& p, BlockKind kind, rules::Action action,
                        std::string_view host) noexcept {
  p.blocked = kind;
  const action::BlockedPacket bp{p.info, p.frame, parse::LinkType::kEthernet};
  const bool tcp = p.info.l4_proto == parse::kIpProtoTcp;
  auto buffer = [&]() {
    return std::span<uint8_t>(
        reply_buf_.get() + size_t{p.decision.reply_count} * action::kMaxReplyFrameLen,
        action::kMaxReplyFrameLen);
  };
  auto reset_both = [&](bool client) {
    if (client) {
      add_reply(p, action::build_tcp_rst(bp, action::RstTarget::kClient, cfg_.reply, buffer()),
                ReplyTarget::kSender, kActionTcpResetClient);
    }
    add_reply(p, action::build_tcp_rst(bp, action::RstTarget::kServer, cfg_.reply, buffer()),
              ReplyTarget::kReceiver, kActionTcpResetServer);
  };
  if (action == rules::Action::kDrop || kind == BlockKind::kQuic || kind == BlockKind::kOther) {
    counters_.count(kActionSilentDrop);
    return;
  }
  switch (kind) {
    case BlockKind::kDns: {
      if (!is_unicast(p.info.dst)) {
        counters_.count(kActionSilentDrop);
        return;
      }
      const action::ReplyConfig& rc = action == rules::Action::kNxdomain   ? reply_nxdomain_
                                      : action == rules::Action::kRedirect ? reply_stop_page_
                                                                           : cfg_.reply;
      const EngineCounter counted = rc.dns_answer == action::DnsBlockAnswer::kNxdomain
                                        ? kActionDnsNxdomain
                                        : kActionDnsStopPage;
      const bool answered =
          add_reply(p, action::build_dns_reply(bp, rc, buffer()), ReplyTarget::kSender, counted);
      // Over TCP the server is reset too: the query it was waiting for never arrives.
      if (tcp) reset_both(!answered);
      if (!tcp && !answered) counters_.count(kActionSilentDrop);
      return;
    }
    case BlockKind::kHttp: {
      if (!tcp) {  // SSDP over UDP: nothing to redirect
        counters_.count(kActionSilentDrop);
        return;
      }
      const bool redirected =
          !cfg_.reply.stop_page_url.empty() &&
          add_reply(p, action::build_http_redirect(bp, host, cfg_.reply, buffer()),
                    ReplyTarget::kSender, kActionHttpRedirect);
      reset_both(!redirected);
      return;
    }
    case BlockKind::kTls:
      reset_both(true);
      return;
    case BlockKind::kQuic:
    case BlockKind::kOther:
    case BlockKind::kNone:
      return;
  }
}

bool WorkerStage::add_reply(Packet& p, const action::ReplyResult& r, ReplyTarget target,
                            EngineCounter counted) noexcept {
  if (!r.ok() || p.decision.reply_count == kMaxReplies) {
    const bool unsupported = r.error == action::ReplyError::kUnsupportedEncapsulation ||
                             r.error == action::ReplyError::kUnsupportedLink;
    counters_.count(unsupported ? kReplyUnsupported : kReplyBuild);
    return false;
  }
  Decision::Reply& slot = p.decision.replies[p.decision.reply_count];
  slot.frame = parse::Bytes(
      reply_buf_.get() + size_t{p.decision.reply_count} * action::kMaxReplyFrameLen, r.size);
  slot.target = target;
  ++p.decision.reply_count;
  counters_.count(counted);
  return true;
}

void WorkerStage::report(Packet& p, const rules::Verdict& v, api::EventKind kind,
                         std::string_view host, std::string_view path, bool acted) noexcept {
  if (v.matched) {
    const MatchClass cls = v.enforce()             ? kMatchEnforced
                           : v.shadow              ? kMatchShadow
                           : v.url_not_enforceable ? kMatchUrlNotEnforceable
                                                   : kMatchAllowed;
    counters_.count_match(v.list, cls);
    uint8_t flags = 0;
    if (acted) flags |= api::kEventEnforced;
    if (v.shadow) flags |= api::kEventShadow;
    if (v.url_not_enforceable) flags |= api::kEventUrlNotEnforceable;
    if (v.alert && v.alert_list == v.list) flags |= api::kEventAlert;
    // An allow entry exempts the name: nothing to report unless an alert list saw it too.
    if (cls != kMatchAllowed) emit(p, kind, v.list, v.entry, v.action, flags, host, path);
  }
  if (v.alert && v.alert_list != rules::kNoIndex && v.alert_list != v.list) {
    const uint8_t flags =
        static_cast<uint8_t>(api::kEventAlert | (acted ? api::kEventEnforced : 0));
    emit(p, kind, v.alert_list, v.alert_entry, v.action, flags, host, path);
  }
  if (v.shadow_list != rules::kNoIndex && v.shadow_list != v.list) {
    counters_.count_match(v.shadow_list, kMatchShadow);
    emit(p, kind, v.shadow_list, v.shadow_entry, rules::Action::kBlock, api::kEventShadow, host,
         path);
  }
}

void WorkerStage::emit(Packet& p, api::EventKind kind, uint32_t list, uint32_t entry,
                       rules::Action action, uint8_t flags, std::string_view host,
                       std::string_view path) noexcept {
  api::AccessEvent ev;
  ev.time_ns = p.clock->unix_ns;
  ev.ruleset_version = p.rules->version();
  ev.list_version = p.rules->list_version(list);
  ev.list = list;
  ev.entry = entry;
  const size_t n = address_len(p.info.family);
  std::memcpy(ev.subscriber, p.info.src.bytes, n);
  std::memcpy(ev.destination, p.info.dst.bytes, n);
  ev.subscriber_port = p.info.src_port;
  ev.destination_port = p.info.dst_port;
  ev.worker = cfg_.worker;
  ev.family = p.info.family == parse::IpFamily::kV4 ? api::kFamilyV4 : api::kFamilyV6;
  ev.l4_proto = p.info.l4_proto;
  ev.kind = kind;
  ev.action = action;
  ev.flags = flags;
  api::set_event_name(&ev, host, path);
  events_.push(ev);  // a full ring drops it; runtime::EventRings counts that
}

void WorkerStage::publish_stats() noexcept {
  const extract::ExtractStats& st = extractor_.stats();
  for (size_t i = 0; i < extract::kExtractCounterCount; ++i)
    counters_.extract[i].set(st.counters[i]);
  const flow::FlowTableStats& fs = extractor_.flows().stats();
  counters_.flows_created.set(fs.created);
  counters_.flows_evicted.set(fs.evicted);
  counters_.flows_expired.set(fs.expired);
  counters_.verdict_cache_entries.set(cache_.occupied());
}

}  // namespace muhafiz::engine
