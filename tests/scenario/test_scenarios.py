"""The quick fault scenarios, run by the test suite (meson test
scenarios-quick): each a real network of civnetd processes on loopback,
a fault, and the check that nothing acknowledged was lost. The long forms
(more kills, more nodes) run with tests/scenario/run; see
docs/reliability.md.

By hand:
  CIVNETD=build/daemon/civnetd CIVNETCTL=build/tools/civnetctl \\
  python3 tests/scenario/test_scenarios.py -v
"""
import base64
import glob
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenario  # noqa: E402


class QuickScenarios(unittest.TestCase):
    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="civnet-scenario-")
        # A new seed each run, printed, so a failure can be replayed.
        self.seed = int(os.environ.get("CIVNET_SCENARIO_SEED", random.randrange(1 << 32)))
        print(f"\n{self.id()}: seed {self.seed} (CIVNET_SCENARIO_SEED={self.seed} replays it)", file=sys.stderr)

    def tearDown(self):
        if not self._failed():
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _failed(self):
        result = getattr(getattr(self, "_outcome", None), "result", None)
        return result is not None and any(t is self for t, _ in result.failures + result.errors)

    def test_kill_9_during_publishing_and_sync_loses_nothing_acknowledged(self):
        r = scenario.run_kill_scenario(self.workdir, kills=5, seed=self.seed,
                                       log=lambda line: print(line, file=sys.stderr))
        print(r, file=sys.stderr)
        self.assertGreater(r["acknowledged"], 0)

    def test_a_transfer_cut_by_kill_9_keeps_a_verified_prefix_and_the_next_session_resumes_from_it(self):
        with scenario.network(self.workdir, self.seed, orgs=0) as net:
            a = net.hub
            start = time.monotonic()
            export_bytes = scenario.load_posts(net, a, entries=40000, feeds=20)
            total = a.entries()
            b = scenario.ScenarioNode(self.workdir, "late")
            net.nodes.append(b)
            scenario.must(b.init(org="Late Org", network=net.genesis, peer_listen=b.address))
            b.start()
            scenario.must(a.ctl("admit", b.feed, "--name", "Late Org", "--region", "Scenario"))
            scenario.must(b.ctl("peers", "add", a.address, a.key))
            # A dies as soon as B holds two fifths of what A holds (so that
            # a second session that sent everything again would carry at
            # least 1.67x the rest, well over the bound below).
            scenario.wait_until(lambda: b.entries() >= total * 2 // 5, 120, "B to hold 2/5 of A's entries")
            a.kill9()
            held = b.entries()
            self.assertLess(held, total, "the transfer ended before the kill: make it larger")
            print(f"A killed with B holding {held} of {total} entries ({time.monotonic() - start:.1f} s in)",
                  file=sys.stderr)
            # Only a verified prefix of each feed is stored: B's store
            # re-proves, and each of B's tips is A's entry at that seq.
            scenario.must(b.ctl("verify"))
            tips = b.feeds()
            a.start()
            conn = scenario.ApiConnection(a)
            try:
                for feed, (seq, tip_id, frozen) in tips.items():
                    status, reply = conn.get("/v1/entries/" + tip_id)
                    self.assertEqual(status, 200, f"B's tip {tip_id} of {feed[:12]} is not A's: {reply}")
                    self.assertEqual((reply["author"], reply["seq"]), (feed, seq))
                    self.assertFalse(frozen)
            finally:
                conn.close()
            # The next session carries the rest only, not the whole again.
            took = net.converge(120)
            print(f"converged {took:.1f} s after A's restart", file=sys.stderr)
            link = b.link_with(a)
            second = link["wire_bytes_received"] - link["handshake_bytes_received"]
            rest = export_bytes * (total - held) / total
            print(f"second session: {second} bytes received; the rest of the posts: {rest:.0f} bytes",
                  file=sys.stderr)
            self.assertLess(second, 1.25 * rest + 256 * 1024)
            scenario.must(b.ctl("verify"))

    def test_partitions_heal_and_every_side_converges_losing_nothing(self):
        why = scenario.namespaces_available()
        if why:
            self.skipTest(why)
        r = scenario.run_partition_scenario(self.workdir, rounds=2, seed=self.seed, orgs=3,
                                            log=lambda line: print(line, file=sys.stderr))
        print(r, file=sys.stderr)
        self.assertGreater(r["acknowledged"], 0)

    def test_a_degraded_network_still_converges_losing_nothing(self):
        why = scenario.namespaces_available()
        if why:
            self.skipTest(why)
        r = scenario.run_netem_scenario(self.workdir, seconds=8, seed=self.seed,
                                        log=lambda line: print(line, file=sys.stderr))
        print(r, file=sys.stderr)
        self.assertGreater(r["acknowledged"], 0)
        if r["faults"].startswith("no netem"):  # the faults were injected
            for kind in ("dropped", "duplicated", "delayed", "out_of_order"):
                self.assertGreater(r[f"packets_{kind}"], 0, f"no packet was {kind}")

    @unittest.skipUnless(os.geteuid() == 0, "needs root, to mount a small file system")
    def test_a_full_disk_refuses_publishes_keeps_reads_and_recovers_by_itself_losing_nothing(self):
        small = os.path.join(self.workdir, "small")
        os.mkdir(small)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128m", "tmpfs", small], check=True)
        try:
            with scenario.network(small, self.seed, orgs=0) as net:
                a = net.hub
                filler = os.path.join(small, "filler")
                st = os.statvfs(small)
                with open(filler, "wb") as f:
                    f.write(b"\0" * (st.f_bavail * st.f_frsize - 24 * 1024 * 1024))
                acks, refusals = [], []
                # Posts of 60 KB that do not compress, until the disk is full.
                for i in range(2000):
                    body = base64.b64encode(os.urandom(45000)).decode()
                    status, reply = a.api("POST", "/v1/publish", {"title": f"Report {i}", "body": body})
                    if status == 201:
                        acks.append({"feed": reply["author"], "seq": reply["seq"], "id": reply["id"]})
                    else:
                        refusals.append((status, reply))
                        if len(refusals) == 3:
                            break
                print(f"{len(acks)} acknowledged before the disk was full; then {refusals[0]}", file=sys.stderr)
                self.assertEqual(len(refusals), 3, "the disk never filled")
                for status, reply in refusals:
                    self.assertEqual(status, 500, reply)
                    self.assertEqual(reply["error"]["code"], "io_error", reply)
                    self.assertRegex(reply["error"]["message"], "nothing published.*(No space left on device|"
                                                                "stopped writing after a write error)")
                # Reads keep working, and health says what is wrong.
                status, reply = a.api("GET", "/v1/entries/" + acks[-1]["id"])
                self.assertEqual((status, reply["seq"]), (200, acks[-1]["seq"]))
                health = a.ctl("health")
                self.assertEqual(health.code, 1, repr(health))
                self.assertIn("stopped writing after a write error", health.out)
                # Room again: the next publish is taken, with no restart.
                os.remove(filler)
                status, reply = a.api("POST", "/v1/publish", {"title": "After", "body": "Room again."})
                self.assertEqual(status, 201, reply)
                acks.append({"feed": reply["author"], "seq": reply["seq"], "id": reply["id"]})
                self.assertEqual(reply["seq"], acks[-2]["seq"] + 1)
                self.assertNotIn("stopped writing", a.ctl("health").out)
                # A crash now loses nothing acknowledged before or after.
                a.kill9()
                a.start()
                scenario.check_nothing_lost(net, acks)
        finally:
            subprocess.run(["umount", small], check=True)

    def test_a_damaged_table_file_is_found_not_served_and_the_node_repairs_from_a_backup_and_its_peer(self):
        with scenario.network(self.workdir, self.seed, orgs=1) as net:
            a, b = net.nodes
            scenario.load_posts(net, a, entries=40000, feeds=10)
            net.converge(120)
            backup = os.path.join(self.workdir, "a.backup")
            scenario.must(a.ctl("backup", "--out", backup))
            acks = []
            for i in range(5):  # after the backup: only the peer will have these
                status, reply = a.api("POST", "/v1/publish", {"title": f"After the backup {i}", "body": "Notes."})
                self.assertEqual(status, 201, reply)
                acks.append({"feed": reply["author"], "seq": reply["seq"], "id": reply["id"]})
            net.converge(60)
            # A stopped; its log written to table files (at the next open);
            # 64 bytes flipped in the middle of every table of 1 MB or more.
            a.stop()
            a.start()
            a.stop()
            tables = [t for t in glob.glob(os.path.join(a.data_dir, "store", "*.ldb")) if os.path.getsize(t) >= 1 << 20]
            self.assertTrue(tables, "no table file to damage")
            for t in tables:
                size = os.path.getsize(t)
                with open(t, "r+b") as f:
                    f.seek(size // 2)
                    good = f.read(64)
                    f.seek(size // 2)
                    f.write(bytes(x ^ 0xFF for x in good))
            a.start()
            # Found: verify names the damage.
            r = a.ctl("verify")
            self.assertEqual(r.code, 1, repr(r))
            # Named as damage, whichever rows the flipped bytes hit: a
            # block an index lookup needs ("damaged block (...)"), or one
            # the walk over the entries reads ("reading the store: ...").
            self.assertIn("Corruption: block checksum mismatch", r.out)
            # Not served: what an export carries is intact (B, which holds
            # everything, verifies it all on import and stores nothing new),
            # and health says the store met damage.
            out = os.path.join(self.workdir, "a.export")
            scenario.must(a.ctl("export", "--out", out))
            r = scenario.must(b.ctl("import", out))
            self.assertRegex(r.out, r"entries, 0 stored, \d+ duplicates, 0 refused")
            scenario.must(b.ctl("verify"))
            self.assertIn("the store met damaged data", a.ctl("health").out)
            # The documented repair: restore the last backup into a fresh
            # data dir; the peer brings what came after it.
            a.stop()
            os.rename(a.data_dir, a.data_dir + ".damaged")
            scenario.must(a.civnetd("restore", "--data-dir", a.data_dir, backup))
            a.start()
            net.converge(120)
            scenario.check_nothing_lost(net, acks)

    def test_damage_in_the_log_or_the_manifest_is_repaired_without_a_backup_and_nothing_acknowledged_is_lost(self):
        password = "river wells in march"
        with scenario.network(self.workdir, self.seed, orgs=1) as net:
            a, b = net.nodes
            scenario.must(a.ctl("accounts", "add", "amina", "--name", "Amina", "--password-stdin",
                                stdin=password + "\n"))
            acks = []

            def publish(n, label):
                for i in range(n):
                    status, reply = a.api("POST", "/v1/publish", {"title": f"{label} {i}", "body": "Field notes."})
                    self.assertEqual(status, 201, reply)
                    acks.append({"feed": reply["author"], "seq": reply["seq"], "id": reply["id"]})

            publish(100, "Before any damage")
            for damaged in ("log", "manifest"):
                # Entries only in A's LevelDB log (written since it last
                # started), synced to B; then A dies (kill -9: the log is not
                # turned into a table) and 64 bytes of the file are flipped.
                publish(50, f"Before the damaged {damaged}")
                net.converge(60)
                a.kill9()
                store = os.path.join(a.data_dir, "store")
                if damaged == "log":
                    target = max(glob.glob(os.path.join(store, "*.log")), key=os.path.getsize)
                else:
                    with open(os.path.join(store, "CURRENT")) as f:
                        target = os.path.join(store, f.read().strip())
                size = os.path.getsize(target)
                self.assertGreater(size, 128, f"{target} is too small to damage")
                with open(target, "r+b") as f:
                    f.seek(size // 2 - 32)
                    good = f.read(64)
                    f.seek(size // 2 - 32)
                    f.write(bytes(x ^ 0xFF for x in good))
                # A refuses to start, naming the damage and the way out.
                r = a.civnetd("run", "--data-dir", a.data_dir)
                self.assertEqual(r.code, 1, repr(r))
                self.assertIn("is corrupt", r.err)
                self.assertIn("civnetd repair --data-dir", r.err)
                # The repair keeps what can be read, and the damaged store.
                r = scenario.must(a.civnetd("repair", "--data-dir", a.data_dir))
                print(r.out, file=sys.stderr)
                self.assertIn("1 kept; ", r.out)  # amina's account
                kept = re.search(r"damaged store kept in (\S+)", r.out).group(1)
                self.assertTrue(os.path.isfile(os.path.join(kept, os.path.basename(target))))
                a.start()
                net.converge(120)
                scenario.check_nothing_lost(net, acks)
                # The member can log in; A publishes again once B, in sync,
                # has confirmed its feeds.
                self.assertEqual(a.https("POST", "/api/login", {"handle": "amina", "password": password})[0], 200)
                scenario.wait_until(lambda: a.api("POST", "/v1/publish", {"title": "After", "body": "x"})[0] == 201,
                                    60, "A to publish again after the repair")
                net.converge(60)

    @unittest.skipUnless(os.path.exists(scenario.FAKETIME_LIB), "needs libfaketime (apt-get install faketime)")
    def test_entries_from_a_clock_ahead_wait_and_are_taken_once_the_clock_is_right(self):
        with scenario.network(self.workdir, self.seed, orgs=1) as net:
            a, b = net.nodes
            net.converge(60)
            # B's wall clock falls 20 minutes behind: A's new entries are
            # then 20 minutes in B's future, past the 10 minutes allowed.
            b.stop()
            b.run_prefix = scenario.skewed_clock(-20 * 60)
            b.start()
            acks = []
            for i in range(3):
                status, reply = a.api("POST", "/v1/publish", {"title": f"From A {i}", "body": "Notes."})
                self.assertEqual(status, 201, reply)
                acks.append({"feed": reply["author"], "seq": reply["seq"], "id": reply["id"]})
            reason = 'reason="futureTimestamp"'
            scenario.wait_until(lambda: scenario.metric(b, "civnet_entries_refused_total", reason) > 0, 60,
                                "B to defer A's entries as too far in its future")
            for ack in acks:
                status, _ = b.api("GET", "/v1/entries/" + ack["id"])
                self.assertEqual(status, 404, "B stored an entry 20 minutes in its future")
            # The clock set right (B started again without the skew): the
            # entries are taken, and nothing acknowledged is lost.
            b.stop()
            b.run_prefix = []
            b.start()
            net.converge(60)
            scenario.check_nothing_lost(net, acks)

    def test_a_thousand_slow_connections_do_not_keep_a_member_out(self):
        r = scenario.run_slowloris_scenario(self.workdir, seconds=12, addresses=40, per_address=25,
                                            log=lambda line: print(line, file=sys.stderr))
        print(r, file=sys.stderr)  # the member's latencies: figures, not checks
        self.assertEqual(r["member_failed"], 0)
        self.assertGreater(r["member_requests"], 1)
        # The node was held at its limit, and made room by closing the
        # connections that waited longest; none was refused for its address.
        self.assertGreaterEqual(r["node_most_open"], 256)
        self.assertGreater(r["node_evicted"], 0)
        self.assertEqual(r["node_refused_per_address"], 0)

    def test_the_check_names_an_acknowledged_entry_that_is_missing_or_elsewhere(self):
        # The check itself can fail: a made-up acknowledgement is reported.
        with scenario.network(self.workdir, self.seed, orgs=1) as net:
            acks = []
            for i in range(2):
                status, reply = net.nodes[1].api("POST", "/v1/publish", {"title": f"Post {i}", "body": "Notes."})
                self.assertEqual(status, 201, reply)
                acks.append({"feed": reply["author"], "seq": reply["seq"], "id": reply["id"]})
            net.converge(60)
            scenario.check_nothing_lost(net, acks)
            made_up = dict(acks[0], id="ab" * 32)
            with self.assertRaisesRegex(AssertionError, "acknowledged entry abab.* is missing on hub"):
                scenario.check_nothing_lost(net, acks + [made_up])
            moved = dict(acks[0], seq=acks[0]["seq"] + 1)
            with self.assertRaisesRegex(AssertionError, f"entry {acks[0]['id']} on hub is at"):
                scenario.check_nothing_lost(net, [moved])


if __name__ == "__main__":
    unittest.main()
