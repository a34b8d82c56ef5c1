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

import json
import os
import random
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "functional"))
from civnet_node import Node, wait_until  # noqa: E402


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

    def __init__(self, workdir, name):
        super().__init__(workdir, name)
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
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


class Network:
    """A steward's hub and `orgs` organizations' nodes, every pair linked
    (the newer node of a pair dials the older), all admitted by the hub."""

    def __init__(self, workdir, orgs=2, name="Scenario Network"):
        self.workdir = workdir
        self.hub = ScenarioNode(workdir, "hub")
        self.genesis = os.path.join(workdir, "hub.genesis")
        self.nodes = [self.hub]
        try:
            must(self.hub.init(org="Hub Org", peer_listen=self.hub.address))
            must(self.hub.genesis(name, self.genesis))
            self.hub.start()
            for i in range(orgs):
                n = ScenarioNode(workdir, f"org{i + 1}")
                self.nodes.append(n)
                must(n.init(org=f"Organization {i + 1}", network=self.genesis, peer_listen=n.address))
                n.start()
                must(self.hub.ctl("admit", n.feed, "--name", f"Organization {i + 1}", "--region", "Scenario"))
                for older in self.nodes[:-1]:
                    must(n.ctl("peers", "add", older.address, older.key))
        except BaseException:
            self.stop()
            raise

    def running(self):
        return [n for n in self.nodes if n.running()]

    def stop(self):
        for n in self.nodes:
            n.kill()

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
        self.acknowledged = 0
        self.refused_down = 0
        self.error = None

    def run(self):
        i = 0
        with open(self.ack_path, "a") as acks:
            while not self.stopping.is_set():
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

    def stop(self):
        self.stopping.set()
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
    import subprocess
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
        import http.client

        class UnixConnection(http.client.HTTPConnection):
            def connect(conn):
                conn.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                conn.sock.settimeout(60)
                conn.sock.connect(node.socket)
        self.conn = UnixConnection("civnetd", timeout=60)

    def get(self, path):
        self.conn.request("GET", path)
        r = self.conn.getresponse()
        return r.status, json.loads(r.read() or b"null")

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


def run_kill_scenario(workdir, kills, seed, orgs=2, converge_timeout=60, log=print):
    """The kill -9 scenario: publishers on every node, `kills` random kills
    during publishing and sync, then convergence and the check. Returns a
    dict of figures for the report."""
    rng = random.Random(seed)
    net = Network(workdir, orgs=orgs)
    try:
        pubs = [Publisher(n, os.path.join(workdir, f"{n.name}.acks")) for n in net.nodes]
        for p in pubs:
            p.start()
        kill_loop(net, kills, rng, log=log)
        for p in pubs:
            p.stop()
        took = net.converge(converge_timeout)
        acks = acknowledged(p.ack_path for p in pubs)
        check_nothing_lost(net, acks)
        return {"scenario": "kill-9", "seed": seed, "nodes": len(net.nodes), "kills": kills,
                "acknowledged": len(acks), "lost": 0, "not_acknowledged": sum(p.refused_down for p in pubs),
                "converged_s": round(took, 1)}
    except BaseException:
        sys.stderr.write(net.logs())
        sys.stderr.write(f"\n(scenario files kept in {workdir}; seed {seed})\n")
        raise
    finally:
        net.stop()
