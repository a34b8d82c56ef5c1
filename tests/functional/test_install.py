"""Installing civnet as a Debian sysadmin would, and civnetd under systemd.

`meson install` into a temp DESTDIR must put civnetd and civnetctl in
bindir, the systemd unit, the sysusers.d file making user civnet, the
example config under sysconfdir, and the bash completion (civnetctl, and
civnetd as a symlink to it). Then what a sysadmin would check:

- `systemd-analyze verify` accepts the installed unit (ExecStart pointed at
  the DESTDIR copy of civnetd: verify checks the program exists);
- `systemd-analyze security --offline=true` rates it no worse than the
  score docs/operations.md records, so a weakened unit fails here;
- `systemd-sysusers --root` makes the user civnet from the installed file;
- the example config passes `civnetd check-config`, names every key
  daemon/config.cpp accepts (and no other), holds the defaults `civnetd
  init` writes, and states each default and each integer range beside its
  key;
- readiness for real: civnetd run with NOTIFY_SOCKET set sends READY=1
  once `civnetctl status` works, WATCHDOG=1 again and again when systemd
  asks for a watchdog (WATCHDOG_USEC, WATCHDOG_PID), and STOPPING=1 on
  SIGTERM; every message from civnetd's own pid, as NotifyAccess=main needs.

Run by meson (see meson.build), which sets CIVNETD, CIVNETCTL,
CIVNET_BUILD_ROOT and CIVNET_SOURCE_ROOT; by hand:
  CIVNETD=build/daemon/civnetd CIVNETCTL=build/tools/civnetctl \\
  CIVNET_BUILD_ROOT=build CIVNET_SOURCE_ROOT=. python3 tests/functional/test_install.py -v
"""

import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import tomllib
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from civnet_node import CIVNETD, Node  # noqa: E402

BUILD_ROOT = os.path.abspath(os.environ.get("CIVNET_BUILD_ROOT") or os.environ.get("MESON_BUILD_ROOT") or "build")
SOURCE_ROOT = os.path.abspath(os.environ.get("CIVNET_SOURCE_ROOT") or os.environ.get("MESON_SOURCE_ROOT")
                              or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CONFIG_CPP = os.path.join(SOURCE_ROOT, "daemon", "config.cpp")
OPERATIONS_MD = os.path.join(SOURCE_ROOT, "docs", "operations.md")

MESSAGE_TIMEOUT = 60  # seconds to wait for one notification (generous: no timing is asserted)
WATCHDOG_PINGS = 3    # WATCHDOG=1 messages to see after READY=1


def check(args, **kwargs):
    """Runs a command that must succeed; its Completed result."""
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)
    assert proc.returncode == 0, (f"{args!r} exited {proc.returncode}\n--- stdout ---\n{proc.stdout}"
                                  f"--- stderr ---\n{proc.stderr}")
    return proc


def tool(name):
    path = shutil.which(name)
    assert path, f"{name} is not installed (it comes with Debian's systemd package; ./dev.sh installs it)"
    return path


def in_destdir(destdir, path):
    return os.path.join(destdir, path.lstrip("/"))


# --- what daemon/config.cpp accepts ---------------------------------------

def config_cpp_keys():
    """{section: {key, ...}} from the onlyKnownKeys(...) calls in config.cpp:
    the top-level call lists the sections, one call per section its keys.
    Fails rather than returns less when the code no longer looks as expected."""
    with open(CONFIG_CPP, encoding="utf-8") as f:
        text = f.read()
    calls = re.findall(r'onlyKnownKeys\(\s*[^,]+,\s*\{([^}]*)\}\s*,\s*fileName\s*,\s*"([^"]*)"\s*\)', text)
    lists = {}
    for names, section in calls:
        keys = set(re.findall(r'"([^"]+)"', names))
        assert keys, f"an empty key list for section {section!r} in {CONFIG_CPP}"
        lists[section.strip("[]")] = keys
    sections = lists.pop("", None)
    assert sections, f"no top-level onlyKnownKeys(root, ...) call found in {CONFIG_CPP}"
    assert set(lists) == sections, (f"{CONFIG_CPP}: sections {sorted(sections)} but key lists for "
                                    f"{sorted(lists)}: this test's parser needs updating")
    return lists


