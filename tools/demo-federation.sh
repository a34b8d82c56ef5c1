#!/usr/bin/env bash
# A small civnet federation on this machine, to watch nodes sync.
#
#   tools/demo-federation.sh [--keep]     (or: ./dev.sh demo [--keep])
#
# Starts three civnetd processes, each with its own data dir under
# ./demo-federation/ and its own peer port on 127.0.0.1:
#   hub    a regional hub: it creates the network and is its steward
#   river  the node of "River Women Collective", dialing the hub
#   youth  the node of "Youth Voices", dialing the hub
# The hub admits both organizations; each node publishes sample knowledge
# entries; the script waits until every node holds every entry (the two
# organizations' entries reach each other through the hub) and prints what
# each holds. Without --keep it then stops the nodes; with --keep they run
# on (stop them with: kill $(cat demo-federation/*.pid)).
# Only 127.0.0.1 is used. Needs the binaries in build/ (./dev.sh build).
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

KEEP=false
[[ ${1:-} == --keep ]] && KEEP=true
[[ $# -le 1 && ( $# -eq 0 || $KEEP == true ) ]] || { echo "usage: $0 [--keep]" >&2; exit 2; }

DEMO=demo-federation
D=build/daemon/civnetd
C=build/tools/civnetctl
[[ -x $D && -x $C ]] || { echo "demo: build first: ./dev.sh build" >&2; exit 1; }

say() { printf '==> %s\n' "$*"; }
ctl() { local n=$1; shift; "$C" --data-dir "$DEMO/$n" "$@"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

if pgrep -f "civnetd run --data-dir $DEMO/" >/dev/null; then
  echo "demo: nodes of an earlier demo are still running; stop them first:" >&2
  echo "  kill $(pgrep -f "civnetd run --data-dir $DEMO/" | tr '\n' ' ')" >&2
  exit 1
fi
rm -rf "$DEMO"
mkdir -p "$DEMO"

stop_nodes() {
  for n in hub river youth; do
    [[ -f $DEMO/$n.pid ]] && kill "$(cat "$DEMO/$n.pid")" 2>/dev/null || true
  done
  for n in hub river youth; do
    [[ -f $DEMO/$n.pid ]] && while kill -0 "$(cat "$DEMO/$n.pid")" 2>/dev/null; do sleep 0.1; done
    rm -f "$DEMO/$n.pid"
  done
}
$KEEP || trap stop_nodes EXIT

start() {
  local n=$1
  "$D" run --data-dir "$DEMO/$n" >"$DEMO/$n.log" 2>&1 &
  echo $! >"$DEMO/$n.pid"
  for _ in $(seq 100); do
    ctl "$n" status >/dev/null 2>&1 && return
    kill -0 "$(cat "$DEMO/$n.pid")" 2>/dev/null || { cat "$DEMO/$n.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "demo: $n did not start; its log is $DEMO/$n.log" >&2
  exit 1
}

say "hub: creating the network \"Sahel Knowledge Network\" (the hub is its steward)"
"$D" init --data-dir "$DEMO/hub" --org "Sahel Regional Hub" --peer-listen 127.0.0.1:7430 --http-listen 127.0.0.1:7440 >/dev/null
"$D" genesis --data-dir "$DEMO/hub" --name "Sahel Knowledge Network" --out "$DEMO/network.genesis" >/dev/null
start hub
HUB_KEY=$(ctl hub status --json | field '["node_key"]')

port=7431
for n in river youth; do
  org=$([[ $n == river ]] && echo "River Women Collective" || echo "Youth Voices")
  say "$n: a node for \"$org\", joining with the genesis file"
  "$D" init --data-dir "$DEMO/$n" --org "$org" --network "$DEMO/network.genesis" --peer-listen "127.0.0.1:$port" \
    --http-listen "127.0.0.1:$((port + 10))" >/dev/null
  start "$n"
  feed=$(ctl "$n" status --json | field '["feed_key"]')
  say "hub: admitting \"$org\" (feed ${feed:0:12})"
  ctl hub admit "$feed" --name "$org" --region "Sahel" --label "$([[ $n == river ]] && echo women-led || echo youth-led)" >/dev/null
  say "$n: dialing the hub at 127.0.0.1:7430"
  ctl "$n" peers add 127.0.0.1:7430 "$HUB_KEY" >/dev/null
  port=$((port + 1))
done

say "publishing sample knowledge entries on each node"
ctl hub publish --title "Regional meeting: March agenda" --body "Water, training, budgets." --tag events >/dev/null
ctl river publish --title "Three new wells" --body "How we sited and funded them." --tag water --tag practice >/dev/null
ctl river publish --title "Safe-space guidelines" --body "What worked in our centres." --tag practice >/dev/null
ctl youth publish --title "Peer mentoring report" --body "Twelve months, forty mentors." --tag reports >/dev/null

say "waiting until every node holds every entry"
for n in river youth; do ctl "$n" sync --wait --timeout 60 >/dev/null; done
for _ in $(seq 100); do
  digests=$(for n in hub river youth; do ctl "$n" status --json | field '["frontier_digest"]'; done | sort -u | wc -l)
  [[ $digests -eq 1 ]] && break
  sleep 0.1
done
[[ $digests -eq 1 ]] || { echo "demo: the nodes did not converge; logs in $DEMO/" >&2; exit 1; }

for n in hub river youth; do
  echo
  echo "--- $n: $(ctl "$n" status --json | field '["entries"]') entries (posts, and the profiles and admissions), frontier $(ctl "$n" status --json | field '["frontier_digest"][:12]')"
  ctl "$n" entries list --kind post
done
echo
ctl hub peers list
echo
say "converged: the three nodes hold the same entries (logs in $DEMO/*.log)"
if $KEEP; then
  # A member account on each node, to try the web interface.
  for n in hub river youth; do
    ctl "$n" accounts add demo --name "Demo member ($n)" --password-stdin <<<"civnet demo password" >/dev/null
  done
  say "the web interface: https://127.0.0.1:7440/ (hub), :7441 (river), :7442 (youth);"
  say "  log in as demo, password \"civnet demo password\" (self-signed certificates: the browser warns)"
  say "the nodes keep running; try: $C --data-dir $DEMO/youth publish --title Hi --body there"
  say "stop them with: kill $(cat "$DEMO"/*.pid | tr '\n' ' ')(each stops cleanly on SIGTERM)"
fi
