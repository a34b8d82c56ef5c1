"""A small framework for functional tests: real civnetd processes, each in
its own data dir, driven through civnetctl.

Paths of the binaries come from the environment (set by meson):
CIVNETD, CIVNETCTL, CAPNP and CIVNET_ENTRY_CAPNP (schemas/entry.capnp).
Nothing here sleeps a fixed time: waits poll a condition with a deadline.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import time

CIVNETD = os.environ.get("CIVNETD", "civnetd")
CIVNETCTL = os.environ.get("CIVNETCTL", "civnetctl")
CAPNP = os.environ.get("CAPNP", "capnp")
ENTRY_CAPNP = os.environ.get("CIVNET_ENTRY_CAPNP", "schemas/entry.capnp")

COMMAND_TIMEOUT = 60  # seconds for one civnetd/civnetctl command
START_TIMEOUT = 30    # seconds for a daemon to open its socket
STOP_TIMEOUT = 30     # seconds for a daemon to exit after SIGTERM


def wait_until(condition, timeout, what):
    """Polls condition() until it is true; fails naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        if condition():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(delay)  # a polling interval, not a guess at how long things take
        delay = min(delay * 2, 0.1)


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a node's admin socket (a Unix socket)."""

    def __init__(self, path):
        super().__init__("civnetd", timeout=COMMAND_TIMEOUT)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(COMMAND_TIMEOUT)
        self.sock.connect(self.unix_path)


class Completed:
    """What a command did: exit code, stdout, stderr."""

    def __init__(self, args, proc):
        self.args = args
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return (f"command {self.args!r} exited {self.code}\n"
                f"--- stdout ---\n{self.out}--- stderr ---\n{self.err}")


def run(args, stdin=None):
    proc = subprocess.run(args, input=stdin, capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT)
    return Completed(args, proc)


def genesis_draft(name, stewards, threshold, out):
    """`civnetd genesis draft`: needs no node."""
    args = [CIVNETD, "genesis", "draft", "--name", name, "--threshold", str(threshold), "--out", out]
    for key in stewards:
        args += ["--steward", key]
    return run(args)


def genesis_check(path):
    return run([CIVNETD, "genesis", "check", path])


def printed_value(out, label):
    """The value civnetd printed on the line starting with `label`
    (e.g. "steward key" in init's output), up to the first space."""
    for line in out.splitlines():
        if line.startswith(label + " "):
            return line[len(label):].split()[0]
    raise AssertionError(f"no line starting with {label!r} in:\n{out}")


