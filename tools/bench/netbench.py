#!/usr/bin/env python3
"""civnet's benchmarks that need running nodes (docs/performance.md, 2-9).

Each starts real civnetd processes on 127.0.0.1, each node in its own data
dir under a temporary directory (removed at the end unless --keep), drives
them through their admin API as civnetctl does, and prints one line per
result naming its figures (--json: one JSON object a line instead). The
machine's own limits (one core's Ed25519 verify rate, LevelDB's raw batched
put rate) are measured in the same run by bench_limits.

    netbench.py [--build DIR] [--json] [--keep] BENCHMARK [options]

    report       [--tiny]                            all of them, as docs/performance.md's table
    publish      [--clients 16] [--publishes 20000]
    sync         [--entries 100000] [--feeds 300]    catch-up, reconnect, one new entry
    propagation  [--posts 1000] [--every-ms 5]       A - B - C
    member-api   [--entries 100000] [--requests 20000] [--connections 32]
    memory       [--entries 1000000] [--feeds 300]   a node holding them, syncing and serving

Nothing here asserts a time: these are measurements, not tests. The test
suite runs each once at a tiny size (tests/meson.build) so they keep working.
"""

import argparse
import concurrent.futures
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "functional"))


def configure(build):
    """Points the functional-test harness at this build's binaries."""
    build = os.path.abspath(build)
    os.environ.setdefault("CIVNETD", os.path.join(build, "daemon", "civnetd"))
    os.environ.setdefault("CIVNETCTL", os.path.join(build, "tools", "civnetctl"))
    return build


def tool(build, name):
    return os.path.join(build, "tools", "bench", name)


def run_json(args):
    """Runs a helper program and returns the JSON object it printed."""
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"netbench: {os.path.basename(args[0])} failed ({r.returncode}): {r.stderr.strip()}")
    return json.loads(r.stdout.strip().splitlines()[-1])


@functools.lru_cache(maxsize=None)
def limits(build, entries=100000, feeds=300):
    """The machine's limits for entries of this shape, measured once per
    run of this program (each measure signs up to 100,000 entries: the
    report would otherwise make the same measure for every benchmark)."""
    entries, feeds = min(entries, 100000), min(feeds, entries)
    return run_json([tool(build, "bench_limits"), "--entries", str(entries), "--feeds", str(feeds)])


class Net:
    """A network of nodes under one work dir: the first is a one-steward
    hub that created the network; the others join it."""

    def __init__(self, workdir):
        import civnet_node
        self.cn = civnet_node
        self.workdir = workdir
        self.nodes = []
        self.genesis = None

    def _node(self, name):
        n = self.cn.Node(self.workdir, name)
        self.nodes.append(n)
        return n

    def hub(self, name="a"):
        n = self._node(name)
        self.genesis = os.path.join(self.workdir, name + ".genesis")
        ok(n.init(org="Org " + name))
        ok(n.genesis("Bench Network", self.genesis))
        n.start()
        return n

    def member(self, name, steward, dial=None):
        """A node of one organization, admitted by `steward`, dialing `dial`."""
        n = self._node(name)
        ok(n.init(org="Org " + name, network=self.genesis))
        n.start()
        admit(steward, [n.status()["feed_key"]])
        if dial is not None:
            ok(n.ctl("peers", "add", dial.peer_address(), dial.node_key()))
        return n

    def stop(self):
        for n in self.nodes:
            n.kill()


def ok(r):
    if r.code != 0:
        raise SystemExit(f"netbench: {' '.join(r.args)} failed ({r.code}): {r.stderr.strip() or r.stdout.strip()}")
    return r


def api(node, method, path, body=None, want=200):
    status, reply = node.api(method, path, body)
    if status != want:
        raise SystemExit(f"netbench: {method} {path} on {node.name}: HTTP {status}: {reply}")
    return reply


def admit(steward, keys, threads=16):
    """The steward admits every feed key (its publishes share synced writes)."""
    def one(k):
        api(steward, "POST", "/v1/admit", {"feed_key": k, "name": "Org " + k[:8], "region": "Bench"}, want=201)
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, keys))


