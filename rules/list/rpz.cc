// DNS Response Policy Zones (draft-vixie-dnsop-dns-rpz) read from a master file (RFC 1035 §5.1).
// Only what a blocking list needs: QNAME triggers (exact and "*." wildcard owners), rpz-ip
// triggers, and the CNAME / local-data policies. What is not supported is an error that says so.
#include <arpa/inet.h>

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "rules/list/canon.h"
#include "rules/list/source_builder.h"

namespace muhafiz::rules::detail {
namespace {

struct Token {
  std::string text;  // as written, escapes kept (decoded where the field is a name or a string)
  bool quoted = false;
};

// One record or directive: its tokens after parentheses are joined and comments removed.
struct LogicalLine {
  size_t line = 0;             // where it starts
  bool owner_omitted = false;  // the line starts with a blank: same owner as the last record
  std::vector<Token> tokens;
};

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// RFC 1035 §5.1: ';' comments, '(' ')' join lines, '"' strings, '\' escapes.
std::vector<LogicalLine> lex_zone(std::string_view text, SourceBuilder& out) {
  std::vector<LogicalLine> lines;
  const size_t n = text.size();
  size_t i = 0;
  size_t line = 1;
  int depth = 0;
  bool bad = false;
  LogicalLine cur;
  const auto start_line = [&] {
    cur = LogicalLine{};
    cur.line = line;
    cur.owner_omitted = i < n && (text[i] == ' ' || text[i] == '\t');
    bad = false;
  };
  const auto flush = [&] {
    if (!bad && !cur.tokens.empty()) lines.push_back(std::move(cur));
  };
  start_line();
  while (i < n) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      ++i;
      if (depth == 0) {
        flush();
        start_line();
      }
      continue;
    }
    if (is_blank(c)) {
      ++i;
      continue;
    }
    if (c == ';') {
      while (i < n && text[i] != '\n') ++i;
      continue;
    }
    if (c == '(') {
      ++depth;
      ++i;
      continue;
    }
    if (c == ')') {
      if (depth == 0) {
        out.error(line, "')' without a matching '('");
        bad = true;
      } else {
        --depth;
      }
      ++i;
      continue;
    }
    Token tok;
    if (c == '"') {
      tok.quoted = true;
      ++i;
      bool closed = false;
      while (i < n && text[i] != '\n') {
        if (text[i] == '\\' && i + 1 < n && text[i + 1] != '\n') {
          tok.text += text[i];
          tok.text += text[i + 1];
          i += 2;
          continue;
        }
        if (text[i] == '"') {
          closed = true;
          ++i;
          break;
        }
        tok.text += text[i++];
      }
      if (!closed) {
        out.error(line, "unterminated quoted string");
        bad = true;
      }
    } else {
      while (i < n && !is_blank(text[i]) && text[i] != '\n' && text[i] != ';' && text[i] != '(' &&
             text[i] != ')' && text[i] != '"') {
        if (text[i] == '\\' && i + 1 < n && text[i + 1] != '\n') tok.text += text[i++];
        tok.text += text[i++];
      }
    }
    cur.tokens.push_back(std::move(tok));
  }
  if (depth > 0) {
    out.error(cur.line, "'(' without a matching ')' before the end of the file");
  } else {
    flush();
  }
  return lines;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// RFC 1035 §5.1 decimal TTL, or BIND's units ("1h30m", "2d").
bool is_ttl(std::string_view s) {
  if (s.empty() || !is_digit(s[0])) return false;
  size_t i = 0;
  while (i < s.size()) {
    if (!is_digit(s[i])) return false;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i < s.size()) {
      const char u = static_cast<char>(s[i] | 0x20);
      if (u != 'w' && u != 'd' && u != 'h' && u != 'm' && u != 's') return false;
      ++i;
    }
  }
  return true;
}

