// The backup file format: what `civnetctl backup` writes and `civnetd
// restore` reads. docs/operations.md ("Backups") describes it for people.
//
// A backup is one byte stream:
//
//   magic "civnet-backup\n" (14 bytes)
//   records, each: type (1 byte) + payload length (u32, big-endian) + payload
//     'H' header (first, once): "name value" lines (BackupHeader)
//     'F' a file of the data dir: u16 name length + name + u32 mode + bytes
//     'R' store rows: repeated u32 key length + key + u32 value length + value
//     'E' end (last, once): u64 files + u64 rows + SHA-256 of every byte
//         before this record
//
// The end record makes a truncated or altered file detectable without any
// other context; the header says which network, node and store schema the
// backup is of, and the frontier digest the restored store must have.
// Payloads are at most kMaxBackupRecord bytes, so a reader refuses a bad
// length before allocating anything.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "crypto.hpp"
#include "status.hpp"

namespace civnet::backup {

inline constexpr std::string_view kMagic = "civnet-backup\n";
inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::size_t kMaxBackupRecord = 16 * 1024 * 1024;

enum class RecordType : char { header = 'H', file = 'F', rows = 'R', end = 'E' };

struct BackupHeader {
  std::uint32_t format = kFormatVersion;
  Digest network;
  std::string networkName;
  PublicKey nodeKey;
  std::uint32_t storeSchema = 0;  // the store's schema version (store/store.hpp)
  std::int64_t createdMs = 0;
  std::string software;           // "civnetd 0.1.0"
  Digest frontier;                // of the store rows in this backup
  std::uint64_t feeds = 0;
  std::uint64_t entries = 0;
};

std::string encodeHeader(const BackupHeader& h);
// Refuses a header with a missing or malformed field, or of a newer format.
Result<BackupHeader> decodeHeader(std::string_view payload);

// One data-dir file in a backup: its path relative to the data dir
// ("keys/node.key") and its permission bits.
struct BackupFile {
  std::string name;
  std::uint32_t mode = 0600;
  std::string bytes;
};
std::string encodeFile(const BackupFile& f);
Result<BackupFile> decodeFile(std::string_view payload);

// Appends one store row to a rows payload.
void appendRow(std::string& payload, std::string_view key, std::string_view value);
// Calls `row` for each row of a rows payload; stops at the first error.
Status forEachRow(std::string_view payload, const std::function<Status(std::string_view, std::string_view)>& row);

// Writes a backup a record at a time, keeping the running digest and counts.
class Writer {
 public:
  // The magic and the header record.
  std::string begin(const BackupHeader& h);
  std::string file(const BackupFile& f);
  // One rows record holding `rows` rows (appendRow'd into `payload`).
  std::string rows(const std::string& payload, std::uint64_t rows);
  // The end record. Nothing may follow.
  std::string end();

 private:
  std::string record(RecordType t, std::string_view payload, bool hashed = true);
  Sha256 hash_;
  std::uint64_t files_ = 0;
  std::uint64_t rows_ = 0;
};

// Reads a backup from bytes handed over in pieces of any size, calling back
// for each whole record; checks the magic, the order of records, each
// length, and at the end record the counts and the digest.
class Reader {
 public:
  struct Callbacks {
    std::function<Status(const BackupHeader&)> header;
    std::function<Status(const BackupFile&)> file;
    std::function<Status(std::string_view key, std::string_view value)> row;
  };
  explicit Reader(Callbacks cb) : cb_(std::move(cb)) {}
  // An error names the byte offset where the file went wrong.
  Status feed(std::string_view bytes);
  // After the last byte: corruption if the end record is missing (a
  // truncated file) or anything follows it.
  Status finish() const;
  bool ended() const { return ended_; }
  std::uint64_t files() const { return files_; }
  std::uint64_t rows() const { return rows_; }
  std::uint64_t bytes() const { return offset_; }

 private:
  Status onRecord(RecordType t, std::string_view payload);
  Callbacks cb_;
  Sha256 hash_;
  std::string pending_;
  std::uint64_t offset_ = 0;  // bytes consumed before pending_
  bool magicSeen_ = false;
  bool headerSeen_ = false;
  bool ended_ = false;
  std::uint64_t files_ = 0;
  std::uint64_t rows_ = 0;
};

}  // namespace civnet::backup
