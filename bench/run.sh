#!/usr/bin/env bash
# bench/run.sh — compare the real `clamscan` with `bolwerk clamscan` on the same data.
#
# What it measures: wall time and peak resident memory (RSS) of the whole
# process, from `/usr/bin/time -f '%e %M'` (the wall time is taken with
# millisecond resolution from the shell, as %e only has 10 ms resolution):
#   a. loading an official-size synthetic hash database (.hdb/.hsb/.mdb,
#      about 7M signatures at SCALE=1.0) and scanning one tiny file,
#      i.e. essentially the database load;
#   b. the same database plus a recursive scan of /usr/share/clamav-testfiles;
#   c. a recursive scan of real files (REALDIR, default /usr/lib/python3)
#      with the tiny test-3.cvd, i.e. start-up, walking and per-file cost;
#   d. official-size body signatures (.ndb, 200k at SCALE=1.0, some planted
#      to match the clamav-testfiles) loaded and run over REALDIR;
#   e. the same plus official-size logical signatures (.ldb, 100k at
#      SCALE=1.0) in the same pass;
#   f. rows a and e again, bolwerk mapping the compiled engine image that an
#      unmeasured first run wrote to its cache (all other rows run bolwerk
#      with --no-cache, i.e. parse the databases every time).
# Each measurement is repeated RUNS times; the table reports the median wall
# time and the largest peak RSS. Both tools' exit codes are checked against
# what they reported, and the number of infected files is compared between
# the two; any disagreement is printed as a warning below the table.
#
# The database is generated once with ../shared/tools/gen-clamdb and cached
# under BENCH_DATA (one directory per SCALE).
#
# Usage (from anywhere; the script changes to the repository root):
#   bench/run.sh
#   SCALE=0.01 RUNS=1 bench/run.sh          # quick smoke run
# Environment:
#   SCALE       database size relative to the official databases (default 1.0)
#   RUNS        repetitions per measurement (default 3)
#   BENCH_DATA  cache directory for generated data (default ~/.cache/bolwerk-bench)
#   REALDIR     real files for row c (default /usr/lib/python3)
# Requires: clamscan (Debian package clamav), /usr/bin/time (package time),
# python3, cargo, and the clamav-testfiles package for rows b and c.
# Progress goes to stderr; the markdown table goes to stdout.
set -euo pipefail
export LC_ALL=C

cd "$(dirname "$0")/.."
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
REPO_ROOT=$(pwd)

SCALE=${SCALE:-1.0}
RUNS=${RUNS:-3}
BENCH_DATA=${BENCH_DATA:-$HOME/.cache/bolwerk-bench}
GEN=../shared/tools/gen-clamdb
TESTFILES=/usr/share/clamav-testfiles
TEST_CVD=../shared/corpora/clamav/test-3.cvd
REALDIR=${REALDIR:-/usr/lib/python3}
TIME=/usr/bin/time

# shellcheck source=bench/lib.sh
. bench/lib.sh

# ---------------------------------------------------------------- prerequisites
[[ -x $TIME ]] || die "$TIME not found; install it with: apt-get install time"
command -v clamscan >/dev/null || die "clamscan not found; install it with: apt-get install clamav"
command -v python3 >/dev/null || die "python3 not found"
command -v cargo >/dev/null || die "cargo not found"
[[ -f $GEN ]] || die "$GEN not found (expected next to the repository, at $REPO_ROOT/$GEN)"
[[ -d $TESTFILES ]] || die "$TESTFILES not found; install it with: apt-get install clamav-testfiles"
[[ -f $TEST_CVD ]] || die "$TEST_CVD not found"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, got '$RUNS'"

# ---------------------------------------------------------------- data
mkdir -p "$BENCH_DATA"
BENCH_DATA=$(cd "$BENCH_DATA" && pwd)
DB_DIR=$(hash_db "$BENCH_DATA" "$SCALE" "$GEN")
SIGS=$(cat "$DB_DIR"/synth.* | wc -l)
# Body signatures (.ndb) of official size, planted so that real files match.
BODY_DIR=$BENCH_DATA/ndb-scale-$SCALE
if [[ ! -f $BODY_DIR/complete ]]; then
    log "generating body signatures at scale $SCALE in $BODY_DIR ..."
    rm -rf "$BODY_DIR"
    mkdir -p "$BODY_DIR"
    python3 "$GEN" "$BODY_DIR/db" --only ndb --scale "$SCALE" --plant "$TESTFILES" >&2
    touch "$BODY_DIR/complete"
fi
BODY_SIGS=$(wc -l <"$BODY_DIR/db/synth.ndb")
# Logical signatures (.ldb) of official size.
LDB_DIR=$BENCH_DATA/ldb-scale-$SCALE
if [[ ! -f $LDB_DIR/complete ]]; then
    log "generating logical signatures at scale $SCALE in $LDB_DIR ..."
    rm -rf "$LDB_DIR"
    mkdir -p "$LDB_DIR"
    python3 "$GEN" "$LDB_DIR/db" --only ldb --scale "$SCALE" >&2
    touch "$LDB_DIR/complete"
fi
LDB_SIGS=$(wc -l <"$LDB_DIR/db/synth.ldb")
TINY=$BENCH_DATA/tiny.txt
[[ -s $TINY ]] || printf 'a small, harmless text file\n' >"$TINY"

# ---------------------------------------------------------------- build
BOLWERK=$(build_bolwerk)