def load(build, net, node, entries, feeds, settled=True):
    """Makes `entries` signed posts in `feeds` new feeds, has the hub admit
    the feeds, and imports the posts into `node`; with `settled`, waits
    for its search index to take them in too (some 5,000 posts a second
    here). Returns (own bytes of the posts, seconds the import took)."""
    out = os.path.join(net.workdir, f"gen-{entries}-{feeds}.export")
    keys = out + ".keys"
    gen = run_json([tool(build, "bench_gen"), "--genesis", net.genesis, "--out", out, "--keys", keys,
                    "--entries", str(entries), "--feeds", str(feeds)])
    with open(keys) as f:
        admit(net.nodes[0], f.read().split())
    start = time.monotonic()
    ok(node.ctl("import", out))
    took = time.monotonic() - start
    os.unlink(out)
    if settled:
        settle(node)
    return gen["own_bytes"], took


def status(node):
    return api(node, "GET", "/v1/status")


def settle(node, timeout=600):
    """Waits until the node's search index has taken in every arrival, so
    its background indexing does not run into what is measured next."""
    deadline = time.monotonic() + timeout
    while status(node).get("search", {}).get("arrivals_behind", 0) > 0:
        if time.monotonic() > deadline:
            raise SystemExit(f"netbench: {node.name}'s search index did not catch up within {timeout} s")
        time.sleep(0.05)


def peer_of(node, other_key):
    for p in api(node, "GET", "/v1/peers")["peers"]:
        if p["key"] == other_key:
            return p
    return None


def wait_same_frontier(a, b, timeout):
    """Polls until both nodes hold the same frontier; the time it took."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        if status(a)["frontier_digest"] == status(b)["frontier_digest"]:
            return time.monotonic() - start
        if time.monotonic() > deadline:
            raise SystemExit(f"netbench: {a.name} and {b.name} did not converge within {timeout} s")
        time.sleep(0.005)


def wire(link):
    """(bytes after the TLS handshake, bytes of the handshake), both ways,
    from both ends' records of one link. Only what each end *sent* is
    counted: a node samples its counts when its own handshake ends, and by
    then the other end's first message may already have arrived (and be
    counted as received), while what it sent by then is exactly its
    handshake."""
    pa, pb = link
    total = pa["wire_bytes_sent"] + pb["wire_bytes_sent"]
    hs = pa["handshake_bytes_sent"] + pb["handshake_bytes_sent"]
    return total - hs, hs


def link_idle(a, b):
    """Waits until the link between a and b is idle at both ends; both
    ends' records of it (see wire())."""
    return wait_idle(a, b.node_key()), wait_idle(b, a.node_key())


def wait_idle(node, other_key, timeout=60, quiet=0.5):
    """Waits until `node`'s link with `other_key` is in sync and carried no
    byte for `quiet` seconds; returns that peer's last record."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        p = peer_of(node, other_key)
        if p and p["state"] == "connected" and p["in_sync"]:
            seen = (p["wire_bytes_received"], p["wire_bytes_sent"])
            if seen != last:
                last, since = seen, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return p
        else:
            last, since = None, time.monotonic()
        time.sleep(0.05)
    raise SystemExit(f"netbench: {node.name}'s link with {other_key[:12]} did not go idle within {timeout} s")


def rss_peak_kib(node):
    """The daemon's peak resident memory (VmHWM), in KiB."""
    with open(f"/proc/{node.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def dir_bytes(path, skip=()):
    total = 0
    for root, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in skip]
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


# --- the benchmarks ---------------------------------------------------------

def bench_publish(build, workdir, args):
    lim = limits(build, args.publishes)
    net = Net(workdir)
    try:
        a = net.hub()
        r = run_json([tool(build, "bench_publish"), "--socket", a.socket, "--clients", str(args.clients),
                      "--publishes", str(args.publishes)])
    finally:
        net.stop()
    r.update(lim)
    return [r]