bool is_class(std::string_view upper_token) {
  if (upper_token == "IN" || upper_token == "CH" || upper_token == "HS" || upper_token == "CS" ||
      upper_token == "ANY" || upper_token == "NONE") {
    return true;
  }
  if (!upper_token.starts_with("CLASS") || upper_token.size() == 5) return false;
  for (char c : upper_token.substr(5)) {
    if (!is_digit(c)) return false;
  }
  return true;
}

// "\DDD" and "\X" (RFC 1035 §5.1). An escaped '.' would be a dot inside a label, which no host
// name has: refused rather than mis-split.
bool decode_escapes(std::string_view raw, std::string* out, std::string* error) {
  out->clear();
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\') {
      *out += raw[i];
      continue;
    }
    if (i + 3 < raw.size() && is_digit(raw[i + 1]) && is_digit(raw[i + 2]) &&
        is_digit(raw[i + 3])) {
      const int v = (raw[i + 1] - '0') * 100 + (raw[i + 2] - '0') * 10 + (raw[i + 3] - '0');
      if (v > 255) {
        *error = "escape '\\" + std::string(raw.substr(i + 1, 3)) + "' above 255";
        return false;
      }
      *out += static_cast<char>(v);
      i += 3;
      continue;
    }
    if (i + 1 >= raw.size()) {
      *error = "'\\' at the end of '" + std::string(raw) + "'";
      return false;
    }
    *out += raw[++i];
  }
  return true;
}

// Owner or target name, absolute and lower-case with its trailing dot.
bool resolve_name(const Token& tok, const std::string& origin, std::string* name,
                  std::string* error) {
  if (tok.quoted) {
    *error = "a name cannot be a quoted string";
    return false;
  }
  if (tok.text == "@") {
    if (origin.empty()) {
      *error = "'@' with no $ORIGIN";
      return false;
    }
    *name = origin;
    return true;
  }
  for (size_t i = 0; i + 1 < tok.text.size(); ++i) {
    if (tok.text[i] == '\\') {
      if (tok.text[i + 1] == '.') {
        *error = "escaped '.' inside a label in '" + tok.text + "' is not supported";
        return false;
      }
      ++i;
    }
  }
  std::string decoded;
  if (!decode_escapes(tok.text, &decoded, error)) return false;
  decoded = lower(decoded);
  if (decoded.ends_with('.')) {
    *name = decoded;
    return true;
  }
  if (origin.empty()) {
    *error = "relative name '" + tok.text + "' with no $ORIGIN";
    return false;
  }
  *name = decoded + (origin == "." ? "." : "." + origin);
  return true;
}

struct Record {
  size_t line = 0;
  std::string owner;   // absolute
  std::string type;    // upper-case
  std::string origin;  // $ORIGIN in force, for relative names in the RDATA
  std::vector<Token> rdata;
};

// What one owner name says, over all its records.
struct Policy {
  size_t line = 0;
  std::string relative;  // owner without the zone apex, no trailing dot
  std::optional<std::string> cname;
  std::vector<std::string> local_data;  // "A 192.0.2.1", "AAAA 2001:db8::1", "TXT ..."
  bool bad = false;
};

// "32.1.2.0.192" (prefix length, then the address's labels in reverse) and
// "48.zz.1.db8.2001" ("zz" stands for "::"), draft-vixie-dnsop-dns-rpz §4.3.
std::optional<std::string> rpz_ip_prefix(std::string_view encoded, std::string* error) {
  std::vector<std::string_view> labels;
  size_t start = 0;
  while (true) {
    const size_t dot = encoded.find('.', start);
    labels.push_back(encoded.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  const auto all_digits = [](std::string_view s) {
    if (s.empty() || s.size() > 3) return false;
    for (char c : s) {
      if (!is_digit(c)) return false;
    }
    return true;
  };
  if (labels.size() < 2 || !all_digits(labels[0])) {
    *error = "rpz-ip trigger '" + std::string(encoded) +
             ".rpz-ip' must be prefix-length.address-in-reverse";
    return std::nullopt;
  }
  std::string text;
  bool v4 = labels.size() == 5;
  for (size_t k = 1; k < labels.size() && v4; ++k) {
    if (!all_digits(labels[k]) || std::stoi(std::string(labels[k])) > 255) v4 = false;
  }
  if (v4) {
    for (size_t k = labels.size() - 1; k >= 1; --k) {
      text += labels[k];
      if (k > 1) text += '.';
    }
  } else {
    for (size_t k = labels.size() - 1; k >= 1; --k) {
      if (labels[k] == "zz") {
        if (k == labels.size() - 1) text += ':';
        if (k == 1) text += ':';
      } else {
        text += labels[k];
      }
      if (k > 1) text += ':';
    }
  }
  text += '/';
  text += labels[0];
  std::string why;
  auto prefix = canonical_ip_prefix(text, &why);
  if (!prefix) {
    *error = "rpz-ip trigger '" + std::string(encoded) + ".rpz-ip': " + why;
    return std::nullopt;
  }
  return prefix;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k > 0) out += sep;
    out += parts[k];
  }
  return out;
}

