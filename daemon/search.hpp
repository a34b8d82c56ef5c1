// The full-text search index of posts (Xapian), derived from the store.
//
// One document per thread (a top-level post), holding the text of its
// newest revision: the title weighs three times the body and tags twice,
// words are stemmed by the post's own language (its `language` field, BCP
// 47; unknown languages are indexed unstemmed), and boolean terms name its
// tags and organization so searches can be filtered. Comments are not
// indexed.
//
// A thread follows the store's arrival log from a cursor kept in the index
// itself and committed with the documents, so a crash makes the index lag,
// never diverge; it wakes at each commit of the store's indexer. A
// retraction, takedown or revocation brings the documents it touches in
// line with the store (an erased post's text leaves the index). Search
// results are still checked against the store by the caller, which leaves
// out what is hidden. `rebuild()` (civnetctl reindex) starts from scratch.
//
// The index lives in DIR/search (a Xapian glass database).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/crypto.hpp"
#include "schemas/status.hpp"

namespace spdlog { class logger; }
namespace civnet::store { class Store; }

namespace civnet::daemon {

struct SearchFilter {
  std::optional<std::string> tag;            // matched ignoring ASCII case
  std::optional<std::set<PublicKey>> orgs;   // only these organizations (empty: none)
};

struct SearchHits {
  std::vector<Digest> threads;  // ids of top-level posts, best match first
  bool more = false;            // more hits follow this page
};

class SearchIndex {
 public:
  // Opens (creating if needed) the index in `dir` and starts following the
  // store. REQUIRES: `store` outlives this object.
  static Result<std::unique_ptr<SearchIndex>> open(const std::filesystem::path& dir, store::Store& store,
                                                   std::shared_ptr<spdlog::logger> log);
  ~SearchIndex();  // stops the follower thread
  SearchIndex(const SearchIndex&) = delete;
  SearchIndex& operator=(const SearchIndex&) = delete;

  // Threads matching `text` (words; "a phrase"; AND, OR, NOT; +must -not),
  // from `offset`, at most `limit`. Sees every post stored before the call
  // (waits, a few seconds at most, for the follower to reach it).
  // invalidArgument for text the query parser cannot read or that holds no
  // word.
  Result<SearchHits> search(std::string_view text, const SearchFilter& filter, std::size_t offset,
                            std::size_t limit);

  // Empties the index and follows the store again from its beginning;
  // returns once the index has caught up (or `stopping`).
  Status rebuild();

  // Documents in the index; the arrival-log position it has committed, and
  // the store's arrivals it has yet to take in (both read without waiting
  // for a batch being indexed).
  std::uint64_t documents() const;
  std::uint64_t cursor() const;
  std::uint64_t arrivalsBehind() const;

  class Impl;

 private:
  explicit SearchIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace civnet::daemon
