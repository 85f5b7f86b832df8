#!/usr/bin/env bash
# bench/official.sh — the engine on real ClamAV signatures, against
# clamscan in the same run.
#
# Databases:
#   * OFFICIAL: the official ClamAV signatures (default
#     ../shared/corpora/clamav-official: main.ldb, main.hdb, daily.hsb,
#     daily.ndb, main.fp, daily.fp; 268,695 signatures);
#   * main.ldb alone (38,890 logical signatures);
#   * the official-scale set `gen-clamdb --scale 1.0 --only ndb,ldb --like
#     OFFICIAL` recombines from the real subsignatures (200k .ndb + 100k
#     .ldb), generated once and cached under BENCH_DATA. Its atoms are as
#     common in real files as the official ones, so real files match
#     signatures no one planted.
# Corpora: CORPUS (default /usr/lib/x86_64-linux-gnu), and FEW: every third
# regular file above 1 MB of CORPUS (at most 40), copied once under
# BENCH_DATA.
#
# Rows (wall time and peak RSS of the whole process, /usr/bin/time):
#   1. official sigs: load + scan one tiny file (bolwerk maps the engine
#      image it cached on an unmeasured first run);
#   2. official sigs: scan CORPUS, one thread (clamscan has one; bolwerk
#      --threads 1);
#   3. the same, bolwerk with all threads (clamscan in its column again);
#   4. main.ldb alone over FEW, --allmatch;
#   5. real-derived 300k: load + scan one tiny file;
#   6. real-derived 300k: FEW with --allmatch;
#   7. official scale: the 300k with the hash bulk of `gen-clamdb --scale
#      1.0 --like OFFICIAL` (7.2M signatures: .hdb, .hsb, .mdb, .ndb,
#      .ldb), load + scan one tiny file.
# No size limits (--max-filesize=0 --max-scansize=0). The distinct FOUND
# lines of both tools are compared row by row; a difference is printed as a
# **Warning** below the table (clamscan --allmatch repeats a line once per
# match pass, so lines are compared as sets).
#
# Usage:
#   bench/official.sh
#   RUNS=1 CORPUS=/usr/lib/python3 bench/official.sh   # a quicker run
# Environment:
#   RUNS        repetitions of each row (default 3)
#   BENCH_DATA  cache directory (default ~/.cache/bolwerk-bench)
#   CORPUS      directory of real files (default /usr/lib/x86_64-linux-gnu)
#   OFFICIAL    directory of the official signatures
#   BOLWERK     a bolwerk binary to measure (default: build it in release)
# Requires: clamscan (Debian package clamav), /usr/bin/time (package time),
# python3, cargo. Progress goes to stderr; the markdown table to stdout.
set -euo pipefail
export LC_ALL=C

cd "$(dirname "$0")/.."
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)

RUNS=${RUNS:-3}
BENCH_DATA=${BENCH_DATA:-$HOME/.cache/bolwerk-bench}
CORPUS=${CORPUS:-/usr/lib/x86_64-linux-gnu}
OFFICIAL=${OFFICIAL:-../shared/corpora/clamav-official}
GEN=../shared/tools/gen-clamdb
TIME=/usr/bin/time

# shellcheck source=bench/lib.sh
. bench/lib.sh

[[ -x $TIME ]] || die "$TIME not found; install it with: apt-get install time"
command -v clamscan >/dev/null || die "clamscan not found; install it with: apt-get install clamav"
[[ -f $OFFICIAL/main.ldb ]] || die "no official signatures in $OFFICIAL"
[[ -d $CORPUS ]] || die "CORPUS $CORPUS is not a directory"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, got '$RUNS'"
OFFICIAL=$(cd "$OFFICIAL" && pwd)
CORPUS=$(cd "$CORPUS" && pwd)

# ---------------------------------------------------------------- data
mkdir -p "$BENCH_DATA"
BENCH_DATA=$(cd "$BENCH_DATA" && pwd)
LIKE=$BENCH_DATA/like-1.0
if [[ ! -f $LIKE/synth.ldb ]]; then
    log "generating the real-derived set in $LIKE (cached) ..."
    rm -rf "$LIKE"
    python3 "$GEN" "$LIKE" --scale 1.0 --only ndb,ldb --like "$OFFICIAL" >&2
fi
ALL=$BENCH_DATA/like-all-1.0
if [[ ! -f $ALL/synth.mdb ]]; then
    log "generating the official-scale set with its hash bulk in $ALL (cached) ..."
    rm -rf "$ALL"
    python3 "$GEN" "$ALL" --scale 1.0 --like "$OFFICIAL" >&2
fi
FEW=$BENCH_DATA/few$(printf '%s' "$CORPUS" | tr '/' '-')
if [[ ! -f $FEW.complete ]]; then
    log "copying every third file above 1 MB of $CORPUS to $FEW (cached) ..."
    rm -rf "$FEW"
    mkdir -p "$FEW"
    find "$CORPUS" -type f -size +1M | sort | awk 'NR % 3 == 1' | head -n 40 |
        while read -r f; do cp "$f" "$FEW/"; done
    touch "$FEW.complete"
fi
ONLY_LDB=$BENCH_DATA/official-main-ldb
mkdir -p "$ONLY_LDB"
cp "$OFFICIAL/main.ldb" "$ONLY_LDB/"
TINY=$BENCH_DATA/tiny.txt
[[ -s $TINY ]] || printf 'a small, harmless text file\n' >"$TINY"

