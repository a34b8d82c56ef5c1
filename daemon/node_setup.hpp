// Creating a node and its network: what `civnetd init`, `civnetd genesis`
// (the one-steward network, and draft / sign / check for several stewards)
// and `civnetd join` do, and loading a node's keys for `civnetd run`.
//
// None leaves anything half-written when it fails: init builds the whole
// data dir under a temporary name next to it and renames it into place at
// the end; genesis and join remove the files they made if a later step
// fails before the store records the network; genesis sign replaces the
// draft atomically (temp file, fsync, rename).
//
// init, genesis and join make the key files and genesis.bin durable (the
// files and the directories naming them) before the store records the
// network, so a power cut cannot leave a store naming a network whose keys
// or genesis were lost. All three join a network through one function.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <cstdint>
#include <vector>

#include "daemon/data_dir.hpp"
#include "schemas/crypto.hpp"
#include "schemas/genesis.hpp"
#include "schemas/record.hpp"
#include "schemas/status.hpp"

namespace civnet::store { class Store; }

namespace civnet::daemon {

// Makes the entries of a directory (files created in it) durable: fsync of
// the directory. An interface so tests can see the calls and make one fail.
class DirSync {
 public:
  virtual ~DirSync() = default;
  virtual Status syncDir(const std::filesystem::path& dir) const = 0;
};
const DirSync& systemDirSync();

// Writes all of `data` to a new file (O_EXCL, never replacing one) with
// `mode`, and fsyncs it.
Status writeNewFile(const std::filesystem::path& path, ByteView data, unsigned mode);

struct InitOptions {
  std::filesystem::path dataDir;
  std::optional<std::string> org;              // default: the data dir's name
  std::optional<std::filesystem::path> network;  // a genesis file to join
  const DirSync* dirSync = nullptr;            // nullptr: systemDirSync()
  bool steward = false;                        // also make keys/steward.key
  std::optional<std::string> peerListen = std::nullopt;  // [net] listen in the config written
  std::optional<std::string> httpListen = std::nullopt;  // [http] listen in the config written
};

struct InitReport {
  std::filesystem::path dataDir;  // absolute
  std::string org;
  PublicKey nodeKey;
  PublicKey feedKey;
  std::optional<PublicKey> stewardKey;  // with options.steward
  std::optional<Digest> network;
  std::string networkName;
  bool stewardOfNetwork = false;    // the steward key is one of the network's stewards
  std::optional<Digest> profileId;  // the first profile entry, when in a network
};

// `civnetd init`. Refuses a data dir that already holds a node (or any
// other non-empty directory), a path so long that its admin socket would
// be over the Unix limit (107 bytes), and a genesis file that is not
// complete.
Result<InitReport> initNode(const InitOptions& options);

struct JoinOptions {
  std::filesystem::path dataDir;
  std::filesystem::path network;     // the genesis file
  const DirSync* dirSync = nullptr;  // nullptr: systemDirSync()
};

struct JoinReport {
  Digest network;
  std::string networkName;
  std::optional<PublicKey> steward;  // keys/steward.key, when the genesis names it
  Digest profileId;
};

// `civnetd join`: joins a node made by init without --network to the network
// of a complete genesis file, as init --network would have: copies the file
// to genesis.bin, records the steward key when the genesis names it, records
// the network and publishes the organization's first profile. Refuses an
// incomplete genesis and a node that already belongs to a network; removes
// genesis.bin again if it fails before the store records the network.
Result<JoinReport> joinNetwork(const JoinOptions& options);

struct GenesisOptions {
  std::filesystem::path dataDir;
  std::string name;
  std::filesystem::path out;
  const DirSync* dirSync = nullptr;  // nullptr: systemDirSync()
};

struct GenesisReport {
  Digest network;
  std::string name;
  PublicKey steward;
  std::filesystem::path out;
  Digest profileId;
  Digest admissionId;  // the steward's admission of this node's organization
};

// `civnetd genesis`: a one-steward network (threshold 1) whose steward key
// this node keeps, and which admits this node's organization. Refuses a node that already belongs to a network and an
// existing output file.
Result<GenesisReport> makeGenesis(const GenesisOptions& options);

// --- a genesis of several stewards: draft, sign, check ---

struct DraftOptions {
  std::string name;
  std::vector<std::string> stewards;  // feed keys as 64 hex characters
  std::int64_t threshold = 0;         // k
  std::filesystem::path out;
  std::int64_t createdAt = 0;         // ms since the Unix epoch; 0: now
  const DirSync* dirSync = nullptr;   // nullptr: systemDirSync()
};

// `civnetd genesis draft`: writes an unsigned genesis to `out` (never
// replacing a file). Refuses what record::Genesis::checkComplete would
// refuse in the body: an empty or non-UTF-8 name, a malformed key, a key
// given twice, k < 1 or k > the number of stewards. The returned genesis
// fixes the network id.
Result<record::Genesis> draftGenesis(const DraftOptions& options);

enum class SignatureState { valid, missing, bad };
const char* toString(SignatureState s);  // "signed", "missing", "bad signature"

struct StewardSignatureState {
  PublicKey steward;
  SignatureState state = SignatureState::missing;
};

// What `civnetd genesis check` shows of a genesis.
struct GenesisCheck {
  record::Genesis genesis;
  Digest network;
  std::vector<StewardSignatureState> stewards;  // in the genesis's order
  // ok when record::Genesis::checkComplete accepts it; otherwise one line
  // naming every steward whose signature is missing or bad, or the rule
  // the body breaks.
  Status complete;
};
GenesisCheck inspectGenesis(const record::Genesis& genesis);
// Fails only when the file cannot be read or is not a genesis at all.
Result<GenesisCheck> checkGenesisFile(const std::filesystem::path& path);

struct SignOptions {
  std::filesystem::path dataDir;
  std::filesystem::path file;
  const DirSync* dirSync = nullptr;  // nullptr: systemDirSync()
};

struct SignReport {
  PublicKey steward;
  bool alreadySigned = false;  // the file already held this signature; left as it was
  GenesisCheck after;
};

// `civnetd genesis sign`: adds the signature of DIR/keys/steward.key to the
// draft and replaces FILE atomically (a temp file in FILE's directory,
// fsync, rename, fsync of the directory). Refuses a key that is not one of
// the draft's stewards and a draft whose body checkComplete would refuse.
// Signing twice changes nothing.
Result<SignReport> signGenesisFile(const SignOptions& options);

// True if `key` is one of the genesis's stewards.
bool isStewardOf(const record::Genesis& genesis, const PublicKey& key);

// The keys a running node uses. The steward key is there only on a
// steward's node.
struct NodeKeys {
  PrivateKey node;
  PrivateKey org;
  std::optional<PrivateKey> steward;
};
// Refuses key files readable by others (crypto's message names the file and
// the chmod that fixes it).
Result<NodeKeys> loadNodeKeys(const DataDir& dir);

// The member interface's certificate and key: the files [http] cert_file and
// key_file name, else keys/web.crt and keys/web.key, made at the first run
// (a self-signed ECDSA certificate for localhost, this host's name and the
// loopback addresses; browsers warn about it until an operator's
// certificate is configured). Refuses one of the two without the other.
Result<WebCert> loadOrMakeWebCert(const DataDir& dir, const std::string& certFile, const std::string& keyFile,
                                  bool& made);

// Checks that `dir` exists and holds a node (its config file), with a hint
// naming `civnetd init` otherwise.
Status checkIsNode(const DataDir& dir);

// True if the name is acceptable as an organization or network name.
Status validateName(const std::string& name, const std::string& what);

// Publishes an organization's profile naming it and this node (its key) as
// its host; used for each organization's first profile.
Result<record::Entry> publishProfile(store::Store& st, const PrivateKey& org, const std::string& name,
                                     const PublicKey& nodeKey);

}  // namespace civnet::daemon
