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
  // Every link opens without handing the reader's page to the target (one
  // pass: cmark writes every link as `<a href="`).
  constexpr std::string_view kLink = "<a href=\"";
  std::string_view in(html.get());
  std::string out;
  out.reserve(in.size() + in.size() / 8);
  for (std::size_t at = 0;;) {
    const auto next = in.find(kLink, at);
    if (next == std::string_view::npos) {
      out.append(in.substr(at));
      break;
    }
    out.append(in.substr(at, next - at));
    out.append("<a rel=\"nofollow noopener noreferrer\" href=\"");
    at = next + kLink.size();
  }
  return out;
}

std::string markdownText(std::string_view text) {
  std::unique_ptr<cmark_node, decltype(&cmark_node_free)> doc(
      cmark_parse_document(text.data(), text.size(), CMARK_OPT_VALIDATE_UTF8), &cmark_node_free);
  if (!doc) return {};
  std::string out;
  auto space = [&] {
    if (!out.empty() && out.back() != ' ') out.push_back(' ');
  };
  std::unique_ptr<cmark_iter, decltype(&cmark_iter_free)> it(cmark_iter_new(doc.get()), &cmark_iter_free);
  for (cmark_event_type ev; (ev = cmark_iter_next(it.get())) != CMARK_EVENT_DONE;) {
    cmark_node* n = cmark_iter_get_node(it.get());
    const cmark_node_type type = cmark_node_get_type(n);
    if (ev == CMARK_EVENT_EXIT) {
      if (type >= CMARK_NODE_FIRST_BLOCK && type <= CMARK_NODE_LAST_BLOCK) space();
      continue;
    }
    switch (type) {
      case CMARK_NODE_TEXT:
      case CMARK_NODE_CODE:
      case CMARK_NODE_CODE_BLOCK:
        if (const char* lit = cmark_node_get_literal(n)) out += lit;
        if (type == CMARK_NODE_CODE_BLOCK) space();
        break;
      case CMARK_NODE_SOFTBREAK:
      case CMARK_NODE_LINEBREAK:
        space();
        break;
      default:
        break;
    }
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == '\n')) out.pop_back();
  for (char& c : out)
    if (c == '\n') c = ' ';
  return out;
}

}  // namespace civnet::daemon
