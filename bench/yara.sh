#!/usr/bin/env bash
# bench/yara.sh — the same YARA rules over the same real files: bolwerk
# (YARA only: no ClamAV database, no built-in pack) against `yr scan`, the
# yara-x command line of the release bolwerk is built with, in the same run.
#
# Rules: the .yar/.yara files in ../shared/corpora (signature-base,
# ReversingLabs, the stalkerware and NoviSpy rules) that do not use the
# external variables (those match by file name, which yr can set only once
# per run); rules that do not compile are left out by both (yr
# --ignore-invalid-rules).
# Files: TARGET (default /usr/lib, about 4 GB of real files).
#
# Rows (each repeated RUNS times; median wall time, largest peak RSS):
#   1. yr scan, rules compiled from source on every run;
#   2. yr scan -C, rules compiled beforehand (`yr compile`);
#   3. bolwerk scan --yara, compiled rules from its cache (the usual case);
#   4. bolwerk scan --yara --no-yara-cache, compiled from source;
#   5. as 3, also opening archives and compressed files (bolwerk's default;
#      yr does not look inside them, so this row does more work).
# Rows 1-4 scan each file as it lies (bolwerk: --max-recursion=1), with no
# size limit that matters (bolwerk: --max-filesize=4000M --max-scansize=4000M), symbolic links
# not followed, on all cores. The files matched by each row are counted, and
# rows 1-4 must agree.
#
# Usage: bench/yara.sh            (from anywhere)
#        TARGET=/usr/lib/python3 RUNS=1 bench/yara.sh   # quick
# Environment: TARGET, RUNS (default 3), YR (default ~/.cache/bolwerk/tools/bin/yr).
# Requires: /usr/bin/time, cargo, yr of the same yara-x release (.ci/run installs it).
# Progress goes to stderr; the markdown table to stdout.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

TARGET=${TARGET:-/usr/lib}
RUNS=${RUNS:-3}
YR=${YR:-$HOME/.cache/bolwerk/tools/bin/yr}
TIME=/usr/bin/time
RULES_ROOT=../shared/corpora

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ -x $TIME ]] || die "$TIME not found; install it with: apt-get install time"
[[ -x $YR ]] || die "yr not found at $YR; see .ci/run for the install command"
[[ -d $TARGET ]] || die "$TARGET is not a directory"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer"
want=$(sed -n 's/^yara-x = { version = "=\([0-9.]*\)".*/\1/p' Cargo.toml)
"$YR" --version | grep -qF "$want" || die "$YR is not yara-x $want"

log "building bolwerk (release) ..."
cargo build --release --locked -q -p bolwerk
BOLWERK=${CARGO_TARGET_DIR:-target}/release/bolwerk

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mapfile -t ALL_RULES < <(find "$(cd "$RULES_ROOT" && pwd)"/yara "$(cd "$RULES_ROOT" && pwd)"/indicators \
    -type f \( -iname '*.yar' -o -iname '*.yara' \) | sort)
# Files whose rules look at file names give yr (one value per run) and
# bolwerk (values per file) different answers; they are left out.
mapfile -t RULES < <(grep -LwE 'filename|filepath|extension|filetype|owner' "${ALL_RULES[@]}")
DEFINES=()
for v in filename filepath extension filetype owner; do DEFINES+=(-d "$v=\"\""); done
BYTES=$(du -sb "$TARGET" | cut -f1)
FILES=$(find "$TARGET" -type f | wc -l)
mkdir -p "$WORK/empty-db" "$WORK/cache"
export XDG_CACHE_HOME=$WORK/cache

log "compiling the rules for yr -C ..."
"$YR" compile --ignore-invalid-rules -w "${DEFINES[@]}" -o "$WORK/rules.yarc" "${RULES[@]}" 2>/dev/null
YARA_ARGS=()
for r in "${RULES[@]}"; do YARA_ARGS+=(--yara "$r"); done
BOLWERK_COMMON=(scan --no-builtin -d "$WORK/empty-db" --json --no-summary --allmatch
    --max-filesize=4000M --max-scansize=4000M "${YARA_ARGS[@]}")
