"""A harness for fault scenarios: a network of real civnetd processes, each
with its own data dir and fixed loopback ports, made as a network is made
(a steward's hub creates it, organizations' nodes join and are admitted),
clients that publish and record every acknowledged entry, faults, and the
check that nothing acknowledged was lost.

Built on tests/functional/civnet_node.py (one node); the binaries come from
the same environment variables (CIVNETD, CIVNETCTL). Waits poll a condition
with a deadline; nothing here sleeps to let something happen, and the only
random pauses are the faults' own timing, drawn from a seeded generator
whose seed every report prints.
"""

import contextlib
import json
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "functional"))
from civnet_node import Node, UnixHTTPConnection, wait_until  # noqa: E402


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now. The node binds
    it a moment later; on this machine's loopback nothing else competes."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def must(r):
    if r.code != 0:
        raise AssertionError(repr(r))
    return r


class ScenarioNode(Node):
    """A node on a fixed peer port, so that a restart (after kill -9) comes
    back where its peers dial it."""

    def __init__(self, workdir, name, address=None):
        super().__init__(workdir, name)
        self.address = address or f"127.0.0.1:{free_port()}"
        self.key = None       # node key (TLS), once started
        self.feed = None      # the feed of the organization it hosts
        self.kills = 0

    def start(self, *extra):
        super().start(*extra)
        if self.key is None:
            st = self.status()
            self.key, self.feed = st["node_key"], st["feed_key"]

    def running(self):
        return self.proc is not None

    def kill9(self):
        """SIGKILL: no clean-up, no flush; what a crash or a power cut leaves
        of the process (the OS keeps what was written)."""
        self.proc.kill()
        self.proc.wait()
        self.proc = None
        self.log_file.close()
        self.kills += 1

    def feeds(self):
        status, reply = self.api("GET", "/v1/feeds")
        assert status == 200, (status, reply)
        return {f["feed"]: (f["seq"], f["id"], f["frozen"]) for f in reply["feeds"]}

    def entries(self):
        status, reply = self.api("GET", "/v1/status")
        assert status == 200, (status, reply)
        return reply["entries"]

    def link_with(self, other):
        """This node's record of its link with `other` (GET /v1/peers)."""
        status, reply = self.api("GET", "/v1/peers")
        assert status == 200, (status, reply)
        return next((p for p in reply["peers"] if p["key"] == other.key), None)

    def frontier(self):
        status, reply = self.api("GET", "/v1/status")
        assert status == 200, (status, reply)
        return reply["frontier_digest"]


