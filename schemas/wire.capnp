# civnet's peer protocol: the messages two nodes exchange over mutual TLS 1.3.
# docs/protocol.md describes the conversation message by message.
#
# Each message is one PeerMessage in Cap'n Proto standard stream framing
# (segment table, then segments); a receiver checks the frame's size from
# the segment table before allocating anything, and refuses a frame over
# 8 MiB. Entries travel as the same framed SignedEntry bytes an export file
# holds, so they are verified exactly as an import verifies them.
#
# Compatibility: fields and union members are only ever added. A node that
# receives a message kind it does not know answers Goodbye(unknownMessage).

@0xc1d6a1b7e43f8a20;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("civnet::wire");

struct PeerMessage {
  union {
    hello @0 :Hello;
    buckets @1 :Buckets;
    frontier @2 :Frontier;
    entries @3 :Entries;
    nack @4 :Nack;
    wantContent @5 :WantContent;
    forkProof @6 :Data;          # an encoded ForkProof (entry.capnp)
    ping @7 :UInt64;             # a nonce, answered by pong with the same
    pong @8 :UInt64;
    goodbye @9 :Goodbye;
    profiles @10 :List(Data);    # version 2: framed SignedEntry, the latest
                                 # profile of each feed the node hosts, sent
                                 # once, right after the peer's Hello, when
                                 # that Hello set wantProfiles
  }
}

# Sent first, by both sides.
struct Hello {
  versionMin @0 :UInt16;       # protocol versions this node speaks
  versionMax @1 :UInt16;
  network @2 :Data;            # 32 bytes: the network id
  software @3 :Text;           # e.g. "civnetd 0.1.0", for logs
  topDigest @4 :Data;          # 32 bytes: SHA-256 of the bucket hashes
  profiles @5 :List(Data);     # version 1 only (version 2 leaves it empty,
                               # ignores it, and sends them when asked): framed
                               # SignedEntry, the latest profile of each
                               # feed the node hosts, naming its key
  wantProfiles @6 :Bool;       # version 2: this node does not know the
                               # peer's node key as a member node's yet; the
                               # peer sends its profiles (PeerMessage.profiles)
                               # before anything else
}

# The hash of each bucket of the frontier (feeds grouped by the top 6 bits
# of their key: 64 buckets), sent when the top digests differ.
struct Buckets {
  hashes @0 :List(Data);       # 64 x 32 bytes, bucket 0 first
}

struct FeedTip {
  feed @0 :Data;               # 32 bytes
  seq @1 :UInt64;
  id @2 :Data;                 # 32 bytes
  frozen @3 :Bool;             # a fork proof froze the feed
}

# The tips of the feeds in the buckets whose hashes differed (member feeds
# only), so each side learns what the other lacks. A large frontier is sent
# in parts: the first lists every bucket it covers, the later ones list
# none, and each but the last has `more` set.
struct Frontier {
  buckets @0 :List(UInt8);     # the buckets this frontier covers
  tips @1 :List(FeedTip);
  more @2 :Bool;               # another part follows
}

# A contiguous run of one feed, oldest first; bounded in bytes.
struct Entries {
  entries @0 :List(Data);      # framed SignedEntry, as in an export file
}

# "Not acceptable here": the run starting at `seq` of `feed` was not taken.
struct Nack {
  feed @0 :Data;
  seq @1 :UInt64;              # the first seq not taken
  myTip @2 :UInt64;            # what the sender holds of the feed
  verdict @3 :Text;            # e.g. "notMember", "gap"
  detail @4 :Text;
}

# Asks for the content of entries held without it.
struct WantContent {
  feed @0 :Data;
  seqs @1 :List(UInt64);
}

struct Goodbye {
  reason @0 :Reason;
  detail @1 :Text;
  enum Reason {
    normal @0;              # shutting down, or a duplicate link
    versionMismatch @1;
    wrongNetwork @2;
    notMember @3;           # the peer's node key is not a member node's
    forged @4;              # the peer sent forged or malformed input
    unknownMessage @5;
    timeout @6;
    overloaded @7;          # the peer does not read what it is sent
  }
}