bytes_of() { find "$1" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }
files_of() { find "$1" -type f | wc -l; }
CORPUS_BYTES=$(bytes_of "$CORPUS")
FEW_BYTES=$(bytes_of "$FEW")

BOLWERK=${BOLWERK:-$(build_bolwerk)}
[[ -x $BOLWERK ]] || die "BOLWERK $BOLWERK is not executable"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
WARNINGS=()
ROWS=()
NOLIMIT=(--max-filesize=0 --max-scansize=0)

# row TITLE RUNS_CLAM ARGS_CLAM... -- ARGS_BOLWERK... : measure both, add a
# table row, compare their distinct FOUND lines.
row() {
    local title=$1; shift
    local clam=() ours=()
    while [[ $1 != -- ]]; do clam+=("$1"); shift; done
    shift
    ours=("$@")
    measure clam "$RUNS" found clamscan "${clam[@]}"
    local cw=$M_WALL cr=$M_RSS
    sort -u "$WORK/found.clam" >"$WORK/want"
    measure ours "$RUNS" found "$BOLWERK" clamscan --no-builtin "${ours[@]}"
    local bw=$M_WALL br=$M_RSS
    sort -u "$WORK/found.ours" >"$WORK/got"
    local n
    n=$(wc -l <"$WORK/want")
    if ! cmp -s "$WORK/want" "$WORK/got"; then
        WARNINGS+=("$title: the FOUND lines differ: $(diff "$WORK/want" "$WORK/got" | head -c 400 | tr '\n' ' ')")
    fi
    ROWS+=("| $title | $cw | $cr | $bw | $br | $(awk -v a="$cw" -v b="$bw" 'BEGIN {printf "%.1fx", a / b}') | $(awk -v a="$cr" -v b="$br" 'BEGIN {printf "%.2fx", a / b}') | $n |")
}

log "warming the engine images (unmeasured) ..."
for db in "$OFFICIAL" "$LIKE" "$ONLY_LDB" "$ALL"; do
    "$BOLWERK" clamscan --no-builtin --no-summary -d "$db" "$TINY" >/dev/null
done

row "1. official sigs: load + scan 1 tiny file" \
    --no-summary -d "$OFFICIAL" "$TINY" -- --no-summary -d "$OFFICIAL" "$TINY"
row "2. official sigs: scan CORPUS, 1 thread" \
    --no-summary -r "${NOLIMIT[@]}" -d "$OFFICIAL" "$CORPUS" -- \
    --no-summary -r "${NOLIMIT[@]}" --threads 1 -d "$OFFICIAL" "$CORPUS"
row "3. official sigs: scan CORPUS, bolwerk all threads (clamscan has 1)" \
    --no-summary -r "${NOLIMIT[@]}" -d "$OFFICIAL" "$CORPUS" -- \
    --no-summary -r "${NOLIMIT[@]}" -d "$OFFICIAL" "$CORPUS"
row "4. main.ldb alone over FEW, --allmatch, 1 thread" \
    --no-summary --allmatch "${NOLIMIT[@]}" -d "$ONLY_LDB" "$FEW" -- \
    --no-summary --allmatch "${NOLIMIT[@]}" --threads 1 -d "$ONLY_LDB" "$FEW"
row "5. real-derived 300k: load + scan 1 tiny file" \
    --no-summary -d "$LIKE" "$TINY" -- --no-summary -d "$LIKE" "$TINY"
row "6. real-derived 300k: FEW, --allmatch, 1 thread" \
    --no-summary --allmatch "${NOLIMIT[@]}" -d "$LIKE" "$FEW" -- \
    --no-summary --allmatch "${NOLIMIT[@]}" --threads 1 -d "$LIKE" "$FEW"
row "7. official scale, 7.2M with the hash bulk: load + scan 1 tiny file" \
    --no-summary -d "$ALL" "$TINY" -- --no-summary -d "$ALL" "$TINY"

echo "| task | clamscan wall (s) | clamscan peak RSS (MiB) | bolwerk wall (s) | bolwerk peak RSS (MiB) | speed-up | RSS ratio | distinct FOUND lines |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
echo "Machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM. Date: $(date -u '+%Y-%m-%d %H:%M UTC'). Load average at start: $LOAD_AT_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg). $(clamscan --version | cut -d/ -f1) vs bolwerk $("$BOLWERK" --version | awk '{print $2}')."
echo "CORPUS: $CORPUS ($(files_of "$CORPUS") files, $(awk -v b="$CORPUS_BYTES" 'BEGIN {printf "%.0f MB", b / 1e6}')). FEW: $(files_of "$FEW") files, $(awk -v b="$FEW_BYTES" 'BEGIN {printf "%.0f MB", b / 1e6}'), every third file above 1 MB of CORPUS. Official: $(cat "$OFFICIAL"/*.?db "$OFFICIAL"/*.hsb "$OFFICIAL"/*.fp | wc -l) lines; real-derived: $(cat "$LIKE"/synth.* | wc -l) signatures; with the hash bulk: $(cat "$ALL"/synth.* | wc -l)."
echo "Median wall time of $RUNS runs; RSS is the maximum over runs. speed-up = clamscan wall / bolwerk wall; RSS ratio = clamscan RSS / bolwerk RSS (above 1: bolwerk is faster / uses less). No size limits. bolwerk maps its cached engine image."
echo "Command: \`RUNS=$RUNS CORPUS=$CORPUS bench/official.sh\`"
for w in "${WARNINGS[@]}"; do
    echo
    echo "**Warning:** $w"
done
