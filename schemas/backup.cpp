// The backup file format (see backup.hpp).
#include "backup.hpp"

#include <charconv>
#include <map>

namespace civnet::backup {

namespace {

void putU32(std::string& s, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void putU64(std::string& s, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
std::uint64_t getBE(std::string_view s, std::size_t at, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = v << 8 | static_cast<std::uint8_t>(s[at + i]);
  return v;
}

template <typename T>
bool parseInt(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string encodeHeader(const BackupHeader& h) {
  std::string out;
  auto line = [&](std::string_view name, const std::string& value) {
    out.append(name).append(" ").append(value).append("\n");
  };
  line("format", std::to_string(h.format));
  line("network", h.network.hex());
  line("network_name", h.networkName);
  line("node_key", h.nodeKey.hex());
  line("store_schema", std::to_string(h.storeSchema));
  line("created_ms", std::to_string(h.createdMs));
  line("software", h.software);
  line("frontier", h.frontier.hex());
  line("feeds", std::to_string(h.feeds));
  line("entries", std::to_string(h.entries));
  return out;
}

Result<BackupHeader> decodeHeader(std::string_view payload) {
  std::map<std::string, std::string, std::less<>> fields;
  while (!payload.empty()) {
    auto nl = payload.find('\n');
    if (nl == std::string_view::npos) return corruption("the backup's header has an unterminated line");
    std::string_view line = payload.substr(0, nl);
    payload.remove_prefix(nl + 1);
    auto sp = line.find(' ');
    if (sp == std::string_view::npos) return corruption("the backup's header has a line without a value");
    fields.emplace(std::string(line.substr(0, sp)), std::string(line.substr(sp + 1)));
  }
  auto get = [&](std::string_view name) -> Result<std::string> {
    auto it = fields.find(name);
    if (it == fields.end()) return corruption("the backup's header has no " + std::string(name));
    return it->second;
  };
  BackupHeader h;
  auto number = [&](std::string_view name, auto& out) -> Status {
    auto v = get(name);
    if (!v.ok()) return v.status();
    if (!parseInt(*v, out)) return corruption("the backup's header has a malformed " + std::string(name));
    return {};
  };
  if (auto s = number("format", h.format); !s.ok()) return s;
  if (h.format > kFormatVersion)
    return unsupported("the backup is in format " + std::to_string(h.format) + ", newer than this civnetd reads (" +
                       std::to_string(kFormatVersion) + "): restore it with a newer civnetd");
  auto hex = [&](std::string_view name, auto& out) -> Status {
    auto v = get(name);
    if (!v.ok()) return v.status();
    auto parsed = std::remove_reference_t<decltype(out)>::parseHex(*v, name);
    if (!parsed.ok()) return corruption("the backup's header has a malformed " + std::string(name));
    out = *parsed;
    return {};
  };
  for (Status s : {hex("network", h.network), hex("node_key", h.nodeKey), hex("frontier", h.frontier),
                   number("store_schema", h.storeSchema), number("created_ms", h.createdMs),
                   number("feeds", h.feeds), number("entries", h.entries)})
    if (!s.ok()) return s;
  auto name = get("network_name");
  if (!name.ok()) return name.status();
  h.networkName = *name;
  auto software = get("software");
  if (!software.ok()) return software.status();
  h.software = *software;
  return h;
}

std::string encodeFile(const BackupFile& f) {
  std::string out;
  out.push_back(static_cast<char>(f.name.size() >> 8));
  out.push_back(static_cast<char>(f.name.size() & 0xff));
  out += f.name;
  putU32(out, f.mode);
  out += f.bytes;
  return out;
}

Result<BackupFile> decodeFile(std::string_view p) {
  if (p.size() < 2) return corruption("a file record of the backup is too short");
  const std::size_t n = getBE(p, 0, 2);
  if (p.size() < 2 + n + 4) return corruption("a file record of the backup is too short");
  BackupFile f;
  f.name = std::string(p.substr(2, n));
  f.mode = static_cast<std::uint32_t>(getBE(p, 2 + n, 4));
  f.bytes = std::string(p.substr(2 + n + 4));
  // Only plain relative paths inside the data dir, never "..": a backup is
  // data, and must not write anywhere else.
  if (f.name.empty() || f.name.front() == '/' || f.name.find('\0') != std::string::npos)
    return corruption("the backup names a file \"" + f.name.substr(0, 80) + "\" outside the data dir");
  std::string_view rest = f.name;
  while (!rest.empty()) {
    auto slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    if (part.empty() || part == "." || part == "..")
      return corruption("the backup names a file \"" + f.name.substr(0, 80) + "\" outside the data dir");
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  if (f.mode & ~0777u) return corruption("the backup gives file " + f.name + " a mode that is not a permission");
  return f;
}

void appendRow(std::string& payload, std::string_view key, std::string_view value) {
  putU32(payload, static_cast<std::uint32_t>(key.size()));
  payload += key;
  putU32(payload, static_cast<std::uint32_t>(value.size()));
  payload += value;
}

Status forEachRow(std::string_view p, const std::function<Status(std::string_view, std::string_view)>& row) {
  while (!p.empty()) {
    if (p.size() < 4) return corruption("a rows record of the backup ends inside a row");
    const std::size_t k = getBE(p, 0, 4);
    if (p.size() < 4 + k + 4) return corruption("a rows record of the backup ends inside a row");
    const std::size_t v = getBE(p, 4 + k, 4);
    if (p.size() < 8 + k + v) return corruption("a rows record of the backup ends inside a row");
    if (k == 0) return corruption("a rows record of the backup holds an empty key");
    if (auto s = row(p.substr(4, k), p.substr(8 + k, v)); !s.ok()) return s;
    p.remove_prefix(8 + k + v);
  }
  return {};
}

std::string Writer::record(RecordType t, std::string_view payload, bool hashed) {
  std::string out;
  out.reserve(5 + payload.size());
  out.push_back(static_cast<char>(t));
  putU32(out, static_cast<std::uint32_t>(payload.size()));
  out += payload;
  if (hashed) hash_.update(asBytes(out));
  return out;
}

std::string Writer::begin(const BackupHeader& h) {
  std::string out(kMagic);
  hash_.update(asBytes(out));
  return out + record(RecordType::header, encodeHeader(h));
}

std::string Writer::file(const BackupFile& f) {
  ++files_;
  return record(RecordType::file, encodeFile(f));
}

std::string Writer::rows(const std::string& payload, std::uint64_t n) {
  rows_ += n;
  return record(RecordType::rows, payload);
}

std::string Writer::end() {
  std::string p;
  putU64(p, files_);
  putU64(p, rows_);
  Digest d = hash_.finish();
  p.append(reinterpret_cast<const char*>(d.bytes.data()), d.bytes.size());
  return record(RecordType::end, p, false);
}

Status Reader::feed(std::string_view bytes) {
  pending_.append(bytes);
  std::size_t at = 0;
  auto consumed = [&] { return offset_ + at; };
  if (!magicSeen_) {
    const std::size_t n = std::min(pending_.size(), kMagic.size());
    if (std::string_view(pending_).substr(0, n) != kMagic.substr(0, n))
      return corruption("not a civnet backup (it does not start with \"civnet-backup\")");
    if (pending_.size() < kMagic.size()) return {};
    hash_.update(asBytes(kMagic));
    magicSeen_ = true;
    at = kMagic.size();
  }
  Status result;
  while (result.ok()) {
    if (pending_.size() - at < 5) break;
    if (ended_) {
      result = corruption("the backup goes on after its end record, at byte " + std::to_string(consumed()));
      break;
    }
    const auto type = static_cast<RecordType>(pending_[at]);
    const std::size_t len = getBE(pending_, at + 1, 4);
    if (type != RecordType::header && type != RecordType::file && type != RecordType::rows && type != RecordType::end) {
      result = corruption("the backup holds an unknown record at byte " + std::to_string(consumed()));
      break;
    }
    if (len > kMaxBackupRecord) {
      result = corruption("the backup holds a record of " + std::to_string(len) + " bytes at byte " +
                          std::to_string(consumed()) + " (at most " + std::to_string(kMaxBackupRecord) + ")");
      break;
    }
    if (pending_.size() - at < 5 + len) break;
    std::string_view whole = std::string_view(pending_).substr(at, 5 + len);
    if (type != RecordType::end) hash_.update(asBytes(whole));
    result = onRecord(type, whole.substr(5));
    if (!result.ok()) result = result.withContext("at byte " + std::to_string(consumed()));
    at += 5 + len;
  }
  pending_.erase(0, at);
  offset_ += at;
  return result;
}

Status Reader::onRecord(RecordType t, std::string_view payload) {
  if (!headerSeen_ && t != RecordType::header) return corruption("the backup does not start with its header");
  switch (t) {
    case RecordType::header: {
      if (headerSeen_) return corruption("the backup holds a second header");
      headerSeen_ = true;
      auto h = decodeHeader(payload);
      if (!h.ok()) return h.status();
      return cb_.header ? cb_.header(*h) : Status{};
    }
    case RecordType::file: {
      ++files_;
      auto f = decodeFile(payload);
      if (!f.ok()) return f.status();
      return cb_.file ? cb_.file(*f) : Status{};
    }
    case RecordType::rows:
      return forEachRow(payload, [&](std::string_view k, std::string_view v) {
        ++rows_;
        return cb_.row ? cb_.row(k, v) : Status{};
      });
    case RecordType::end: {
      if (payload.size() != 8 + 8 + 32) return corruption("the backup's end record is malformed");
      const std::uint64_t files = getBE(payload, 0, 8), rows = getBE(payload, 8, 8);
      if (files != files_ || rows != rows_)
        return corruption("the backup's end record counts " + std::to_string(files) + " files and " +
                          std::to_string(rows) + " rows, but the file holds " + std::to_string(files_) + " and " +
                          std::to_string(rows_));
      Digest want;
      Digest::fromView(asBytes(payload.substr(16)), want);
      if (hash_.finish() != want)
        return corruption("the backup's digest does not match its contents: the file was altered or damaged");
      ended_ = true;
      return {};
    }
  }
  return corruption("the backup holds an unknown record");
}

Status Reader::finish() const {
  if (!magicSeen_ || !headerSeen_) return corruption("the backup is empty or truncated before its header");
  if (!ended_)
    return corruption("the backup is truncated: it ends after " + std::to_string(offset_ + pending_.size()) +
                      " bytes, without its end record");
  if (!pending_.empty()) return corruption("the backup goes on after its end record");
  return {};
}

}  // namespace civnet::backup
