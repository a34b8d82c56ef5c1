# civnet network genesis: the document that defines a network.
#
#   network id = SHA-256(canonical bytes of Genesis)
#   each steward signs Ed25519("civnet/genesis/v1" || 0x00 || genesis bytes)
#
# The id covers the genesis body, not the signatures, so it is fixed as soon
# as the draft is, and does not depend on the order signatures arrive in.

@0xaf1702f52ea65cd0;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("civnet::wire");

struct Genesis {
  name @0 :Text;
  stewards @1 :List(Data);    # the stewards' feed keys (32 bytes each)
  threshold @2 :UInt32;       # k: matching stewards needed to make an action final
  createdAt @3 :Int64;        # ms since the Unix epoch
}

struct StewardSignature {
  steward @0 :Data;
  signature @1 :Data;
}

struct SignedGenesis {
  genesis @0 :Data;           # canonical bytes of Genesis
  signatures @1 :List(StewardSignature);
}