def bench_sync(build, workdir, args):
    """3 (catch-up), 4 (reconnect when in sync), 5 (one new entry)."""
    lim = limits(build, args.entries, args.feeds)
    net = Net(workdir)
    results = []
    try:
        a = net.hub("a")
        own, import_s = load(build, net, a, args.entries, args.feeds, settled=getattr(args, "settled", True))
        b = net.member("b", a)
        a_key = a.node_key()
        total = status(a)["entries"]

        # 3. Catch-up: B, empty, dials A.
        start = time.monotonic()
        ok(b.ctl("peers", "add", a.peer_address(), a_key))
        wait_same_frontier(a, b, timeout=max(120, args.entries / 2000))
        took = time.monotonic() - start
        p = link_idle(b, a)
        after, hs = wire(p)
        results.append({"benchmark": "catch-up", "entries": args.entries, "feeds": args.feeds,
                        "entries_held": total, "seconds": round(took, 3),
                        "entries_per_s": round(total / took), "wire_bytes": after, "handshake_bytes": hs,
                        "own_bytes": own, "wire_ratio": round(after / own, 3),
                        "import_entries_per_s": round(args.entries / import_s), **lim})

        # 4. Reconnect when in sync: B restarts and dials A again.
        b.stop()
        b.start()
        p = link_idle(b, a)
        after, hs = wire(p)
        results.append({"benchmark": "reconnect", "entries": args.entries, "feeds": args.feeds,
                        "wire_bytes": after, "handshake_bytes": hs})

        # 5. One new entry, published at A, reaches B.
        before = after
        api(a, "POST", "/v1/publish", {"title": "One more report", "body": "Notes from the field."}, want=201)
        wait_same_frontier(a, b, timeout=60)
        p = link_idle(b, a)
        after, _ = wire(p)
        results.append({"benchmark": "one-new-entry", "entries": args.entries, "feeds": args.feeds,
                        "wire_bytes": after - before})
    finally:
        net.stop()
    return results


def bench_propagation(build, workdir, args):
    """6. A - B - C in a line; posts published at A one every `every_ms`;
    for each, the time from its publish request until C holds it."""
    net = Net(workdir)
    try:
        a = net.hub("a")
        b = net.member("b", a, dial=a)
        c = net.member("c", a, dial=b)
        wait_same_frontier(a, c, timeout=60)
        feed = status(a)["feed_key"]
        sent = {}  # seq -> monotonic time its publish request began
        seen = {}  # seq -> monotonic time C was first seen holding it

        def tip_at_c():
            for t in api(c, "GET", "/v1/feeds")["feeds"]:
                if t["feed"] == feed:
                    return t["seq"]
            return 0

        import threading
        done = threading.Event()
        first = tip_at_c()

        def watch():
            held = first
            while not done.is_set() or held < first + args.posts:
                now_seq = tip_at_c()
                t = time.monotonic()
                for s in range(held + 1, now_seq + 1):
                    seen[s] = t
                held = max(held, now_seq)
                if done.is_set() and time.monotonic() > deadline[0]:
                    break
                time.sleep(0.001)

        deadline = [float("inf")]
        watcher = threading.Thread(target=watch)
        watcher.start()
        next_at = time.monotonic()
        for i in range(args.posts):
            next_at += args.every_ms / 1000
            start = time.monotonic()
            reply = api(a, "POST", "/v1/publish", {"title": f"Live report {i}", "body": "Notes."}, want=201)
            sent[reply["seq"]] = start
            pause = next_at - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        deadline[0] = time.monotonic() + 60
        done.set()
        watcher.join()
        missing = [s for s in sent if s not in seen]
        if missing:
            raise SystemExit(f"netbench: {len(missing)} posts never reached C within 60 s")
        lat = sorted((seen[s] - sent[s]) * 1000 for s in sent)
    finally:
        net.stop()

    def pct(q):
        return round(lat[min(len(lat) - 1, int(q * len(lat)))], 1)
    return [{"benchmark": "propagation", "posts": args.posts, "every_ms": args.every_ms,
             "median_ms": pct(0.5), "p99_ms": pct(0.99), "max_ms": round(lat[-1], 1)}]


