#!/usr/bin/env python3
"""Turns a word list (one per line, '#' comments) into a C++ source file
defining `const std::string_view NAME[]` and `const std::size_t NAME_count`,
lower-cased, so civnetd carries the list inside its binary."""
import sys

src, out, name = sys.argv[1], sys.argv[2], sys.argv[3]
words = []
with open(src, encoding="utf-8") as f:
    for line in f:
        w = line.strip()
        if w and not w.startswith("#"):
            words.append(w.lower())

def literal(w):
    # Octal escapes (at most 3 digits) for every non-ASCII or special byte.
    return '"' + "".join(chr(b) if 32 <= b < 127 and chr(b) not in '"\\?' else "\\%03o" % b
                         for b in w.encode("utf-8")) + '"'

ns, _, var = name.rpartition("::")
with open(out, "w", encoding="utf-8") as f:
    f.write("// Generated from %s by embed_list.py: do not edit.\n" % src.rsplit("/", 1)[-1])
    f.write("#include <cstddef>\n#include <string_view>\n\n")
    f.write("namespace %s {\n" % ns)
    f.write("extern const std::string_view %s[];\nextern const std::size_t %s_count;\n" % (var, var))
    f.write("const std::string_view %s[] = {\n" % var)
    for w in words:
        f.write("    %s,\n" % literal(w))
    f.write("};\nconst std::size_t %s_count = %d;\n}  // namespace %s\n" % (var, len(words), ns))