log "warming bolwerk's rule cache ..."
"$BOLWERK" "${BOLWERK_COMMON[@]}" /dev/null >/dev/null 2>&1 || true

# Run a command RUNS times; print "median_seconds max_rss_kib matched_files".
# $1 is how to count matched files from stdout: yr or bolwerk.
measure() {
    local kind=$1; shift
    local times=() rss=0 matched=0
    for ((i = 0; i < RUNS; i++)); do
        local start end r
        start=$(date +%s.%N)
        $TIME -v -o "$WORK/time" "$@" >"$WORK/out" 2>"$WORK/err" || true
        end=$(date +%s.%N)
        times+=("$(echo "$end - $start" | bc)")
        r=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$WORK/time")
        ((r > rss)) && rss=$r
        if [[ $kind == yr ]]; then
            matched=$(grep -c '^{' "$WORK/out" || true)
        elif [[ $kind == bolwerk-top ]]; then
            matched=$( (grep '"type":"detection"' "$WORK/out" || true) | (grep '"object":""' || true) |
                sed 's/.*"path":"\([^"]*\)".*/\1/' | sort -u | wc -l)
        else
            matched=$( (grep '"type":"detection"' "$WORK/out" || true) |
                sed 's/.*"path":"\([^"]*\)".*/\1/' | sort -u | wc -l)
        fi
    done
    local median
    median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")
    echo "$median $rss $matched"
}

row() {
    local name=$1 secs=$2 rss=$3 matched=$4
    printf '| %s | %.2f | %.0f | %d | %.0f |\n' "$name" "$secs" "$((rss / 1024))" "$matched" \
        "$(echo "$BYTES / 1048576 / $secs" | bc -l)"
}

log "1/5 yr scan (rules from source) ..."
read -r t1 m1 f1 < <(measure yr "$YR" scan --ignore-invalid-rules -w -o ndjson -r "${DEFINES[@]}" "${RULES[@]}" "$TARGET")
log "2/5 yr scan -C ..."
read -r t2 m2 f2 < <(measure yr "$YR" scan -C -o ndjson -r "${DEFINES[@]}" "$WORK/rules.yarc" "$TARGET")
log "3/5 bolwerk (cached rules) ..."
read -r t3 m3 f3 < <(measure bolwerk-top "$BOLWERK" "${BOLWERK_COMMON[@]}" --max-recursion=1 "$TARGET")
log "4/5 bolwerk (rules from source) ..."
read -r t4 m4 f4 < <(measure bolwerk-top "$BOLWERK" "${BOLWERK_COMMON[@]}" --no-yara-cache --max-recursion=1 "$TARGET")
log "5/5 bolwerk (cached rules, inside archives too) ..."
read -r t5 m5 f5 < <(measure bolwerk "$BOLWERK" "${BOLWERK_COMMON[@]}" "$TARGET")

echo
echo "YARA: ${#RULES[@]} rule files over $TARGET ($FILES files, $((BYTES / 1048576)) MiB), $(nproc) cores, median of $RUNS, load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| run | wall s | peak RSS MiB | files matched | MiB/s |"
echo "|---|---:|---:|---:|---:|"
row "yr scan (compiles rules)" "$t1" "$m1" "$f1"
row "yr scan -C (precompiled)" "$t2" "$m2" "$f2"
row "bolwerk --yara (cached rules)" "$t3" "$m3" "$f3"
row "bolwerk --yara --no-yara-cache" "$t4" "$m4" "$f4"
row "bolwerk --yara, inside archives" "$t5" "$m5" "$f5"
echo
if [[ $f1 != "$f2" || $f1 != "$f3" || $f1 != "$f4" ]]; then
    echo "WARNING: rows 1-4 matched different numbers of files ($f1, $f2, $f3, $f4)"
fi
