# civnet records: the signed, hash-chained entries that feeds are made of.
#
# The signed header is a separate Cap'n Proto message whose canonical bytes
# (capnp::canonicalize) are what gets signed, hashed and relayed unchanged.
# Content travels next to the header and is bound to it by contentHash, so a
# header stays valid when its content is absent (erased or not yet fetched).
#
#   signature = Ed25519(feed key, "civnet/entry/v1" || 0x00 || header bytes)
#   entry id  = SHA-256(header bytes || signature)
#
# Compatibility: fields are only ever added, never renumbered. Kinds this
# node does not know are stored and relayed unchanged.

@0xee87bbcea4e90a5d;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("civnet::wire");

enum Kind {
  unknown @0;      # never published; the default a reader sees for nothing
  post @1;         # content: Post
  retraction @2;   # content: Retraction (an author erases its own entry)
  profile @3;      # content: Profile
  admission @4;    # content: Admission (stewards only)
  revocation @5;   # content: Revocation (stewards only)
  lift @6;         # content: Lift (stewards only)
  takedown @7;     # content: Takedown (stewards only)
  stewardSet @8;   # content: StewardSet (stewards only)
  sealed @9;       # content: Sealed (reserved for encrypted circles)
}

struct EntryHeader {
  network @0 :Data;       # 32 bytes: the network id (SHA-256 of the genesis)
  author @1 :Data;        # 32 bytes: the feed's Ed25519 public key
  seq @2 :UInt64;         # 1, 2, 3, ... within the feed
  prev @3 :Data;          # 32 bytes: id of entry seq-1; empty for seq 1
  timestamp @4 :Int64;    # ms since the Unix epoch, non-decreasing in a feed
  kind @5 :Kind;          # unknown values are kept as numbers
  contentHash @6 :Data;   # 32 bytes: SHA-256 of the content bytes
  contentSize @7 :UInt32; # length of the content bytes
}

struct SignedEntry {
  header @0 :Data;        # canonical bytes of an EntryHeader, as signed
  signature @1 :Data;     # 64 bytes
  content @2 :Data;       # canonical bytes of the kind's struct; null if absent
}

# A reference to one entry: who, where in the feed, and which one exactly.
struct EntryRef {
  author @0 :Data;
  seq @1 :UInt64;
  id @2 :Data;
}

struct Post {
  title @0 :Text;
  body @1 :Text;              # Markdown, at most 64 KiB
  tags @2 :List(Text);
  topics @3 :List(Text);
  language @4 :Text;          # BCP 47 tag, e.g. "en", "fr", "es"
  region @5 :Text;
  replyTo @6 :EntryRef;       # set for a comment
  revises @7 :EntryRef;       # set for a revision of the author's own post
}

# An author erases the content of one of its own entries (a tombstone stays).
struct Retraction {
  target @0 :EntryRef;
  reason @1 :Text;
}

struct HostingNode {
  nodeKey @0 :Data;           # 32 bytes: the node's Ed25519 TLS key
  addresses @1 :List(Text);   # "host:port" where peers can dial it
}

# What an organization chooses to show about itself; its latest profile wins.
struct Profile {
  name @0 :Text;
  region @1 :Text;
  country @2 :Text;
  focusAreas @3 :List(Text);
  labels @4 :List(Text);      # e.g. "women-led", "youth-led"
  contact @5 :Text;           # a public contact, if the organization wants one
  nodes @6 :List(HostingNode);
  x25519Key @7 :Data;         # reserved for encrypted circles
}

# A steward admits an organization's feed key. Final when k stewards agree.
struct Admission {
  feed @0 :Data;
  name @1 :Text;
  region @2 :Text;
  country @3 :Text;
  focusAreas @4 :List(Text);
  labels @5 :List(Text);
  expiresAt @6 :Int64;        # ms since the epoch; 0 = never
}

# A steward suspends (one) or revokes (k matching) a feed key at a pin.
struct Revocation {
  feed @0 :Data;
  pinSeq @1 :UInt64;          # entries after this seq are refused
  pinId @2 :Data;             # id of the entry at pinSeq (empty if pinSeq = 0)
  reason @3 :Text;
}

# A steward lifts its own earlier revocation (a suspension).
struct Lift {
  revocation @0 :EntryRef;
}

# A steward hides (one) or erases (k matching) one entry.
struct Takedown {
  target @0 :EntryRef;
  reason @1 :Text;
}

# The next steward set; takes effect when signed by k stewards of the
# previous epoch (k matching stewardSet entries).
struct StewardSet {
  epoch @0 :UInt64;
  previous @1 :Data;          # epoch 1: the network id; later: SHA-256 of the
                              # previous StewardSet's canonical content bytes
  stewards @2 :List(Data);
  threshold @3 :UInt32;
  pins @4 :List(EntryRef);    # for a removed steward: the last entry of its
                              # feed whose attestations still count (none: none do)
}

# Reserved for encrypted circles: relays verify and erase without keys.
struct Sealed {
  circleId @0 :Data;
  epoch @1 :UInt64;
  nonce @2 :Data;
  ciphertext @3 :Data;
}

# Two valid signed headers of one feed at one seq: proof of a cloned or
# stolen key. Every node holding it truncates the feed to seq-1 and freezes it.
struct ForkProof {
  a @0 :SignedEntry;          # content fields are left null
  b @1 :SignedEntry;
}
