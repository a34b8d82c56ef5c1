#!/usr/bin/env bash
# civnet's one entry point for developers and CI.
#
#   ./dev.sh node         install what is missing, build, run a node on defaults
#   ./dev.sh test [ARGS]  install what is missing, build, run the tests, then the
#                         unit tests again built with AddressSanitizer and
#                         UndefinedBehaviorSanitizer (build-sanitize/); ARGS go
#                         to `meson test` instead (e.g. a suite: ./dev.sh test
#                         --suite store), without the sanitizer run
#   ./dev.sh sanitize     the sanitizer run alone
#   ./dev.sh fuzz [ARGS]  install clang too, then fuzz every target with
#                         libFuzzer (tests/fuzz/run ARGS, e.g. --seconds 60)
#   ./dev.sh build        install what is missing and build only
#   ./dev.sh demo [--keep] a federation of three nodes on 127.0.0.1 that sync
#
# Works on a fresh Debian 12 machine (as root, or a user with sudo), and is
# idempotent: a second run installs nothing and rebuilds only what changed.
# `./dev.sh test` ends with the line "N passed, N failed" (", N skipped" when
# some were skipped), counted from both runs' testlog.json, and exits non-zero if
# any test failed or none ran.
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"

# Debian 12 packages. libboost1.81-dev, not libboost-dev: that is Boost 1.74,
# which has no Boost.JSON and conflicts with 1.81. iproute2, nftables and
# faketime: the fault scenarios' network namespaces, cut and lossy links, and
# skewed clocks. testssl.sh: the scan of both TLS ports (functional-tls-scan).
PACKAGES=(
  meson ninja-build pkg-config g++ capnproto libcapnp-dev libssl-dev
  libleveldb-dev doctest-dev libboost1.81-dev libboost-json1.81-dev
  libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev ccache python3
  openssl libxapian-dev libcmark-dev chromium libsystemd-dev systemd
  iproute2 nftables faketime testssl.sh
)
# Only for `./dev.sh fuzz`: libFuzzer comes with clang's runtime libraries.
FUZZ_PACKAGES=(clang libclang-rt-14-dev)
BUILD_DIR=build
SANITIZE_DIR=build-sanitize
DATA_DIR=node-data
GENESIS_FILE=node-data.genesis
JOBS=${CIVNET_JOBS:-$(nproc 2>/dev/null || echo 2)}

say() { printf '==> %s\n' "$*"; }
die() { printf 'dev.sh: %s\n' "$*" >&2; exit 1; }

# Prints the last lines of a log file to stderr (used when a quiet step fails).
show_log_tail() {
  local file=$1 lines=${2:-40}
  printf -- '--- last %s lines of %s ---\n' "$lines" "$file" >&2
  tail -n "$lines" "$file" >&2 || true
  printf -- '---\n' >&2
}

