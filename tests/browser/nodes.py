#!/usr/bin/env python3
"""A real two-node civnet federation on 127.0.0.1, for the browser tests.

Node A makes a one-steward network ("Sahel Network") and hosts "River
Women"; node B hosts "Youth Voices", joins the network from A's genesis
file, is admitted by A's steward and dials A: the two sync live. Member
accounts, all with known passwords:

  A: amina (member), kofi and ines (admins of River Women), cy and dee
     (members, for tests that change or end their sessions)
  B: bo (member)

With --orgs 3, A also hosts a third organization, "Coastal Health
Alliance", with a member account lena (for the screenshots).

When the nodes are up and in sync, prints ONE line of JSON to stdout:

  {"workdir": ..., "nodes": {"a": {"url": "https://127.0.0.1:PORT",
   "cert": ".../keys/web.crt", "data_dir": ..., "org": "River Women",
   "feed_key": ...}, "b": {...}},
   "accounts": {"amina": {"node": "a", "handle": "amina", "password": ...,
   "name": ..., "org": ..., "admin": false}, ...},
   "env": {"CIVNETCTL": ...}}

then waits until its stdin closes (the test runner exited, however it
ended) or it gets SIGTERM/SIGINT, stops both nodes and deletes the temp dir
(kept, and its path printed on stderr, when CIVNET_KEEP=1).

Environment: CIVNETD, CIVNETCTL, CAPNP, CIVNET_ENTRY_CAPNP, as for the
functional tests (see tests/functional/meson.build); unset, the binaries
of BUILD_DIR (default: the repository's build/).
"""

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
# Run by hand: the binaries of BUILD_DIR (default REPO/build).
_build = os.environ.get("BUILD_DIR", os.path.join(REPO, "build"))
os.environ.setdefault("CIVNETD", os.path.join(_build, "daemon", "civnetd"))
os.environ.setdefault("CIVNETCTL", os.path.join(_build, "tools", "civnetctl"))
os.environ.setdefault("CIVNET_ENTRY_CAPNP", os.path.join(REPO, "schemas", "entry.capnp"))
sys.path.insert(0, os.path.join(REPO, "tests", "functional"))
from civnet_node import CIVNETCTL, Node, wait_until  # noqa: E402

NETWORK = "Sahel Network"
ORG_A = "River Women"
ORG_B = "Youth Voices"
ORG_C = "Coastal Health Alliance"

# (handle, node, name, organization or None for the node's own, admin, password)
ACCOUNTS = [
    ("amina", "a", "Amina Okafor", None, False, "river wells in march"),
    ("kofi", "a", "Kofi Mensah", None, True, "granary keys at dawn"),
    ("ines", "a", "Inès Mbaye", None, True, "seed fair in the dry season"),
    ("cy", "a", "Cy Diallo", None, False, "lanterns over the delta"),
    ("dee", "a", "Dee Traoré", None, False, "millet harvest by june"),
    ("bo", "b", "Bo Andersen", None, False, "youth radio on fridays"),
]
ACCOUNT_C = ("lena", "a", "Lena Mwangi", ORG_C, False, "clinic boats on tuesday")


def log(msg):
    sys.stderr.write(f"nodes.py: {msg}\n")
    sys.stderr.flush()


def ok(r):
    if r.code != 0:
        raise RuntimeError(repr(r))
    return r


class Federation:
    def __init__(self, orgs):
        self.orgs = orgs
        self.workdir = tempfile.mkdtemp(prefix="civnet-browser-")
        self.nodes = {}

    def node(self, key, name):
        n = Node(self.workdir, name)
        self.nodes[key] = n
        return n

    def setup(self):
        a = self.node("a", "node-a")
        b = self.node("b", "node-b")
        genesis = os.path.join(self.workdir, "network.genesis")
        # init's default listen addresses are 0.0.0.0: Node.init passes
        # 127.0.0.1:0 for both the peer and the member interface.
        ok(a.init(org=ORG_A))
        ok(a.genesis(NETWORK, genesis))
        a.start()
        ok(b.init(org=ORG_B, network=genesis))
        b.start()
        ok(a.ctl("admit", b.status()["feed_key"], "--name", ORG_B, "--region", "Sahel"))
        if self.orgs >= 3:
            ok(a.ctl("orgs", "add", ORG_C))
            feed = next(o["feed_key"] for o in a.ctl_json("orgs", "list")["orgs"] if o["name"] == ORG_C)
            ok(a.ctl("admit", feed, "--name", ORG_C, "--region", "Coast"))
        ok(b.ctl("peers", "add", a.peer_address(), a.node_key()))
        ok(b.ctl("sync", "--wait", "--timeout", "60"))

        accounts = list(ACCOUNTS) + ([ACCOUNT_C] if self.orgs >= 3 else [])
        out = {}
        for handle, key, name, org, admin, password in accounts:
            n = self.nodes[key]
            args = ["accounts", "add", handle, "--name", name, "--password-stdin"]
            if org:
                args += ["--org", org]
            if admin:
                args += ["--admin"]
            ok(n.ctl(*args, stdin=password + "\n"))
            out[handle] = {"node": key, "handle": handle, "password": password, "name": name,
                           "org": org or (ORG_A if key == "a" else ORG_B), "admin": admin}

        # Both nodes know both organizations' profiles before any test runs.
        def both_know_all():
            names = [{m.get("name") for m in n.ctl_json("members", "list").get("members", [])}
                     for n in self.nodes.values()]
            want = {ORG_A, ORG_B} | ({ORG_C} if self.orgs >= 3 else set())
            return all(want <= s for s in names)
        wait_until(both_know_all, 60, "both nodes to hold every organization's profile")

        nodes = {}
        for key, n in self.nodes.items():
            st = n.status()
            nodes[key] = {"url": f"https://127.0.0.1:{st['http_port']}",
                          "cert": os.path.join(n.data_dir, "keys", "web.crt"),
                          "data_dir": n.data_dir, "log": n.log_path,
                          "org": ORG_A if key == "a" else ORG_B, "feed_key": st["feed_key"]}
        return {"workdir": self.workdir, "nodes": nodes, "accounts": out,
                "env": {"CIVNETCTL": CIVNETCTL}}

    def teardown(self):
        for n in self.nodes.values():
            n.kill()
        if os.environ.get("CIVNET_KEEP") == "1":
            log(f"kept {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orgs", type=int, choices=(2, 3), default=2,
                        help="organizations in the network (3 adds one hosted on A)")
    args = parser.parse_args()

    fed = Federation(args.orgs)
    done = threading.Event()

    def on_signal(signum, frame):
        done.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    try:
        try:
            info = fed.setup()
        except Exception as e:  # noqa: BLE001 - report whatever failed, with the logs
            log(f"setting up the federation failed: {e}")
            for n in fed.nodes.values():
                log(f"----- log of {n.name} -----\n{n.log()}")
            sys.exit(1)
        sys.stdout.write(json.dumps(info) + "\n")
        sys.stdout.flush()

        def watch_stdin():
            # Returns at EOF: the process that started us has gone or closed it.
            # os.read, not sys.stdin: a thread blocked in a buffered read
            # holds its lock, and the interpreter aborts at exit on it.
            try:
                while os.read(0, 4096):
                    pass
            except (OSError, ValueError):
                pass
            done.set()
        threading.Thread(target=watch_stdin, daemon=True).start()
        while not done.wait(1.0):  # wakes up for signals too
            pass
    finally:
        fed.teardown()


if __name__ == "__main__":
    main()