def member_account(node, handle="bench"):
    password = "bench-password-" + os.urandom(6).hex()
    ok(node.ctl("accounts", "add", handle, "--name", "Bench Reader", "--password-stdin", stdin=password + "\n"))
    return handle, password


def member_load(build, node, handle, password, connections, requests):
    """The command line of bench_member_api against `node` as that member."""
    return [tool(build, "bench_member_api"), "--port", str(status(node)["http_port"]),
            "--ca", os.path.join(node.data_dir, "keys", "web.crt"), "--handle", handle, "--password", password,
            "--connections", str(connections), "--requests", str(requests), "--json"]


def bench_member_api(build, workdir, args):
    """7. A node holding `entries` posts, indexed; one member's 32
    connections searching and listing."""
    net = Net(workdir)
    try:
        a = net.hub("a")
        load(build, net, a, args.entries, 300)
        r = run_json(member_load(build, a, *member_account(a), args.connections, args.requests))
    finally:
        net.stop()
    r.update({"benchmark": "member-api", "entries": args.entries})
    return [r]


def bench_memory(build, workdir, args):
    """8 (and 9's catch-up at this size). A holds `entries` posts; B catches
    them up while a member searches it; B's peak resident memory, its store
    size per entry (the search index apart)."""
    net = Net(workdir)
    try:
        a = net.hub("a")
        # A's search index is left to catch up at its low priority: at a
        # million posts that takes minutes, and it is not what is measured.
        own, import_s = load(build, net, a, args.entries, args.feeds, settled=False)
        b = net.member("b", a)
        handle, password = member_account(b)
        total = status(a)["entries"]
        start = time.monotonic()
        ok(b.ctl("peers", "add", a.peer_address(), a.node_key()))
        # Serving while syncing: a member's searches and pages on B, at
        # the same time (they start with B still empty).
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            serving = pool.submit(run_json, member_load(build, b, handle, password, 4, 2000))
            wait_same_frontier(a, b, timeout=max(300, args.entries / 1000))
            took = time.monotonic() - start
            served = serving.result()
        rss = rss_peak_kib(b)
        store_dir = os.path.join(b.data_dir, "store")
        search_dir = os.path.join(b.data_dir, "search")
        store_bytes = dir_bytes(store_dir)
        search_bytes = dir_bytes(search_dir) if os.path.isdir(search_dir) else 0
        a_store = dir_bytes(os.path.join(a.data_dir, "store"))
    finally:
        net.stop()
    return [{"benchmark": "memory", "entries": args.entries, "feeds": args.feeds, "entries_held": total,
             "catch_up_seconds": round(took, 3), "catch_up_entries_per_s": round(total / took),
             "import_entries_per_s": round(args.entries / import_s),
             "rss_peak_mib": round(rss / 1024, 1), "store_bytes": store_bytes, "store_ratio": round(store_bytes / own, 3),
             "source_store_ratio": round(a_store / own, 3),
             "search_index_bytes": search_bytes, "own_bytes": own, "served_requests": served["requests"]}]


def ingest(build, entries, feeds=300, each_signature=False):
    return run_json([tool(build, "bench_ingest"), "--entries", str(entries), "--feeds", str(feeds), "--json",
                     *(["--each-signature"] if each_signature else [])])


def fmt(n):
    return f"{n:,.0f}"


