#!/usr/bin/env python3
"""Checks civnet's layering by reading #include lines (run by meson test).

Layers, lowest first: schemas -> store -> federation -> daemon; tools may use
schemas only (it speaks the admin API), but the benchmark programs in
tools/bench/ may use every layer. A file may include headers of its own
layer and of the layers below it, never above. OpenSSL appears only in the
record crypto (schemas/crypto.cpp) and federation/; Cap'n Proto headers
(library and generated) only in schemas/*.cpp; and headers slow to compile
(Boost.Asio/Beast/JSON, CLI11) never in a .hpp, so they stay out of files
that many others include. The compiler's include path cannot enforce this on
its own (every layer sees the repository root), so this check does.
Prints each violation as file:line and exits 1 if there is any.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALLOWED = {
    "schemas": {"schemas"},
    "store": {"schemas", "store"},
    "federation": {"schemas", "store", "federation"},
    "daemon": {"schemas", "store", "federation", "daemon"},
    "tools": {"schemas", "tools"},
    # Benchmark programs (tools/bench/) measure every layer, so may use any.
    "bench": {"schemas", "store", "federation", "daemon", "tools"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
HEAVY = ("boost/asio", "boost/beast", "boost/json", "CLI/")


def check_file(layer, path):
    problems = []
    rel = os.path.relpath(path, ROOT)
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            kind, target = m.groups()
            where = f"{rel}:{n}: {line.strip()}"
            top = target.split("/")[0]
            if kind == '"' and top in ALLOWED and top not in ALLOWED[layer]:
                problems.append(f"{where}: {layer}/ may not include {top}/ (layers point downward only)")
            if target.startswith("openssl/") and not (
                    rel in (os.path.join("schemas", "crypto.cpp"), os.path.join("daemon", "member_server.cpp"))
                    or layer == "federation"):
                problems.append(f"{where}: OpenSSL belongs in schemas/crypto.cpp and the TLS servers "
                                "(federation/, daemon/member_server.cpp) only")
            is_capnp = target.startswith("capnp/") or target.startswith("kj/") or target.endswith(".capnp.h")
            if is_capnp and not (layer == "schemas" and (path.endswith(".cpp") or "/detail/" in rel)):
                problems.append(f"{where}: Cap'n Proto headers belong in schemas/*.cpp only")
            if path.endswith(".hpp") and target.startswith(HEAVY):
                problems.append(f"{where}: slow-to-compile header in a .hpp; include it in the .cpp")
    return problems


def main():
    problems = []
    files = 0
    for layer in ALLOWED:
        if layer == "bench":
            continue
        for dirpath, _, names in os.walk(os.path.join(ROOT, layer)):
            bench = os.path.relpath(dirpath, ROOT).split(os.sep)[:2] == ["tools", "bench"]
            for name in sorted(names):
                if name.endswith((".cpp", ".hpp")):
                    files += 1
                    problems += check_file("bench" if bench else layer, os.path.join(dirpath, name))
    for p in problems:
        print(p)
    print(f"layering: {files} files checked, {len(problems)} violations")
    return 1 if problems or files == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
