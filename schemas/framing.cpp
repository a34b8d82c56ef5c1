// Stream framing (see framing.hpp).
#include "framing.hpp"

#include <cstring>

namespace civnet::record {
namespace {

std::uint32_t le32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 |
         std::uint32_t(p[3]) << 24;
}

constexpr std::uint32_t kMaxSegments = 512;

}  // namespace

Result<std::size_t> frameSize(ByteView prefix, std::size_t maxFrameBytes) {
  if (prefix.size() < 4) return std::size_t{0};
  std::uint64_t segments = std::uint64_t(le32(prefix.data())) + 1;
  if (segments > kMaxSegments)
    return corruption("frame claims " + std::to_string(segments) + " segments");
  std::size_t tableBytes = ((4 * (segments + 1)) + 7) / 8 * 8;
  if (prefix.size() < tableBytes) return std::size_t{0};
  std::uint64_t words = 0;
  for (std::uint64_t i = 0; i < segments; ++i) words += le32(prefix.data() + 4 + 4 * i);
  std::uint64_t total = tableBytes + words * 8;
  if (total > maxFrameBytes)
    return corruption("frame of " + std::to_string(total) + " bytes is over the limit of " +
                      std::to_string(maxFrameBytes));
  return static_cast<std::size_t>(total);
}

Result<std::optional<Bytes>> FrameReader::next() {
  auto where = [&] {
    return "frame " + std::to_string(frames_ + 1) + " at byte " + std::to_string(offset_);
  };
  Bytes buf(8);
  in_.read(reinterpret_cast<char*>(buf.data()), 8);
  std::size_t got = static_cast<std::size_t>(in_.gcount());
  if (got == 0) return std::optional<Bytes>();
  if (got < 8) return corruption(where() + " is truncated (stream ends inside its header)");
  auto first = frameSize(buf, max_);
  if (!first.ok()) return first.status().withContext(where());
  std::size_t total = first.value();
  if (total == 0) {
    // The segment table is longer than one word: read the rest of it.
    std::uint64_t segments = std::uint64_t(le32(buf.data())) + 1;
    std::size_t tableBytes = ((4 * (segments + 1)) + 7) / 8 * 8;
    buf.resize(tableBytes);
    in_.read(reinterpret_cast<char*>(buf.data() + 8), static_cast<std::streamsize>(tableBytes - 8));
    if (static_cast<std::size_t>(in_.gcount()) != tableBytes - 8)
      return corruption(where() + " is truncated (stream ends inside its segment table)");
    auto full = frameSize(buf, max_);
    if (!full.ok()) return full.status().withContext(where());
    total = full.value();
  }
  std::size_t have = buf.size();
  buf.resize(total);  // the size is within the limit: safe to allocate now
  in_.read(reinterpret_cast<char*>(buf.data() + have), static_cast<std::streamsize>(total - have));
  if (static_cast<std::size_t>(in_.gcount()) != total - have)
    return corruption(where() + " is truncated (" + std::to_string(total) +
                      " bytes announced, stream ends first)");
  ++frames_;
  offset_ += total;
  return std::optional<Bytes>(std::move(buf));
}

}  // namespace civnet::record
