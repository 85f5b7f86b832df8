#!/usr/bin/env bash
# bench/indicators.sh — what the built-in indicator pack costs a scan.
#
# What it measures, with clamscan beside it in the same run: wall time, CPU
# time (user + system) and peak resident memory (RSS) of the whole process
# (`/usr/bin/time -f '%U %S %M'`, wall time from the shell in milliseconds;
# CPU time says more than wall time on a busy machine) of
#   a. a scan of a small directory (two files), i.e. start-up and loading;
#   b. a recursive scan of real files (REALDIR, default /usr/lib/python3),
#      i.e. per-file cost: with indicators every file is read, hashed (MD5,
#      SHA-1, SHA-256: the built-in pack names all three) and, when it is
#      text, searched for hosts, URLs and e-mail addresses.
# Columns: clamscan with test-3.cvd; bolwerk with test-3.cvd and no
# built-in pack (`scan --no-builtin`); bolwerk with test-3.cvd and the
# built-in pack, indicators included (`scan`, the default). The number of
# infected files each reports is printed below the table.
#
# Usage: bench/indicators.sh            (from anywhere)
# Environment: RUNS (default 3), REALDIR (default /usr/lib/python3),
#   BOLWERK (a bolwerk binary to measure; default: build it in release).
# Requires: clamscan (apt-get install clamav), /usr/bin/time (apt-get
# install time), cargo. Progress goes to stderr, the table to stdout.
set -euo pipefail
export LC_ALL=C

cd "$(dirname "$0")/.."
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
RUNS=${RUNS:-3}
REALDIR=${REALDIR:-/usr/lib/python3}
TEST_CVD=../shared/corpora/clamav/test-3.cvd
TIME=/usr/bin/time

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ -x $TIME ]] || die "$TIME not found; install it with: apt-get install time"
command -v clamscan >/dev/null || die "clamscan not found; install it with: apt-get install clamav"
[[ -f $TEST_CVD ]] || die "$TEST_CVD not found"
[[ -d $REALDIR ]] || die "$REALDIR not found"

if [[ -z ${BOLWERK:-} ]]; then
    log "building bolwerk (release)"
    cargo build --release --locked -p bolwerk >&2
    BOLWERK=${CARGO_TARGET_DIR:-target}/release/bolwerk
fi
[[ -x $BOLWERK ]] || die "BOLWERK $BOLWERK is not executable"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/small/Library" "$WORK/emptydb"
echo '<plist/>' >"$WORK/small/Library/roleaccountd.plist"
printf 'GET https://example.org/\n' >"$WORK/small/proxy.log"

# median VALUES... : the median of numbers.
median() {
    printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"
}

# run NAME CMD... : median wall and CPU seconds and max RSS (MiB) over RUNS
# runs; the infected-file count of the last run goes to $WORK/NAME.infected.
run() {
    local name=$1; shift
    local walls=() cpus=() rss=0
    for _ in $(seq "$RUNS"); do
        local t0 t1 u s m
        t0=$(date +%s.%N)
        "$TIME" -f '%U %S %M' -o "$WORK/time" "$@" >"$WORK/out" 2>/dev/null || true
        t1=$(date +%s.%N)
        walls+=("$(echo "$t1 - $t0" | bc)")
        read -r u s m < <(tail -n 1 "$WORK/time")
        cpus+=("$(echo "$u + $s" | bc)")
        (( m > rss )) && rss=$m
    done
    grep -c ' FOUND$' "$WORK/out" >"$WORK/$name.infected" || true
    printf '%.3f / %.2f s, %.1f MiB' "$(median "${walls[@]}")" "$(median "${cpus[@]}")" \
        "$(echo "$rss / 1024" | bc -l)"
}

row() {
    local label=$1 key=$2 target=$3
    log "measuring: $label"
    local c b0 b1
    c=$(run "$key-clamscan" clamscan --no-summary -r -d "$TEST_CVD" "$target")
    b0=$(run "$key-plain" "$BOLWERK" scan --no-progress --no-summary --no-builtin -d "$TEST_CVD" "$target")
    b1=$(run "$key-pack" "$BOLWERK" scan --no-progress --no-summary -d "$TEST_CVD" "$target")
    echo "| $label | $c | $b0 | $b1 |"
}

echo "| task | clamscan -d test-3.cvd | bolwerk scan --no-builtin -d test-3.cvd | bolwerk scan -d test-3.cvd (built-in indicators) |"
echo "|---|---:|---:|---:|"
row "scan a small directory (2 files)" small "$WORK/small"
files=$(find "$REALDIR" -type f | wc -l)
row "scan $REALDIR ($files files)" real "$REALDIR"
echo
for k in small real; do
    echo "Infected files, $k: clamscan $(cat "$WORK/$k-clamscan.infected"), bolwerk without pack $(cat "$WORK/$k-plain.infected"), bolwerk with pack $(cat "$WORK/$k-pack.infected")."
done
echo "Cells: median wall / CPU (user + system) time, and largest peak RSS, of $RUNS runs. $(nproc) CPUs. Load average at start: $LOAD_AT_START. $(date -u '+%Y-%m-%d %H:%M') UTC. $(clamscan --version | cut -d/ -f1) vs bolwerk $("$BOLWERK" --version | cut -d' ' -f2)."