class Namespaces:
    """Network namespaces for n nodes: node i in its own namespace with one
    veth link, at 10.231.0.(10+i)/24, to a bridge in a namespace of its
    own; all made with iproute2 (root only), all removed by remove().
    Faults act on the nodes' namespaces: blackhole routes cut links
    silently (as a broken link does: packets vanish, no error comes back),
    and `tc netem` delays, drops, reorders and duplicates packets."""

    def __init__(self, n):
        self.tag = os.urandom(3).hex()
        self.n = n
        self.bridge_ns = f"civnet-{self.tag}-br"
        self.cut = set()  # (i, j) pairs whose packets vanish
        self.made = []
        try:
            self._ip("netns", "add", self.bridge_ns)
            self.made.append(self.bridge_ns)
            self._ip("-n", self.bridge_ns, "link", "add", "br0", "type", "bridge")
            self._ip("-n", self.bridge_ns, "link", "set", "br0", "up")
            for i in range(n):
                ns = self.node_ns(i)
                self._ip("netns", "add", ns)
                self.made.append(ns)
                self._ip("link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", f"p{i}",
                         "netns", self.bridge_ns)
                self._ip("-n", ns, "addr", "add", f"{self.ip(i)}/24", "dev", "eth0")
                self._ip("-n", ns, "link", "set", "eth0", "up")
                self._ip("-n", ns, "link", "set", "lo", "up")
                self._ip("-n", self.bridge_ns, "link", "set", f"p{i}", "master", "br0")
                self._ip("-n", self.bridge_ns, "link", "set", f"p{i}", "up")
        except BaseException:
            self.remove()
            raise

    @staticmethod
    def _ip(*args):
        r = subprocess.run(["ip", *args], capture_output=True, text=True)
        if r.returncode != 0:
            raise AssertionError(f"ip {' '.join(args)} failed: {r.stderr.strip()}")

    def node_ns(self, i):
        return f"civnet-{self.tag}-{i}"

    def ip(self, i):
        return f"10.231.0.{10 + i}"

    def address(self, i):
        return f"{self.ip(i)}:7420"

    def partition(self, sides):
        """Cuts every link between nodes of different sides (lists of node
        indexes; a node in no side keeps all its links: a bridge)."""
        side_of = {i: k for k, side in enumerate(sides) for i in side}
        for i in range(self.n):
            for j in range(self.n):
                if i != j and i in side_of and j in side_of and side_of[i] != side_of[j]:
                    self._ip("-n", self.node_ns(i), "route", "add", "blackhole", f"{self.ip(j)}/32")
                    self.cut.add((i, j))

    def heal(self):
        for i, j in sorted(self.cut):
            self._ip("-n", self.node_ns(i), "route", "del", "blackhole", f"{self.ip(j)}/32")
        self.cut.clear()

    def degrade(self, netem):
        """Degrades every node's link with `tc netem` (e.g. "delay 40ms
        20ms loss 2%"). A kernel without netem (this project's CI VM has
        none) gets the same faults from what it has, per node, on what it
        sends (nftables and an htb qdisc):
          - 2% of packets dropped at random;
          - 1% sent twice (nftables' dup);
          - 25% sent through a slow class (2 Mbit/s with its own queue)
            while the rest go through a fast one (20 Mbit/s): those wait,
            by a varying time (delay with jitter), and are overtaken by
            packets sent after them (reordering).
        Returns what was applied."""

        def run(i, *args):
            return subprocess.run(["ip", "netns", "exec", self.node_ns(i), *args], capture_output=True, text=True)
        r = run(0, "tc", "qdisc", "replace", "dev", "eth0", "root", "netem", *netem.split())
        if r.returncode == 0:
            for i in range(1, self.n):
                r = run(i, "tc", "qdisc", "replace", "dev", "eth0", "root", "netem", *netem.split())
                if r.returncode != 0:
                    raise AssertionError(f"tc netem {netem} failed: {r.stderr.strip()}")
            return f"netem {netem}"
        if "unknown" not in r.stderr:
            raise AssertionError(f"tc netem {netem} failed: {r.stderr.strip()}")
        for i in range(self.n):
            for args in (["tc", "qdisc", "replace", "dev", "eth0", "root", "handle", "1:", "htb", "default", "10"],
                         ["tc", "class", "add", "dev", "eth0", "parent", "1:", "classid", "1:10", "htb", "rate",
                          "20mbit"],
                         ["tc", "class", "add", "dev", "eth0", "parent", "1:", "classid", "1:20", "htb", "rate",
                          "2mbit"],
                         ["nft", "add", "table", "ip", "civnet"],
                         ["nft", "add chain ip civnet out { type filter hook output priority 0; }"],
                         ["nft", "add rule ip civnet out oifname eth0 numgen random mod 100 < 2 counter drop"],
                         ["nft", "add rule ip civnet out oifname eth0 numgen random mod 100 < 1 counter "
                                 "dup to ip daddr device eth0"],
                         ["nft", "add rule ip civnet out oifname eth0 numgen random mod 100 < 25 counter "
                                 "meta priority set 1:20"]):
                r = run(i, *args)
                if r.returncode != 0:
                    raise AssertionError(f"{' '.join(args)} failed: {r.stderr.strip()}")
        return ("no netem in this kernel: 2% of packets dropped, 1% duplicated, 25% delayed and reordered "
                "through a 2 Mbit/s class beside a 20 Mbit/s one (nftables, htb)")

    def counted(self):
        """Packets degrade()'s nftables rules acted on, and what the nodes'
        TCP saw of it, summed over the nodes: {"dropped", "duplicated",
        "delayed"; "out_of_order": segments TCP received ahead of a gap
        (TCPOFOQueue), "duplicates_seen": segments it received twice
        (TCPDSACKOldSent + TCPDSACKOfoSent)}."""
        total = {"dropped": 0, "duplicated": 0, "delayed": 0, "out_of_order": 0, "duplicates_seen": 0}
        for i in range(self.n):
            r = subprocess.run(["ip", "netns", "exec", self.node_ns(i), "cat", "/proc/net/netstat"],
                               capture_output=True, text=True)
            lines = [line.split() for line in r.stdout.splitlines() if line.startswith("TcpExt:")]
            if len(lines) == 2:
                tcp = dict(zip(lines[0][1:], (int(v) for v in lines[1][1:])))
                total["out_of_order"] += tcp.get("TCPOFOQueue", 0)
                total["duplicates_seen"] += tcp.get("TCPDSACKOldSent", 0) + tcp.get("TCPDSACKOfoSent", 0)
            r = subprocess.run(["ip", "netns", "exec", self.node_ns(i), "nft", "list", "table", "ip", "civnet"],
                               capture_output=True, text=True)
            for line in r.stdout.splitlines():
                m = re.search(r"counter packets (\d+)", line)
                if not m:
                    continue
                kind = "dropped" if " drop" in line else "duplicated" if " dup " in line else "delayed"
                total[kind] += int(m.group(1))
        return total

    def remove(self):
        for ns in reversed(self.made):
            try:
                self._ip("netns", "del", ns)
            except AssertionError:
                pass
        self.made.clear()