# ---------------------------------------------------------------- measuring
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
WARNINGS=()
ROWS=()
# bolwerk's own options: rows measure a full parse unless they say otherwise.
BOLWERK_OPTS=(--no-cache)
export XDG_CACHE_HOME=$WORK/cache

# row LABEL ARGS... : the same clamscan arguments for both tools.
row() {
    local label=$1; shift
    log "$label"
    measure clamscan "$RUNS" found clamscan "$@"
    local c_wall=$M_WALL c_rss=$M_RSS c_found=$M_FOUND
    measure bolwerk "$RUNS" found "$BOLWERK" clamscan --no-builtin "${BOLWERK_OPTS[@]}" "$@"
    local b_wall=$M_WALL b_rss=$M_RSS b_found=$M_FOUND
    local speedup rss_ratio
    speedup=$(awk -v c="$c_wall" -v b="$b_wall" 'BEGIN {if (b > 0) printf "%.1fx", c / b; else print "n/a"}')
    rss_ratio=$(awk -v c="$c_rss" -v b="$b_rss" 'BEGIN {if (b > 0) printf "%.1fx", c / b; else print "n/a"}')
    ROWS+=("| $label | $c_wall | $c_rss | $b_wall | $b_rss | $speedup | $rss_ratio |")
    if [[ $c_found != "$b_found" ]]; then
        WARNINGS+=("$label: clamscan found $c_found infected files, bolwerk found $b_found")
    fi
}

# cached_row LABEL ARGS... : as row, with bolwerk mapping the compiled engine
# image that a first, unmeasured run wrote to its cache.
cached_row() {
    local label=$1; shift
    "$BOLWERK" clamscan --no-builtin "$@" >/dev/null 2>&1 || true
    BOLWERK_OPTS=()
    row "$label" "$@"
    BOLWERK_OPTS=(--no-cache)
}

# Warm the page cache so the first run does not pay for reading the database from disk.
cat "$DB_DIR"/synth.* "$BODY_DIR"/db/synth.ndb "$LDB_DIR"/db/synth.ldb "$TEST_CVD" >/dev/null
find "$REALDIR" -type f -exec cat {} + >/dev/null
NFILES=$(find "$TESTFILES" -type f | wc -l)
SIGS_H=$(awk -v n="$SIGS" 'BEGIN {if (n >= 1e6) printf "%.1fM", n / 1e6; else if (n >= 1e3) printf "%.0fk", n / 1e3; else print n}')

row "load hash DB ($SIGS_H sigs) + scan 1 tiny file" --no-summary -d "$DB_DIR" "$TINY"
row "load hash DB ($SIGS_H sigs) + scan clamav-testfiles ($NFILES files)" --no-summary -r -d "$DB_DIR" "$TESTFILES"
# Per-file cost on real files in which neither tool finds anything (the
# clamav-testfiles would not do: clamscan unpacks them, bolwerk does not yet).
NREAL=$(find "$REALDIR" -type f | wc -l)
row "scan $REALDIR ($NREAL files) with test-3.cvd" --no-summary -r -d "$TEST_CVD" "$REALDIR"
BODY_H=$(awk -v n="$BODY_SIGS" 'BEGIN {if (n >= 1e3) printf "%.0fk", n / 1e3; else print n}')
row "load body DB ($BODY_H .ndb sigs) + scan $REALDIR" --no-summary -r -d "$BODY_DIR/db" "$REALDIR"
LDB_H=$(awk -v n="$LDB_SIGS" 'BEGIN {if (n >= 1e3) printf "%.0fk", n / 1e3; else print n}')
row "load $BODY_H .ndb + $LDB_H .ldb sigs + scan $REALDIR" --no-summary -r -d "$BODY_DIR/db" -d "$LDB_DIR/db" "$REALDIR"
cached_row "hash DB ($SIGS_H sigs), bolwerk from its cached image, + scan 1 tiny file" --no-summary -d "$DB_DIR" "$TINY"
cached_row "$BODY_H .ndb + $LDB_H .ldb, bolwerk from its cached image, + scan $REALDIR" --no-summary -r -d "$BODY_DIR/db" -d "$LDB_DIR/db" "$REALDIR"

# ---------------------------------------------------------------- report
CPU=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
MEM=$(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
echo "| task | clamscan wall (s) | clamscan peak RSS (MiB) | bolwerk wall (s) | bolwerk peak RSS (MiB) | speed-up | RSS ratio |"
echo "|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
echo "Machine: $(nproc) CPUs, ${CPU:-unknown CPU}, $MEM RAM. Date: $(date -u '+%Y-%m-%d %H:%M UTC')." \
    "$(clamscan --version) vs $("$BOLWERK" --version)." \
    "Load average at start: $LOAD_AT_START."
echo "Median wall time of $RUNS runs; RSS is the maximum over runs." \
    "speed-up = clamscan wall / bolwerk wall; RSS ratio = clamscan RSS / bolwerk RSS (above 1: bolwerk uses less)." \
    "Database: $SIGS signatures (.hdb/.hsb/.mdb, scale $SCALE)."
echo "Command: \`SCALE=$SCALE RUNS=$RUNS BENCH_DATA=$BENCH_DATA bench/run.sh\`" \
    "(each tool is run as \`clamscan ARGS\` / \`bolwerk clamscan --no-builtin ARGS\` with the same ARGS)."
if ((${#WARNINGS[@]})); then
    echo
    for w in "${WARNINGS[@]}"; do
        echo "**Warning:** $w"
    done
fi