def report(build, workdir, args):
    """Every benchmark at its default size (--tiny: each at a tiny size,
    as the test suite runs it); a Markdown table (docs/performance.md)."""
    tiny = args.tiny
    SMALL, MID, BIG = (60, 300, 900) if tiny else (10_000, 100_000, 1_000_000)
    FEEDS, FEW, MANY = (3, 2, 30) if tiny else (300, 10, 10_000)
    PUBLISHES, POSTS, REQUESTS, CONNECTIONS = (100, 20, 100, 4) if tiny else (20_000, 1_000, 20_000, 32)
    rows = []

    started = time.monotonic()

    def row(name, size, result, limits, target, met):
        rows.append(f"| {name} | {size} | {result} | {limits} | {target} | {'yes' if met else '**no**'} |")
        print(f"[{time.monotonic() - started:.0f} s] {rows[-1]}", file=sys.stderr, flush=True)

    def sub(fn, **kw):
        d = tempfile.mkdtemp(dir=workdir)
        return fn(build, d, argparse.Namespace(**kw))

    def vs(rate, r):
        return f"{rate / r['verify_per_s']:.1f}x verify ({fmt(r['verify_per_s'])}/s), " \
               f"{rate / r['put_per_s']:.2f}x put ({fmt(r['put_per_s'])}/s)"

    ing = {n: ingest(build, n, FEEDS, each_signature=n == MID) for n in (SMALL, MID, BIG)}
    i = ing[MID]
    rate = i["entries_per_s"]
    row("1. ingest", f"{fmt(MID)} entries, {FEEDS} feeds, {i['entry_bytes']:.0f} B",
        f"{fmt(rate)} entries/s; with every signature checked {fmt(i['each_signature_per_s'])}/s", vs(rate, i),
        "≥ 100,000/s, ≥ 6x verify, ≥ 0.5x put",
        rate >= 100_000 and rate >= 6 * i["verify_per_s"] and rate >= 0.5 * i["put_per_s"])
    p = sub(bench_publish, clients=16, publishes=PUBLISHES)[0]
    row("2. publish", "16 clients, admin API",
        f"{fmt(p['per_s'])} acknowledged/s, {p['per_synced_write']} per synced write",
        vs(p["per_s"], p), "≥ 5,000/s", p["per_s"] >= 5000)
    # Catch-up is measured at 300 feeds, once A's search index has taken
    # in the import; the others measure only bytes, which that does not change.
    sync = {f: sub(bench_sync, entries=MID, feeds=f, settled=(f == FEEDS)) for f in (FEW, FEEDS, MANY)}
    c, _, one = sync[FEEDS]
    row("3. catch-up sync", f"{fmt(MID)} entries, {FEEDS} feeds",
        f"{fmt(c['entries_per_s'])} entries/s; wire {c['wire_ratio']}x the entries' bytes",
        vs(c["entries_per_s"], c), "≥ 50,000/s, ≤ 1.2x", c["entries_per_s"] >= 50_000 and c["wire_ratio"] <= 1.2)
    for f in (FEW, FEEDS, MANY):
        r = sync[f][1]
        row("4. reconnect in sync", f"{fmt(MID)} entries, {fmt(f)} feeds",
            f"{fmt(r['wire_bytes'])} B after the handshake ({fmt(r['handshake_bytes'])} B handshake)",
            "", "< 1 KiB", r["wire_bytes"] < 1024)
    row("5. one new entry", f"{fmt(MID)} entries, {FEEDS} feeds", f"{fmt(one['wire_bytes'])} B after the handshake",
        "", "< 4 KiB", one["wire_bytes"] < 4096)
    pr = sub(bench_propagation, posts=POSTS, every_ms=5)[0]
    row("6. propagation A-B-C", f"{fmt(POSTS)} posts, one every 5 ms",
        f"median {pr['median_ms']} ms, p99 {pr['p99_ms']} ms",
        "", "median < 50 ms, p99 < 200 ms", pr["median_ms"] < 50 and pr["p99_ms"] < 200)
    m = sub(bench_member_api, entries=MID, requests=REQUESTS, connections=CONNECTIONS)[0]
    row("7. member API", f"{fmt(MID)} entries, {CONNECTIONS} connections",
        f"{fmt(m['requests_per_s'])} requests/s; search p50 {m['search_p50_ms']} ms p99 {m['search_p99_ms']} ms; "
        f"list p50 {m['list_p50_ms']} ms p99 {m['list_p99_ms']} ms", "",
        "p99: search < 20 ms, list < 10 ms", m["search_p99_ms"] < 20 and m["list_p99_ms"] < 10)
    mem = sub(bench_memory, entries=BIG, feeds=FEEDS)[0]
    row("8. memory and size", f"{fmt(BIG)} entries, syncing and serving",
        f"{mem['rss_peak_mib']} MiB peak resident; store {mem['store_ratio']}x the entries' bytes "
        f"(search index {mem['search_index_bytes'] / mem['own_bytes']:.2f}x apart)", "",
        "< 150 MiB, ≤ 1.3x", mem["rss_peak_mib"] < 150 and mem["store_ratio"] <= 1.3)
    small = sub(bench_sync, entries=SMALL, feeds=FEEDS)[0]
    per = {n: 1e6 / ing[n]["entries_per_s"] for n in ing}
    cper = {SMALL: 1e6 / small["entries_per_s"], MID: 1e6 / c["entries_per_s"],
            BIG: 1e6 / mem["catch_up_entries_per_s"]}
    # Against the cheapest size, not the smallest: at 10k a run's fixed
    # costs (connecting, the first Hello) make every entry look dearer.
    growth = max(per[BIG] / min(per.values()), cper[BIG] / min(cper.values()))
    row("9. scaling", f"{fmt(SMALL)} / {fmt(MID)} / {fmt(BIG)} entries",
        "µs per entry: ingest " + " / ".join(f"{per[n]:.1f}" for n in sorted(per)) +
        "; catch-up " + " / ".join(f"{cper[n]:.1f}" for n in sorted(cper)), "",
        "linear: per-entry cost at the largest size < 2x the cheapest's", growth < 2)

    print("| benchmark | size | result | vs. this machine's limits | target | met |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(r)
    return []


BENCHMARKS = {
    "report": report,
    "publish": bench_publish,
    "sync": bench_sync,
    "propagation": bench_propagation,
    "member-api": bench_member_api,
    "memory": bench_memory,
}


def describe(r):
    """One line naming a result's figures."""
    return r["benchmark"] + ": " + ", ".join(f"{k} {v}" for k, v in r.items() if k != "benchmark")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="the meson build dir (default: build)")
    ap.add_argument("--json", action="store_true", help="one JSON object a line")
    ap.add_argument("--keep", action="store_true", help="keep the nodes' data dirs")
    sub = ap.add_subparsers(dest="benchmark", required=True)
    p = sub.add_parser("publish")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--publishes", type=int, default=20000)
    p = sub.add_parser("sync")
    p.add_argument("--entries", type=int, default=100000)
    p.add_argument("--feeds", type=int, default=300)
    p = sub.add_parser("propagation")
    p.add_argument("--posts", type=int, default=1000)
    p.add_argument("--every-ms", type=float, default=5)
    p = sub.add_parser("member-api")
    p.add_argument("--entries", type=int, default=100000)
    p.add_argument("--requests", type=int, default=20000)
    p.add_argument("--connections", type=int, default=32)
    p = sub.add_parser("report", help="every benchmark at its default size, as a Markdown table")
    p.add_argument("--tiny", action="store_true", help="each at a tiny size (the test suite's run)")
    p = sub.add_parser("memory")
    p.add_argument("--entries", type=int, default=1000000)
    p.add_argument("--feeds", type=int, default=300)
    args = ap.parse_args(argv)
    for k in ("entries", "feeds", "posts", "clients", "publishes", "requests", "connections"):
        if getattr(args, k, 1) < 1:
            ap.error(f"--{k} must be a positive number")

    build = configure(args.build)
    workdir = tempfile.mkdtemp(prefix="civnet-netbench-")
    try:
        for r in BENCHMARKS[args.benchmark](build, workdir, args):
            print(json.dumps(r) if args.json else describe(r), flush=True)
    finally:
        if args.keep:
            print(f"netbench: nodes kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
