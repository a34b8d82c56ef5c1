// The LevelDB environment civnet's store opens its database with: the
// default one, except that table files are read with pread(2) instead of
// being mapped into memory.
//
// LevelDB maps up to 1,000 table files on 64-bit systems. Every page of a
// mapped table that a read touched counts as the process's resident memory,
// so a node holding a million entries showed over 400 MiB resident, most of
// it the page cache of its own tables (docs/performance.md, benchmark 8).
// Read with pread, those pages stay in the page cache, which the kernel
// shares and reclaims, and resident memory is what civnetd itself holds.
// Reads go through LevelDB's block cache either way.
#pragma once

namespace leveldb {
class Env;
}

namespace civnet::store {

// The one instance, for the process's lifetime.
leveldb::Env* preadEnv();

}  // namespace civnet::store
