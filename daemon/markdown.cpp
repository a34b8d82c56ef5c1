// Markdown rendering (see markdown.hpp).
#include "markdown.hpp"

#include <cstdlib>
#include <memory>

#include <cmark.h>

namespace civnet::daemon {

std::string renderMarkdown(std::string_view text) {
  // CMARK_OPT_SAFE is cmark 0.30's default (CMARK_OPT_UNSAFE would let raw
  // HTML through); it is named here so the intent is plain. A line break in
  // the text is one on the page, as people who type into a box expect.
  const int options = CMARK_OPT_SAFE | CMARK_OPT_HARDBREAKS | CMARK_OPT_VALIDATE_UTF8;
  std::unique_ptr<char, decltype(&std::free)> html(cmark_markdown_to_html(text.data(), text.size(), options),
                                                     &std::free);
  if (!html) return {};
  std::string out(html.get());
  // Every link opens without handing the reader's page to the target.
  std::string::size_type at = 0;
  while ((at = out.find("<a href=\"", at)) != std::string::npos) {
    out.insert(at + 2, " rel=\"nofollow noopener noreferrer\"");
    at += 9;
  }
  return out;
}

}  // namespace civnet::daemon
