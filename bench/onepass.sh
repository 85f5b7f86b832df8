#!/usr/bin/env bash
# bench/onepass.sh — one pass against three tools: bolwerk with a ClamAV
# database, YARA rules and the built-in spyware indicators in the same scan,
# against `clamscan` followed by `yr scan` (yara-x's command line, the
# release bolwerk is built with) over the same real files, in the same run.
#
# Database: the official-size synthetic hash database (.hdb/.hsb/.mdb, about
# 7M signatures at SCALE=1.0, generated once by ../shared/tools/gen-clamdb
# and shared with bench/run.sh under BENCH_DATA).
# Rules: the corpora's .yar/.yara files that do not use external variables
# (as in bench/yara.sh); yr gets them precompiled (`yr compile`), bolwerk
# from its rule cache, warmed by an unmeasured first run, as is its engine
# cache (that is how both are used day to day).
# Files: TARGET (default /usr/lib, about 4 GB).
#
# Rows (median wall time of RUNS runs, largest peak RSS of any process):
#   1. clamscan -r (opens archives) then yr scan -C -r (does not): the two
#      commands one after the other; the time is their sum;
#   2. bolwerk scan with the same database, the same rules and the built-in
#      indicators in one pass (opens archives, and runs the rules and
#      indicators inside them too, so it does more work than row 1).
# No size limits: every file is read whole by all three. Files each
# reports as infected are counted; clamscan's and bolwerk's
# database detections must agree (the database's signatures are random and
# do not match real files, so this mainly checks both scanned everything).
#
# Usage: bench/onepass.sh
#        TARGET=/usr/lib/python3 RUNS=1 bench/onepass.sh   # quick
# Environment: TARGET, RUNS (default 3), SCALE (default 1.0), BENCH_DATA
# (default ~/.cache/bolwerk-bench), YR (default ~/.cache/bolwerk/tools/bin/yr).
# Requires: clamscan, /usr/bin/time, python3, cargo, yr (.ci/run installs it).
# Progress goes to stderr; the markdown table to stdout.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

TARGET=${TARGET:-/usr/lib}
RUNS=${RUNS:-3}
SCALE=${SCALE:-1.0}
BENCH_DATA=${BENCH_DATA:-$HOME/.cache/bolwerk-bench}
YR=${YR:-$HOME/.cache/bolwerk/tools/bin/yr}
GEN=../shared/tools/gen-clamdb
RULES_ROOT=../shared/corpora
TIME=/usr/bin/time

# shellcheck source=bench/lib.sh
. bench/lib.sh

[[ -x $TIME ]] || die "$TIME not found; install it with: apt-get install time"
command -v clamscan >/dev/null || die "clamscan not found; install it with: apt-get install clamav"
[[ -x $YR ]] || die "yr not found at $YR; see .ci/run for the install command"
[[ -d $TARGET ]] || die "$TARGET is not a directory"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer"
want=$(sed -n 's/^yara-x = { version = "=\([0-9.]*\)".*/\1/p' Cargo.toml)
"$YR" --version | grep -qF "$want" || die "$YR is not yara-x $want"

mkdir -p "$BENCH_DATA"
DB=$(hash_db "$BENCH_DATA" "$SCALE" "$GEN")

log "building bolwerk (release) ..."
cargo build --release --locked -q -p bolwerk
BOLWERK=${CARGO_TARGET_DIR:-target}/release/bolwerk

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
root=$(cd "$RULES_ROOT" && pwd)
mapfile -t ALL_RULES < <(find "$root/yara" "$root/indicators" -type f \( -iname '*.yar' -o -iname '*.yara' \) | sort)
mapfile -t RULES < <(grep -LwE 'filename|filepath|extension|filetype|owner' "${ALL_RULES[@]}")
DEFINES=()
for v in filename filepath extension filetype owner; do DEFINES+=(-d "$v=\"\""); done
YARA_ARGS=()
for r in "${RULES[@]}"; do YARA_ARGS+=(--yara "$r"); done
BYTES=$(du -sb "$TARGET" | cut -f1)
FILES=$(find "$TARGET" -type f | wc -l)
mkdir -p "$WORK/cache"
export XDG_CACHE_HOME=$WORK/cache

log "compiling the rules for yr -C ..."
"$YR" compile --ignore-invalid-rules -w "${DEFINES[@]}" -o "$WORK/rules.yarc" "${RULES[@]}" 2>/dev/null
# No size limits anywhere (0 lifts them in clamscan and bolwerk alike):
# yr reads every file, so all three do.
LIMITS=(--max-filesize=0 --max-scansize=0)
BOLWERK_ARGS=(clamscan -r -i --no-summary "${LIMITS[@]}" -d "$DB" "${YARA_ARGS[@]}" "$TARGET")
log "warming bolwerk's engine and rule caches ..."
"$BOLWERK" clamscan --no-summary -d "$DB" "${YARA_ARGS[@]}" /dev/null >/dev/null 2>&1 || true

# Run "$@" once; print "seconds max_rss_kib" and leave stdout in $WORK/out.
once() {
    local start end
    start=$(date +%s.%N)
    $TIME -f '%M' -o "$WORK/rss" "$@" >"$WORK/out" 2>"$WORK/err" || true
    end=$(date +%s.%N)
    echo "$(echo "$end - $start" | bc) $(tail -1 "$WORK/rss")"
}

infected() { grep -c ' FOUND$' "$WORK/out" || true; }

t1s=() t2s=() m1=0 m2=0 clam=0 yr=0 ours=0
for ((i = 1; i <= RUNS; i++)); do
    log "run $i/$RUNS: clamscan ..."
    read -r tc mc < <(once clamscan -r -i --no-summary "${LIMITS[@]}" -d "$DB" "$TARGET")
    clam=$(infected)
    log "run $i/$RUNS: yr scan -C ..."
    read -r ty my < <(once "$YR" scan -C -r -o ndjson "${DEFINES[@]}" "$WORK/rules.yarc" "$TARGET")
    yr=$(grep -c '^{' "$WORK/out" || true)
    log "run $i/$RUNS: bolwerk one pass ..."
    read -r tb mb < <(once "$BOLWERK" "${BOLWERK_ARGS[@]}")
    ours=$(infected)
    t1s+=("$(echo "$tc + $ty" | bc)")
    t2s+=("$tb")
    ((mc > m1)) && m1=$mc
    ((my > m1)) && m1=$my
    ((mb > m2)) && m2=$mb
done
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }
t1=$(median "${t1s[@]}")
t2=$(median "${t2s[@]}")

row() {
    printf '| %s | %.2f | %.0f | %s | %.0f |\n' "$1" "$2" "$(($3 / 1024))" "$4" \
        "$(echo "$BYTES / 1048576 / $2" | bc -l)"
}
echo
echo "One pass: $(find "$DB" -type f | wc -l) database files at scale $SCALE, ${#RULES[@]} rule files, built-in indicators; $TARGET ($FILES files, $((BYTES / 1048576)) MiB); $(nproc) cores, median of $RUNS, load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| run | wall s | peak RSS MiB | infected files reported | MiB/s |"
echo "|---|---:|---:|---:|---:|"
row "clamscan, then yr scan -C" "$t1" "$m1" "$clam + $yr"
row "bolwerk: database + YARA + indicators, one pass" "$t2" "$m2" "$ours"