def namespaces_available():
    """Why network namespaces cannot be used here, or None."""
    if os.geteuid() != 0:
        return "needs root, for network namespaces"
    name = f"civnet-probe-{os.urandom(3).hex()}"
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if r.returncode != 0:
        return f"ip netns add failed: {r.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None


class Network:
    """A steward's hub and `orgs` organizations' nodes, every pair linked
    (the newer node of a pair dials the older), all admitted by the hub."""

    def __init__(self, workdir, orgs=2, name="Scenario Network", namespaces=False, ping_seconds=None):
        """With `namespaces`, each node runs in its own network namespace
        on a bridge (see Namespaces), so that links can be cut and
        degraded; `ping_seconds` sets [net] ping_interval_seconds (a link
        is dead after three intervals without a message)."""
        self.workdir = workdir
        self.netns = Namespaces(orgs + 1) if namespaces else None
        self.nodes = []
        try:
            for i in range(orgs + 1):
                n = ScenarioNode(workdir, "hub" if i == 0 else f"org{i}",
                                 address=self.netns.address(i) if self.netns else None)
                if self.netns:
                    n.run_prefix = ["ip", "netns", "exec", self.netns.node_ns(i)]
                self.nodes.append(n)
            self.hub = self.nodes[0]
            self.genesis = os.path.join(workdir, "hub.genesis")
            must(self.hub.init(org="Hub Org", peer_listen=self.hub.address))
            must(self.hub.genesis(name, self.genesis))
            if ping_seconds:
                self.hub.set_config("ping_interval_seconds", str(ping_seconds))
            self.hub.start()
            for i, n in enumerate(self.nodes[1:], start=1):
                must(n.init(org=f"Organization {i}", network=self.genesis, peer_listen=n.address))
                if ping_seconds:
                    n.set_config("ping_interval_seconds", str(ping_seconds))
                n.start()
                must(self.hub.ctl("admit", n.feed, "--name", f"Organization {i}", "--region", "Scenario"))
                for older in self.nodes[:i]:
                    must(n.ctl("peers", "add", older.address, older.key))
        except BaseException:
            self.stop()
            raise

    def running(self):
        return [n for n in self.nodes if n.running()]

    def stop(self):
        for n in self.nodes:
            n.kill()
        if self.netns:
            self.netns.remove()

    def logs(self):
        return "".join(f"\n===== log of civnetd {n.name} ({n.log_path}) =====\n{n.log()}" for n in self.nodes)

    def converge(self, timeout):
        """Waits until every node is running and all hold the same tips
        (feed, seq, id, frozen) and frontier digest. Returns the seconds it
        took."""
        start = time.monotonic()

        def same():
            views = [(n.feeds(), n.frontier()) for n in self.nodes]
            return all(v == views[0] for v in views[1:])
        wait_until(same, timeout, "every node to hold the same tips and frontier digest")
        return time.monotonic() - start


