"""The quick fault scenarios, run by the test suite (meson test
scenarios-quick): each a real network of civnetd processes on loopback,
a fault, and the check that nothing acknowledged was lost. The long forms
(more kills, more nodes) run with tests/scenario/run; see
docs/reliability.md.

By hand:
  CIVNETD=build/daemon/civnetd CIVNETCTL=build/tools/civnetctl \\
  python3 tests/scenario/test_scenarios.py -v
"""
import os
import random
import shutil
import sys
import tempfile
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

    def test_the_check_names_an_acknowledged_entry_that_is_missing_or_elsewhere(self):
        # The check itself can fail: a made-up acknowledgement is reported.
        net = scenario.Network(self.workdir, orgs=1)
        try:
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
        finally:
            net.stop()


if __name__ == "__main__":
    unittest.main()
