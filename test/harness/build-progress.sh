# Progress output for the long Go builds, sourced by test/control-plane/build.sh and test/support/go/build.sh.
# Set BUILD_LABEL (the line prefix) and optionally TICK_SECONDS (default 30) before sourcing.

say() { printf '[%s %s] %s\n' "$BUILD_LABEL" "$(date +%H:%M:%S)" "$*" >&2; }

# A long go build prints nothing; a ticker shows it is alive. Usage: with_ticker <what> <command...>
with_ticker() {
  local what=$1; shift
  local start=$SECONDS
  ( while sleep "${TICK_SECONDS:-30}"; do say "  ... still building $what ($((SECONDS - start))s)"; done ) &
  local ticker=$!
  if "$@"; then kill $ticker 2>/dev/null; wait $ticker 2>/dev/null || true; say "built $what in $((SECONDS - start))s"
  else local rc=$?; kill $ticker 2>/dev/null; wait $ticker 2>/dev/null || true; say "FAILED building $what"; return $rc; fi
}