class Node:
    """One civnetd data dir, and the daemon serving it while started."""

    def __init__(self, workdir, name):
        self.name = name
        self.data_dir = os.path.join(workdir, name)
        self.log_path = os.path.join(workdir, name + ".log")
        self.socket = os.path.join(self.data_dir, "admin.sock")
        self.proc = None
        self.log_file = None
        self.run_prefix = []  # e.g. ["ip", "netns", "exec", NS]: where `civnetd run` runs

    # --- civnetd commands ---
    def civnetd(self, *args):
        return run([CIVNETD, *args])

    def init(self, org=None, network=None, steward=False, peer_listen="127.0.0.1:0"):
        """`civnetd init`; peers and browsers connect on loopback, on ports
        the system picks (status shows them) unless one is given."""
        args = ["init", "--data-dir", self.data_dir, "--peer-listen", peer_listen, "--http-listen", "127.0.0.1:0"]
        if org:
            args += ["--org", org]
        if network:
            args += ["--network", network]
        if steward:
            args += ["--steward"]
        return self.civnetd(*args)

    def genesis(self, name, out):
        return self.civnetd("genesis", "--data-dir", self.data_dir, "--name", name, "--out", out)

    def sign(self, genesis_file):
        return self.civnetd("genesis", "sign", "--data-dir", self.data_dir, genesis_file)

    def join(self, genesis_file):
        return self.civnetd("join", "--data-dir", self.data_dir, "--network", genesis_file)

    def set_config(self, key, value, section=None):
        """Sets `key = value` in civnetd.toml (a key init wrote, at its
        default), in [section] when several sections have that key."""
        path = os.path.join(self.data_dir, "civnetd.toml")
        with open(path) as f:
            lines = f.read().splitlines()
        current, at = None, []
        for i, line in enumerate(lines):
            if line.startswith("[") and line.endswith("]"):
                current = line.strip("[]")
            elif line.startswith(key + " = ") and (section is None or current == section):
                at.append(i)
        assert len(at) == 1, f"{key} is not in {path} once (in [{section}])"
        lines[at[0]] = f"{key} = {value}"
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self, *extra):
        """Starts `civnetd run` and waits until the admin socket answers."""
        assert self.proc is None, f"{self.name} is already running"
        self.log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [*self.run_prefix, CIVNETD, "run", "--data-dir", self.data_dir, *extra],
            stdout=self.log_file, stderr=subprocess.STDOUT)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"civnetd {self.name} exited with {self.proc.returncode} while starting:\n"
                    + self.log())
            return self.socket_answers()
        wait_until(up, START_TIMEOUT, f"civnetd {self.name} to listen on {self.socket}")

    def socket_answers(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self.socket)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def stop(self, sig=signal.SIGTERM):
        """Signals the daemon and returns its exit code."""
        if self.proc is None:
            return None
        self.proc.send_signal(sig)
        return self.wait_stopped()

    def wait_stopped(self):
        """Waits for the daemon (already signalled) to exit; its exit code."""
        try:
            code = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"civnetd {self.name} did not stop within {STOP_TIMEOUT} s")
        finally:
            self.proc = None
            self.log_file.close()
        return code

    def kill(self):
        """For clean-up after a failed test: stop whatever way works."""
        if self.proc is not None:
            try:
                self.stop()
            except AssertionError:
                pass

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return "(no log)\n"

    # --- civnetctl ---
    def ctl(self, *args, stdin=None):
        return run([CIVNETCTL, "--data-dir", self.data_dir, *args], stdin=stdin)

    def ctl_json(self, *args):
        r = self.ctl(*args, "--json")
        if r.code != 0:
            raise AssertionError(f"civnetctl on {self.name} failed: {r!r}")
        return r.json()

    def status(self):
        return self.ctl_json("status")

    def api(self, method, path, body=None):
        """One admin API request straight over the socket (no civnetctl
        process), for tests that make many; (status, parsed JSON)."""
        conn = UnixHTTPConnection(self.socket)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            return r.status, json.loads(r.read() or b"null")
        finally:
            conn.close()

    def publish_many(self, count, body_bytes=2000, threads=8):
        """Publishes `count` posts through the API from several threads at
        once (so they share synced writes); returns their ids."""
        import concurrent.futures
        text = ("field notes on water, health and training. " * (body_bytes // 40 + 1))[:body_bytes]

        def one(i):
            status, reply = self.api("POST", "/v1/publish", {"title": f"Report {i}", "body": text})
            assert status == 201, (status, reply)
            return reply["id"]
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            return list(pool.map(one, range(count)))

    def https(self, method, path, body=None, headers=None, raw=None):
        """One request to the member interface over real HTTPS, trusting
        only this node's own certificate: (status, headers, parsed JSON or
        None). `raw` sends those bytes as the body instead of JSON."""
        import ssl
        ctx = ssl.create_default_context(cafile=os.path.join(self.data_dir, "keys", "web.crt"))
        conn = http.client.HTTPSConnection("127.0.0.1", self.status()["http_port"], context=ctx, timeout=30)
        try:
            data = raw if raw is not None else (json.dumps(body) if body is not None else None)
            headers = dict(headers or {})
            if method == "POST":
                headers.setdefault("Content-Type", "application/json")
            conn.request(method, path, body=data, headers=headers)
            r = conn.getresponse()
            payload = r.read()
            try:
                parsed = json.loads(payload) if payload else None
            except ValueError:
                parsed = None
            return r.status, {k.lower(): v for k, v in r.getheaders()}, parsed
        finally:
            conn.close()

    def peer_address(self):
        """Where this running node listens for peers: 127.0.0.1:PORT."""
        return f"127.0.0.1:{self.status()['peers']['listen_port']}"

    def node_key(self):
        return self.status()["node_key"]