struct Pending {
  size_t line = 0;
  Entry entry;
  bool wildcard = false;
};

}  // namespace

void read_rpz(std::string_view text, SourceBuilder& out) {
  const std::vector<LogicalLine> lines = lex_zone(text, out);

  std::string origin;
  std::string first_origin;
  std::string previous_owner;
  std::vector<Record> records;
  for (const LogicalLine& ll : lines) {
    const std::vector<Token>& t = ll.tokens;
    std::string error;
    if (!ll.owner_omitted && !t[0].quoted && t[0].text.starts_with('$')) {
      const std::string directive = upper(t[0].text);
      if (directive == "$ORIGIN") {
        std::string name;
        if (t.size() != 2) {
          out.error(ll.line, "$ORIGIN takes one name");
        } else if (!resolve_name(t[1], origin, &name, &error)) {
          out.error(ll.line, error);
        } else {
          origin = name;
          if (first_origin.empty()) first_origin = name;
        }
      } else if (directive == "$TTL") {
        if (t.size() != 2 || t[1].quoted || !is_ttl(t[1].text)) {
          out.error(ll.line, "$TTL takes one TTL");
        }
      } else if (directive == "$INCLUDE") {
        out.error(ll.line, "$INCLUDE is not supported: give each file as its own source");
      } else {
        out.error(ll.line, "unsupported directive '" + t[0].text + "'");
      }
      continue;
    }
    Record rec;
    rec.line = ll.line;
    rec.origin = origin;
    size_t k = 0;
    if (ll.owner_omitted) {
      if (previous_owner.empty()) {
        out.error(ll.line, "record without an owner name (the line starts with a blank)");
        continue;
      }
      rec.owner = previous_owner;
    } else {
      if (!resolve_name(t[0], origin, &rec.owner, &error)) {
        out.error(ll.line, error);
        previous_owner.clear();
        continue;
      }
      previous_owner = rec.owner;
      k = 1;
    }
    bool seen_ttl = false;
    bool seen_class = false;
    bool ok = true;
    while (k < t.size() && !t[k].quoted) {
      const std::string u = upper(t[k].text);
      if (!seen_ttl && is_ttl(t[k].text)) {
        seen_ttl = true;
      } else if (!seen_class && is_class(u)) {
        seen_class = true;
        if (u != "IN") {
          out.error(ll.line, "class " + u + " is not supported (policy zones are class IN)");
          ok = false;
        }
      } else {
        break;
      }
      ++k;
    }
    if (!ok) continue;
    if (k >= t.size() || t[k].quoted) {
      out.error(ll.line, "missing record type");
      continue;
    }
    rec.type = upper(t[k].text);
    rec.rdata.assign(t.begin() + static_cast<std::ptrdiff_t>(k) + 1, t.end());
    records.push_back(std::move(rec));
  }

  // The policy zone's own name: the SOA owner, else the first $ORIGIN.
  std::string apex;
  size_t soa_line = 0;
  for (const Record& r : records) {
    if (r.type != "SOA") continue;
    if (apex.empty()) {
      apex = r.owner;
      soa_line = r.line;
    } else {
      out.error(r.line, "second SOA record (first at line " + std::to_string(soa_line) + ")");
    }
  }
  if (apex.empty()) apex = first_origin;
  if (records.empty()) return;
  if (apex.empty()) {
    out.fatal(records.front().line, "no SOA record or $ORIGIN: the policy zone's name is unknown");
  }
  if (apex == ".") out.fatal(soa_line, "the policy zone cannot be the root");

  std::vector<Policy> policies;
  std::unordered_map<std::string, size_t> by_owner;
  for (const Record& r : records) {
    if (r.owner == apex) {
      if (r.type != "SOA" && r.type != "NS") {
        out.error(r.line, r.type + " record at the zone apex: policies are below it");
      }
      continue;
    }
    if (!r.owner.ends_with("." + apex)) {
      out.error(r.line, "owner '" + r.owner + "' is outside the policy zone '" + apex + "'");
      continue;
    }
    auto [it, inserted] = by_owner.emplace(r.owner, policies.size());
    if (inserted) {
      Policy p;
      p.line = r.line;
      p.relative = r.owner.substr(0, r.owner.size() - apex.size() - 1);
      policies.push_back(std::move(p));
    }
    Policy& p = policies[it->second];
    const auto reject = [&](std::string reason) {
      out.error(r.line, std::move(reason));
      p.bad = true;
    };
    std::string error;
    if (r.type == "SOA" || r.type == "NS") {
      reject(r.type + " record below the apex: delegations are not supported in a policy zone");
    } else if (r.type == "CNAME") {
      std::string target;
      if (r.rdata.size() != 1) {
        reject("CNAME takes one target name");
      } else if (p.cname) {
        reject("second CNAME for '" + p.relative + "'");
      } else if (!resolve_name(r.rdata[0], r.origin, &target, &error)) {
        reject(error);
      } else {
        p.cname = target;
      }
    } else if (r.type == "A" || r.type == "AAAA") {
      const int family = r.type == "A" ? AF_INET : AF_INET6;
      std::array<uint8_t, 16> addr{};
      std::array<char, INET6_ADDRSTRLEN> buf{};
      if (r.rdata.size() != 1 || r.rdata[0].quoted ||
          inet_pton(family, r.rdata[0].text.c_str(), addr.data()) != 1) {
        reject(r.type + " record needs one " + (family == AF_INET ? "IPv4" : "IPv6") + " address");
      } else {
        inet_ntop(family, addr.data(), buf.data(), buf.size());
        p.local_data.push_back(r.type + " " + buf.data());
      }
    } else if (r.type == "TXT") {
      std::vector<std::string> strings;
      for (const Token& tok : r.rdata) {
        std::string s;
        if (!decode_escapes(tok.text, &s, &error)) {
          reject(error);
          break;
        }
        strings.push_back(std::move(s));
      }
      if (r.rdata.empty()) reject("TXT record without a string");
      if (!p.bad) p.local_data.push_back("TXT " + join(strings, " "));
    } else {
      reject("record type " + r.type +
             " is not supported in a policy zone (CNAME, A, AAAA, TXT; SOA and NS at the apex)");
    }
  }

  std::vector<Pending> pending;
  for (const Policy& p : policies) {
    if (p.bad) continue;
    if (p.cname && !p.local_data.empty()) {
      out.error(p.line, "CNAME and other data for '" + p.relative +
                            "' (a CNAME stands alone, RFC 1034 §3.6.2)");
      continue;
    }
    Entry e;
    if (p.cname) {
      const std::string& target = *p.cname;
      if (target == ".") {
        e.action = Action::kNxdomain;
      } else if (target == "*.") {
        e.action = Action::kNodata;
      } else if (target == "rpz-passthru." || target == p.relative + ".") {
        e.action = Action::kAllow;  // the second form is the draft's older PASSTHRU spelling
      } else if (target == "rpz-drop.") {
        e.action = Action::kDrop;
      } else if (target.starts_with("rpz-")) {
        out.error(p.line, "policy CNAME " + target + " is not supported");
        continue;
      } else {
        e.action = Action::kRedirect;
        e.evidence = "local-data CNAME " + target;
      }
    } else {
      e.action = Action::kRedirect;
      e.evidence = "local-data " + join(p.local_data, "; ");
    }

    const size_t last_dot = p.relative.rfind('.');
    const std::string last =
        last_dot == std::string::npos ? p.relative : p.relative.substr(last_dot + 1);
    std::string error;
    bool wildcard = false;
    if (last == "rpz-ip") {
      const std::string encoded =
          last_dot == std::string::npos ? std::string() : p.relative.substr(0, last_dot);
      auto prefix = rpz_ip_prefix(encoded, &error);
      if (!prefix) {
        out.error(p.line, error);
        continue;
      }
      e.kind = EntryKind::kIp;
      e.value = *prefix;
    } else if (last == "rpz-client-ip" || last == "rpz-nsdname" || last == "rpz-nsip") {
      out.error(p.line, last +
                            " triggers are not supported (only QNAME and rpz-ip triggers "
                            "select what a subscriber reaches)");
      continue;
    } else {
      std::string name = p.relative;
      if (name == "*") {
        out.error(p.line, "wildcard over the whole namespace ('*' at the apex)");
        continue;
      }
      if (name.starts_with("*.")) {
        wildcard = true;
        name.erase(0, 2);
      }
      if (name.find('*') != std::string::npos) {
        out.error(p.line, "'*' is only allowed as the whole leftmost label: '" + p.relative + "'");
        continue;
      }
      e.kind = wildcard ? EntryKind::kDomain : EntryKind::kExact;
      e.value = name;
    }
    // The shared checks (canonical value, evidence length and encoding) as for every format.
    const std::string kind_name(to_string(e.kind));
    const std::string action_name(to_string(*e.action));
    auto checked = make_entry(RawEntry{kind_name, e.value, action_name, {}, e.evidence}, &error);
    if (!checked) {
      out.error(p.line, error);
      continue;
    }
    pending.push_back(Pending{p.line, std::move(*checked), wildcard});
  }

  // "name" next to "*.name" with the same policy is covered by the domain entry; a wildcard
  // without its apex also matches the apex, as kind domain does (noted once).
  std::unordered_map<std::string, size_t> domains;  // value -> index in pending
  for (size_t k = 0; k < pending.size(); ++k) {
    if (pending[k].wildcard) domains.emplace(pending[k].entry.value, k);
  }
  std::unordered_map<std::string, bool> apex_present;
  size_t lone_wildcards = 0;
  size_t first_lone = 0;
  for (const Pending& pe : pending) {
    if (!pe.wildcard && pe.entry.kind == EntryKind::kExact) apex_present[pe.entry.value] = true;
  }
  for (const Pending& pe : pending) {
    if (!pe.wildcard || apex_present.contains(pe.entry.value)) continue;
    if (lone_wildcards++ == 0) first_lone = pe.line;
  }
  if (lone_wildcards > 0) {
    out.note(first_lone, std::to_string(lone_wildcards) + " wildcard polic" +
                             (lone_wildcards == 1 ? "y has" : "ies have") +
                             " no policy for the name itself (first here); kind domain also "
                             "matches that name");
  }
  for (Pending& pe : pending) {
    if (!pe.wildcard && pe.entry.kind == EntryKind::kExact) {
      const auto it = domains.find(pe.entry.value);
      if (it != domains.end() && pending[it->second].entry.action == pe.entry.action &&
          pending[it->second].entry.evidence == pe.entry.evidence) {
        out.note(pe.line, "'" + pe.entry.value + "' is covered by '*." + pe.entry.value +
                              "' at line " + std::to_string(pending[it->second].line) +
                              " (one domain entry)");
        continue;
      }
    }
    out.add(pe.line, std::move(pe.entry));
  }
}

}  // namespace muhafiz::rules::detail
