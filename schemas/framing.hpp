// Reading Cap'n Proto standard stream framing from a byte stream, with the
// frame's size checked against the limit before any buffer is allocated.
//
// Used for export files and (later) the peer wire. A frame is the segment
// table (segment count - 1, then each segment's size in words, padded to a
// word) followed by the segments.
#pragma once

#include <cstdint>
#include <istream>
#include <optional>

#include "crypto.hpp"
#include "record.hpp"

namespace civnet::record {

// REQUIRES: `in` outlives the reader. Not thread-safe.
class FrameReader {
 public:
  explicit FrameReader(std::istream& in, std::size_t maxFrameBytes = kMaxFrameBytes)
      : in_(in), max_(maxFrameBytes) {}

  // The next whole frame's bytes; std::nullopt at a clean end of stream.
  // A truncated frame, an impossible segment table, or a frame over the
  // limit is an error naming the frame's position in the stream.
  Result<std::optional<Bytes>> next();

  std::uint64_t framesRead() const { return frames_; }
  std::uint64_t bytesRead() const { return offset_; }

 private:
  std::istream& in_;
  std::size_t max_;
  std::uint64_t frames_ = 0;
  std::uint64_t offset_ = 0;
};

// Parses the segment table at the start of `prefix` and returns the whole
// frame's size in bytes, or 0 if `prefix` is too short to tell yet.
// Errors: malformed table, or a frame larger than `maxFrameBytes`.
Result<std::size_t> frameSize(ByteView prefix, std::size_t maxFrameBytes = kMaxFrameBytes);

}  // namespace civnet::record
