// Markdown to HTML for the member interface: CommonMark by cmark (the
// reference implementation, Debian's libcmark), in its safe mode.
#pragma once

#include <string>
#include <string_view>

namespace civnet::daemon {

// The HTML of a CommonMark text. Safe to put into a page as it is: raw HTML
// in the text is left out (cmark writes a comment in its place), links and
// images with javascript:, vbscript:, file: or data: URLs (but for a few
// image types) get an empty URL, and all text is escaped. Links carry
// rel="nofollow noopener" so a post cannot lend its reader's standing.
std::string renderMarkdown(std::string_view text);

// The words of a CommonMark text without its markup: text and code, with
// a space between blocks and for line breaks; raw HTML left out. For
// excerpts and previews in lists.
std::string markdownText(std::string_view text);

}  // namespace civnet::daemon