def config_cpp_ranges():
    """{(section, key): (lo, hi)} from config.cpp's readInt(...) calls."""
    with open(CONFIG_CPP, encoding="utf-8") as f:
        text = f.read()
    ranges = {}
    for key, section, lo, hi in re.findall(
            r'readInt\(\s*\*t\s*,\s*"(\w+)"\s*,\s*fileName\s*,\s*"(\w+)"\s*,\s*([^,]+),\s*([^,]+),', text):
        def value(expr):
            assert re.fullmatch(r"[0-9<\s]+", expr), f"cannot read the bound {expr!r} in {CONFIG_CPP}"
            return eval(expr)  # only digits and <<, checked above
        ranges[(section, key)] = (value(lo), value(hi))
    assert ranges, f"no readInt(...) call found in {CONFIG_CPP}"
    return ranges


def uncomment_peer_example(text):
    """The example with its commented-out [[peer]] block made live."""
    lines = text.splitlines()
    start = lines.index("# [[peer]]")
    out = lines[:start]
    for line in lines[start:]:
        assert line.startswith("# "), f"the [[peer]] example should end the file, found {line!r}"
        out.append(line[2:])
    return "\n".join(out) + "\n"


def comment_above(lines, index):
    """The comment lines that document the key on lines[index]: the comment
    block just above it, skipping keys it shares the comment with."""
    i = index - 1
    while i >= 0 and re.match(r"^[a-z_]+ = ", lines[i]):
        i -= 1
    block = []
    while i >= 0 and lines[i].startswith("#"):
        block.insert(0, lines[i])
        i -= 1
    return " ".join(line.lstrip("# ") for line in block)


def toml_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


class InstallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="civnet-install-")
        cls.destdir = os.path.join(cls.workdir, "dest")
        # What a packager runs: no rebuild (meson test built it), no root needed.
        check(["meson", "install", "-C", BUILD_ROOT, "--destdir", cls.destdir, "--no-rebuild", "--quiet"])
        cls.installed = json.loads(check(["meson", "introspect", "--installed", BUILD_ROOT]).stdout)
        options = {o["name"]: o["value"]
                   for o in json.loads(check(["meson", "introspect", "--buildoptions", BUILD_ROOT]).stdout)}
        cls.prefix = options["prefix"]
        cls.bindir = os.path.join(cls.prefix, options["bindir"])
        cls.sysconfdir = os.path.join(cls.prefix, options["sysconfdir"])
        cls.datadir = os.path.join(cls.prefix, options["datadir"])
        cls.unit_dir_option = options.get("systemdsystemunitdir", "")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def installed_path(self, suffix):
        """The one install path (without DESTDIR) ending in `suffix`."""
        found = [p for p in self.installed.values() if p.endswith(suffix)]
        self.assertEqual(len(found), 1, f"meson installs {len(found)} files ending in {suffix}: {self.installed}")
        self.assertTrue(os.path.lexists(in_destdir(self.destdir, found[0])), f"{found[0]} was not installed")
        return found[0]

    def unit_path(self):
        return self.installed_path("/systemd/system/civnetd.service")

    def unit_for_verify(self):
        """A copy of the installed unit whose ExecStart names the DESTDIR
        copy of civnetd (systemd-analyze checks the program exists)."""
        with open(in_destdir(self.destdir, self.unit_path()), encoding="utf-8") as f:
            unit = f.read()
        civnetd = os.path.join(self.bindir, "civnetd")
        self.assertIn(f"\nExecStart={civnetd} run --data-dir /var/lib/civnet\n", unit)
        path = os.path.join(self.workdir, "verify", "civnetd.service")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(unit.replace(f"ExecStart={civnetd} ", f"ExecStart={in_destdir(self.destdir, civnetd)} "))
        return path

    # --- the files -----------------------------------------------------------

    def test_install_puts_the_programs_unit_user_config_and_completion_in_place(self):
        for program in ("civnetd", "civnetctl"):
            path = os.path.join(self.bindir, program)
            self.assertIn(path, self.installed.values())
            self.assertTrue(os.access(in_destdir(self.destdir, path), os.X_OK), f"{path} is not executable")
        self.assertEqual(check([in_destdir(self.destdir, os.path.join(self.bindir, "civnetd")), "--version"]).stdout,
                         check([CIVNETD, "--version"]).stdout)

        if self.unit_dir_option:
            self.assertEqual(self.unit_path(), os.path.join(self.unit_dir_option, "civnetd.service"))
        else:  # systemd reads units from PREFIX/lib/systemd/system for /usr and /usr/local
            self.assertTrue(self.unit_path().endswith("/lib/systemd/system/civnetd.service"), self.unit_path())
        sysusers = self.installed_path("/sysusers.d/civnet.conf")
        example = self.installed_path("/civnetd.toml.example")
        self.assertEqual(example, os.path.join(self.sysconfdir, "civnet", "civnetd.toml.example"))
        with open(in_destdir(self.destdir, example), "rb") as a, \
                open(os.path.join(SOURCE_ROOT, "daemon", "dist", "civnetd.toml.example"), "rb") as b:
            self.assertEqual(a.read(), b.read())

        completion = self.installed_path("/bash-completion/completions/civnetctl")
        with open(in_destdir(self.destdir, completion), encoding="utf-8") as f:
            script = f.read()
        self.assertIn("complete -F _civnetctl civnetctl", script)
        self.assertIn("complete -F _civnetd civnetd", script)
        link = in_destdir(self.destdir, os.path.join(os.path.dirname(completion), "civnetd"))
        self.assertEqual(os.readlink(link), "civnetctl", "bash loads a completion by the command's name")

        # The sysusers.d file makes the system user and group civnet.
        root = os.path.join(self.workdir, "sysusers-root")
        os.makedirs(os.path.join(root, "etc"))
        check([tool("systemd-sysusers"), f"--root={root}", in_destdir(self.destdir, sysusers)])
        with open(os.path.join(root, "etc", "passwd"), encoding="utf-8") as f:
            users = {line.split(":")[0]: line.strip().split(":") for line in f}
        self.assertIn("civnet", users)
        self.assertLess(int(users["civnet"][2]), 1000, "civnet should be a system user")
        self.assertEqual(users["civnet"][5], "/var/lib/civnet")
        self.assertTrue(users["civnet"][6].endswith("nologin"), users["civnet"])
        with open(os.path.join(root, "etc", "group"), encoding="utf-8") as f:
            self.assertIn("civnet", [line.split(":")[0] for line in f])

    # --- the unit ------------------------------------------------------------

    def test_systemd_analyze_verify_accepts_the_unit(self):
        r = subprocess.run([tool("systemd-analyze"), "verify", self.unit_for_verify()],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, f"systemd-analyze verify:\n{r.stdout}{r.stderr}")
        complaints = [line for line in (r.stdout + r.stderr).splitlines() if "civnetd" in line]
        self.assertEqual(complaints, [], "systemd-analyze verify complains about the unit")

    def test_the_unit_is_no_more_exposed_than_the_docs_say(self):
        with open(OPERATIONS_MD, encoding="utf-8") as f:
            documented = re.findall(r"`systemd-analyze\s+security\s+civnetd`\s+rates\s+the\s+unit\s+\*\*(\d+\.\d)\s+OK\*\*",
                                    f.read())
        self.assertEqual(len(documented), 1, f"{OPERATIONS_MD} should record the unit's exposure score once")
        r = check([tool("systemd-analyze"), "security", "--offline=true", self.unit_for_verify()])
        score = re.search(r"Overall exposure level for civnetd\.service: (\d+\.\d+) (\w+)", r.stdout)
        self.assertIsNotNone(score, r.stdout)
        self.assertLessEqual(float(score.group(1)), float(documented[0]),
                             f"the unit is more exposed than docs/operations.md says:\n{r.stdout}")
        self.assertEqual(score.group(2), "OK", r.stdout)

    # --- the example config ----------------------------------------------------

    def test_the_example_config_names_every_setting_with_its_default_and_range(self):
        example = in_destdir(self.destdir, self.installed_path("/civnetd.toml.example"))
        with open(example, encoding="utf-8") as f:
            text = f.read()
        self.assertEqual(check([CIVNETD, "check-config", "--config", example]).returncode, 0)
        # And with its [[peer]] example made live, so that part is checked too.
        live = os.path.join(self.workdir, "with-peer.toml")
        with open(live, "w", encoding="utf-8") as f:
            f.write(uncomment_peer_example(text))
        self.assertRegex(check([CIVNETD, "check-config", "--config", live]).stdout, r"peers +1 configured")

        parsed = tomllib.loads(uncomment_peer_example(text))
        found = {section: set(value[0] if isinstance(value, list) else value) for section, value in parsed.items()}
        self.assertEqual(found, config_cpp_keys(), "the example's keys differ from those daemon/config.cpp accepts")

        # Its values are the defaults: what `civnetd init` writes.
        defaults_dir = os.path.join(self.workdir, "defaults")
        check([CIVNETD, "init", "--data-dir", defaults_dir, "--org", "Defaults"])
        with open(os.path.join(defaults_dir, "civnetd.toml"), "rb") as f:
            written = tomllib.load(f)
        parsed_plain = tomllib.loads(text)
        self.assertEqual(parsed_plain, written, "the example's values are not the defaults civnetd init writes")

        # Each key's comment states its default, and the range config.cpp allows.
        lines = text.splitlines()
        section = None
        documented = 0
        ranges = config_cpp_ranges()
        for i, line in enumerate(lines):
            if m := re.fullmatch(r"\[(\w+)\]", line):
                section = m.group(1)
            m = re.match(r"^([a-z_]+) = ", line)
            if not m:
                continue
            key = m.group(1)
            comment = comment_above(lines, i)
            self.assertIn(f"Default {toml_text(parsed_plain[section][key])}", comment,
                          f"[{section}] {key}: its comment should state its default")
            if (section, key) in ranges:
                lo, hi = ranges[(section, key)]
                self.assertIn(f"{lo}–{hi}", comment, f"[{section}] {key}: its comment should state {lo}–{hi}")
                documented += 1
            else:
                self.assertIsNot(type(parsed_plain[section][key]), int,
                                 f"[{section}] {key} is an integer with no range found in config.cpp")
        self.assertEqual(documented, len(ranges), "every integer setting's range is in the example")

    # --- readiness and watchdog --------------------------------------------------

    def test_civnetd_tells_systemd_it_is_ready_alive_and_stopping(self):
        node = Node(self.workdir, "notified")
        r = node.init(org="Notified Org")
        self.assertEqual(r.code, 0, r)
        r = node.genesis("Notified Net", os.path.join(self.workdir, "notified.genesis"))
        self.assertEqual(r.code, 0, r)

        notify_path = os.path.join(self.workdir, "notify.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        listener.bind(notify_path)
        listener.settimeout(MESSAGE_TIMEOUT)
        env = dict(os.environ, NOTIFY_SOCKET=notify_path, WATCHDOG_USEC="2000000")
        env.pop("WATCHDOG_PID", None)
        log = open(node.log_path, "ab")
        # WATCHDOG_PID must be civnetd's own pid, known only after the fork:
        # the shell exports its pid, then becomes civnetd by exec.
        proc = subprocess.Popen(["sh", "-c", 'export WATCHDOG_PID=$$; exec "$0" run --data-dir "$1"',
                                 CIVNETD, node.data_dir], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            def receive(what):
                """The next message (a dict of its assignments), from civnetd's pid."""
                try:
                    data, ancillary, _, _ = listener.recvmsg(4096, socket.CMSG_SPACE(12))
                except socket.timeout:
                    raise AssertionError(f"no {what} within {MESSAGE_TIMEOUT} s; civnetd's log:\n{node.log()}")
                creds = [d for level, kind, d in ancillary
                         if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS]
                self.assertEqual(len(creds), 1)
                pid, _, _ = struct.unpack("3i", creds[0][:12])
                self.assertEqual(pid, proc.pid, "systemd takes messages from the main pid only (NotifyAccess=main)")
                return dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)

            message = receive("READY=1")
            while message.get("READY") != "1":
                self.assertNotIn("STOPPING", message)
                message = receive("READY=1")
            # Ready means served: the admin API answers at once, the peer
            # listener and member interface are up.
            status = node.status()
            self.assertIsNotNone(status["http_port"])
            self.assertIsNotNone(status["peers"]["listen_port"])
            self.assertIn("admin API", message.get("STATUS", ""))

            pings = 0
            while pings < WATCHDOG_PINGS:
                message = receive(f"WATCHDOG=1 number {pings + 1}")
                self.assertNotIn("STOPPING", message)
                if message.get("WATCHDOG") == "1":
                    pings += 1

            proc.send_signal(signal.SIGTERM)
            message = receive("STOPPING=1")
            while message.get("STOPPING") != "1":
                self.assertEqual(message.get("WATCHDOG"), "1", message)  # one may be on its way
                message = receive("STOPPING=1")
            self.assertEqual(proc.wait(timeout=60), 0, node.log())
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
            listener.close()


if __name__ == "__main__":
    unittest.main()