class Publisher(threading.Thread):
    """Publishes posts through one node's admin API, one after another,
    until stopped. Every acknowledged publish (201) is appended to `ack_path`
    as one JSON line (feed, seq, id) and flushed before the next request:
    the client's record of what the node promised to keep. Requests that
    fail because the node is down or restarting are counted and retried
    after a short pause; any other answer is a failure of the scenario."""

    def __init__(self, node, ack_path, body_bytes=600):
        super().__init__(daemon=True, name=f"publisher-{node.name}")
        self.node = node
        self.ack_path = ack_path
        self.text = ("notes from the field on water, health and training. " * (body_bytes // 50 + 1))[:body_bytes]
        self.stopping = threading.Event()
        self.running = threading.Event()  # cleared: paused between requests
        self.running.set()
        self.idle = threading.Event()     # set while paused
        self.acknowledged = 0
        self.refused_down = 0
        self.error = None

    def run(self):
        i = 0
        with open(self.ack_path, "a") as acks:
            while not self.stopping.is_set():
                if not self.running.is_set():
                    self.idle.set()
                    self.running.wait()
                    self.idle.clear()
                    continue
                i += 1
                try:
                    status, reply = self.node.api("POST", "/v1/publish",
                                                  {"title": f"{self.node.name} report {i}", "body": self.text})
                except (OSError, ValueError):
                    # Down, restarting, or cut off mid-answer: not acknowledged.
                    self.refused_down += 1
                    self.stopping.wait(0.05)
                    continue
                if status == 201:
                    acks.write(json.dumps({"feed": reply["author"], "seq": reply["seq"], "id": reply["id"]}) + "\n")
                    acks.flush()
                    self.acknowledged += 1
                elif status == 503:
                    # Shutting down, or not ready yet: not acknowledged.
                    self.refused_down += 1
                    self.stopping.wait(0.05)
                else:
                    self.error = f"publish on {self.node.name} answered {status}: {reply}"
                    return

    def pause(self):
        """Returns once the publisher is between requests, and stays there."""
        self.running.clear()
        while not self.idle.wait(0.05):
            if not self.is_alive():
                break

    def resume(self):
        self.running.set()

    def stop(self):
        self.stopping.set()
        self.running.set()
        self.join()
        if self.error:
            raise AssertionError(self.error)


def bench_gen():
    """tools/bench/bench_gen of the same build as CIVNETD (or
    $CIVNET_BENCH_GEN): it makes many signed posts quickly."""
    path = os.environ.get("CIVNET_BENCH_GEN") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(os.environ["CIVNETD"]))), "tools", "bench", "bench_gen")
    if not os.path.exists(path):
        raise AssertionError(f"{path} is missing: build it (ninja -C build tools/bench/bench_gen)")
    return path


