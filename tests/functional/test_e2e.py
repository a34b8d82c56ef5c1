"""End-to-end test of civnetd and civnetctl: real processes in temp dirs.

Node A creates a network (init + genesis), publishes three posts, verifies
and exports its store; node B joins the network from A's genesis file and
imports the export. The test then checks what a sysadmin would: B holds
every entry of A's feed byte for byte, and after B's export is imported
back into A both nodes report the same frontier digest. Also the refusals a
user meets: a stopped daemon, a key file readable by others, an existing
node, a missing data dir, a truncated export. And a network of three
stewards made as stewards make one: each steward node created with
`init --steward`, a 2-of-3 draft, each steward signs it in turn, `genesis
check` says when it is complete, each steward node joins it; a draft that
is not fully signed, or a draft of an impossible threshold, gets nowhere.

Run by meson (see meson.build), or by hand:
  CIVNETD=build/daemon/civnetd CIVNETCTL=build/tools/civnetctl \\
  CIVNET_ENTRY_CAPNP=schemas/entry.capnp python3 tests/functional/test_e2e.py -v
"""

import errno
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from civnet_node import (CAPNP, ENTRY_CAPNP, Node, genesis_check, genesis_draft,  # noqa: E402
                         printed_value, run, wait_until)

def split_frames(data):
    """The frames of a stream of Cap'n Proto messages in standard framing."""
    frames, at = [], 0
    while at < len(data):
        count = int.from_bytes(data[at:at + 4], "little") + 1
        table = (4 * (count + 1) + 7) // 8 * 8
        words = sum(int.from_bytes(data[at + 4 + 4 * i:at + 8 + 4 * i], "little") for i in range(count))
        frames.append(bytes(data[at:at + table + 8 * words]))
        at += table + 8 * words
    return frames


# A node that makes a one-steward network holds two entries right after
# genesis: its organization's first profile, and its steward's admission of
# that organization.
ENTRIES_AFTER_GENESIS = 2

POSTS = [
    ("Clean water in rural clinics", "How we filter water.", ["water", "health"]),
    ("Training volunteers", "A two-day *curriculum*.", ["training"]),
    ("Budget templates", "Spreadsheets that worked for us.", ["finance", "water"]),
]