# Installs PACKAGES and the packages named as arguments, when missing.
install_packages() {
  local missing=() p status
  for p in "${PACKAGES[@]}" "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$p")
  done
  # The browser tests run on Node.js with npm (Debian's nodejs and npm,
  # unless a node and npm are there already, e.g. from NodeSource, whose
  # nodejs conflicts with Debian's npm).
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  if ((${#missing[@]} == 0)); then
    say "packages: all present, nothing to install"
    return
  fi

  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "missing packages (${missing[*]}) and not root and no sudo"
    sudo=(sudo)
  fi
  say "packages: installing ${#missing[@]} missing: ${missing[*]}"
  local log
  log=$(mktemp -t civnet-apt.XXXXXX.log)
  export DEBIAN_FRONTEND=noninteractive
  # Another process (unattended-upgrades, a parallel setup) may hold the dpkg
  # lock: wait for it rather than fail.
  if ! "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 update >"$log" 2>&1; then
    show_log_tail "$log"
    die "apt-get update failed (full log: $log)"
  fi
  if ! "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends \
      "${missing[@]}" >>"$log" 2>&1; then
    show_log_tail "$log"
    die "apt-get install failed (full log: $log)"
  fi
  rm -f "$log"
  say "packages: installed ${missing[*]}"
}

# Runs `meson setup DIR OPTIONS...` once (what = how say names it).
configure() {
  local dir=$1 what=$2
  shift 2
  [[ -f $dir/meson-private/coredata.dat ]] && return 0
  say "$what: configuring $dir/ (meson setup${*:+ $*})"
  local log
  log=$(mktemp -t civnet-meson.XXXXXX.log)
  if ! meson setup "$dir" "$@" >"$log" 2>&1; then
    show_log_tail "$log"
    die "meson setup of $dir failed (full log: $log; meson's own: $dir/meson-logs/meson-log.txt)"
  fi
  rm -f "$log"
}

build() {
  # ccache hashes the build directory (because of -g) unless told not to;
  # without this a fresh clone elsewhere (CI) gets no cache hits at all.
  export CCACHE_NOHASHDIR=1
  local start=$SECONDS
  configure "$BUILD_DIR" build
  # ninja re-runs meson by itself when a meson.build changed. --quiet hides
  # the progress lines but still shows compiler warnings and errors.
  say "build: ninja -C $BUILD_DIR -j $JOBS"
  if ! ninja -C "$BUILD_DIR" -j "$JOBS" --quiet; then
    die "build failed (errors above)"
  fi
  say "build: ok in $((SECONDS - start)) s"
}

# Prints "N passed, N failed[, N skipped]" from the testlog.json of each
# build dir given and returns non-zero if anything failed or no test ran.
summarize_tests() {
  python3 - "$@" <<'PY'
import json, sys
passed = failed = skipped = 0
for build_dir in sys.argv[1:]:
    path = f"{build_dir}/meson-logs/testlog.json"
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    result = json.loads(line).get("result")
                except ValueError:
                    continue
                if result in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif result in ("FAIL", "TIMEOUT", "ERROR", "UNEXPECTEDPASS"):
                    failed += 1
                elif result == "SKIP":
                    skipped += 1
                else:
                    failed += 1  # a result this script does not know is not a pass
    except FileNotFoundError:
        print(f"dev.sh: no test log at {path}: meson test did not run", file=sys.stderr)
        failed += 1
if passed + failed == 0:
    print("dev.sh: no test ran", file=sys.stderr)
sys.stderr.flush()
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line, flush=True)
sys.exit(1 if failed or passed + failed == 0 else 0)
PY
}

# Configures $SANITIZE_DIR (a debug build with AddressSanitizer and
# UndefinedBehaviorSanitizer) and builds the unit test programs and the fuzz
# targets (replaying their corpora) in it.
build_sanitized() {
  export CCACHE_NOHASHDIR=1
  local start=$SECONDS
  configure "$SANITIZE_DIR" sanitize -Dbuildtype=debug -Db_sanitize=address,undefined
  # Only the unit test programs and fuzz targets: the daemon's own binaries are
  # not run here.
  local targets
  targets=$(meson introspect --targets "$SANITIZE_DIR" | python3 -c '
import json, os, sys
root = os.path.abspath(sys.argv[1])
for t in json.load(sys.stdin):
    if t["type"] == "executable" and ("/tests/unit/" in t["defined_in"] or "/tests/fuzz/" in t["defined_in"]):
        print(os.path.relpath(t["filename"][0], root))' "$SANITIZE_DIR") || die "meson introspect of $SANITIZE_DIR failed"
  [[ -n $targets ]] || die "no unit test programs found in $SANITIZE_DIR"
  say "sanitize: ninja -C $SANITIZE_DIR (the unit test programs and fuzz targets)"
  # shellcheck disable=SC2086  # one target per word
  ninja -C "$SANITIZE_DIR" -j "$JOBS" --quiet $targets || die "the sanitizer build failed (errors above)"
  say "sanitize: built in $((SECONDS - start)) s"
}

# The unit suites on the sanitizer build; any report stops its program
# with a failure (halt_on_error), leaks included.
run_sanitized_tests() {
  rm -f "$SANITIZE_DIR/meson-logs/testlog.json"
  say "sanitize: meson test -C $SANITIZE_DIR --suite unit --suite fuzz"
  ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
    meson test -C "$SANITIZE_DIR" --no-rebuild --print-errorlogs --suite unit --suite fuzz
}

run_tests() {
  export CCACHE_NOHASHDIR=1
  rm -f "$BUILD_DIR/meson-logs/testlog.json"
  say "test: meson test -C $BUILD_DIR --print-errorlogs${*:+ $*}"
  local rc=0 summary_rc=0 dirs=("$BUILD_DIR")
  meson test -C "$BUILD_DIR" --print-errorlogs "$@" || rc=$?
  if [[ $# -eq 0 ]]; then
    build_sanitized
    run_sanitized_tests || rc=$?
    dirs+=("$SANITIZE_DIR")
  fi
  summarize_tests "${dirs[@]}" || summary_rc=$?
  if ((rc != 0)); then return "$rc"; fi
  return "$summary_rc"
}

run_node() {
  local civnetd=$BUILD_DIR/daemon/civnetd civnetctl=$BUILD_DIR/tools/civnetctl
  [[ -x $civnetd ]] || die "$civnetd was not built"
  # A node is a data dir with a civnetd.toml; it belongs to a network once
  # it holds genesis.bin (see daemon/data_dir.hpp).
  if [[ ! -f $DATA_DIR/civnetd.toml ]]; then
    if [[ -d $DATA_DIR && -n $(ls -A "$DATA_DIR" 2>/dev/null) ]]; then
      die "$DATA_DIR/ exists but holds no node (no civnetd.toml): move it away first"
    fi
    say "node: creating a node in $DATA_DIR/"
    "$civnetd" init --data-dir "$DATA_DIR" --org "My Organization"
  fi
  if [[ ! -f $DATA_DIR/genesis.bin ]]; then
    if [[ -e $GENESIS_FILE ]]; then
      # Left over from a node-data/ that was deleted: keep it, out of the way.
      mv -f "$GENESIS_FILE" "$GENESIS_FILE.old"
      say "node: moved the old $GENESIS_FILE to $GENESIS_FILE.old"
    fi
    say "node: creating a one-steward network, genesis in $GENESIS_FILE"
    "$civnetd" genesis --data-dir "$DATA_DIR" --name "My Network" --out "$GENESIS_FILE"
  fi
  say "node: data in $DATA_DIR/ (delete it and $GENESIS_FILE for a fresh node)"
  cat <<EOF

In another terminal, talk to this node with civnetctl:
  $civnetctl --data-dir $DATA_DIR status
  $civnetctl --data-dir $DATA_DIR publish --title "Hello" --body "First post" --tag intro
  $civnetctl --data-dir $DATA_DIR entries list
The web interface: make yourself a login, then open https://localhost:7443/
  $civnetctl --data-dir $DATA_DIR accounts add YOURNAME --name "Your Name" --admin
The node listens on every interface (peers: 7420, browsers: 7443); set
[net] listen and [http] listen in $DATA_DIR/civnetd.toml to narrow that.
Stop the node with Ctrl-C.

EOF
  exec "$civnetd" run --data-dir "$DATA_DIR"
}

usage() {
  sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  case $cmd in
    node)
      [[ $# -eq 0 ]] || die "node takes no arguments"
      install_packages
      build
      run_node
      ;;
    test)
      install_packages
      build
      run_tests "$@"
      ;;
    sanitize)
      [[ $# -eq 0 ]] || die "sanitize takes no arguments"
      install_packages
      local rc=0
      build_sanitized
      run_sanitized_tests || rc=$?
      summarize_tests "$SANITIZE_DIR" || ((rc != 0)) || rc=1
      return "$rc"
      ;;
    fuzz)
      install_packages "${FUZZ_PACKAGES[@]}"
      exec tests/fuzz/run "$@"
      ;;
    demo)
      install_packages
      build
      exec tools/demo-federation.sh "$@"
      ;;
    build)
      [[ $# -eq 0 ]] || die "build takes no arguments"
      install_packages
      build
      ;;
    -h | --help | help)
      usage
      ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