def load_posts(net, node, entries, feeds):
    """Makes `entries` signed posts in `feeds` new feeds (bench_gen), has
    the hub admit the feeds, and imports the posts into `node`. Returns the
    bytes of the export file."""
    out = os.path.join(net.workdir, f"posts-{entries}.export")
    keys = out + ".keys"
    r = subprocess.run([bench_gen(), "--genesis", net.genesis, "--out", out, "--keys", keys,
                        "--entries", str(entries), "--feeds", str(feeds)], capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError(f"bench_gen failed: {r.stderr}")
    with open(keys) as f:
        for k in f.read().split():
            status, reply = net.hub.api("POST", "/v1/admit", {"feed_key": k, "name": "Org " + k[:8],
                                                               "region": "Scenario"})
            assert status == 201, (status, reply)
    must(node.ctl("import", out))
    return os.path.getsize(out)


FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


def skewed_clock(seconds):
    """A run_prefix that starts civnetd with its wall clock `seconds` off
    (libfaketime, Debian's faketime package); its monotonic clock, which
    timers use, is left alone."""
    if not os.path.exists(FAKETIME_LIB):
        raise AssertionError(f"{FAKETIME_LIB} is missing: apt-get install faketime")
    return ["env", f"LD_PRELOAD={FAKETIME_LIB}", f"FAKETIME={seconds:+d}", "FAKETIME_DONT_FAKE_MONOTONIC=1",
            "FAKETIME_NO_CACHE=1"]


def metric(node, name, label=None):
    """One sample of the node's /metrics (label as 'key="value"'), or 0."""
    conn = ApiConnection(node)
    try:
        text = conn.text("/metrics")
    finally:
        conn.close()
    want = name + ("{" + label + "}" if label else "")
    for line in text.splitlines():
        if line.startswith(want + " "):
            return int(line.split()[-1])
    return 0


def acknowledged(paths):
    """Every entry the clients recorded as acknowledged."""
    out = []
    for p in paths:
        with open(p) as f:
            out += [json.loads(line) for line in f if line.strip()]
    return out


class ApiConnection:
    """One kept-open HTTP connection to a node's admin socket, for checks
    that make thousands of requests."""

    def __init__(self, node):
        self.conn = UnixHTTPConnection(node.socket)

    def get(self, path):
        self.conn.request("GET", path)
        r = self.conn.getresponse()
        return r.status, json.loads(r.read() or b"null")

    def text(self, path):
        self.conn.request("GET", path)
        return self.conn.getresponse().read().decode()

    def close(self):
        self.conn.close()


def check_nothing_lost(net, acks):
    """What "nothing lost" means: every acknowledged entry is held by every
    node with the same feed and seq; every node's store re-proves (every
    chain and signature); every feed tip, and the fork evidence (frozen
    feeds), is the same everywhere. Raises AssertionError naming the first
    entry or node that fails."""
    views = {n.name: n.feeds() for n in net.nodes}
    first = net.nodes[0].name
    for name, view in views.items():
        if view != views[first]:
            raise AssertionError(f"{name} holds tips {view}, {first} holds {views[first]}")
    for n in net.nodes:
        conn = ApiConnection(n)
        try:
            for a in acks:
                status, reply = conn.get("/v1/entries/" + a["id"])
                if status != 200:
                    raise AssertionError(f"acknowledged entry {a['id']} (feed {a['feed'][:12]} seq {a['seq']}) "
                                         f"is missing on {n.name}: {status} {reply}")
                if (reply["author"], reply["seq"]) != (a["feed"], a["seq"]):
                    raise AssertionError(f"entry {a['id']} on {n.name} is at {reply['author'][:12]} seq "
                                         f"{reply['seq']}, acknowledged at {a['feed'][:12]} seq {a['seq']}")
        finally:
            conn.close()
        r = n.ctl("verify")
        if r.code != 0:
            raise AssertionError(f"civnetctl verify failed on {n.name}: {r!r}")


def kill_loop(net, kills, rng, pause=(0.2, 1.5), down=(0.0, 0.5), log=print):
    """`kills` times: waits a random pause, kills a random running node with
    SIGKILL, leaves it down a random moment, and starts it again."""
    for k in range(kills):
        time.sleep(rng.uniform(*pause))  # fault timing, not a wait for a result
        victim = rng.choice(net.nodes)
        victim.kill9()
        time.sleep(rng.uniform(*down))
        victim.start()
        log(f"kill {k + 1}/{kills}: {victim.name} killed with SIGKILL and restarted")


@contextlib.contextmanager
def network(workdir, seed=None, **options):
    """A Network (made with `options`) for a with-block: when the block
    fails, every node's log is printed, with where the files are kept (and
    the seed that replays the run); the network is stopped either way."""
    net = Network(workdir, **options)
    try:
        yield net
    except BaseException:
        sys.stderr.write(net.logs())
        sys.stderr.write(f"\n(scenario files kept in {workdir}" + (f"; seed {seed}" if seed is not None else "") + ")\n")
        raise
    finally:
        net.stop()


def settle(net, pubs, timeout):
    """Stops the publishers, waits for convergence and checks that nothing
    acknowledged was lost. Returns (seconds to converge, acknowledgements)."""
    for p in pubs:
        p.stop()
    took = net.converge(timeout)
    acks = acknowledged(p.ack_path for p in pubs)
    check_nothing_lost(net, acks)
    return took, acks


def run_kill_scenario(workdir, kills, seed, orgs=2, converge_timeout=60, log=print):
    """The kill -9 scenario: publishers on every node, `kills` random kills
    during publishing and sync, then convergence and the check. Returns a
    dict of figures for the report."""
    rng = random.Random(seed)
    with network(workdir, seed, orgs=orgs) as net:
        pubs = [Publisher(n, os.path.join(workdir, f"{n.name}.acks")) for n in net.nodes]
        for p in pubs:
            p.start()
        kill_loop(net, kills, rng, log=log)
        took, acks = settle(net, pubs, converge_timeout)
        return {"scenario": "kill-9", "seed": seed, "nodes": len(net.nodes), "kills": kills,
                "acknowledged": len(acks), "lost": 0, "not_acknowledged": sum(p.refused_down for p in pubs),
                "converged_s": round(took, 1)}


def run_partition_scenario(workdir, rounds, seed, orgs=3, heal_timeout=60, hold=(3, 8), log=print):
    """Partitions with network namespaces: `rounds` times, a random cut
    (two random halves, a bridge node between two sides, or one isolated
    node) held for a random time in `hold` (s) while every node
    publishes, then healed; after each heal, convergence within `heal_timeout` s and the
    check. Returns a dict of figures."""
    rng = random.Random(seed)
    heals = []
    with network(workdir, seed, orgs=orgs, namespaces=True, ping_seconds=1) as net:
        pubs = [Publisher(n, os.path.join(workdir, f"{n.name}.acks")) for n in net.nodes]
        for p in pubs:
            p.start()
        everyone = list(range(len(net.nodes)))
        for r in range(rounds):
            shape = rng.choice(["halves", "bridge", "isolated"])
            order = everyone[:]
            rng.shuffle(order)
            if shape == "halves":
                half = len(order) // 2
                sides = [order[:half], order[half:]]
            elif shape == "bridge":
                rest = order[1:]
                sides = [rest[:len(rest) // 2], rest[len(rest) // 2:]]  # order[0] bridges them
            else:
                sides = [order[:1], order[1:]]
            net.netns.partition(sides)
            names = [[net.nodes[i].name for i in side] for side in sides]
            held = rng.uniform(*hold)
            log(f"round {r + 1}/{rounds}: {shape} {names} for {held:.1f} s")
            time.sleep(held)  # the partition's length, not a wait for a result
            # Healed: the publishers pause (tips that move all the time are
            # never the same everywhere at one moment) while the sides
            # converge; then they go on.
            net.netns.heal()
            for p in pubs:
                p.pause()
            heals.append(round(net.converge(heal_timeout), 1))
            log(f"round {r + 1}/{rounds}: healed, converged in {heals[-1]} s")
            for p in pubs:
                p.resume()
        _, acks = settle(net, pubs, heal_timeout)
        return {"scenario": "partition", "seed": seed, "nodes": len(net.nodes), "rounds": rounds,
                "acknowledged": len(acks), "lost": 0, "converged_after_heal_s": heals}


DEGRADED = "delay 40ms 20ms loss 2% reorder 25% 50% duplicate 1%"


def run_netem_scenario(workdir, seconds, seed, orgs=2, netem=DEGRADED, converge_timeout=120, log=print):
    """A degraded network: every node's link delayed with jitter, lossy,
    reordering and duplicating (`tc netem`), while every node publishes for
    `seconds`; then convergence and the check. Returns a dict of figures."""
    with network(workdir, seed, orgs=orgs, namespaces=True, ping_seconds=1) as net:
        applied = net.netns.degrade(netem)
        log(f"every link: {applied}")
        pubs = [Publisher(n, os.path.join(workdir, f"{n.name}.acks")) for n in net.nodes]
        for p in pubs:
            p.start()
        time.sleep(seconds)  # how long the load runs, not a wait for a result
        took, acks = settle(net, pubs, converge_timeout)
        counted = net.netns.counted() if applied.startswith("no netem") else {}
        return {"scenario": "netem", "seed": seed, "nodes": len(net.nodes), "faults": applied, "seconds": seconds,
                **{f"packets_{k}": v for k, v in counted.items()}, "acknowledged": len(acks), "lost": 0,
                "converged_s": round(took, 1)}


def _percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _slow_clients(port, sources, per_source, seconds, out):
    """The attack, in its own process (so that its event loop does not hold
    the member client's GIL): per_source connections from each address in
    `sources`, each reconnecting as soon as the node closes it, until
    `seconds` have passed. Half never start TLS; the other half complete
    the handshake and then send a request's headers one byte a second.
    Puts its figures in the queue `out`."""
    import asyncio
    import resource
    import ssl

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = len(sources) * per_source + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    stats = {"connections_made": 0, "open": 0, "most_open": 0, "handshakes": 0, "header_bytes_sent": 0}

    async def one(source, tls, deadline):
        while time.monotonic() < deadline:
            writer = None
            try:
                left = deadline - time.monotonic()
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0)), left)
                stats["connections_made"] += 1
                stats["open"] += 1
                stats["most_open"] = max(stats["most_open"], stats["open"])
                try:
                    if tls:
                        await asyncio.wait_for(writer.start_tls(ctx), deadline - time.monotonic())
                        stats["handshakes"] += 1
                        request = b"GET /api/me HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 7000
                        for i in range(len(request)):
                            writer.write(request[i:i + 1])
                            await writer.drain()
                            stats["header_bytes_sent"] += 1
                            try:  # a second's wait, unless the node closes first
                                if await asyncio.wait_for(reader.read(1), 1.0) == b"":
                                    break
                            except asyncio.TimeoutError:
                                pass
                            if time.monotonic() >= deadline:
                                break
                    else:
                        await asyncio.wait_for(reader.read(1), deadline - time.monotonic())
                finally:
                    stats["open"] -= 1
            except (OSError, asyncio.TimeoutError, ssl.SSLError, ConnectionError, EOFError):
                pass
            finally:
                if writer is not None:
                    writer.transport.abort()
                    await asyncio.sleep(0)

    async def attack():
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(one(src, i % 2 == 1, deadline) for src in sources for i in range(per_source)))

    asyncio.run(attack())
    out.put(stats)


