"""testssl.sh against a running civnetd's two TLS ports: the member
interface (HTTPS) and the peer port (mutual TLS). What it checks is the
node's TLS configuration: protocols, cipher suites, key exchange groups,
renegotiation, compression and the known attacks (Heartbleed, ROBOT,
LUCKY13, ...). Neither port may have a finding of severity MEDIUM or
above, and the peer port offers TLS 1.3 alone.

The member interface here carries a certificate from a test CA, as an
operator's would (`[http] cert_file`), so that the scan judges civnetd
rather than the self-signed certificate `civnetd init` makes: that one is
flagged, as any self-signed certificate is, for its chain of trust, its
lifetime and its lack of a revocation URI (docs/security.md).

By hand:
  CIVNETD=build/daemon/civnetd CIVNETCTL=build/tools/civnetctl \\
  python3 tests/functional/test_tls_scan.py -v
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scenario"))
import scenario  # noqa: E402

SERIOUS = {"MEDIUM", "HIGH", "CRITICAL"}


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_operator_certificate(d):
    """A test CA, and a certificate it issues for 127.0.0.1 as a public CA
    would: 90 days, server use only, a CRL distribution point. Returns the
    paths (ca, cert, key)."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ca.key", "-out", "ca.crt", "-days", "30", "-subj", "/CN=civnet test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            cwd=d)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "web.key", "-out", "web.csr", "-subj", "/CN=127.0.0.1", cwd=d)
    with open(os.path.join(d, "web.ext"), "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=IP:127.0.0.1\n"
                # Never fetched: testssl.sh looks for the URI, and goes out
                # only with --phone-out.
                "crlDistributionPoints=URI:http://127.0.0.1:9/civnet-test.crl\n")
    openssl("x509", "-req", "-in", "web.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "90", "-extfile", "web.ext", "-out", "web.crt", cwd=d)
    return tuple(os.path.join(d, n) for n in ("ca.crt", "web.crt", "web.key"))


class TlsScan(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not shutil.which("testssl"):
            raise AssertionError("testssl is missing: apt-get install testssl.sh (./dev.sh test installs it)")
        cls.workdir = tempfile.mkdtemp(prefix="civnet-tls-scan-")
        cls.ca, cert, key = make_operator_certificate(cls.workdir)
        cls.net = scenario.Network(cls.workdir, orgs=0)
        try:
            node = cls.net.hub
            node.stop()
            node.set_config("cert_file", json.dumps(cert), section="http")
            node.set_config("key_file", json.dumps(key), section="http")
            node.start()
            st = node.status()
            cls.http_port, cls.peer_port = st["http_port"], st["peers"]["listen_port"]
        except BaseException:
            cls.net.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.net.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def scan(self, port, name):
        """testssl.sh's findings for 127.0.0.1:port, as {id: (severity,
        finding)}; its whole report is kept in the work dir."""
        out = os.path.join(self.workdir, f"testssl-{name}.json")
        report = os.path.join(self.workdir, f"testssl-{name}.txt")
        with open(report, "w") as f:
            r = subprocess.run(["testssl", "--quiet", "--color", "0", "--warnings", "off", "--add-ca", self.ca,
                                "--jsonfile", out, f"127.0.0.1:{port}"],
                               stdout=f, stderr=subprocess.STDOUT, timeout=900)
        with open(out) as f:
            findings = json.load(f)
        self.assertTrue(findings, f"testssl wrote no findings (exit {r.returncode}); see {report}")
        with open(report) as f:
            print(f"\n--- testssl.sh, {name} port ---\n" + f.read(), file=sys.stderr)
        return {x["id"]: (x["severity"], x["finding"]) for x in findings}

    def assertNothingSerious(self, findings):
        serious = {k: v for k, v in findings.items() if v[0] in SERIOUS}
        self.assertEqual(serious, {})

    def test_the_member_interface_has_no_finding_of_medium_or_above(self):
        f = self.scan(self.http_port, "member")
        self.assertNothingSerious(f)
        # The checks did run: protocols, the certificate, the attacks.
        for key in ("SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3", "cert_chain_of_trust", "heartbleed", "ROBOT"):
            self.assertIn(key, f)
        self.assertEqual(f["TLS1"][1], "not offered")
        self.assertEqual(f["TLS1_1"][1], "not offered")
        self.assertTrue(f["TLS1_3"][1].startswith("offered"), f["TLS1_3"])
        self.assertTrue(f["cert_chain_of_trust"][1].startswith("passed"), f["cert_chain_of_trust"])

    def test_the_peer_port_speaks_only_tls_1_3_and_has_no_finding_of_medium_or_above(self):
        f = self.scan(self.peer_port, "peer")
        self.assertNothingSerious(f)
        for old in ("SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2"):
            self.assertEqual(f[old][1], "not offered", old)
        self.assertTrue(f["TLS1_3"][1].startswith("offered"), f["TLS1_3"])
        for key in ("heartbleed", "CCS", "ROBOT", "secure_client_renego", "LUCKY13"):
            self.assertIn(key, f)


if __name__ == "__main__":
    unittest.main()