class NodeTestCase(unittest.TestCase):
    """Gives each test a temp dir; prints daemon logs when a test fails and
    keeps the dir for a look (its path is printed)."""

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="civnet-e2e-")
        self.nodes = []

    def node(self, name):
        n = Node(self.workdir, name)
        self.nodes.append(n)
        return n

    def tearDown(self):
        for n in self.nodes:
            n.kill()
        if self._failed():
            for n in self.nodes:
                sys.stderr.write(f"\n===== log of civnetd {n.name} ({n.log_path}) =====\n{n.log()}")
            sys.stderr.write(f"\n(test files kept in {self.workdir})\n")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _failed(self):
        # unittest records a failure in the result as it happens (3.4+), so
        # tearDown can see it there.
        outcome = getattr(self, "_outcome", None)
        result = getattr(outcome, "result", None)
        if result is None:
            return False
        return any(test is self for test, _ in result.failures + result.errors)

    def assertOk(self, r):
        self.assertEqual(r.code, 0, repr(r))

    def assertRefused(self, r, *phrases):
        """Non-zero exit, one line on stderr naming what was wrong."""
        self.assertNotEqual(r.code, 0, repr(r))
        lines = r.err.strip().splitlines()
        self.assertEqual(len(lines), 1, f"expected one error line: {r!r}")
        for p in phrases:
            self.assertIn(p, lines[0], repr(r))

    def metrics(self, node):
        """civnetctl metrics, parsed as Prometheus' text format 0.0.4 is:
        {(name, frozenset of label pairs): value}; fails on a malformed line,
        a sample without HELP and TYPE, or a metric described twice."""
        r = node.ctl("metrics")
        self.assertOk(r)
        described, samples = {}, {}
        sample = re.compile(r'^([a-z_:][a-z0-9_:]*)(?:\{((?:[a-z_]+="(?:[^"\\]|\\.)*",?)*)\})? ([0-9]+)$')
        for line in r.out.splitlines():
            if line.startswith("# HELP ") or line.startswith("# TYPE "):
                kind, name = line.split()[1:3]
                self.assertNotIn((kind, name), described, line)
                described[(kind, name)] = line
                continue
            m = sample.match(line)
            self.assertIsNotNone(m, f"not a sample line: {line!r}")
            name, labels, value = m.groups()
            self.assertIn(("HELP", name), described, name)
            self.assertIn(("TYPE", name), described, name)
            pairs = frozenset(re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"', labels or ""))
            samples[(name, pairs)] = int(value)
        return samples

    def hub_and_two(self, hub_port=None):
        """A one-steward hub (on `hub_port` if given) and two organizations'
        nodes, admitted by it and dialing it."""
        hub = self.node("hub")
        genesis = self.make_network(hub, "Sahel Network")
        self.hub_args = ["--peer-listen", f"127.0.0.1:{hub_port}"] if hub_port else []
        hub.start(*self.hub_args)
        orgs = []
        for name in ("River Women", "Youth Voices"):
            n = self.node(name.split()[0].lower())
            self.assertOk(n.init(org=name, network=genesis))
            n.start()
            self.assertOk(hub.ctl("admit", n.status()["feed_key"], "--name", name, "--region", "Sahel"))
            self.assertOk(n.ctl("peers", "add", hub.peer_address(), hub.node_key()))
            orgs.append(n)
        return hub, orgs

    def tips(self, node):
        return {t["feed"]: (t["seq"], t["id"]) for t in node.ctl_json("feeds")["feeds"]}

    def make_network(self, node, name="Test Network"):
        genesis = os.path.join(self.workdir, node.name + ".genesis")
        self.assertOk(node.init(org="Org " + node.name))
        self.assertOk(node.genesis(name, genesis))
        return genesis

    def publish_big_posts(self, node, count=25, size=60_000):
        """Publishes `count` posts with bodies of `size` bytes (near the
        64 KiB limit), so an export of them is well over 1 MiB."""
        for i in range(count):
            path = os.path.join(self.workdir, f"big-{i}.md")
            line = f"Post {i}: notes on water, health and training. "
            with open(path, "w") as f:
                f.write((line * (size // len(line) + 1))[:size])
            self.assertOk(node.ctl("publish", "--title", f"Big post {i}", "--body-file", path))

    def export_big_store(self, node, count=25):
        """A network with a node holding `count` big posts, and its export."""
        genesis = self.make_network(node)
        node.start()
        self.publish_big_posts(node, count)
        export = os.path.join(self.workdir, node.name + ".export")
        self.assertOk(node.ctl("export", "--out", export))
        return genesis, export


class EndToEnd(NodeTestCase):
    def test_publish_verify_export_import_between_two_nodes(self):
        a = self.node("a")
        genesis = self.make_network(a)
        a.start()
        st_a = a.status()
        for key in ("node_key", "feed_key", "network_id", "feeds", "entries", "frontier_digest"):
            self.assertIn(key, st_a)
        feed_a = st_a["feed_key"]
        # The organization's first profile, and the steward's admission of it
        # (the node that makes a one-steward network admits its organization).
        self.assertEqual((st_a["feeds"], st_a["entries"]), (2, 2))
        # Its organization is a member and its profile names this node: a
        # member node of the network.
        self.assertEqual(st_a["membership"]["this_org_state"], "member")
        self.assertTrue(st_a["membership"]["this_node_member"])

        # Publish three posts; civnetctl prints each new id.
        ids = []
        for title, body, tags in POSTS:
            args = ["publish", "--title", title, "--body", body]
            for t in tags:
                args += ["--tag", t]
            r = a.ctl(*args)
            self.assertOk(r)
            ids.append(r.out.strip())
            self.assertRegex(ids[-1], r"^[0-9a-f]{64}$")

        listed = a.ctl_json("entries", "list", "--kind", "post")["entries"]
        self.assertEqual(len(listed), 3)
        by_title = {e["title"]: e for e in listed}
        for seq, (title, _, tags) in enumerate(POSTS, start=2):  # seq 1 is the profile
            e = by_title[title]
            self.assertEqual(e["tags"], tags)
            self.assertEqual(e["seq"], seq)
            self.assertEqual(e["author"], feed_a)
            self.assertEqual(e["kind"], "post")
            self.assertEqual(e["id"], ids[seq - 2])
            for key in ("id", "author", "seq", "kind", "timestamp", "title", "tags"):
                self.assertIn(key, e)
        water = a.ctl_json("entries", "list", "--tag", "water")["entries"]
        self.assertEqual(sorted(e["title"] for e in water), sorted([POSTS[0][0], POSTS[2][0]]))
        shown = a.ctl_json("entries", "show", ids[1])
        self.assertEqual(shown["body"], POSTS[1][1])

        human = a.ctl("entries", "list")
        self.assertOk(human)
        self.assertIn(POSTS[0][0], human.out)

        r = a.ctl("verify")
        self.assertOk(r)
        self.assertIn("ok", r.out)
        v = a.ctl_json("verify")
        self.assertEqual(v["state"], "done")
        self.assertTrue(v["result"]["ok"], v)
        self.assertEqual(v["result"]["entries"], 5)  # the profile, 3 posts, the admission

        export_a = os.path.join(self.workdir, "a.export")
        self.assertOk(a.ctl("export", "--out", export_a))
        with open(export_a, "rb") as f:
            r = subprocess.run([CAPNP, "decode", ENTRY_CAPNP, "SignedEntry"],
                               stdin=f, capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count(b"header = "), 5)

        # Node B joins the network from A's genesis file and imports.
        b = self.node("b")
        self.assertOk(b.init(org="Org b", network=genesis))
        b.start()
        st_b = b.status()
        self.assertEqual(st_b["network_id"], st_a["network_id"])
        self.assertNotEqual(st_b["feed_key"], feed_a)
        imported = b.ctl_json("import", export_a)
        # A's four and its steward's admission of A: stewards' feeds go first,
        # so A's organization is a member by the time its entries are judged.
        self.assertEqual((imported["stored"], imported["duplicates"], imported["refused"]), (5, 0, []))

        # Every entry of A's feed is on B, the same bytes: B exports A's
        # feed as one contiguous run (exports are in feed order).
        for i in ids:
            self.assertEqual(b.ctl_json("entries", "show", i)["id"], i)
        on_a = a.ctl_json("entries", "list", "--author", feed_a)["entries"]
        on_b = b.ctl_json("entries", "list", "--author", feed_a)["entries"]
        self.assertEqual(on_a, on_b)
        export_b = os.path.join(self.workdir, "b.export")
        self.assertOk(b.ctl("export", "--out", export_b))
        with open(export_a, "rb") as fa, open(export_b, "rb") as fb:
            frames_b = set(split_frames(fb.read()))
            for frame in split_frames(fa.read()):
                self.assertIn(frame, frames_b)
        self.assertOk(b.ctl("verify"))

        # Importing again changes nothing.
        again = b.ctl_json("import", export_a)
        self.assertEqual((again["stored"], again["duplicates"]), (0, 5))

        # B's organization is not a member yet: A refuses its feed.
        r = a.ctl("import", export_b, "--json")
        self.assertEqual(r.code, 1, repr(r))
        refused = r.json()
        self.assertEqual(refused["stored"], 0)
        self.assertEqual([r["verdict"] for r in refused["refused"]], ["notMember"])
        # A's steward admits it; then B's feed (its profile) goes to A, and
        # the admission to B: both hold the same feeds at the same tips, so
        # their frontier digests are equal.
        feed_b = st_b["feed_key"]
        self.assertOk(a.ctl("admit", feed_b, "--name", "Org b", "--region", "Test region"))
        back = a.ctl_json("import", export_b)
        self.assertEqual((back["stored"], back["refused"]), (1, []))
        export_a2 = os.path.join(self.workdir, "a2.export")
        self.assertOk(a.ctl("export", "--out", export_a2))
        self.assertEqual(b.ctl_json("import", export_a2)["stored"], 1)  # the admission of B
        st_a, st_b = a.status(), b.status()
        self.assertEqual((st_a["feeds"], st_a["entries"]), (3, 7))
        self.assertEqual(st_a["frontier_digest"], st_b["frontier_digest"])
        members = {m["feed_key"]: m["state"] for m in b.ctl_json("members", "list")["members"]}
        self.assertEqual((members[feed_a], members[feed_b]), ("member", "member"))

        # Clean shutdown: exit 0 and the socket is gone.
        for n in (a, b):
            self.assertEqual(n.stop(), 0, n.log())
            self.assertFalse(os.path.exists(n.socket), f"{n.socket} left behind")
            self.assertIn("stopped cleanly", n.log())

        # A stopped daemon: one line saying how to start it.
        r = a.ctl("status")
        self.assertRefused(r, "cannot reach civnetd", "civnetd run --data-dir")

    def test_an_import_over_one_mebibyte_is_stored_whole(self):
        # Beast's default 1 MiB body limit once refused every such import
        # (civnetctl saw "Broken pipe").
        a = self.node("a")
        genesis, export = self.export_big_store(a)
        self.assertGreater(os.path.getsize(export), 1_400_000)
        b = self.node("b")
        self.assertOk(b.init(org="Org b", network=genesis))
        b.start()
        imported = b.ctl_json("import", export)
        self.assertEqual((imported["entries"], imported["stored"], imported["refused"]), (27, 27, []))
        st_a, st_b = a.status(), b.status()
        self.assertEqual(st_b["entries"], 28)  # A's 26, its steward's admission, B's own profile
        self.assertIn(st_a["feed_key"], [f["feed"] for f in b.ctl_json("feeds")["feeds"]])
        self.assertOk(b.ctl("verify"))

    def test_import_fits_its_batches_to_the_nodes_request_limit(self):
        # The least limit the config allows is below civnetctl's 4 MiB
        # batches: civnetctl must learn it and send smaller ones.
        a = self.node("a")
        genesis, export = self.export_big_store(a, count=40)
        self.assertGreater(os.path.getsize(export), 2_300_000)
        b = self.node("b")
        self.assertOk(b.init(org="Org b", network=genesis))
        b.set_config("max_request_bytes", 1048576)
        b.start()
        self.assertEqual(b.status()["max_import_bytes"], 1048576)
        imported = b.ctl_json("import", export)
        # A's 41 entries and its steward's admission of A, sent first.
        self.assertEqual((imported["entries"], imported["stored"], imported["refused"]), (42, 42, []))
        self.assertEqual(b.status()["entries"], 43)

    def test_the_short_ids_of_the_tables_name_entries_and_feeds(self):
        a = self.node("a")
        self.make_network(a)
        a.start()
        full = a.ctl("publish", "--title", "Wells", "--body", "Dig deep.").out.strip()
        table = a.ctl("entries", "list", "--kind", "post")
        self.assertOk(table)
        header, row = table.out.splitlines()[:2]
        self.assertEqual(header.split()[:2], ["ID", "AUTHOR"])
        short_id, short_author = row.split()[:2]
        self.assertEqual(len(short_id), 12)
        self.assertTrue(full.startswith(short_id))

        shown = a.ctl("entries", "show", short_id)
        self.assertOk(shown)
        self.assertIn("Dig deep.", shown.out)
        self.assertEqual(a.ctl_json("entries", "show", short_id.upper())["id"], full)
        by_author = a.ctl_json("entries", "list", "--author", short_author)["entries"]
        self.assertEqual(len(by_author), 2)  # the profile and the post
        self.assertEqual(a.ctl_json("entries", "list", "--author", short_author.upper())["entries"], by_author)

        other = "0" * 12 if not short_author.startswith("0") else "1" * 12
        self.assertRefused(a.ctl("entries", "list", "--author", other), "no feed starts with " + other)
        self.assertRefused(a.ctl("entries", "show", other), "no entry", other)

    def test_shutdown_answers_a_request_being_handled_but_not_a_slow_sender(self):
        a = self.node("a")
        self.make_network(a)
        a.set_config("request_timeout_seconds", 60)
        a.start()
        self.publish_big_posts(a)  # an export page (~1.5 MB) far over the socket buffers

        # A client that sends a header and part of its body, then stalls.
        slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        slow.settimeout(60)
        slow.connect(a.socket)
        slow.sendall(b"POST /v1/publish HTTP/1.1\r\nHost: civnetd\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n{\"title\": \"sl")
        # A client whose answer is being written: it reads the first bytes,
        # then stops reading, so civnetd is still writing at the signal.
        reader = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        reader.settimeout(60)
        reader.connect(a.socket)
        reader.sendall(b"GET /v1/export HTTP/1.1\r\nHost: civnetd\r\n\r\n")
        got = reader.recv(4096)
        self.assertTrue(got.startswith(b"HTTP/1.1 200"), got[:100])

        started = time.monotonic()
        a.proc.send_signal(signal.SIGTERM)
        while b"\r\n\r\n" not in got:
            got += reader.recv(65536)
        head, body = got.split(b"\r\n\r\n", 1)
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
        while True:
            chunk = reader.recv(65536)
            if not chunk:
                break
            body += chunk
        # The whole answer, then civnetd closed the connection (the reads
        # above end at EOF) although the answer, made before the signal,
        # did not say so.
        self.assertEqual(len(body), length)
        self.assertEqual(a.wait_stopped(), 0, a.log())
        # Not held until the slow client's 60 s deadline.
        self.assertLess(time.monotonic() - started, 20, a.log())
        self.assertEqual(slow.recv(4096), b"")  # closed without an answer
        slow.close()
        reader.close()
        self.assertIn("stopped cleanly", a.log())

    def test_sigint_also_stops_cleanly_and_a_restart_keeps_the_entries(self):
        a = self.node("a")
        self.make_network(a)
        a.start()
        self.assertOk(a.ctl("publish", "--title", "Kept", "--body", "across restarts"))
        before = a.status()
        self.assertEqual(a.stop(signal.SIGINT), 0, a.log())
        self.assertFalse(os.path.exists(a.socket))
        a.start()
        self.assertEqual(a.status()["frontier_digest"], before["frontier_digest"])


class Refusals(NodeTestCase):
    def test_a_key_file_readable_by_others_is_refused(self):
        a = self.node("a")
        self.make_network(a)
        key = os.path.join(a.data_dir, "keys", "org.key")
        os.chmod(key, 0o644)
        r = a.civnetd("run", "--data-dir", a.data_dir)
        self.assertRefused(r, key, "chmod 600")
        self.assertFalse(os.path.exists(a.socket))
        os.chmod(key, 0o600)
        a.start()  # fixed as the message said

    def test_init_refuses_an_existing_node(self):
        a = self.node("a")
        self.assertOk(a.init())
        before = sorted(os.listdir(os.path.join(a.data_dir, "keys")))
        r = a.init()
        self.assertRefused(r, "already holds a civnet node")
        self.assertEqual(sorted(os.listdir(os.path.join(a.data_dir, "keys"))), before)

    def test_init_leaves_nothing_behind_when_the_genesis_file_is_bad(self):
        a = self.node("a")
        bad = os.path.join(self.workdir, "bad.genesis")
        with open(bad, "wb") as f:
            f.write(b"\x00\x00\x00\x00\x05\x00\x00\x00not a genesis")
        r = a.init(network=bad)
        self.assertRefused(r, "bad.genesis")
        self.assertEqual(os.listdir(self.workdir), ["bad.genesis"])

    def test_run_refuses_a_missing_data_dir(self):
        missing = os.path.join(self.workdir, "nowhere")
        r = run([os.environ.get("CIVNETD", "civnetd"), "run", "--data-dir", missing])
        self.assertRefused(r, missing, "civnetd init")

    def test_run_refuses_a_node_of_no_network_with_a_hint(self):
        a = self.node("a")
        self.assertOk(a.init())
        r = a.civnetd("run", "--data-dir", a.data_dir)
        self.assertRefused(r, "no network", "civnetd genesis")

    def test_run_refuses_a_config_file_with_an_unknown_key(self):
        a = self.node("a")
        self.make_network(a)
        config = os.path.join(a.data_dir, "civnetd.toml")
        with open(config) as f:
            lines = f.read().splitlines()
        at = lines.index("worker_threads = 16") + 1
        lines.insert(at, 'listen = "0.0.0.0:1"')
        with open(config, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = a.civnetd("run", "--data-dir", a.data_dir)
        self.assertRefused(r, f"civnetd.toml:{at + 1}", "listen")
        # check-config says the same, without starting anything.
        r = a.civnetd("check-config", "--data-dir", a.data_dir)
        self.assertRefused(r, f"civnetd.toml:{at + 1}", "listen")

    def test_check_config_validates_without_starting_and_names_what_is_wrong(self):
        a = self.node("a")
        self.make_network(a)
        r = a.civnetd("check-config", "--data-dir", a.data_dir)
        self.assertOk(r)
        self.assertIn("civnetd.toml: ok", r.out)
        self.assertRegex(r.out, r"peers listen\s+127\.0\.0\.1:0")
        a.set_config("session_idle_minutes", 2)  # below the 5-minute floor
        self.assertRefused(a.civnetd("check-config", "--data-dir", a.data_dir), "session_idle_minutes")
        a.set_config("session_idle_minutes", 30)
        a.set_config("cert_file", '"/nonexistent/web.crt"')
        a.set_config("key_file", '"/nonexistent/web.key"')
        self.assertRefused(a.civnetd("check-config", "--data-dir", a.data_dir), "cert_file /nonexistent/web.crt")
        # A file elsewhere, before it is installed.
        other = os.path.join(self.workdir, "candidate.toml")
        with open(other, "w") as f:
            f.write("[log]\nlevel = \"loud\"\n")
        self.assertRefused(a.civnetd("check-config", "--config", other), "candidate.toml")
        # Nothing was started or made.
        self.assertFalse(os.path.exists(os.path.join(a.data_dir, "admin.sock")))
        self.assertFalse(os.path.exists(os.path.join(a.data_dir, "keys", "web.crt")))

    def test_a_second_daemon_on_the_same_node_is_refused(self):
        a = self.node("a")
        self.make_network(a)
        a.start()
        r = a.civnetd("run", "--data-dir", a.data_dir)
        self.assertRefused(r, "another civnetd")
        self.assertEqual(a.status()["entries"], ENTRIES_AFTER_GENESIS)  # the first is unharmed

    def test_genesis_refuses_to_overwrite_a_file_or_a_network(self):
        a = self.node("a")
        self.assertOk(a.init())
        existing = os.path.join(self.workdir, "existing.genesis")
        with open(existing, "w") as f:
            f.write("precious")
        self.assertRefused(a.genesis("Net", existing), "already exists")
        with open(existing) as f:
            self.assertEqual(f.read(), "precious")
        self.assertOk(a.genesis("Net", os.path.join(self.workdir, "net.genesis")))
        self.assertRefused(a.genesis("Other", os.path.join(self.workdir, "other.genesis")),
                           "already belongs to network")

    def test_a_truncated_export_is_refused_and_nothing_is_stored(self):
        a = self.node("a")
        genesis = self.make_network(a)
        a.start()
        for i in range(3):
            self.assertOk(a.ctl("publish", "--title", f"post {i}", "--body", "text"))
        export = os.path.join(self.workdir, "a.export")
        self.assertOk(a.ctl("export", "--out", export))
        truncated = os.path.join(self.workdir, "truncated.export")
        with open(export, "rb") as f:
            data = f.read()
        with open(truncated, "wb") as f:
            f.write(data[:len(data) - 7])

        b = self.node("b")
        self.assertOk(b.init(network=genesis))
        b.start()
        before = b.status()
        r = b.ctl("import", truncated)
        self.assertRefused(r, "truncated", "nothing was imported")
        after = b.status()
        self.assertEqual((after["entries"], after["frontier_digest"]),
                         (before["entries"], before["frontier_digest"]))

    def test_an_export_with_a_forged_signature_is_refused_by_the_node(self):
        a = self.node("a")
        genesis = self.make_network(a)
        a.start()
        last = None
        for i in range(3):
            r = a.ctl("publish", "--title", f"post {i}", "--body", "text")
            self.assertOk(r)
            last = r.out.strip()
        signature = bytes.fromhex(a.ctl_json("entries", "show", last)["signature"])
        export = os.path.join(self.workdir, "a.export")
        self.assertOk(a.ctl("export", "--out", export))
        with open(export, "rb") as f:
            data = bytearray(f.read())
        at = data.find(signature)
        self.assertGreater(at, 0)
        data[at + 10] ^= 0x01
        forged = os.path.join(self.workdir, "forged.export")
        with open(forged, "wb") as f:
            f.write(data)

        b = self.node("b")
        self.assertOk(b.init(network=genesis))
        b.start()
        before = b.status()
        r = b.ctl("import", forged)
        self.assertNotEqual(r.code, 0, repr(r))
        self.assertIn("badSignature", r.err)
        self.assertIn("1 stored", r.out)  # the steward's admission of A, a run of its own
        # The chain rule proves a run by its last signature: the whole run
        # of A's organization's feed is refused, nothing of it is stored.
        self.assertEqual(b.status()["feeds"], before["feeds"] + 1)  # A's steward feed only
        r = b.ctl("import", forged, "--json")
        self.assertEqual(r.code, 1, repr(r))
        refused = r.json()["refused"]
        self.assertEqual(len(refused), 1)
        self.assertEqual(refused[0]["verdict"], "badSignature")

    def test_a_crashed_daemon_leaves_a_socket_the_next_run_replaces(self):
        a = self.node("a")
        self.make_network(a)
        a.start()
        a.stop(signal.SIGKILL)
        self.assertTrue(os.path.exists(a.socket))  # stale: nobody listens
        a.start()
        self.assertEqual(a.status()["entries"], ENTRIES_AFTER_GENESIS)

    def test_export_refuses_to_overwrite_a_file(self):
        a = self.node("a")
        self.make_network(a)
        a.start()
        out = os.path.join(self.workdir, "out.export")
        with open(out, "w") as f:
            f.write("precious")
        self.assertRefused(a.ctl("export", "--out", out), "already exists")
        with open(out) as f:
            self.assertEqual(f.read(), "precious")

    def test_publish_refuses_an_oversized_body_and_stores_nothing(self):
        a = self.node("a")
        self.make_network(a)
        a.start()
        body = os.path.join(self.workdir, "big.md")
        with open(body, "w") as f:
            f.write("x" * (64 * 1024 + 1))
        self.assertRefused(a.ctl("publish", "--title", "Too long", "--body-file", body), "at most 65536")
        self.assertEqual(a.status()["entries"], ENTRIES_AFTER_GENESIS)

    def test_a_directory_is_refused_as_a_body_file_and_as_an_import_file(self):
        a = self.node("a")
        self.make_network(a)
        a.start()
        self.assertRefused(a.ctl("publish", "--title", "T", "--body-file", self.workdir),
                           self.workdir + " is a directory")
        self.assertRefused(a.ctl("import", self.workdir), self.workdir + " is a directory")
        self.assertEqual(a.status()["entries"], ENTRIES_AFTER_GENESIS)  # nothing published

    def test_a_body_file_that_is_not_utf8_text_is_refused_by_name_and_offset(self):
        a = self.node("a")
        self.make_network(a)
        a.start()
        latin1 = os.path.join(self.workdir, "latin1.md")
        with open(latin1, "wb") as f:
            f.write("Caf\u00e9 notes".encode("latin-1"))
        self.assertRefused(a.ctl("publish", "--title", "T", "--body-file", latin1),
                           f"the body file {latin1} is not valid UTF-8 text (byte offset 3)")
        nul = os.path.join(self.workdir, "nul.md")
        with open(nul, "wb") as f:
            f.write(b"text\x00more")
        self.assertRefused(a.ctl("publish", "--title", "T", "--body-file", nul),
                           f"the body file {nul} contains a NUL byte (byte offset 4)")
        r = run([os.environ.get("CIVNETCTL", "civnetctl"), "--data-dir", a.data_dir, "publish", "--title", "T",
                 "--body-file", "-"], stdin="x\x00")
        self.assertRefused(r, "the body read from stdin contains a NUL byte (byte offset 1)")
        self.assertEqual(a.status()["entries"], ENTRIES_AFTER_GENESIS)  # nothing published

    def test_an_empty_import_file_is_refused(self):
        a = self.node("a")
        self.make_network(a)
        a.start()
        empty = os.path.join(self.workdir, "empty.export")
        open(empty, "wb").close()
        r = a.ctl("import", empty)
        self.assertRefused(r, f"{empty} is empty: nothing to import")
        self.assertEqual(r.code, 1)
        self.assertEqual(r.out, "")

    def test_an_import_from_another_network_counts_every_refused_entry(self):
        a = self.node("a")
        self.make_network(a, name="Net A")
        a.start()
        self.assertOk(a.ctl("publish", "--title", "T", "--body", "B"))
        export = os.path.join(self.workdir, "a.export")
        self.assertOk(a.ctl("export", "--out", export))

        c = self.node("c")
        self.make_network(c, name="Net C")
        c.start()
        r = c.ctl("import", export)
        self.assertEqual(r.code, 1, repr(r))
        self.assertIn("3 entries, 0 stored, 0 duplicates, 3 refused (2 runs)", r.out)
        self.assertIn("wrongNetwork", r.out + r.err)
        # A's organization's feed (2 entries) and A's steward's feed (1).
        self.assertIn("refused 2 entries of feed", r.err)
        self.assertIn("from seq 1: wrongNetwork", r.err)
        j = c.ctl("import", export, "--json")
        self.assertEqual(j.code, 1, repr(j))
        self.assertEqual(j.json()["refused_entries"], 3)
        self.assertEqual(sorted(x["entries"] for x in j.json()["refused"]), [1, 2])
        # Two imports of 3 entries each, counted by their reason.
        m = self.metrics(c)
        self.assertEqual(m[("civnet_entries_refused_total", frozenset({("reason", "wrongNetwork")}))], 6)
        self.assertEqual(m[("civnet_entries_refused_total", frozenset({("reason", "badSignature")}))], 0)

    def test_the_admin_socket_is_private(self):
        a = self.node("a")
        self.make_network(a)
        a.start()
        mode = stat.S_IMODE(os.stat(a.socket).st_mode)
        self.assertEqual(mode, 0o600)


class StewardsTestCase(NodeTestCase):
    """Helpers for networks of several stewards."""

    def steward_nodes(self, *names):
        """Nodes made with `init --steward`, and their steward keys as init printed them."""
        nodes, keys = [], []
        for name in names:
            n = self.node(name)
            r = n.init(org="Org " + name, steward=True)
            self.assertOk(r)
            self.assertIn("belongs to no network yet", r.out)
            key = printed_value(r.out, "steward key")
            self.assertRegex(key, r"^[0-9a-f]{64}$")
            mode = stat.S_IMODE(os.stat(os.path.join(n.data_dir, "keys", "steward.key")).st_mode)
            self.assertEqual(mode, 0o600)
            nodes.append(n)
            keys.append(key)
        return nodes, keys

    def draft(self, keys, threshold=2, name="Sahel Network"):
        path = os.path.join(self.workdir, "sahel.genesis")
        r = genesis_draft(name, keys, threshold, path)
        self.assertOk(r)
        return path, printed_value(r.out, "network id")

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()


class SeveralStewards(StewardsTestCase):
    """A network whose genesis takes the signatures of three stewards."""

    def test_three_stewards_draft_sign_check_and_join_a_2_of_3_network(self):
        stewards, keys = self.steward_nodes("s1", "s2", "s3")
        genesis, network_id = self.draft(keys)
        drafted = genesis_check(genesis)
        self.assertRefused(drafted, "3 of 3 stewards have not signed it yet")
        self.assertIn("threshold     2 of 3 stewards", drafted.out)
        self.assertIn(network_id, drafted.out)

        # One signature: incomplete, and the reason names the two missing stewards.
        r = stewards[0].sign(genesis)
        self.assertOk(r)
        self.assertIn(f"{keys[0]}  signed", r.out)
        check = genesis_check(genesis)
        self.assertEqual(check.code, 1, repr(check))
        self.assertRefused(check, "not complete", "2 of 3 stewards have not signed it yet",
                           keys[1][:12], keys[2][:12])
        self.assertNotIn(keys[0][:12], check.err)
        self.assertIn(f"{keys[0]}  signed", check.out)
        self.assertIn(f"{keys[1]}  missing", check.out)
        self.assertIn(f"{keys[2]}  missing", check.out)

        # Signing twice is harmless: the file stays as it was.
        once = self.read(genesis)
        again = stewards[0].sign(genesis)
        self.assertOk(again)
        self.assertIn("already holds the signature", again.out)
        self.assertEqual(self.read(genesis), once)

        # A steward cannot use the draft before the others signed it.
        self.assertRefused(stewards[0].join(genesis), "is not a complete genesis", "not fully signed")
        self.assertFalse(os.path.exists(os.path.join(stewards[0].data_dir, "genesis.bin")))

        for n in stewards[1:]:
            self.assertOk(n.sign(genesis))
        check = genesis_check(genesis)
        self.assertOk(check)
        self.assertIn("complete", check.out)
        for key in keys:
            self.assertIn(f"{key}  signed", check.out)
        self.assertIn(f"network id    {network_id}", check.out)  # signatures do not change it

        for n, key in zip(stewards, keys):
            r = n.join(genesis)
            self.assertOk(r)
            self.assertIn(network_id, r.out)
            self.assertIn(f"steward key   {key} (a steward of this network)", r.out)
            self.assertRefused(n.join(genesis), "already belongs to network " + network_id)
            n.start()
        for n, key in zip(stewards, keys):
            st = n.status()
            self.assertEqual(st["network_id"], network_id)
            self.assertEqual(st["network_name"], "Sahel Network")
            self.assertEqual(st["steward_key"], key)
            # Its organization's first profile, and its steward feed's: no
            # organization is admitted yet, so that one makes it a member node.
            self.assertEqual((st["feeds"], st["entries"]), (2, 2))
            self.assertIn("steward of this network", n.log())
            self.assertIn("steward feed: published a profile", n.log())

        # So two stewards peer at once, before they admit each other's
        # organizations: each takes the other as a member node by the
        # profile of its steward feed.
        s1, s2 = stewards[0], stewards[1]
        self.assertOk(s2.ctl("peers", "add", s1.peer_address(), s1.node_key()))
        self.assertOk(s2.ctl("sync", "--wait", "--timeout", "60"))
        [peer] = s2.ctl_json("peers", "list")["peers"]
        self.assertEqual((peer["key"], peer["state"], peer["in_sync"]), (s1.node_key(), "connected", True))
        self.assertEqual(peer["organizations"], ["Org s1 (steward)"])
        self.assertEqual(s2.status()["feeds"], 3)  # its two, and s1's steward feed (not s1's organization)

        # An organization's node joins the finished network and is no steward.
        org = self.node("org")
        self.assertOk(org.init(org="Health Org", network=genesis))
        org.start()
        st = org.status()
        self.assertEqual(st["network_id"], network_id)
        self.assertIsNone(st["steward_key"])

    def test_a_draft_that_is_not_fully_signed_or_of_an_impossible_threshold_gets_nowhere(self):
        stewards, keys = self.steward_nodes("s1", "s2", "s3")
        impossible = os.path.join(self.workdir, "impossible.genesis")
        for k in (0, 4):
            r = genesis_draft("Sahel Network", keys, k, impossible)
            self.assertRefused(r, f"--threshold {k} is impossible with 3 steward(s)")
            self.assertEqual(r.code, 1)
            self.assertFalse(os.path.exists(impossible))
        self.assertRefused(genesis_draft("Sahel Network", [keys[0], keys[1], keys[0]], 2, impossible),
                           f"steward key {keys[0]} is given twice")
        self.assertFalse(os.path.exists(impossible))
        r = genesis_draft("Sahel Network", ["abc"], 1, impossible)
        self.assertRefused(r, "--steward must be 64 hex characters")
        self.assertEqual(r.code, 2)

        genesis, _ = self.draft(keys)
        self.assertOk(stewards[0].sign(genesis))
        before = sorted(os.listdir(self.workdir))

        # init --network with a draft one steward signed: refused, nothing left behind.
        b = self.node("b")
        r = b.init(org="Org b", network=genesis)
        self.assertRefused(r, "is not a complete genesis", "not fully signed")
        self.assertEqual(sorted(os.listdir(self.workdir)), before)

        # A steward node the draft does not name cannot sign it.
        outsiders, outsider_keys = self.steward_nodes("outsider")
        signed_once = self.read(genesis)
        r = outsiders[0].sign(genesis)
        self.assertRefused(r, f"this node's steward key {outsider_keys[0]} is not one of the draft's stewards")
        self.assertEqual(self.read(genesis), signed_once)
        # Nor can a node without a steward key.
        plain = self.node("plain")
        self.assertOk(plain.init())
        self.assertRefused(plain.sign(genesis), "has no steward key", "civnetd init --steward")
        self.assertEqual(self.read(genesis), signed_once)

        # Complete, the outsider may join it, but as no steward.
        for n in stewards[1:]:
            self.assertOk(n.sign(genesis))
        self.assertOk(outsiders[0].join(genesis))
        outsiders[0].start()
        self.assertFalse(outsiders[0].status()["membership"]["this_node_steward"])
        self.assertIn("which is not a steward of this network", outsiders[0].log())
        self.assertIn("(not a steward of the set in force)", outsiders[0].ctl("status").out)


class Membership(StewardsTestCase):
    """The stewards' rules on real nodes: one steward acts provisionally,
    two of three make it final. Records move between nodes by export and
    import (the sync protocol comes with the federation issue)."""

    def carry(self, src, dst, name):
        """Exports everything `src` holds and imports it into `dst`."""
        path = os.path.join(self.workdir, f"{name}.export")
        self.assertOk(src.ctl("export", "--out", path))
        r = dst.ctl("import", path, "--json")
        self.assertIn(r.code, (0, 1), repr(r))
        return r.json()

    def two_of_three_network(self):
        """Three steward nodes, signed into a 2-of-3 network and joined to it."""
        stewards, keys = self.steward_nodes("s1", "s2", "s3")
        genesis, _ = self.draft(keys, threshold=2)
        for s in stewards:
            self.assertOk(s.sign(genesis))
        for s in stewards:
            self.assertOk(s.join(genesis))
        return stewards, keys, genesis

    def member_state(self, node, feed):
        return node.ctl_json("members", "show", feed)["state"]

    def test_admission_suspension_revocation_and_takedown_by_two_of_three_stewards(self):
        stewards, keys, genesis = self.two_of_three_network()
        s1, s2, _ = stewards
        s1.start()
        s2.start()

        org = self.node("org")
        self.assertOk(org.init(org="Youth Voices", network=genesis))
        org.start()
        feed = org.status()["feed_key"]
        posts = []
        for i in range(4):
            r = org.ctl("publish", "--title", f"Report {i + 1}", "--body", "field notes", "--tag", "reports")
            self.assertOk(r)
            posts.append(r.out.strip())  # seqs 2..5; seq 1 is the profile

        # One steward's admission: pending, and the organization's entries
        # are refused as not (yet) a member.
        self.assertOk(s1.ctl("admit", feed, "--name", "Youth Voices", "--region", "Andes", "--label", "youth-led"))
        self.assertEqual(self.member_state(s1, feed), "pending")
        refused = self.carry(org, s1, "org1")
        self.assertEqual(refused["stored"], 0)
        self.assertEqual({r["verdict"] for r in refused["refused"]}, {"notMember"})
        self.assertIn("is admitted by 1 of the 2 stewards needed", refused["refused"][0]["detail"])

        # A second steward's admission makes it a member: its entries are taken.
        self.carry(s1, s2, "s1a")
        self.assertOk(s2.ctl("admit", feed, "--name", "Youth Voices", "--region", "Andes"))
        self.assertEqual(self.member_state(s2, feed), "member")
        taken = self.carry(org, s2, "org2")
        self.assertEqual((taken["stored"], taken["refused"]), (5, []))
        self.carry(s2, s1, "s2a")
        self.assertEqual(self.member_state(s1, feed), "member")
        # The details shown are those of the latest admission.
        andes = {m["feed_key"] for m in s1.ctl_json("members", "list", "--region", "Andes")["members"]}
        self.assertIn(feed, andes)

        # One steward's revocation after seq 2 suspends it: seqs 3..5 are
        # hidden on that node but still stored.
        before = s1.status()["entries"]
        self.assertOk(s1.ctl("revoke", feed, "--after-seq", "2", "--reason", "spam"))
        self.assertEqual(self.member_state(s1, feed), "suspended")
        listed = s1.ctl_json("entries", "list", "--author", feed)["entries"]
        self.assertEqual(sorted(e["seq"] for e in listed), [1, 2])
        self.assertEqual(s1.status()["entries"], before + 1)  # the revocation; nothing deleted
        self.assertEqual(s1.ctl_json("entries", "show", posts[2])["hidden"], "suspended")

        # A second, matching revocation revokes it: seqs 3..5 are purged.
        self.carry(s1, s2, "s1b")
        self.assertEqual(self.member_state(s2, feed), "suspended")
        self.assertOk(s2.ctl("revoke", feed, "--after-seq", "2", "--reason", "spam"))
        self.assertEqual(self.member_state(s2, feed), "revoked")
        for pid in posts[1:]:
            self.assertNotEqual(s2.ctl("entries", "show", pid).code, 0)
        self.assertEqual(s2.ctl_json("entries", "show", posts[0])["seq"], 2)
        again = self.carry(org, s2, "org3")
        self.assertEqual(again["stored"], 0)
        self.assertIn("revoked", {r["verdict"] for r in again["refused"]})

        # Two stewards' takedowns of seq 2 erase its content; the chain
        # still verifies.
        self.assertOk(s2.ctl("takedown", posts[0], "--reason", "abuse"))
        self.assertEqual(s2.ctl_json("entries", "show", posts[0])["hidden"], "takedown")
        self.assertIn("hidden     takedown (not shown to members)", s2.ctl("entries", "show", posts[0]).out)
        self.assertFalse(s2.ctl_json("entries", "show", posts[0])["erased"])
        self.carry(s2, s1, "s2b")
        self.assertEqual(self.member_state(s1, feed), "revoked")
        self.assertOk(s1.ctl("takedown", posts[0], "--reason", "abuse"))
        shown = s1.ctl_json("entries", "show", posts[0])
        self.assertTrue(shown["erased"])
        self.assertNotIn("field notes", json.dumps(shown))
        self.assertOk(s1.ctl("verify"))

        # A non-steward node cannot act as one.
        self.assertRefused(org.ctl("admit", feed, "--name", "X", "--region", "Y"), "holds no steward key")


    def test_a_steward_set_signed_by_two_of_three_replaces_a_lost_steward_key(self):
        stewards, keys, genesis = self.two_of_three_network()
        s1, s2, s3 = stewards
        for s in stewards:
            s.start()
        # s3's key is lost. A new steward node is made and joins the network.
        new, new_keys = self.steward_nodes("s4")
        self.assertOk(new[0].join(genesis))
        new[0].start()
        self.assertEqual(new[0].status()["steward_key"], new_keys[0])
        self.assertFalse(new[0].status()["membership"]["this_node_steward"])
        args = ["steward-set", "--steward", keys[0], "--steward", keys[1], "--steward", new_keys[0],
                "--threshold", "2"]
        r = s1.ctl(*args)
        self.assertOk(r)
        self.assertIn("1 of the 2 signatures it needs from the current set are here; the set in force is epoch 0", r.out)
        self.carry(s1, s2, "set1")
        r = s2.ctl(*args)
        self.assertOk(r)
        self.assertIn("2 of the 2 signatures it needs from the current set are here; the set in force is epoch 1", r.out)
        for n in (s3, new[0]):
            self.carry(s2, n, "set2-" + n.name)
        # The lost key acts no more; the new one does as soon as the new set
        # is in its node's store, without a restart.
        org = s1.status()["feed_key"]
        self.assertRefused(s3.ctl("admit", org, "--name", "X", "--region", "Y"), "not a steward of the set in force")
        self.assertTrue(new[0].status()["membership"]["this_node_steward"])
        self.assertOk(new[0].ctl("admit", org, "--name", "Org s1", "--region", "Sahel"))

    def test_a_hub_hosts_several_organizations_each_admitted_on_its_own(self):
        stewards, keys, genesis = self.two_of_three_network()
        s1, s2, _ = stewards
        s1.start()
        s2.start()
        hub = self.node("hub")
        self.assertOk(hub.init(org="Sahel Hub", network=genesis))
        hub.start()
        r = hub.ctl("orgs", "add", "River Women")
        self.assertOk(r)
        river = printed_value(r.out, "feed key")
        self.assertRegex(river, r"^[0-9a-f]{64}$")
        self.assertIn("civnetctl admit " + river, r.err)
        self.assertRefused(hub.ctl("orgs", "add", "river women"), "already hosts an organization named")
        self.assertOk(hub.ctl("orgs", "add", "Youth Voices"))
        orgs = {o["name"]: o for o in hub.ctl_json("orgs", "list")["orgs"]}
        self.assertEqual(set(orgs), {"Sahel Hub", "River Women", "Youth Voices"})
        self.assertEqual({o["state"] for o in orgs.values()}, {"none"})
        self.assertTrue(orgs["Sahel Hub"]["primary"])
        youth = orgs["Youth Voices"]["feed_key"]

        # Each organization publishes under its own key.
        r = hub.ctl("publish", "--org", "River Women", "--title", "Wells", "--body", "three new wells")
        self.assertOk(r)
        wells = r.out.strip()
        self.assertEqual(hub.ctl_json("entries", "show", wells)["author"], river)
        self.assertRefused(hub.ctl("publish", "--org", "Nobody", "--title", "x", "--body", "y"),
                           'hosts no organization named "Nobody"')

        # Two stewards admit River Women only: it is a member, Youth Voices is not.
        for s in (s1, s2):
            self.assertOk(s.ctl("admit", river, "--name", "River Women", "--region", "Sahel", "--label", "women-led"))
            self.carry(s, hub, "admit-" + s.name)
        orgs = {o["name"]: o for o in hub.ctl_json("orgs", "list")["orgs"]}
        self.assertEqual(orgs["River Women"]["state"], "member")
        self.assertEqual(orgs["Youth Voices"]["state"], "none")
        taken = self.carry(hub, s1, "hub")
        self.assertEqual(s1.ctl_json("entries", "show", wells)["author"], river)
        self.assertIn(youth, {r["feed"] for r in taken["refused"] if r["verdict"] == "notMember"})
        # The hub is a member node through River Women's profile.
        self.assertTrue(hub.status()["membership"]["this_node_member"])

        # A hosted organization retracts its own entry; the orgs survive a restart.
        self.assertOk(hub.ctl("retract", wells))
        self.assertTrue(hub.ctl_json("entries", "show", wells)["erased"])
        self.assertEqual(hub.stop(), 0)
        hub.start()
        self.assertEqual(len(hub.ctl_json("orgs", "list")["orgs"]), 3)
        self.assertOk(hub.ctl("publish", "--org", youth[:12], "--title", "Meeting", "--body", "Saturday"))



class Federation(NodeTestCase):
    """Real civnetd processes syncing over mutual TLS on 127.0.0.1: a
    one-steward hub and two organizations' nodes that dial it."""

    def ids(self, node):
        return sorted(e["id"] for e in node.ctl_json("entries", "list", "--limit", "1000")["entries"])

    def test_metrics_are_prometheus_text_and_their_counters_move(self):
        hub, (river, youth) = self.hub_and_two()
        for n in (river, youth):
            self.assertOk(n.ctl("sync", "--wait", "--timeout", "60"))
        before = self.metrics(river)
        self.assertEqual(before[("civnet_build_info", frozenset({("version", "0.1.0")}))], 1)
        self.assertEqual(before[("civnet_peers", frozenset({("state", "connected")}))], 1)
        self.assertOk(river.ctl("publish", "--title", "Metrics", "--body", "count me"))
        self.assertOk(river.ctl("sync", "--wait", "--timeout", "60"))
        after = self.metrics(river)
        self.assertEqual(after[("civnet_entries_published_total", frozenset())],
                         before[("civnet_entries_published_total", frozenset())] + 1)
        self.assertEqual(after[("civnet_entries", frozenset())], before[("civnet_entries", frozenset())] + 1)
        hub_key = frozenset({("peer", hub.node_key())})
        self.assertGreater(after[("civnet_peer_entries_sent_total", hub_key)],
                           before[("civnet_peer_entries_sent_total", hub_key)])
        at_hub = self.metrics(hub)
        self.assertGreaterEqual(at_hub[("civnet_peer_entries_received_total", frozenset({("peer", river.node_key())}))], 1)
        self.assertEqual(at_hub[("civnet_feeds_by_membership", frozenset({("state", "member")}))], 3)
        self.assertGreater(at_hub[("civnet_store_bytes", frozenset())], 0)
        self.assertEqual(at_hub[("civnet_feeds_frozen", frozenset())], 0)
        # Bytes and lag per peer: the post went out, and the link is in sync.
        self.assertGreater(after[("civnet_peer_bytes_sent_total", hub_key)],
                           before[("civnet_peer_bytes_sent_total", hub_key)] + len("count me"))
        self.assertGreater(after[("civnet_peer_bytes_received_total", hub_key)], 0)
        self.assertEqual(after[("civnet_peer_entries_behind", hub_key)], 0)
        self.assertEqual(after[("civnet_peer_seconds_since_in_sync", hub_key)], 0)

    def test_metrics_are_served_over_http_only_where_configured(self):
        import urllib.error
        import urllib.request
        a = self.node("a")
        self.make_network(a)
        a.set_config("listen", '"127.0.0.1:0"', section="metrics")
        a.start()
        m = re.search(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", a.log())
        self.assertIsNotNone(m, a.log())
        base = f"http://127.0.0.1:{m.group(1)}"
        with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
            self.assertEqual(r.status, 200)
            self.assertIn("text/plain", r.headers["Content-Type"])
            text = r.read().decode()
        self.assertIn('civnet_build_info{version="0.1.0"} 1', text)
        # The same, as JSON from civnetctl.
        samples = a.ctl_json("metrics")["metrics"]
        self.assertIn({"name": "civnet_build_info", "labels": {"version": "0.1.0"}, "value": 1}, samples)
        self.assertEqual(len(samples), len([l for l in text.splitlines() if l and not l.startswith("#")]))
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(base + "/v1/status", timeout=10)
        self.assertEqual(e.exception.code, 404)  # the admin API is not there
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(urllib.request.Request(base + "/metrics", data=b"x", method="POST"), timeout=10)
        self.assertEqual(e.exception.code, 405)
        self.assertEqual(a.stop(), 0)
        # Not configured: nothing listens; a bad address is refused at start.
        a.set_config("listen", '"127.0.0.1"', section="metrics")
        r = a.civnetd("check-config", "--data-dir", a.data_dir)
        self.assertRefused(r, "civnetd.toml:", "[metrics] listen")

    def test_health_says_healthy_degraded_with_reasons_or_down_in_its_exit_status(self):
        hub = self.node("hub")
        genesis = self.make_network(hub, "Sahel Network")
        r = hub.ctl("health")
        self.assertEqual((r.code, r.out.splitlines()[0]), (2, "down"))  # not running
        hub.start()
        r = hub.ctl("health")
        self.assertEqual((r.code, r.out.strip()), (0, "healthy"))  # alone in its network: nothing to link to
        # A node whose organization is not admitted yet, with no peer linked.
        river = self.node("river")
        self.assertOk(river.init(org="River Women", network=genesis))
        river.start()
        r = river.ctl("health")
        self.assertEqual(r.code, 1, r)
        self.assertIn("River Women\" is none, not a member", r.out)
        # Admitted and linked: healthy once in sync.
        self.assertOk(hub.ctl("admit", river.status()["feed_key"], "--name", "River Women", "--region", "Sahel"))
        self.assertOk(river.ctl("peers", "add", hub.peer_address(), hub.node_key()))
        self.assertOk(river.ctl("sync", "--wait", "--timeout", "60"))
        r = river.ctl_json("health")
        self.assertEqual((r["status"], r["reasons"], r["checks"]["peers_in_sync"]), ("healthy", [], 1))
        # The hub goes away: the peer is configured but not connected (once
        # the river node has seen the link close; a bounded wait).
        self.assertEqual(hub.stop(), 0)
        deadline = time.monotonic() + 60
        r = river.ctl("health")
        while r.code == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
            r = river.ctl("health")
        self.assertEqual(r.code, 1, r)
        self.assertIn("no peer is connected (1 configured)", r.out)

    def test_three_nodes_converge_and_entries_relay_through_the_hub(self):
        hub, (river, youth) = self.hub_and_two()
        for n in (river, youth):
            r = n.ctl("sync", "--wait", "--timeout", "60")
            self.assertOk(r)
            self.assertIn("in sync with 1 linked peer", r.out)
        # Entries published on one organization's node reach the other
        # through the hub, live.
        r = river.ctl("publish", "--title", "Wells", "--body", "three new wells", "--tag", "water")
        self.assertOk(r)
        wells = r.out.strip()
        r = youth.ctl("publish", "--title", "Meeting", "--body", "Saturday")
        self.assertOk(r)
        meeting = r.out.strip()

        def converged():
            digests = {n.status()["frontier_digest"] for n in (hub, river, youth)}
            return len(digests) == 1
        wait_until(converged, 60, "the three nodes to hold the same feeds")
        self.assertEqual(youth.ctl_json("entries", "show", wells)["title"], "Wells")
        self.assertEqual(river.ctl_json("entries", "show", meeting)["title"], "Meeting")
        self.assertEqual(self.ids(hub), self.ids(river))
        self.assertEqual(self.ids(hub), self.ids(youth))

        peers = river.ctl_json("peers", "list")["peers"]
        self.assertEqual(len(peers), 1)
        self.assertEqual(peers[0]["key"], hub.node_key())
        self.assertEqual(peers[0]["source"], "added")
        self.assertEqual(peers[0]["state"], "connected")
        self.assertTrue(peers[0]["member_node"])
        self.assertEqual(peers[0]["organizations"], ["Org hub"])
        self.assertIn("Org hub", river.ctl("peers", "list").out)
        self.assertGreater(peers[0]["entries_received"], 0)
        self.assertEqual(len(hub.ctl_json("peers", "list")["peers"]), 2)
        self.assertIn("connected (dialed by the peer", hub.log())
        self.assertOk(youth.ctl("verify"))

    def test_an_added_peer_is_kept_across_a_restart_and_redialed(self):
        hub, (river, youth) = self.hub_and_two()
        self.assertOk(river.ctl("sync", "--wait", "--timeout", "60"))
        self.assertEqual(river.stop(), 0)
        r = hub.ctl("publish", "--title", "While you were away", "--body", "news")
        self.assertOk(r)
        missed = r.out.strip()
        river.start()
        self.assertEqual([p["key"] for p in river.ctl_json("peers", "list")["peers"]], [hub.node_key()])
        self.assertOk(river.ctl("sync", "--wait", "--timeout", "60"))
        self.assertEqual(river.ctl_json("entries", "show", missed)["title"], "While you were away")
        # Removing it ends the link, and it is not dialed after a restart.
        self.assertOk(river.ctl("peers", "remove", hub.node_key()[:12]))
        self.assertEqual(river.ctl_json("peers", "list")["peers"], [])
        self.assertRefused(river.ctl("peers", "remove", hub.node_key()), "no peer")

    def test_a_wrong_key_or_a_bad_address_is_refused_and_reported(self):
        hub, (river, youth) = self.hub_and_two()
        self.assertRefused(youth.ctl("peers", "add", "127.0.0.1:1", hub.node_key()), "was added already, at",
                           "peers remove")
        self.assertRefused(youth.ctl("peers", "add", "nowhere", hub.node_key()), "HOST:PORT")
        self.assertRefused(youth.ctl("peers", "add", "127.0.0.1:1", "abc"), "64 hex")
        self.assertRefused(youth.ctl("peers", "add", "127.0.0.1:0", "cd" * 32), "port 0 cannot be dialed")
        self.assertRefused(youth.ctl("peers", "add", hub.node_key(), "127.0.0.1:1"), "the address comes first")
        self.assertRefused(youth.ctl("peers", "remove", "0123456789ab"), "no configured peer's node key")
        # A steward given a node key where a feed key belongs (the hub
        # knows youth's node key from youth's profile once they synced).
        self.assertOk(youth.ctl("sync", "--wait", "--timeout", "60"))
        self.assertRefused(hub.ctl("admit", youth.node_key(), "--name", "Youth", "--region", "Sahel"),
                           "is a node key, not an organization's feed key")
        wrong = "ab" * 32
        self.assertOk(river.ctl("peers", "add", hub.peer_address(), wrong))

        def reported():
            for p in river.ctl_json("peers", "list")["peers"]:
                if p["key"] == wrong and "not the configured " + wrong in p["last_error"]:
                    return True
            return False
        wait_until(reported, 60, "the wrong key to be reported")
        self.assertIn("not the configured " + wrong, river.log())
        # In sync with the hub, and the peer that is not linked is named.
        r = river.ctl("sync", "--wait", "--timeout", "60")
        self.assertOk(r)
        self.assertIn("in sync with 1 linked peer (of 2)", r.out)
        self.assertIn(f"note: peer {wrong[:12]} at {hub.peer_address()} is not linked", r.err)

    def test_garbage_and_a_client_without_certificate_are_refused_and_the_hub_keeps_serving(self):
        hub, (river, youth) = self.hub_and_two()
        host, port = hub.peer_address().rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n" + bytes(range(256)) * 8)
            try:
                s.recv(100)
            except OSError:
                pass
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            try:
                with ctx.wrap_socket(raw) as tls:
                    tls.sendall(b"\x00" * 64)
                    tls.recv(100)  # the server's alert shows here with TLS 1.3
            except (ssl.SSLError, OSError):
                pass
        wait_until(lambda: hub.log().count("TLS handshake failed") >= 2, 30, "both refusals in the hub's log")
        # The hub still serves its real peers.
        self.assertOk(river.ctl("sync", "--wait", "--timeout", "60"))
        self.assertOk(youth.ctl("sync", "--wait", "--timeout", "60"))


    def all_ids(self, node):
        """Every entry id the node holds, from its export."""
        path = os.path.join(self.workdir, f"{node.name}-{time.monotonic_ns()}.export")
        self.assertOk(node.ctl("export", "--out", path))
        with open(path, "rb") as f:
            return sorted(hashlib.sha256(fr).hexdigest() for fr in split_frames(f.read()))

    def test_a_node_killed_during_a_large_catch_up_converges_after_a_restart(self):
        hub = self.node("hub")
        genesis = self.make_network(hub, "Sahel Network")
        hub.start()
        hub.publish_many(3000)
        late = self.node("late")
        self.assertOk(late.init(org="Late Org", network=genesis))
        late.start()
        self.assertOk(hub.ctl("admit", late.status()["feed_key"], "--name", "Late Org", "--region", "Sahel"))
        self.assertOk(late.ctl("peers", "add", hub.peer_address(), hub.node_key()))
        # Killed as soon as the link is up: in the middle of taking 3000 entries.
        wait_until(lambda: "connected (dialed by this node" in late.log(), 60, "the late node to link")
        late.proc.send_signal(signal.SIGKILL)
        self.assertEqual(late.wait_stopped(), -signal.SIGKILL)
        late.start()
        self.assertOk(late.ctl("sync", "--wait", "--timeout", "120"))
        wait_until(lambda: late.status()["frontier_digest"] == hub.status()["frontier_digest"], 120,
                   "the restarted node to hold what the hub holds")
        self.assertEqual(self.tips(late), self.tips(hub))
        self.assertEqual(self.all_ids(late), self.all_ids(hub))
        self.assertEqual(late.status()["entries"], 3000 + ENTRIES_AFTER_GENESIS + 2)
        self.assertOk(late.ctl("verify"))

    def test_a_revoked_organizations_later_entries_never_spread(self):
        hub, (river, youth) = self.hub_and_two()
        for n in (river, youth):
            self.assertOk(n.ctl("sync", "--wait", "--timeout", "60"))
        feed = river.status()["feed_key"]
        self.assertOk(river.ctl("publish", "--title", "Before", "--body", "fine"))
        wait_until(lambda: self.tips(youth).get(feed, (0,))[0] == 2, 60, "river's post to reach youth")
        # River's node goes offline; meanwhile the steward revokes it after
        # seq 2, and river (not knowing yet) publishes two more entries.
        self.assertEqual(river.stop(), 0)
        self.assertOk(hub.ctl("revoke", feed, "--after-seq", "2", "--reason", "abuse of the network"))
        wait_until(lambda: youth.ctl_json("members", "show", feed)["state"] == "revoked", 60,
                   "the revocation to reach youth through the hub")
        river.start("--peer-listen", "")
        for title in ("After 1", "After 2"):
            self.assertOk(river.ctl("publish", "--title", title, "--body", "should not spread"))
        # River's node is no member node any more: the hub refuses the link,
        # so nothing of river's reaches the network.
        river_key = river.node_key()
        wait_until(lambda: f"peer {river_key[:12]} " in hub.log().split("member -> revoked")[-1]
                   and "refused: notMember" in hub.log().split("member -> revoked")[-1], 60,
                   "the hub to refuse river's node after the revocation")
        wait_until(lambda: "notMember" in river.ctl_json("peers", "list")["peers"][0]["last_error"], 60,
                   "river's node to report the hub's refusal")
        for n in (hub, youth):
            self.assertEqual(self.tips(n)[feed][0], 2, n.name)
        self.assertNotIn("should not spread", json.dumps(youth.ctl_json("entries", "list", "--limit", "1000")))


    def test_a_hub_hosting_two_organizations_relays_both(self):
        hub, (river, youth) = self.hub_and_two()
        keys = []
        for name in ("Farmers Coop", "Health Workers"):
            r = hub.ctl("orgs", "add", name)
            self.assertOk(r)
            key = printed_value(r.out, "feed key")
            self.assertOk(hub.ctl("admit", key, "--name", name, "--region", "Sahel"))
            self.assertOk(hub.ctl("publish", "--org", name, "--title", f"News from {name}", "--body", "hosted"))
            keys.append(key)
        for n in (river, youth):
            for key in keys:
                wait_until(lambda: self.tips(n).get(key, (0,))[0] == 2, 60, f"{n.name} to hold {key[:12]}")
            titles = {e["title"] for e in n.ctl_json("entries", "list", "--kind", "post")["entries"]}
            self.assertTrue({"News from Farmers Coop", "News from Health Workers"} <= titles, titles)

    def test_an_advertised_address_reaches_the_profile_and_members_dial_it(self):
        hub, (river, youth) = self.hub_and_two()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.assertEqual(river.stop(), 0)
        river.set_config("listen", f'"127.0.0.1:{port}"', section="net")
        river.set_config("advertise", f'"127.0.0.1:{port}"')
        river.start()
        self.assertIn(f"published a profile advertising 127.0.0.1:{port}", river.log())
        feed = river.status()["feed_key"]

        def advertised(n):
            p = n.ctl_json("members", "show", feed)["profile"]
            return p is not None and any(x["addresses"] == [f"127.0.0.1:{port}"] for x in p["nodes"])
        wait_until(lambda: advertised(hub), 60, "the hub to hold river's new profile")
        # Youth knows only the hub, and dials river at the advertised address.
        wait_until(lambda: any(p["key"] == river.node_key() and p["source"] == "member" and p["state"] == "connected"
                               for p in youth.ctl_json("peers", "list")["peers"]), 60,
                   "youth to dial river at its advertised address")

    def test_openssl_s_client_without_a_certificate_is_refused(self):
        hub, _ = self.hub_and_two()  # dev.sh installs openssl
        r = subprocess.run(["openssl", "s_client", "-connect", hub.peer_address(), "-tls1_3", "-quiet"],
                           input="hello\n", capture_output=True, text=True, timeout=30)
        self.assertNotIn("hello", r.stdout)
        wait_until(lambda: "TLS handshake failed: peer did not return a certificate" in hub.log(), 30,
                   "the hub to log the refusal")

    def test_a_node_restored_from_an_old_copy_forks_its_feed_and_every_node_ends_frozen_alike(self):
        with socket.socket() as probe:  # a port for the hub that stays the same across its restart
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        hub, (river, youth) = self.hub_and_two(hub_port=port)
        for n in (river, youth):
            self.assertOk(n.ctl("sync", "--wait", "--timeout", "60"))
        feed = river.status()["feed_key"]
        # A backup of river's whole data dir, taken while it is stopped.
        self.assertEqual(river.stop(), 0)
        copy = self.node("restored")
        shutil.copytree(river.data_dir, copy.data_dir, symlinks=True)
        river.start()
        self.assertOk(river.ctl("publish", "--title", "After the backup", "--body", "one branch"))
        wait_until(lambda: self.tips(youth)[feed][0] == 2, 60, "river's post to reach youth")
        self.assertEqual(river.stop(), 0)
        # The old copy comes back while the hub is away, and publishes: a
        # second entry at seq 2. Then the hub returns.
        self.assertEqual(hub.stop(), 0)
        copy.start()
        self.assertOk(copy.ctl("publish", "--title", "From the old copy", "--body", "the other branch"))
        hub.start(*self.hub_args)

        def frozen_at_1(n):
            mine = [x for x in n.ctl_json("feeds")["feeds"] if x["feed"] == feed]
            return len(mine) == 1 and mine[0]["seq"] == 1 and mine[0]["frozen"]
        for n in (hub, youth, copy):
            wait_until(lambda: frozen_at_1(n), 60, f"{n.name} to hold the feed truncated and frozen")
        self.assertIn("fork at seq 2 of feed " + feed[:12], hub.log() + youth.log() + copy.log())
        self.assertRefused(copy.ctl("publish", "--title", "x", "--body", "y"), "frozen by a fork proof")
        for n in (hub, youth, copy):
            self.assertOk(n.ctl("verify"))

class BackupRestore(NodeTestCase):
    """civnetctl backup from a node that keeps serving, and civnetd restore:
    the same entries, frontier and accounts; bad backups and bad places
    refused with nothing written; a restored node that cannot fork its own
    feeds."""

    def backup(self, node, name="node.backup"):
        path = os.path.join(self.workdir, name)
        r = node.ctl("backup", "--out", path)
        self.assertOk(r)
        return path, printed_value(r.out, "frontier digest")

    def restore(self, node, path):
        return node.civnetd("restore", "--data-dir", node.data_dir, path)

    def node_with_three_reports(self):
        """A running node of its own network with three posts, and its
        frontier digest."""
        a = self.node("a")
        self.make_network(a)
        a.start()
        for i in range(3):
            self.assertOk(a.ctl("publish", "--title", f"Report {i}", "--body", "Findings"))
        return a, a.status()["frontier_digest"]

    def test_repair_refuses_a_running_node_and_a_dir_without_a_store_and_keeps_a_healthy_store_whole(self):
        a, frontier = self.node_with_three_reports()
        self.assertRefused(a.civnetd("repair", "--data-dir", a.data_dir), "a civnetd is running", "stop it first")
        a.stop()
        self.assertRefused(a.civnetd("repair", "--data-dir", os.path.join(self.workdir, "nowhere")),
                           "is not a node's data directory")
        # A healthy store comes through whole, the old one kept aside.
        r = a.civnetd("repair", "--data-dir", a.data_dir)
        self.assertOk(r)
        self.assertIn("0 dropped", r.out)
        kept = re.search(r"damaged store kept in (\S+)", r.out).group(1)
        self.assertTrue(os.path.isdir(kept))
        a.start()
        self.assertEqual(a.status()["frontier_digest"], frontier)
        self.assertOk(a.ctl("verify"))
        a.stop()
        shutil.rmtree(os.path.join(a.data_dir, "store"))
        self.assertRefused(a.civnetd("repair", "--data-dir", a.data_dir), "there is no store to repair")

    def test_a_repair_stopped_between_its_two_renames_is_finished_by_the_next_and_run_names_it(self):
        a, frontier = self.node_with_three_reports()
        a.stop()
        r = a.civnetd("repair", "--data-dir", a.data_dir)
        self.assertOk(r)
        kept = re.search(r"damaged store kept in (\S+)", r.out).group(1)
        # Its last rename undone: what a repair killed between its two
        # renames leaves (the damaged store aside, the new one beside it).
        store, fresh = os.path.join(a.data_dir, "store"), os.path.join(a.data_dir, "store.repair-new")
        os.rename(store, fresh)
        self.assertRefused(a.civnetd("run", "--data-dir", a.data_dir),
                           "was stopped before it put the new store in place", "civnetd repair --data-dir")
        r = a.civnetd("repair", "--data-dir", a.data_dir)
        self.assertOk(r)
        self.assertIn("finished the repair", r.out)
        self.assertIn("damaged store kept in " + kept, r.out)
        self.assertFalse(os.path.exists(fresh))
        a.start()
        self.assertEqual(a.status()["frontier_digest"], frontier)
        self.assertOk(a.ctl("verify"))
        # The repaired store keeps publishing paused until a peer confirms.
        self.assertNotEqual(a.ctl("publish", "--title", "Too soon", "--body", "x").code, 0)
        a.stop()
        # A store that is not a finished repair's (here the damaged one,
        # which has no repair's mark) is never put in place.
        shutil.rmtree(store)
        shutil.copytree(kept, fresh)
        self.assertRefused(a.civnetd("repair", "--data-dir", a.data_dir), "is an unfinished repair's, not whole")
        self.assertFalse(os.path.exists(store))

    def test_a_backup_taken_while_publishing_restores_to_its_frontier_and_verifies(self):
        a = self.node("a")
        self.make_network(a)
        a.start()
        for i in range(5):
            self.assertOk(a.ctl("publish", "--title", f"Report {i}", "--body", f"Findings {i}", "--tag", "report"))
        self.assertOk(a.ctl("accounts", "add", "amina", "--name", "Amina Okafor"))
        # Publishes go on while the backup is taken: it holds one snapshot.
        stop = threading.Event()

        def keep_publishing():
            i = 0
            while not stop.is_set():
                a.ctl("publish", "--title", f"Meanwhile {i}", "--body", "x")
                i += 1
        t = threading.Thread(target=keep_publishing)
        t.start()
        try:
            path, frontier = self.backup(a)
        finally:
            stop.set()
            t.join()
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)  # it holds private keys
        self.assertRefused(a.ctl("backup", "--out", path), "already exists")

        r = self.node("r")
        out = self.restore(r, path)
        self.assertOk(out)
        self.assertEqual(printed_value(out.out, "frontier").split()[0], frontier)
        self.assertIn("signatures checked", out.out)
        r.start()
        st = r.status()
        self.assertEqual(st["frontier_digest"], frontier)
        self.assertEqual(st["node_key"], a.status()["node_key"])
        titles = {e["title"] for e in r.ctl_json("entries", "list", "--limit", "1000")["entries"]}
        self.assertTrue({f"Report {i}" for i in range(5)} <= titles, titles)
        self.assertOk(r.ctl("verify"))
        self.assertIn("amina", r.ctl("accounts", "list").out)
        # Restored alone, nothing can confirm its feeds: publishing waits.
        self.assertTrue(st["publishing"]["paused"], st)
        self.assertIn("PAUSED", r.ctl("status").out)
        self.assertRefused(r.ctl("publish", "--title", "t", "--body", "b"), "publishing is paused")
        health = r.ctl("health")
        self.assertEqual(health.code, 1, repr(health))
        self.assertIn("publishing is paused", health.out)
        self.assertRefused(r.ctl("resume-publishing"), "--force")
        self.assertOk(r.ctl("resume-publishing", "--force"))
        self.assertFalse(r.status()["publishing"]["paused"])
        self.assertOk(r.ctl("publish", "--title", "Back", "--body", "again"))
        # The pause does not come back after a restart.
        self.assertEqual(r.stop(), 0)
        r.start()
        self.assertFalse(r.status()["publishing"]["paused"])
        self.assertIn("publishing resumed: the sysadmin lifted the pause", r.log())

    def test_bad_backups_and_bad_places_are_refused_and_leave_nothing(self):
        a = self.node("a")
        self.make_network(a)
        a.start()
        self.assertOk(a.ctl("publish", "--title", "One", "--body", "x"))
        path, _ = self.backup(a)
        with open(path, "rb") as f:
            whole = f.read()

        def variant(name, data):
            p = os.path.join(self.workdir, name)
            with open(p, "wb") as f:
                f.write(data)
            return p
        flipped = bytearray(whole)
        flipped[len(whole) // 2] ^= 0x01
        cases = [
            (variant("truncated.backup", whole[: len(whole) - 100]), "truncated"),
            (variant("flipped.backup", bytes(flipped)), "digest does not match"),
            (variant("garbage.backup", b"PK\x03\x04 not a backup at all"), "not a civnet backup"),
            (variant("empty.backup", b""), "empty or truncated"),
            (os.path.join(self.workdir, "missing.backup"), "cannot open the backup file"),
        ]
        for file, phrase in cases:
            target = self.node("t-" + os.path.basename(file))
            r = self.restore(target, file)
            self.assertNotEqual(r.code, 0, repr(r))
            self.assertIn(phrase, r.err.strip().splitlines()[-1], repr(r))
            self.assertFalse(os.path.exists(target.data_dir), f"{file} left {target.data_dir} behind")
        r = self.restore(self.node("dir-as-file"), self.workdir)
        self.assertRefused(r, "is a directory")
        half = self.node("half")
        os.makedirs(half.data_dir)
        with open(os.path.join(half.data_dir, "restore-incomplete"), "w") as f:
            f.write("an interrupted restore\n")
        self.assertRefused(self.restore(half, path), "holds an unfinished restore")
        # An empty directory given for it stays empty.
        empty = self.node("empty")
        os.makedirs(empty.data_dir)
        r = self.restore(empty, cases[0][0])
        self.assertNotEqual(r.code, 0, repr(r))
        self.assertEqual(os.listdir(empty.data_dir), [])
        # Never over a live node, nor over another node, nor one of another network.
        before = a.status()["frontier_digest"]
        self.assertIn("a civnetd is running", self.restore(a, path).err)
        self.assertEqual(a.status()["frontier_digest"], before)
        self.assertEqual(a.stop(), 0)
        self.assertIn("is not empty", self.restore(a, path).err)
        other = self.node("other")
        self.make_network(other, "Another Network")
        r = self.restore(other, path)
        self.assertNotEqual(r.code, 0, repr(r))
        self.assertIn("holds a node of network \"Another Network\"", r.err)
        # A backup from a node that is not running.
        r = a.ctl("backup", "--out", os.path.join(self.workdir, "down.backup"))
        self.assertEqual(r.code, 3, repr(r))
        self.assertFalse(os.path.exists(os.path.join(self.workdir, "down.backup")))

    def test_a_restored_node_publishes_again_only_after_a_peer_confirms_its_feed_so_it_never_forks(self):
        hub, (river, youth) = self.hub_and_two()
        for n in (river, youth):
            self.assertOk(n.ctl("sync", "--wait", "--timeout", "60"))
        feed = river.status()["feed_key"]
        path, _ = self.backup(river)
        # After the backup river publishes once more, the hub gets it, and
        # river's machine is lost.
        self.assertOk(river.ctl("publish", "--title", "After the backup", "--body", "seq 2"))
        wait_until(lambda: self.tips(hub).get(feed, (0,))[0] == 2, 60, "river's second post to reach the hub")
        self.assertEqual(river.stop(), 0)
        shutil.rmtree(river.data_dir)

        restored = self.node("restored")
        self.assertOk(self.restore(restored, path))
        restored.start()
        # It dials the hub (a peer it had), catches up on its own feed, and
        # only then publishes: at seq 3, after the entry it had lost.
        wait_until(lambda: not restored.status()["publishing"]["paused"], 60,
                   "a peer to confirm the restored node's feeds")
        self.assertEqual(self.tips(restored)[feed][0], 2)
        self.assertIn("publishing resumed: peer " + hub.node_key()[:12], restored.log())
        self.assertOk(restored.ctl("publish", "--title", "Back online", "--body", "seq 3"))
        wait_until(lambda: self.tips(youth).get(feed, (0,))[0] == 3, 60, "the new post to reach youth")
        for n in (hub, youth, restored):
            mine = [x for x in n.ctl_json("feeds")["feeds"] if x["feed"] == feed]
            self.assertFalse(mine[0]["frozen"], f"{n.name}: {mine}")
            self.assertOk(n.ctl("verify"))

class Upgrade(NodeTestCase):
    """A node written by an earlier civnetd (fixtures/node-schema1.tar.gz,
    store schema version 1; fixtures/README.md says how it was made and
    what it held) runs under this one: its store is upgraded in place after
    a copy of it is kept, and holds exactly what it held."""

    FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "node-schema1.tar.gz")
    FRONTIER = "1efd9a745887f4581e5f9fb1309f4174e9fa94ec0f6932cf3111729a11414fd2"

    def test_a_schema_1_store_is_upgraded_after_a_copy_is_kept_and_holds_what_it_held(self):
        n = self.node("old")
        os.makedirs(n.data_dir, mode=0o700)
        subprocess.run(["tar", "-C", n.data_dir, "-xzf", self.FIXTURE], check=True)
        n.start("--http-listen", "127.0.0.1:0")
        log = n.log()
        self.assertIn("upgrading the store from schema version 1 to 2", log)
        self.assertIn("store upgraded from schema version 1 to 2", log)
        kept = [d for d in os.listdir(n.data_dir) if d.startswith("store.schema1-")]
        self.assertEqual(len(kept), 1, os.listdir(n.data_dir))
        self.assertIn("CURRENT", os.listdir(os.path.join(n.data_dir, kept[0])))

        st = n.status()
        self.assertEqual(st["frontier_digest"], self.FRONTIER)
        self.assertEqual((st["feeds"], st["entries"]), (3, 13))
        self.assertEqual(st["network_name"], "Fixture Network")
        self.assertEqual((st["membership"]["hidden_count"], st["membership"]["erased_count"]), (2, 2))
        titles = [e["title"] for e in n.ctl_json("entries", "list")["entries"] if e["kind"] == "post"]
        self.assertEqual(titles, ["Second org introduces itself", "School supplies drive",
                                  "Volunteer meeting on Saturday", "Harvest report 2026",
                                  "Clean water for Riverside"])
        health = [e["id"][:12] for e in n.ctl_json("entries", "list", "--tag", "health")["entries"]]
        self.assertEqual(health, ["af0f8a4d4f92", "870fa498f807"])  # the rebuilt tag index
        self.assertEqual(n.ctl_json("search", "wells")["entries"][0]["id"][:12], "870fa498f807")
        self.assertOk(n.ctl("verify"))
        # It goes on as a node of today: it publishes, and a restart upgrades nothing.
        self.assertOk(n.ctl("publish", "--title", "After the upgrade", "--body", "still here"))
        self.assertEqual(n.stop(), 0)
        before = len(n.log())
        n.start("--http-listen", "127.0.0.1:0")
        self.assertNotIn("upgrading the store", n.log()[before:])
        self.assertEqual(n.status()["entries"], 14)

class Reload(NodeTestCase):
    """civnetd.toml read again while the node runs (SIGHUP, civnetctl
    reload): peers, the log level and limits change at once; the rest waits
    for a restart; a bad file changes nothing."""

    def append_config(self, node, text):
        with open(os.path.join(node.data_dir, "civnetd.toml"), "a") as f:
            f.write(text)

    def test_peers_log_level_and_limits_change_at_once_and_a_bad_file_changes_nothing(self):
        hub = self.node("hub")
        genesis = self.make_network(hub, "Sahel Network")
        hub.start()
        river = self.node("river")
        self.assertOk(river.init(org="River Women", network=genesis))
        river.start()
        self.assertOk(hub.ctl("admit", river.status()["feed_key"], "--name", "River Women", "--region", "Sahel"))
        self.assertEqual(river.ctl_json("peers", "list")["peers"], [])

        # A [[peer]] added to the file is dialed on reload.
        self.append_config(river, f'\n[[peer]]\naddress = "{hub.peer_address()}"\nkey = "{hub.node_key()}"\n')
        r = river.ctl("reload")
        self.assertOk(r)
        self.assertIn(f"peer {hub.node_key()[:12]} ({hub.peer_address()}) added", r.out)
        self.assertOk(river.ctl("sync", "--wait", "--timeout", "60"))
        self.assertEqual(river.status()["frontier_digest"], hub.status()["frontier_digest"])
        self.assertEqual(river.ctl("reload").out.strip(), "civnetd.toml read again: nothing changed")

        # The log level and a limit, at once; a listen address, at the next restart.
        river.set_config("level", '"debug"')
        river.set_config("max_request_bytes", "2097152")
        river.set_config("ping_interval_seconds", "20")
        r = river.ctl("reload")
        self.assertOk(r)
        self.assertIn("[log] level info -> debug", r.out)
        self.assertIn("[admin] max_request_bytes 8388608 -> 2097152", r.out)
        self.assertIn("[net] ping_interval_seconds changed: it takes effect when civnetd restarts", r.out)
        self.assertEqual(river.status()["max_import_bytes"], 2097152)
        river.ctl("status")
        self.assertIn("debug admin GET /v1/status 200", river.log())

        # A bad file is refused with its line, and nothing changes.
        river.set_config("max_request_bytes", "12")
        r = river.ctl("reload")
        self.assertRefused(r, "civnetd.toml:", "max_request_bytes")
        self.assertEqual(river.status()["max_import_bytes"], 2097152)
        self.assertEqual(river.status()["peers"]["connected"], 1)
        self.assertIn("reload refused, the configuration in force is kept", river.log())
        river.set_config("max_request_bytes", "2097152")

        # SIGHUP does the same: the [[peer]] removed from the file is dropped.
        path = os.path.join(river.data_dir, "civnetd.toml")
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text[: text.index("\n[[peer]]")] + "\n")
        river.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: f"reload: peer {hub.node_key()[:12]} ({hub.peer_address()}) removed" in river.log(), 30,
                   "SIGHUP to drop the peer")
        self.assertEqual(river.ctl_json("peers", "list")["peers"], [])
        self.assertIsNone(river.proc.poll())  # SIGHUP did not stop it

class Room(NodeTestCase):
    """[store] max_size_mib and min_free_disk_mib: past them a node takes
    peers' entries without their content (headers still flow), says so in
    health and metrics, and fetches the content by itself once there is
    room again."""

    def full_of_content(self, node, hub):
        """Every post the hub holds is in `node` with its body."""
        for e in hub.ctl_json("entries", "list", "--kind", "post", "--limit", "1000")["entries"]:
            r = node.ctl("entries", "show", e["id"], "--json")
            if r.code != 0 or not r.json().get("body"):
                return False
        return True

    def paused(self, node):
        return self.metrics(node)[("civnet_store_content_paused", frozenset())] == 1

    def test_without_room_headers_sync_and_content_follows_once_a_limit_is_raised(self):
        hub, (river, youth) = self.hub_and_two()
        # More free disk asked for than this machine has: no room.
        if shutil.disk_usage(river.data_dir).free >= 1048576 << 20:
            self.skipTest("this disk has over 1 TiB free")
        river.set_config("min_free_disk_mib", "1048576")
        self.assertIn("[store] min_free_disk_mib 256 -> 1048576", river.ctl("reload").out)
        wait_until(lambda: self.paused(river), 30, "river to pause content")
        self.assertFalse(self.paused(youth))
        health = river.ctl("health")
        self.assertEqual(health.code, 1, repr(health))
        self.assertIn("no room for content:", health.out)
        self.assertIn("min_free_disk_mib = 1048576", health.out)

        self.publish_big_posts(hub, count=25, size=60_000)  # 1.5 MB of content
        wait_until(lambda: river.status()["frontier_digest"] == hub.status()["frontier_digest"], 60,
                   "river to hold every chain")
        wait_until(lambda: self.full_of_content(youth, hub), 60, "youth, which has room, to hold all the content")
        self.assertFalse(self.full_of_content(river, hub))
        # The 25 posts, and whatever else reached river after the pause.
        self.assertGreaterEqual(self.metrics(river)[("civnet_entries_content_missing", frozenset())], 25)
        self.assertEqual(self.metrics(youth)[("civnet_entries_content_missing", frozenset())], 0)
        # Its own organization's publishes go on.
        self.assertOk(river.ctl("publish", "--title", "Still publishing", "--body", "small"))

        river.set_config("min_free_disk_mib", "256")
        self.assertOk(river.ctl("reload"))
        wait_until(lambda: self.full_of_content(river, hub), 60, "the held-back content to arrive")
        self.assertFalse(self.paused(river))
        self.assertEqual(self.metrics(river)[("civnet_entries_content_missing", frozenset())], 0)
        self.assertIn("asking peers for the content held back", river.log())
        self.assertOk(river.ctl("verify"))

        # The store now holds over 1 MiB: a 1 MiB limit pauses it again.
        river.set_config("max_size_mib", "1")
        self.assertIn("[store] max_size_mib 0 -> 1", river.ctl("reload").out)
        wait_until(lambda: self.paused(river), 30, "river to pause content at its size limit")
        self.assertIn("max_size_mib = 1", river.ctl("health").out)

    def on_small_disk(self, node, mib):
        """Moves `node`'s data dir (the node stopped) onto a tmpfs of its own
        of `mib` MiB; skips the test where mounting is not allowed."""
        moved = node.data_dir + ".disk"
        os.rename(node.data_dir, moved)
        os.makedirs(node.data_dir)
        mount = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={mib}m,mode=0700", "tmpfs", node.data_dir],
                               capture_output=True, text=True)
        if mount.returncode != 0:
            os.rmdir(node.data_dir)
            os.rename(moved, node.data_dir)
            self.skipTest("cannot mount a tmpfs here (needs root): " + mount.stderr.strip())
        self.addCleanup(subprocess.run, ["umount", "-l", node.data_dir], capture_output=True)
        subprocess.run(["cp", "-a", moved + "/.", node.data_dir], check=True)

    def fill(self, node, leave_mib, name="ballast"):
        """A file that leaves about `leave_mib` MiB free where `node` is."""
        st = os.statvfs(node.data_dir)
        path = os.path.join(node.data_dir, name)
        left = max(0, st.f_bavail * st.f_frsize - leave_mib * 1024 * 1024)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            chunk = b"\0" * (1024 * 1024)
            while left > 0:
                try:
                    left -= os.write(fd, chunk[:left])
                except OSError as e:
                    # The running node wrote meanwhile, so less was left
                    # than statvfs said: asked to leave nothing, it is full.
                    if e.errno != errno.ENOSPC or leave_mib != 0:
                        raise
                    break
        finally:
            os.close(fd)
        return path

    def test_a_full_disk_fails_publishes_unacknowledged_and_health_names_the_store_error(self):
        a = self.node("a")
        self.make_network(a)
        self.on_small_disk(a, 32)
        a.set_config("min_free_disk_mib", "0")
        a.start()
        self.assertOk(a.ctl("publish", "--title", "Before", "--body", "room enough"))
        before = a.status()["entries"]
        self.fill(a, 0)
        body = os.path.join(self.workdir, "big.md")
        with open(body, "w") as f:
            f.write("x" * 60_000)
        failed = 0
        for i in range(40):  # until LevelDB's log or table files need a block the disk lacks
            if a.ctl("publish", "--title", f"Full {i}", "--body-file", body).code != 0:
                failed += 1
                break
        self.assertEqual(failed, 1, "no publish failed on a full disk")
        health = a.ctl("health")
        self.assertEqual(health.code, 1, repr(health))
        self.assertIn("the store stopped writing after a write error", health.out)
        self.assertIn("No space left on device", health.out)
        metrics = self.metrics(a)
        self.assertGreaterEqual(metrics[("civnet_store_write_errors_total", frozenset())], 1)
        self.assertEqual(metrics[("civnet_store_writes_stopped", frozenset())], 1)
        # What was acknowledged is there; reads keep working.
        self.assertGreaterEqual(a.status()["entries"], before)
        self.assertIn("Before", a.ctl("entries", "list").out)
        self.assertEqual(a.stop(), 0)
        subprocess.run(["umount", a.data_dir], check=True)

    def test_a_small_file_system_filling_up_pauses_content_and_it_resumes_by_itself_when_space_returns(self):
        hub, (river, youth) = self.hub_and_two()
        self.assertEqual(river.stop(), 0)
        self.on_small_disk(river, 40)
        river.set_config("min_free_disk_mib", "24")
        river.start()
        # Ballast leaves about 16 MiB free: under the 24 MiB asked for.
        ballast = self.fill(river, 16)
        wait_until(lambda: self.paused(river), 30, "river to see the disk nearly full")
        self.assertIn("min_free_disk_mib = 24", river.ctl("health").out)
        self.publish_big_posts(hub, count=25, size=60_000)
        wait_until(lambda: river.status()["frontier_digest"] == hub.status()["frontier_digest"], 60,
                   "river to hold every chain")
        self.assertFalse(self.full_of_content(river, hub))
        # Space returns: nothing to do but wait.
        os.remove(ballast)
        wait_until(lambda: self.full_of_content(river, hub), 60, "the held-back content to arrive by itself")
        self.assertFalse(self.paused(river))
        self.assertNotIn("no room for content", river.ctl("health").out)
        self.assertOk(river.ctl("verify"))
        self.assertEqual(river.stop(), 0)
        subprocess.run(["umount", river.data_dir], check=True)

class Accounts(NodeTestCase):
    """Member accounts, managed with civnetctl accounts on a running node."""

    def started(self):
        n = self.node("a")
        self.make_network(n)
        n.start()
        return n

    def test_accounts_are_added_listed_disabled_and_reset_and_kept_across_a_restart(self):
        n = self.started()
        r = n.ctl("accounts", "add", "amina", "--name", "Amina Okafor", "--admin")
        self.assertOk(r)
        self.assertIn("added account amina (Amina Okafor) of Org a, an admin", r.out)
        generated = printed_value(r.out, "password:")
        self.assertRegex(generated, r"^[A-Za-z2-9]{20}$")
        r = n.ctl("accounts", "add", "bo", "--name", "Bo", "--password-stdin", stdin="river wells in march\n")
        self.assertOk(r)
        self.assertNotIn("password:", r.out)  # chosen, so nothing to show

        listed = {a["handle"]: a for a in n.ctl_json("accounts", "list")["accounts"]}
        self.assertEqual(set(listed), {"amina", "bo"})
        self.assertEqual((listed["amina"]["admin"], listed["amina"]["must_change_password"]), (True, True))
        self.assertEqual((listed["bo"]["admin"], listed["bo"]["must_change_password"]), (False, False))
        self.assertEqual(listed["bo"]["org"], n.status()["feed_key"])
        self.assertEqual(listed["bo"]["org_name"], "Org a")

        self.assertOk(n.ctl("accounts", "disable", "bo"))
        r = n.ctl("accounts", "reset", "bo")
        self.assertOk(r)
        self.assertIn("the account is enabled", r.out)
        reset_pw = printed_value(r.out, "password:")
        self.assertNotEqual(reset_pw, generated)

        # Passwords are never logged, nor stored in clear.
        log = n.log()
        for secret in (generated, reset_pw, "river wells in march"):
            self.assertNotIn(secret, log)
        self.assertEqual(n.stop(), 0)
        for root, _, files in os.walk(n.data_dir):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    data = f.read()
                for secret in (generated, reset_pw, "river wells in march"):
                    self.assertNotIn(secret.encode(), data, os.path.join(root, name))
        n.start()
        listed = {a["handle"]: a for a in n.ctl_json("accounts", "list")["accounts"]}
        self.assertEqual(set(listed), {"amina", "bo"})
        self.assertFalse(listed["bo"]["disabled"])
        self.assertTrue(listed["bo"]["must_change_password"])

    def test_bad_accounts_are_refused_naming_what_is_wrong_and_nothing_is_added(self):
        n = self.started()
        self.assertRefused(n.ctl("accounts", "add", "cy", "--name", "Cy", "--password-stdin", stdin="password1234\n"),
                           "most common passwords")
        self.assertRefused(n.ctl("accounts", "add", "cy", "--name", "Cy", "--password-stdin", stdin="short\n"),
                           "shorter than 12 characters")
        self.assertRefused(n.ctl("accounts", "add", "cy", "--name", "Cy", "--password-stdin", stdin=""),
                           "standard input holds no password")
        self.assertRefused(n.ctl("accounts", "add", "Cy Y", "--name", "Cy"), "a handle is 2 to 32")
        self.assertRefused(n.ctl("accounts", "add", "cy", "--name", "Cy", "--org", "Nobody's org"),
                           "Nobody's org")
        self.assertOk(n.ctl("accounts", "add", "cy", "--name", "Cy"))
        self.assertRefused(n.ctl("accounts", "add", "cy", "--name", "Cy again"), 'handle "cy" exists already')
        self.assertRefused(n.ctl("accounts", "disable", "nobody"), 'no account has handle "nobody"')
        self.assertEqual([a["handle"] for a in n.ctl_json("accounts", "list")["accounts"]], ["cy"])


class MemberApi(NodeTestCase):
    """The member interface's JSON API over real HTTPS against a real civnetd."""

    PASSWORD = "river wells in march"

    def started(self):
        n = self.node("m")
        self.make_network(n)
        n.start()
        self.assertOk(n.ctl("accounts", "add", "amina", "--name", "Amina Okafor", "--password-stdin",
                            stdin=self.PASSWORD + "\n"))
        return n

    def login(self, n, handle="amina", password=PASSWORD):
        status, headers, body = n.https("POST", "/api/login", {"handle": handle, "password": password})
        self.assertEqual(status, 200, body)
        cookie = headers["set-cookie"].split(";")[0]
        return {"Cookie": cookie, "X-CSRF-Token": body["csrf"]}, headers, body

    def test_login_sets_a_strict_session_cookie_and_every_answer_carries_the_security_headers(self):
        n = self.started()
        auth, headers, body = self.login(n)
        self.assertEqual((body["handle"], body["name"], body["org_name"]), ("amina", "Amina Okafor", "Org m"))
        cookie = headers["set-cookie"]
        self.assertTrue(cookie.startswith("__Host-civnet="), cookie)
        for attribute in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
            self.assertIn(attribute, cookie)
        self.assertNotIn("Domain", cookie)
        for status, h, _ in (n.https("GET", "/api/me", headers=auth), n.https("GET", "/api/nothing"),
                             n.https("POST", "/api/login", {"handle": "amina", "password": "not it at all"})):
            self.assertIn("script-src 'self'", h["content-security-policy"])
            self.assertNotIn("unsafe-inline", h["content-security-policy"])
            self.assertIn("frame-ancestors 'none'", h["content-security-policy"])
            self.assertIn("max-age=", h["strict-transport-security"])
            self.assertEqual(h["x-content-type-options"], "nosniff")
            self.assertEqual(h["referrer-policy"], "no-referrer")
        status, _, me = n.https("GET", "/api/me", headers=auth)
        self.assertEqual((status, me["handle"], me["csrf"]), (200, "amina", auth["X-CSRF-Token"]))

    def test_a_session_cookie_planted_before_login_never_becomes_the_members_session(self):
        # Session fixation: an attacker who can set a cookie in the member's
        # browser (a sibling subdomain, a shared computer) plants a token
        # they know, and waits for the member to log in with it.
        n = self.started()
        self.assertOk(n.ctl("accounts", "add", "mallory", "--name", "Mallory", "--password-stdin",
                            stdin=self.PASSWORD + "\n"))
        invented = {"Cookie": "__Host-civnet=" + "A" * 43}
        mallorys, _, _ = self.login(n, "mallory")  # a live session the attacker owns
        for planted in (invented, mallorys):
            status, headers, body = n.https("POST", "/api/login", {"handle": "amina", "password": self.PASSWORD},
                                            headers={"Cookie": planted["Cookie"]})
            self.assertEqual((status, body["handle"]), (200, "amina"))
            issued = headers["set-cookie"].split(";")[0]
            self.assertNotEqual(issued, planted["Cookie"])
            status, _, me = n.https("GET", "/api/me", headers={"Cookie": issued})
            self.assertEqual((status, me["handle"]), (200, "amina"))
        # The invented token is no session; the attacker's own is still only theirs.
        self.assertEqual(n.https("GET", "/api/me", headers=invented)[0], 401)
        status, _, me = n.https("GET", "/api/me", headers=mallorys)
        self.assertEqual((status, me["handle"]), (200, "mallory"))

    def test_no_password_token_or_key_reaches_the_log(self):
        n = self.started()
        n.stop()
        n.start("--log-level", "trace")  # the most the log can say
        auth, _, me = self.login(n)
        secrets = [self.PASSWORD, auth["Cookie"].split("=", 1)[1], me["csrf"]]
        # A wrong password typed as the handle, and one typed as a password.
        n.https("POST", "/api/login", {"handle": "amina", "password": "not the right one at all"})
        n.https("POST", "/api/login", {"handle": "my secret passphrase", "password": "x"})
        secrets += ["not the right one at all", "my secret passphrase"]
        new = "a brand new passphrase here"
        status, headers, body = n.https("POST", "/api/password", {"current": self.PASSWORD, "new": new}, headers=auth)
        self.assertEqual(status, 200, body)
        secrets += [new, headers["set-cookie"].split(";")[0].split("=", 1)[1], body["csrf"]]
        generated = n.ctl("accounts", "add", "zoe", "--name", "Zoe").out
        secrets.append(re.search(r"password: (\S+)", generated).group(1))
        # The private keys, as their PEM bodies.
        for root, _, files in os.walk(os.path.join(n.data_dir, "keys")):
            for name in files:
                if name.endswith(".key"):
                    with open(os.path.join(root, name)) as f:
                        secrets += [line for line in f.read().splitlines() if line and not line.startswith("-----")]
        n.stop()
        log = n.log()
        self.assertIn("login of amina", log)  # the log does speak of these events
        for secret in secrets:
            self.assertNotIn(secret, log)

    def test_metrics_count_logins_by_outcome_and_answers_by_status(self):
        n = self.started()
        self.login(n)
        n.https("POST", "/api/login", {"handle": "amina", "password": "not the password"})
        n.https("GET", "/api/me")
        m = self.metrics(n)
        self.assertEqual(m[("civnet_logins_total", frozenset({("outcome", "ok")}))], 1)
        self.assertEqual(m[("civnet_logins_total", frozenset({("outcome", "wrong_password")}))], 1)
        self.assertEqual(m[("civnet_logins_total", frozenset({("outcome", "locked")}))], 0)
        self.assertEqual(m[("civnet_http_responses_total", frozenset({("route", "/api/login"), ("status", "401")}))], 1)
        self.assertEqual(m[("civnet_http_responses_total", frozenset({("route", "/api/me"), ("status", "401")}))], 1)
        self.assertEqual(m[("civnet_http_responses_total", frozenset({("route", "/api/login"), ("status", "200")}))], 1)
        n.https("GET", "/api/entries/0123456789abcdef")
        n.https("GET", "/api/entries/fedcba9876543210")
        m = self.metrics(n)
        entry = [v for (name, labels), v in m.items()
                 if name == "civnet_http_responses_total" and ("route", "/api/entries/{id}") in labels]
        self.assertEqual(sum(entry), 2)  # one series for every id

    def test_a_handle_logs_in_whatever_its_case(self):
        n = self.started()
        _, _, body = self.login(n, "Amina")
        self.assertEqual(body["handle"], "amina")

    def test_a_wrong_password_and_an_unknown_account_get_the_same_401(self):
        n = self.started()
        wrong = n.https("POST", "/api/login", {"handle": "amina", "password": "not the password"})
        unknown = n.https("POST", "/api/login", {"handle": "nobody", "password": "not the password"})
        self.assertEqual(wrong[0], 401)
        self.assertEqual(wrong[2], unknown[2])
        self.assertEqual(wrong[2]["error"], {"code": "unauthenticated", "message": "wrong handle or password"})
        self.assertNotIn("set-cookie", wrong[1])
        status, _, body = n.https("POST", "/api/login", raw="not json")
        self.assertEqual((status, body["error"]["code"]), (400, "invalid_argument"))

    def test_repeated_failures_lock_the_account_with_retry_after(self):
        n = self.started()
        for _ in range(5):
            self.assertEqual(n.https("POST", "/api/login", {"handle": "amina", "password": "a wrong guess!"})[0], 401)
        status, headers, body = n.https("POST", "/api/login", {"handle": "amina", "password": self.PASSWORD})
        self.assertEqual(status, 429)
        self.assertEqual(body["error"]["code"], "locked")
        self.assertGreaterEqual(int(headers["retry-after"]), 1)
        self.assertIn("locked for", n.log())

    def test_state_changing_requests_need_the_csrf_header_and_logout_ends_the_session(self):
        n = self.started()
        auth, _, _ = self.login(n)
        no_csrf = {"Cookie": auth["Cookie"]}
        status, _, body = n.https("POST", "/api/logout", headers=no_csrf)
        self.assertEqual((status, body["error"]["code"]), (403, "csrf"))
        status, _, body = n.https("POST", "/api/logout", headers={**no_csrf, "X-CSRF-Token": "x" * 43})
        self.assertEqual(status, 403)
        self.assertEqual(n.https("GET", "/api/me", headers=auth)[0], 200)  # still logged in
        status, headers, _ = n.https("POST", "/api/logout", headers=auth)
        self.assertEqual(status, 200)
        self.assertIn("Max-Age=0", headers["set-cookie"])
        status, _, body = n.https("GET", "/api/me", headers=auth)
        self.assertEqual((status, body["error"]["code"]), (401, "session_expired"))
        self.assertEqual(n.https("GET", "/api/me")[0], 401)

    def test_changing_the_password_ends_old_sessions_and_a_disable_ends_all(self):
        n = self.started()
        first, _, _ = self.login(n)
        other, _, _ = self.login(n)
        status, _, body = n.https("POST", "/api/password", {"current": "not it at all", "new": "a new long passphrase"},
                                  headers=first)
        self.assertEqual((status, body["error"]["code"]), (403, "wrong_password"))
        status, _, body = n.https("POST", "/api/password", {"current": self.PASSWORD, "new": "password1234"},
                                  headers=first)
        self.assertEqual(status, 400)
        self.assertIn("most common passwords", body["error"]["message"])
        status, headers, body = n.https("POST", "/api/password",
                                        {"current": self.PASSWORD, "new": "a new long passphrase"}, headers=first)
        self.assertEqual(status, 200, body)
        renewed = {"Cookie": headers["set-cookie"].split(";")[0], "X-CSRF-Token": body["csrf"]}
        self.assertEqual(n.https("GET", "/api/me", headers=first)[0], 401)
        self.assertEqual(n.https("GET", "/api/me", headers=other)[0], 401)
        self.assertEqual(n.https("GET", "/api/me", headers=renewed)[0], 200)
        self.assertEqual(n.https("POST", "/api/login", {"handle": "amina", "password": self.PASSWORD})[0], 401)
        self.login(n, password="a new long passphrase")
        self.assertOk(n.ctl("accounts", "disable", "amina"))
        self.assertEqual(n.https("GET", "/api/me", headers=renewed)[0], 401)

    def test_oversized_bodies_and_headers_unknown_paths_and_wrong_methods_are_refused(self):
        n = self.started()
        status, _, body = n.https("POST", "/api/login", raw="x" * (300 * 1024))
        self.assertEqual((status, body["error"]["code"]), (413, "too_large"))
        status, _, body = n.https("GET", "/api/me", headers={"X-Filler": "y" * 9000})
        self.assertEqual((status, body["error"]["code"]), (431, "headers_too_large"))
        status, _, body = n.https("GET", "/api/no/such/thing")
        self.assertEqual((status, body["error"]["code"]), (404, "not_found"))
        status, headers, body = n.https("GET", "/api/login")
        self.assertEqual((status, headers["allow"]), (405, "POST"))
        # The node still serves after all that.
        self.login(n)

    def test_a_client_that_never_finishes_its_headers_is_closed_and_others_are_served_meanwhile(self):
        import ssl
        n = self.started()
        ctx = ssl.create_default_context(cafile=os.path.join(n.data_dir, "keys", "web.crt"))
        slow = ctx.wrap_socket(socket.create_connection(("127.0.0.1", n.status()["http_port"])),
                               server_hostname="127.0.0.1")
        slow.sendall(b"GET /api/me HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # and nothing more
        self.login(n)  # another client is served meanwhile
        slow.settimeout(60)  # a bound on the wait; the node's header limit is 10 s
        try:
            self.assertEqual(slow.recv(1024), b"")  # closed by the node, no answer
        except (ConnectionResetError, ssl.SSLError):
            pass  # closed, less politely
        finally:
            slow.close()
        self.login(n)

    def test_at_the_connection_limit_the_longest_silent_connection_makes_room_and_an_address_gets_32(self):
        n = self.started()
        port = n.status()["http_port"]

        def silent(source):  # connected, and never a TLS handshake
            s = socket.create_connection(("127.0.0.1", port), source_address=(source, 0))
            s.settimeout(30)
            return s

        def closed_by_node(s):
            try:
                return s.recv(1) == b""
            except ConnectionResetError:
                return True
            except socket.timeout:
                return False

        held = []
        try:
            # 32 from one address; the 33rd is closed at once.
            held += [silent("127.0.0.10") for _ in range(32)]
            extra = silent("127.0.0.10")
            self.assertTrue(closed_by_node(extra))
            extra.close()
            # 256 in all (the limit) from 8 addresses; then a member logs in.
            held += [silent(f"127.0.0.{11 + i // 32}") for i in range(256 - 32)]
            auth, _, _ = self.login(n)
            self.assertEqual(n.https("GET", "/api/me", headers=auth)[0], 200)
            # The first connection, silent longest, was closed to let it in;
            # the last one still waits for its handshake.
            self.assertTrue(closed_by_node(held[0]))
            held[-1].settimeout(0.5)
            self.assertFalse(closed_by_node(held[-1]))
            m = self.metrics(n)
            self.assertEqual(m[("civnet_http_connections_refused_total", frozenset())], 1)
            self.assertGreaterEqual(m[("civnet_http_connections_evicted_total", frozenset())], 1)
            self.assertGreaterEqual(m[("civnet_http_connections_peak", frozenset())], 256)
        finally:
            for s in held:
                s.close()

    def test_requests_made_for_smuggling_get_400_naming_why_and_nothing_after_them_is_read(self):
        import ssl
        n = self.started()
        ctx = ssl.create_default_context(cafile=os.path.join(n.data_dir, "keys", "web.crt"))
        smuggled = b"GET /api/me HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        cases = [
            ("Content-Length with Transfer-Encoding",
             b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "bad Transfer-Encoding"),
            ("two Content-Lengths", b"Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}", "multiple Content-Length"),
        ]
        for what, rest, why in cases:
            sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", n.status()["http_port"])),
                                   server_hostname="127.0.0.1")
            sock.settimeout(30)
            try:
                sock.sendall(b"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                             + rest + smuggled)
                answer = b""
                while chunk := sock.recv(65536):
                    answer += chunk
            finally:
                sock.close()
            self.assertTrue(answer.startswith(b"HTTP/1.1 400 "), (what, answer[:200]))
            self.assertEqual(answer.count(b"HTTP/1.1 "), 1, f"{what}: the request after it was answered too")
            body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
            self.assertEqual(body["error"]["code"], "bad_request", what)
            self.assertIn(why, body["error"]["message"], what)
            self.assertIn("refused a malformed request from 127.0.0.1: " + why, n.log())
        self.login(n)  # served as ever

    def test_a_member_publishes_a_post_lists_it_reads_it_and_the_node_signs_it_as_the_organization(self):
        n = self.started()
        auth, _, _ = self.login(n)
        post = {"title": "Three new wells", "body": "We dug three wells.\n\n<script>alert(1)</script>",
                "tags": ["water", "practice"]}
        status, _, body = n.https("POST", "/api/entries", post, headers={"Cookie": auth["Cookie"]})
        self.assertEqual((status, body["error"]["code"]), (403, "csrf"))
        status, _, created = n.https("POST", "/api/entries", post, headers=auth)
        self.assertEqual(status, 201, created)
        self.assertEqual(created["org"], n.status()["feed_key"])  # signed by the organization's feed key
        self.assertEqual(created["body"], post["body"])  # stored as text, as written
        # The sysadmin's view agrees: the organization's feed holds it.
        shown = n.ctl_json("entries", "show", created["id"])
        self.assertEqual(shown["author"], n.status()["feed_key"])
        status, _, listed = n.https("GET", "/api/entries?tag=water&limit=10", headers=auth)
        self.assertEqual(status, 200)
        self.assertEqual([e["id"] for e in listed["entries"]], [created["id"]])
        self.assertEqual(listed["entries"][0]["org_name"], "Org m")
        self.assertEqual(n.https("GET", "/api/entries?tag=nothing", headers=auth)[2]["entries"], [])
        status, _, one = n.https("GET", "/api/entries/" + created["id"], headers=auth)
        self.assertEqual((status, one["title"], one["tags"]), (200, "Three new wells", ["water", "practice"]))
        # Refusals: no session, no title, unknown fields and parameters, unknown ids.
        self.assertEqual(n.https("GET", "/api/entries")[0], 401)
        status, _, body = n.https("POST", "/api/entries", {"body": "no title"}, headers=auth)
        self.assertEqual((status, body["error"]["message"]), (400, "a post needs a title"))
        self.assertEqual(n.https("POST", "/api/entries", {"title": "x", "author": "y"}, headers=auth)[0], 400)
        self.assertEqual(n.https("GET", "/api/entries?sort=old", headers=auth)[0], 400)
        self.assertEqual(n.https("GET", "/api/entries/" + "0" * 64, headers=auth)[0], 404)
        self.assertEqual(n.https("GET", "/api/entries/../../etc/passwd", headers=auth)[0], 404)

    def test_a_generated_password_must_be_changed_first_and_wrong_current_passwords_are_throttled(self):
        n = self.started()
        r = n.ctl("accounts", "add", "bo", "--name", "Bo")
        generated = printed_value(r.out, "password:")
        auth, _, body = self.login(n, "bo", generated)
        self.assertTrue(body["must_change_password"])
        status, _, refused = n.https("GET", "/api/entries", headers=auth)
        self.assertEqual((status, refused["error"]["code"]), (403, "must_change_password"))
        for _ in range(5):
            status, _, _ = n.https("POST", "/api/password", {"current": "a wrong guess!", "new": "my own phrase now"},
                                   headers=auth)
            self.assertEqual(status, 403)
        status, headers, body = n.https("POST", "/api/password", {"current": generated, "new": "my own phrase now"},
                                        headers=auth)
        self.assertEqual((status, body["error"]["code"]), (429, "locked"))
        self.assertIn("retry-after", headers)

    def test_posts_must_be_json_so_a_cross_site_form_cannot_log_anyone_in(self):
        n = self.started()
        form = "handle=amina&password=" + self.PASSWORD.replace(" ", "+")
        for ctype in ("application/x-www-form-urlencoded", "text/plain"):
            status, headers, body = n.https("POST", "/api/login", raw=form, headers={"Content-Type": ctype})
            self.assertEqual((status, body["error"]["code"]), (415, "unsupported_media_type"))
            self.assertNotIn("set-cookie", headers)
        # A password typed into the handle field never reaches the log.
        n.https("POST", "/api/login", {"handle": "amina " + self.PASSWORD, "password": "x"})
        self.assertNotIn(self.PASSWORD, n.log())
        self.assertIn("(a malformed handle)", n.log())


    def test_the_node_stops_cleanly_while_logins_are_being_served(self):
        import threading
        n = self.started()
        errors = []

        def hammer():
            for _ in range(4):
                try:
                    n.https("POST", "/api/login", {"handle": "amina", "password": self.PASSWORD})
                except Exception as e:  # the node going away mid-request is expected here
                    errors.append(e)
        threads = [threading.Thread(target=hammer) for _ in range(6)]
        for t in threads:
            t.start()
        time.sleep(0.7)  # some logins are in their password hash now
        self.assertEqual(n.stop(), 0)  # exits, and cleanly
        for t in threads:
            t.join()
        self.assertIn("stopped cleanly", n.log())

    def test_the_directory_shows_what_organizations_say_of_themselves_not_what_admissions_hold(self):
        n = self.started()
        r = n.ctl("orgs", "add", "Youth Voices")
        self.assertOk(r)
        youth = n.ctl_json("orgs", "list")["orgs"]
        feed = next(o["feed_key"] for o in youth if o["name"] == "Youth Voices")
        self.assertOk(n.ctl("admit", feed, "--name", "Youth Voices", "--region", "Sahel", "--label", "youth-led"))
        auth, _, _ = self.login(n)
        status, _, body = n.https("GET", "/api/members", headers=auth)
        self.assertEqual(status, 200)
        members = {m["name"]: m for m in body["members"]}
        self.assertEqual(set(members), {"Org m", "Youth Voices"})
        self.assertEqual(members["Youth Voices"]["org"], feed)
        # The admission's region and label are the stewards' words, not the
        # organization's: neither shown nor searchable.
        self.assertEqual((members["Youth Voices"]["region"], members["Youth Voices"]["labels"]), ("", []))
        self.assertEqual(n.https("GET", "/api/members?region=Sahel", headers=auth)[2]["members"], [])
        self.assertEqual(n.https("GET", "/api/members?label=youth-led", headers=auth)[2]["members"], [])
        self.assertEqual(n.https("GET", "/api/members?sort=name", headers=auth)[0], 400)
        self.assertEqual(n.https("GET", "/api/members")[0], 401)

    def test_a_member_retracts_its_own_organizations_post_and_no_one_elses(self):
        n = self.started()
        auth, _, _ = self.login(n)
        status, _, mine = n.https("POST", "/api/entries", {"title": "Draft by mistake", "body": "oops"}, headers=auth)
        self.assertEqual(status, 201)
        self.assertOk(n.ctl("orgs", "add", "Youth Voices"))
        feed = next(o["feed_key"] for o in n.ctl_json("orgs", "list")["orgs"] if o["name"] == "Youth Voices")
        self.assertOk(n.ctl("admit", feed, "--name", "Youth Voices", "--region", "Sahel"))
        theirs = n.ctl("publish", "--org", "Youth Voices", "--title", "Theirs", "--body", "not yours").out.strip()
        status, _, body = n.https("POST", f"/api/entries/{theirs}/retract", headers=auth)
        self.assertEqual((status, body["error"]["code"]), (403, "not_yours"))
        status, _, body = n.https("POST", f"/api/entries/{mine['id']}/retract", headers={"Cookie": auth["Cookie"]})
        self.assertEqual((status, body["error"]["code"]), (403, "csrf"))
        status, _, body = n.https("POST", f"/api/entries/{mine['id']}/retract", headers=auth)
        self.assertEqual(status, 200, body)
        # Erased: gone from the list and the page, on this node (and, as a
        # retraction entry, on every node it syncs with).
        self.assertEqual(n.https("GET", "/api/entries/" + mine["id"], headers=auth)[0], 404)
        listed = [e["id"] for e in n.https("GET", "/api/entries", headers=auth)[2]["entries"]]
        self.assertNotIn(mine["id"], listed)
        self.assertIn(theirs, listed)
        status, _, body = n.https("POST", f"/api/entries/{mine['id']}/retract", headers=auth)
        self.assertEqual((status, body["error"]["code"]), (409, "already_retracted"))

    def publish(self, n, auth, title, body="", tags=(), language="en"):
        status, _, created = n.https("POST", "/api/entries", {"title": title, "body": body, "tags": list(tags),
                                                              "language": language}, headers=auth)
        self.assertEqual(status, 201, created)
        return created

    def test_pages_of_posts_follow_a_cursor_with_no_post_twice_and_none_lost(self):
        n = self.started()
        auth, _, _ = self.login(n)
        made = [self.publish(n, auth, f"Report {i}")["id"] for i in range(5)]
        seen, cursor, pages = [], None, 0
        while True:
            path = "/api/entries?limit=2" + (f"&cursor={cursor}" if cursor else "")
            status, _, page = n.https("GET", path, headers=auth)
            self.assertEqual(status, 200, page)
            seen += [e["id"] for e in page["entries"]]
            pages += 1
            cursor = page["next_cursor"]
            if not cursor:
                break
        self.assertEqual(seen, list(reversed(made)))  # newest first, each once
        self.assertEqual(pages, 3)
        status, _, body = n.https("GET", "/api/entries?cursor=not-a-cursor", headers=auth)
        self.assertEqual((status, body["error"]["code"]), (400, "invalid_argument"))

    def test_comments_and_revisions_belong_to_their_post_and_only_its_organization_revises_it(self):
        n = self.started()
        auth, _, _ = self.login(n)
        post = self.publish(n, auth, "Three new wells", "We dug three wells.", ["water"])
        path = f"/api/entries/{post['id']}"
        status, _, body = n.https("POST", path + "/comments", {"body": "How deep?"}, headers={"Cookie": auth["Cookie"]})
        self.assertEqual((status, body["error"]["code"]), (403, "csrf"))
        status, _, c = n.https("POST", path + "/comments", {"body": "How *deep*?"}, headers=auth)
        self.assertEqual(status, 201, c)
        self.assertEqual((c["body"], c["body_html"]), ("How *deep*?", "<p>How <em>deep</em>?</p>\n"))
        status, _, body = n.https("POST", path + "/comments", {"body": ""}, headers=auth)
        self.assertEqual((status, body["error"]["message"]), (400, "a comment needs a body"))
        self.assertEqual(n.https("POST", f"/api/entries/{'0' * 64}/comments", {"body": "x"}, headers=auth)[0], 404)
        # A comment is not a post of its own in the list, nor can it be commented on.
        listed = n.https("GET", "/api/entries", headers=auth)[2]["entries"]
        self.assertEqual([(e["id"], e["comments"]) for e in listed], [(post["id"], 1)])
        self.assertEqual(n.https("POST", f"/api/entries/{c['id']}/comments", {"body": "x"}, headers=auth)[0], 404)
        # The sysadmin's list says what the comment answers.
        self.assertIn(f"(comment on {post['id'][:12]})", n.ctl("entries", "list").out)
        # A revision changes what the post shows; the first text stays listed.
        status, _, revised = n.https("POST", path + "/revise",
                                     {"title": "Four new wells", "body": "We dug four.", "tags": ["water"]},
                                     headers=auth)
        self.assertEqual(status, 200, revised)
        self.assertEqual((revised["id"], revised["title"], revised["body"], revised["edited"]),
                         (post["id"], "Four new wells", "We dug four.", True))
        # The earlier versions, with their text: here the first one.
        self.assertEqual([(r["title"], r["body"]) for r in revised["revisions"]],
                         [("Three new wells", "We dug three wells.")])
        self.assertEqual([x["body"] for x in revised["comments"]], ["How *deep*?"])
        listed = n.https("GET", "/api/entries", headers=auth)[2]["entries"]
        self.assertEqual([(e["id"], e["title"], e["edited"]) for e in listed], [(post["id"], "Four new wells", True)])
        # Another organization's post: comment yes, revise no.
        self.assertOk(n.ctl("orgs", "add", "Youth Voices"))
        feed = next(o["feed_key"] for o in n.ctl_json("orgs", "list")["orgs"] if o["name"] == "Youth Voices")
        self.assertOk(n.ctl("admit", feed, "--name", "Youth Voices", "--region", "Sahel"))
        theirs = n.ctl("publish", "--org", "Youth Voices", "--title", "Theirs", "--body", "b").out.strip()
        status, _, body = n.https("POST", f"/api/entries/{theirs}/revise", {"title": "Mine now"}, headers=auth)
        self.assertEqual((status, body["error"]["code"]), (403, "not_yours"))
        self.assertEqual(n.https("POST", f"/api/entries/{theirs}/comments", {"body": "Welcome"}, headers=auth)[0], 201)
        one = n.https("GET", f"/api/entries/{theirs}", headers=auth)[2]
        self.assertEqual((one["mine"], [x["mine"] for x in one["comments"]]), (False, [True]))

    def test_markdown_is_rendered_with_no_raw_html_and_no_script_links(self):
        n = self.started()
        auth, _, _ = self.login(n)
        body = ("**Bold** and [a link](https://example.org).\n\n<script>alert(1)</script>\n\n"
                "<img src=x onerror=alert(2)>\n\n[click](javascript:alert(3)) ![i](data:text/html,x)")
        post = self.publish(n, auth, "Markdown", body)
        for html in (post["body_html"], n.https("POST", "/api/preview", {"body": body}, headers=auth)[2]["html"]):
            self.assertIn("<strong>Bold</strong>", html)
            self.assertIn('href="https://example.org"', html)
            for bad in ("<script", "onerror", "javascript:", "data:text/html", "<img src=\"x\""):
                self.assertNotIn(bad, html)
        self.assertEqual(post["body"], body)  # the source is kept as written

    def test_search_finds_posts_by_stemmed_words_titles_first_with_filters_and_forgets_retracted_ones(self):
        n = self.started()
        auth, _, _ = self.login(n)
        body_only = self.publish(n, auth, "Spring report", "We talked about digging a well near the school.",
                                 ["water"])
        in_title = self.publish(n, auth, "Wells for the villages", "What we learned.", ["practice"])
        french = self.publish(n, auth, "Formations des animatrices", "Nous avons formé douze animatrices.",
                              ["training"], language="fr")

        def found(query):
            status, _, body = n.https("GET", "/api/entries?q=" + urllib.parse.quote(query), headers=auth)
            self.assertEqual(status, 200, body)
            return [e["id"] for e in body["entries"]]

        self.assertEqual(found("wells"), [in_title["id"], body_only["id"]])  # "well" too; the title first
        self.assertEqual(found("formation"), [french["id"]])  # French stemming
        status, _, body = n.https("GET", "/api/entries?q=wells&tag=water", headers=auth)
        self.assertEqual([e["id"] for e in body["entries"]], [body_only["id"]])
        self.assertEqual(found("nothing-like-this"), [])
        status, _, body = n.https("GET", "/api/entries?q=%21%21%21", headers=auth)
        self.assertEqual((status, body["error"]["code"]), (400, "invalid_argument"))
        status, _, body = n.https("GET", "/api/entries?q=" + urllib.parse.quote("water OR"), headers=auth)
        self.assertEqual(status, 400)
        self.assertIn("AND, OR and NOT go between words", body["error"]["message"])
        self.assertEqual(found("wells NOT school"), [in_title["id"]])
        self.assertEqual(n.https("GET", "/api/entries?q=" + urllib.parse.quote("NOT wells"), headers=auth)[0], 400)
        # A page of one, then the next.
        status, _, page = n.https("GET", "/api/entries?q=wells&limit=1", headers=auth)
        self.assertEqual([e["id"] for e in page["entries"]], [in_title["id"]])
        status, _, page = n.https("GET", f"/api/entries?q=wells&limit=1&cursor={page['next_cursor']}", headers=auth)
        self.assertEqual(([e["id"] for e in page["entries"]], page["next_cursor"]), ([body_only["id"]], None))
        # A revision's words replace the old ones.
        n.https("POST", f"/api/entries/{in_title['id']}/revise", {"title": "Boreholes for the villages"}, headers=auth)
        self.assertEqual(found("wells"), [body_only["id"]])
        self.assertEqual(found("boreholes"), [in_title["id"]])
        # The sysadmin's search agrees (it lists the post's first entry).
        r = n.ctl("search", "borehole")
        self.assertOk(r)
        self.assertIn(in_title["id"][:12], r.out)
        self.assertNotIn(body_only["id"][:12], r.out)
        # Retracted: gone from the index, not only from the answer.
        self.assertEqual(n.https("POST", f"/api/entries/{body_only['id']}/retract", headers=auth)[0], 200)
        self.assertEqual(found("well"), [])
        r = n.ctl("reindex")
        self.assertOk(r)
        self.assertIn("search index rebuilt: 2 posts", r.out)
        self.assertEqual(found("boreholes"), [in_title["id"]])

    def read_events(self, sock, want, limit=20):
        """Reads server-sent events from `sock` until `want` of them (or a
        session_ended) arrived: a list of (event, data)."""
        events, buf = [], b""
        while len(events) < want and len(events) < limit:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
            while b"\n\n" in buf:
                block, buf = buf.split(b"\n\n", 1)
                fields = dict(line.split(": ", 1) for line in block.decode().split("\n")
                              if ": " in line and not line.startswith(":"))
                if "event" in fields:
                    events.append((fields["event"], json.loads(fields["data"])))
                    if fields["event"] == "session_ended":
                        return events
        return events

    def open_events(self, n, auth):
        import ssl
        ctx = ssl.create_default_context(cafile=os.path.join(n.data_dir, "keys", "web.crt"))
        sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", n.status()["http_port"])),
                               server_hostname="127.0.0.1")
        sock.settimeout(60)
        sock.sendall(("GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: %s\r\n\r\n"
                      % auth["Cookie"]).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(1)
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        self.assertIn(b"text/event-stream", head)
        return sock

    def test_live_events_tell_of_new_posts_comments_and_revisions_and_end_with_the_session(self):
        n = self.started()
        auth, _, _ = self.login(n)
        self.assertEqual(n.https("GET", "/api/events")[0], 401)
        sock = self.open_events(n, auth)
        try:
            post = self.publish(n, auth, "Live one", "now")
            n.https("POST", f"/api/entries/{post['id']}/comments", {"body": "seen"}, headers=auth)
            n.https("POST", f"/api/entries/{post['id']}/revise", {"title": "Live two"}, headers=auth)
            events = self.read_events(sock, 3)
            self.assertEqual([(e, d["type"], d["thread"]) for e, d in events],
                             [("entry", "post", post["id"]), ("entry", "comment", post["id"]),
                              ("entry", "revision", post["id"])])
            self.assertEqual(events[0][1]["title"], "Live one")
            # Logged out: the stream says so at its next news, and closes.
            other, _, _ = self.login(n)
            n.https("POST", "/api/logout", {}, headers=auth)
            self.publish(n, other, "After logout")
            self.assertEqual(self.read_events(sock, 1), [("session_ended", {})])
            self.assertEqual(sock.recv(100), b"")
        finally:
            sock.close()

    def test_the_web_interface_is_served_from_the_node_and_nothing_else_is(self):
        n = self.started()
        status, headers, _ = n.https("GET", "/")
        self.assertEqual((status, headers["content-type"]), (200, "text/html; charset=utf-8"))
        self.assertIn("script-src 'self'", headers["content-security-policy"])
        status, headers, _ = n.https("GET", "/assets/app.js")
        self.assertEqual((status, headers["content-type"]), (200, "text/javascript; charset=utf-8"))
        for path in ("/../../etc/passwd", "/assets/../civnetd.toml", "/assets/%2e%2e/civnetd.toml",
                     "/keys/web.key", "/assets/"):
            self.assertEqual(n.https("GET", path)[0], 404, path)

    def test_an_organizations_admins_manage_its_accounts_and_no_one_elses(self):
        n = self.started()
        self.assertOk(n.ctl("accounts", "add", "boss", "--name", "Boss", "--admin", "--password-stdin",
                            stdin=self.PASSWORD + "\n"))
        member, _, _ = self.login(n)
        status, _, body = n.https("GET", "/api/admin/accounts", headers=member)
        self.assertEqual((status, body["error"]["code"]), (403, "not_admin"))
        admin, _, _ = self.login(n, "boss")
        status, _, made = n.https("POST", "/api/admin/accounts", {"handle": "zoe", "name": "Zoe"}, headers=admin)
        self.assertEqual(status, 201, made)
        self.assertEqual((made["account"]["must_change_password"], len(made["password"])), (True, 20))
        self.login(n, "zoe", made["password"])
        status, _, body = n.https("POST", "/api/admin/accounts", {"handle": "zoe", "name": "Z"}, headers=admin)
        self.assertEqual((status, body["error"]["code"]), (409, "already_exists"))
        status, _, body = n.https("POST", "/api/admin/accounts/boss/disable", {}, headers=admin)
        self.assertEqual((status, body["error"]["code"]), (409, "own_account"))
        status, _, reset = n.https("POST", "/api/admin/accounts/zoe/reset", {}, headers=admin)
        self.assertEqual(status, 200, reset)
        self.login(n, "zoe", reset["password"])
        self.assertEqual(n.https("POST", "/api/admin/accounts/zoe/disable", {}, headers=admin)[0], 200)
        status, _, _ = n.https("POST", "/api/login", {"handle": "zoe", "password": reset["password"]})
        self.assertEqual(status, 401)
        listed = n.https("GET", "/api/admin/accounts", headers=admin)[2]["accounts"]
        self.assertEqual(sorted((a["handle"], a["disabled"]) for a in listed),
                         [("amina", False), ("boss", False), ("zoe", True)])
        # Accounts of another organization on this node are not this admin's.
        self.assertOk(n.ctl("orgs", "add", "Youth Voices"))
        self.assertOk(n.ctl("accounts", "add", "yv", "--name", "Y", "--org", "Youth Voices"))
        self.assertEqual(n.https("POST", "/api/admin/accounts/yv/reset", {}, headers=admin)[0], 404)
        self.assertNotIn("yv", [a["handle"] for a in n.https("GET", "/api/admin/accounts", headers=admin)[2]["accounts"]])

    def test_retracting_a_revised_post_erases_its_revisions_too(self):
        n = self.started()
        auth, _, _ = self.login(n)
        post = self.publish(n, auth, "Shelter addresses", "Old text")
        revised = n.https("POST", f"/api/entries/{post['id']}/revise", {"title": "Shelter addresses",
                                                                         "body": "Sensitive new text"}, headers=auth)[2]
        revision_id = revised["revisions"][0]["id"]
        status, _, body = n.https("POST", f"/api/entries/{post['id']}/retract", headers=auth)
        self.assertEqual((status, body["revisions"]), (200, 1))
        # Neither text is held any more, here (and on every node that syncs).
        for entry in (post["id"], revision_id):
            shown = n.ctl_json("entries", "show", entry)
            self.assertEqual((shown["content_present"], shown["erased"]), (False, True), entry)

    def test_listing_by_tag_follows_the_tags_a_post_shows_now_ignoring_case(self):
        n = self.started()
        auth, _, _ = self.login(n)
        post = self.publish(n, auth, "Clinic hours", "b", ["Health"])
        self.assertEqual([e["id"] for e in n.https("GET", "/api/entries?tag=health", headers=auth)[2]["entries"]],
                         [post["id"]])
        n.https("POST", f"/api/entries/{post['id']}/revise", {"title": "Clinic hours", "tags": ["water"]}, headers=auth)
        self.assertEqual(n.https("GET", "/api/entries?tag=health", headers=auth)[2]["entries"], [])
        self.assertEqual([e["id"] for e in n.https("GET", "/api/entries?tag=Water", headers=auth)[2]["entries"]],
                         [post["id"]])

    def test_excerpts_are_plain_text_and_the_directory_is_in_name_order(self):
        n = self.started()
        auth, _, _ = self.login(n)
        self.publish(n, auth, "Formatting", "**Bold** and [a link](https://example.org)\n\n<b>raw</b> - item")
        excerpt = n.https("GET", "/api/entries", headers=auth)[2]["entries"][0]["excerpt"]
        self.assertEqual(excerpt, "Bold and a link raw - item")
        for name in ("zeta Collective", "Alpha Network"):
            self.assertOk(n.ctl("orgs", "add", name))
            feed = next(o["feed_key"] for o in n.ctl_json("orgs", "list")["orgs"] if o["name"] == name)
            self.assertOk(n.ctl("admit", feed, "--name", name, "--region", "Sahel"))
        names = [m["name"] for m in n.https("GET", "/api/members", headers=auth)[2]["members"]]
        self.assertEqual(names, ["Alpha Network", "Org m", "zeta Collective"])

    def test_an_organization_publishes_what_the_directory_shows_of_it(self):
        n = self.started()
        self.assertOk(n.ctl("accounts", "add", "boss", "--name", "Boss", "--admin", "--password-stdin",
                            stdin=self.PASSWORD + "\n"))
        member, _, _ = self.login(n)
        status, _, body = n.https("POST", "/api/admin/profile", {}, headers=member)
        self.assertEqual((status, body["error"]["code"]), (403, "not_admin"))
        admin, _, _ = self.login(n, "boss")
        profile = {"region": "Sahel", "country": "Niger", "focus_areas": ["water", "literacy"],
                   "labels": ["women-led"], "contact": "hello@example.org"}
        status, _, body = n.https("POST", "/api/admin/profile", profile, headers=admin)
        self.assertEqual(status, 200, body)
        self.assertEqual(n.https("GET", "/api/admin/profile", headers=admin)[2]["labels"], ["women-led"])
        listed = n.https("GET", "/api/members?label=Women-Led", headers=member)[2]["members"]
        self.assertEqual([(m["name"], m["country"], m["contact"]) for m in listed],
                         [("Org m", "Niger", "hello@example.org")])
        status, _, body = n.https("POST", "/api/admin/profile", dict(profile, labels=[""]), headers=admin)
        self.assertEqual(status, 400, body)
        # The same again publishes nothing new.
        profiles = len(n.ctl_json("entries", "list", "--kind", "profile")["entries"])
        self.assertEqual(n.https("POST", "/api/admin/profile", profile, headers=admin)[0], 200)
        self.assertEqual(len(n.ctl_json("entries", "list", "--kind", "profile")["entries"]), profiles)
        # The sysadmin's view, and a change from the command line.
        r = n.ctl("orgs", "profile", "--country", "Mali")
        self.assertOk(r)
        self.assertRegex(r.out, r"country\s+Mali")
        self.assertRegex(r.out, r"labels\s+women-led")
        self.assertEqual(n.https("GET", "/api/members?country=mali", headers=member)[2]["members"][0]["region"], "Sahel")

    def test_an_admin_cannot_reset_or_disable_another_admin(self):
        n = self.started()
        for handle in ("boss", "boss2"):
            self.assertOk(n.ctl("accounts", "add", handle, "--name", handle, "--admin", "--password-stdin",
                                stdin=self.PASSWORD + "\n"))
        admin, _, _ = self.login(n, "boss")
        for action in ("reset", "disable"):
            status, _, body = n.https("POST", f"/api/admin/accounts/boss2/{action}", {}, headers=admin)
            self.assertEqual((status, body["error"]["code"]), (403, "admin_account"))
        self.login(n, "boss2")



class Completion(unittest.TestCase):
    """The bash completion script completes what civnetctl and civnetd take."""

    def complete(self, program, *words):
        import civnet_node
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "completion",
                              "civnetctl.bash")
        bins = {os.path.dirname(os.path.abspath(civnet_node.CIVNETCTL)),
                os.path.dirname(os.path.abspath(civnet_node.CIVNETD))}
        quoted = " ".join("'" + w + "'" for w in (program,) + words)
        r = subprocess.run(["bash", "-c", f"source '{script}'; COMP_WORDS=({quoted}); "
                            f"COMP_CWORD={len(words)}; _{program}; printf '%s\\n' \"${{COMPREPLY[@]}}\""],
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, PATH=os.pathsep.join(bins) + os.pathsep + os.environ["PATH"]))
        self.assertEqual(r.returncode, 0, r.stderr)
        return [w for w in r.stdout.splitlines() if w]

    def test_commands_subcommands_and_options_complete(self):
        self.assertEqual(self.complete("civnetctl", "he"), ["health"])
        self.assertEqual(self.complete("civnetctl", "entries", ""), ["list", "show"])
        self.assertEqual(self.complete("civnetctl", "--data-dir", "x", "accounts", "a"), ["add"])
        self.assertEqual(self.complete("civnetctl", "search", "--l"), ["--limit"])
        self.assertIn("--region", self.complete("civnetctl", "orgs", "profile", "--"))
        self.assertEqual(self.complete("civnetd", "check"), ["check-config"])


if __name__ == "__main__":
    unittest.main()