def run_slowloris_scenario(workdir, seconds=12.0, addresses=40, per_address=25, log=print):
    """Slow clients against the member interface: addresses x per_address
    connections from 127.0.0.100 on (each address under the node's 32),
    held open without a request and reopened as soon as the node closes
    them, for `seconds`; meanwhile a member on 127.0.0.2 logs in and reads,
    one new connection per request, as a browser whose keep-alive
    connection was closed would. Every one of the member's requests must be
    answered 200. Returns a dict of figures: the member's latencies, the
    node's most connections open at once and its evictions."""
    import http.client
    import multiprocessing
    import ssl

    if not 0 < addresses <= 100 or not 0 < per_address < 32:
        raise ValueError("addresses must be 1..100 and per_address 1..31")
    password = "slow clients wait here"
    with network(workdir, orgs=0) as net:
        node = net.hub
        must(node.ctl("accounts", "add", "amina", "--name", "Amina", "--password-stdin", stdin=password + "\n"))
        port = node.status()["http_port"]
        ctx = ssl.create_default_context(cafile=os.path.join(node.data_dir, "keys", "web.crt"))
        ctx.check_hostname = False  # the certificate names the node; the member dials 127.0.0.1

        def request(method, path, headers=None, body=None):
            conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=60,
                                               source_address=("127.0.0.2", 0))
            started = time.monotonic()
            try:
                conn.request(method, path, body=body, headers=headers or {})
                r = conn.getresponse()
                payload = r.read()
                return r.status, r.getheader("Set-Cookie"), payload, time.monotonic() - started
            finally:
                conn.close()

        sources = [f"127.0.0.{100 + i}" for i in range(addresses)]
        out = multiprocessing.Queue()
        attacker = multiprocessing.Process(target=_slow_clients, args=(port, sources, per_address, seconds, out))
        attacker.start()
        try:
            # Until the node holds as many connections as it may (or the
            # attack's time is half gone), the member waits to begin.
            limit_deadline = time.monotonic() + seconds / 2
            while metric(node, "civnet_http_connections") < 256 and time.monotonic() < limit_deadline:
                time.sleep(0.05)
            saturated_at_login = metric(node, "civnet_http_connections")
            log(f"{addresses * per_address} slow connections from {addresses} addresses; the node holds "
                f"{saturated_at_login} open; the member logs in from 127.0.0.2")
            status, cookie, payload, took = request("POST", "/api/login", {"Content-Type": "application/json"},
                                                    json.dumps({"handle": "amina", "password": password}))
            if status != 200:
                raise AssertionError(f"the member's login was answered {status}: {payload[:200]!r}")
            auth = {"Cookie": cookie.split(";")[0]}
            latencies = {"login": [took], "me": [], "list": []}
            failures = []
            while attacker.is_alive():
                for name, path in (("me", "/api/me"), ("list", "/api/entries?limit=20")):
                    try:
                        status, _, payload, took = request("GET", path, auth)
                    except (OSError, http.client.HTTPException) as e:
                        failures.append(f"GET {path}: {e!r}")
                        continue
                    if status != 200:
                        failures.append(f"GET {path}: {status} {payload[:200]!r}")
                    latencies[name].append(took)
            attack = out.get(timeout=60)
        finally:
            attacker.join(timeout=60)
            if attacker.is_alive():
                attacker.kill()
        if not latencies["me"]:
            raise AssertionError("the member made no request while the attack lasted")
        if failures:
            raise AssertionError(f"{len(failures)} of the member's requests failed, the first: {failures[0]}")
        served = latencies["me"] + latencies["list"]
        ms = lambda s: round(s * 1000, 1)  # noqa: E731
        return {"scenario": "slowloris", "seconds": seconds, "slow_connections": addresses * per_address,
                "addresses": addresses, "attack_connections_made": attack["connections_made"],
                "attack_most_open": attack["most_open"], "attack_tls_handshakes": attack["handshakes"],
                "node_open_at_login": saturated_at_login,
                "node_most_open": metric(node, "civnet_http_connections_peak"),
                "node_evicted": metric(node, "civnet_http_connections_evicted_total"),
                "node_refused_per_address": metric(node, "civnet_http_connections_refused_total"),
                "member_requests": len(served) + 1, "member_failed": 0,
                "member_login_ms": ms(latencies["login"][0]),
                "member_p50_ms": ms(_percentile(served, 0.5)), "member_p99_ms": ms(_percentile(served, 0.99)),
                "member_max_ms": ms(max(served))}
