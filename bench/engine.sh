#!/usr/bin/env bash
# bench/engine.sh — the engine against ClamAV with a full-size database of
# every kind, and the I/O ceiling, in the same run.
#
# Database: ../shared/tools/gen-clamdb at SCALE (no --only: .hdb, .hsb,
# .mdb, .ndb and .ldb, about 7.2M signatures at SCALE=1.0), with --plant
# PLANT so that the files under PLANT (inside CORPUS) match and the scans
# have detections to compare. Generated once, cached under BENCH_DATA.
# Corpus: CORPUS, one or more directories of real files already on the
# machine (default /usr/lib/x86_64-linux-gnu, /usr/lib/llvm-14 and
# /usr/lib/git-core: 3,171 files, 1.46 GB here). With this database
# clamscan had not finished all of /usr/lib (4.3 GB) after 13 minutes, nor
# /usr/lib/x86_64-linux-gnu and /usr/share (1.4 GB, 46,000 files, most of them
# small compressed man pages it decompresses one by one) after 26.
#
# What it measures: wall time and peak resident memory (RSS) of the whole
# process, from `/usr/bin/time -f '%e %M'` (wall time taken in milliseconds
# from the shell, as %e has 10 ms resolution):
#   1. load the database + scan one tiny file: clamscan against bolwerk
#      cold (--no-cache: it parses the databases);
#   2. `bolwerk db compile` of the database (the cold compile; clamscan has
#      no equivalent);
#   3. warm load: bolwerk mapping the engine image it cached on an
#      unmeasured first run (and, 3b, the image from row 2 with -d) + scan
#      one tiny file, against clamscan's load of row 1;
#   4. scan CORPUS with one thread: clamscan against bolwerk --threads 1
#      (warm image);
#   5. scan CORPUS with all threads: `clamdscan --multiscan` against a clamd
#      started beforehand with the same database (its load is not counted;
#      the RSS column is clamd's resident memory after the scan, its peak
#      over its life is in the notes) against bolwerk's default (all cores,
#      warm image);
#   6. the ceiling: `cat` of every file of CORPUS to /dev/null, and
#      `rg -c -a -F LITERAL CORPUS` with one thread and with all.
# No size limits in rows 4-5 (--max-filesize=0 --max-scansize=0, and the
# same in clamd's config), so every tool reads every byte, as cat and rg do;
# both ClamAV and bolwerk open archives. MB/s = bytes of CORPUS's regular
# files / 10^6 / wall. Rows 1-3 are repeated RUNS times, rows 4-6
# SCAN_RUNS times; the table reports the median wall time and the largest
# peak RSS. Exit codes are checked against what each tool reported, and the
# infected-file counts of ClamAV and bolwerk are compared; a disagreement
# is printed as a **Warning** below the table, and the FOUND lines of the
# corpus scans are kept in BENCH_DATA/engine-found for a closer look.
#
# Usage (from anywhere; the script changes to the repository root):
#   bench/engine.sh
#   SCALE=0.01 RUNS=1 CORPUS=/usr/lib/git-core bench/engine.sh   # smoke run
# Environment:
#   SCALE       database size relative to the official databases (default 1.0)
#   RUNS        repetitions of rows 1-3 (default 3)
#   SCAN_RUNS   repetitions of rows 4-6 (default RUNS)
#   BENCH_DATA  cache directory for generated data (default ~/.cache/bolwerk-bench)
#   CORPUS      directories of real files to scan, separated by spaces (default
#               "/usr/lib/x86_64-linux-gnu /usr/lib/llvm-14 /usr/lib/git-core")
#   PLANT       directory whose files get planted signatures (default
#               /usr/lib/git-core; should lie inside CORPUS)
#   LITERAL     the literal rg counts (default: the start of the EICAR string)
#   CLAMD       clamd binary (default /usr/sbin/clamd)
# Requires: clamscan, clamd and clamdscan (Debian packages clamav,
# clamav-daemon), rg (ripgrep), /usr/bin/time (package time), python3, cargo.
# Progress goes to stderr; the markdown table goes to stdout.
set -euo pipefail
export LC_ALL=C

cd "$(dirname "$0")/.."
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
REPO_ROOT=$(pwd)

SCALE=${SCALE:-1.0}
RUNS=${RUNS:-3}
SCAN_RUNS=${SCAN_RUNS:-$RUNS}
BENCH_DATA=${BENCH_DATA:-$HOME/.cache/bolwerk-bench}
CORPUS=${CORPUS:-/usr/lib/x86_64-linux-gnu /usr/lib/llvm-14 /usr/lib/git-core}
PLANT=${PLANT:-/usr/lib/git-core}
LITERAL=${LITERAL:-X5O!P%@AP[4}
CLAMD=${CLAMD:-/usr/sbin/clamd}
GEN=../shared/tools/gen-clamdb
TIME=/usr/bin/time

# shellcheck source=bench/lib.sh
. bench/lib.sh

# ---------------------------------------------------------------- prerequisites
[[ -x $TIME ]] || die "$TIME not found; install it with: apt-get install time"
command -v clamscan >/dev/null || die "clamscan not found; install it with: apt-get install clamav"
command -v clamdscan >/dev/null || die "clamdscan not found; install it with: apt-get install clamav-daemon"
[[ -x $CLAMD ]] || die "clamd not found at $CLAMD; install it with: apt-get install clamav-daemon"
command -v rg >/dev/null || die "rg not found; install it with: apt-get install ripgrep"
command -v python3 >/dev/null || die "python3 not found"
command -v cargo >/dev/null || die "cargo not found"
[[ -f $GEN ]] || die "$GEN not found (expected next to the repository, at $REPO_ROOT/$GEN)"
read -ra CORPUS_DIRS <<<"$CORPUS"
((${#CORPUS_DIRS[@]})) || die "CORPUS names no directory"
for i in "${!CORPUS_DIRS[@]}"; do
    [[ -d ${CORPUS_DIRS[i]} ]] || die "CORPUS: ${CORPUS_DIRS[i]} is not a directory"
    CORPUS_DIRS[i]=$(cd "${CORPUS_DIRS[i]}" && pwd)
done
CORPUS=${CORPUS_DIRS[*]}
[[ -d $PLANT ]] || die "PLANT $PLANT is not a directory"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, got '$RUNS'"
[[ $SCAN_RUNS =~ ^[1-9][0-9]*$ ]] || die "SCAN_RUNS must be a positive integer, got '$SCAN_RUNS'"
PLANT=$(cd "$PLANT" && pwd)
inside=
for d in "${CORPUS_DIRS[@]}"; do
    [[ $PLANT/ == "$d"/* ]] && inside=1
done
[[ -n $inside ]] || log "note: PLANT $PLANT is not inside CORPUS; the corpus scans will find nothing planted"

# ---------------------------------------------------------------- data
mkdir -p "$BENCH_DATA"
BENCH_DATA=$(cd "$BENCH_DATA" && pwd)
SET=$BENCH_DATA/all-scale-$SCALE-plant$(printf '%s' "$PLANT" | tr '/' '-')
if [[ ! -f $SET/complete ]]; then
    log "generating the database of every kind at scale $SCALE, planted for $PLANT, in $SET/db (cached for later runs) ..."
    rm -rf "$SET"
    mkdir -p "$SET"
    python3 "$GEN" "$SET/db.tmp" --scale "$SCALE" --plant "$PLANT" >&2
    mv "$SET/db.tmp" "$SET/db"
    touch "$SET/complete"
fi
DB=$SET/db
SIGS=$(cat "$DB"/synth.* | wc -l)
SIGS_H=$(awk -v n="$SIGS" 'BEGIN {if (n >= 1e6) printf "%.1fM", n / 1e6; else if (n >= 1e3) printf "%.0fk", n / 1e3; else print n}')
KINDS=$(for f in "$DB"/synth.*; do printf '%s %s, ' "$(wc -l <"$f")" "${f##*.}"; done)
KINDS=${KINDS%, }
TINY=$BENCH_DATA/tiny.txt
[[ -s $TINY ]] || printf 'a small, harmless text file\n' >"$TINY"
FOUND_DIR=$BENCH_DATA/engine-found
mkdir -p "$FOUND_DIR"

# ---------------------------------------------------------------- build
BOLWERK=$(build_bolwerk)

# ---------------------------------------------------------------- measuring
WORK=$(mktemp -d)
CLAMD_PID=
cleanup() {
    if [[ -n $CLAMD_PID ]]; then
        kill "$CLAMD_PID" 2>/dev/null || true
        wait "$CLAMD_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
WARNINGS=()
ROWS=()
# bolwerk's engine cache starts empty and lives in the temporary directory.
export XDG_CACHE_HOME=$WORK/cache

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a != "" && b > 0) printf "%.1fx", a / b; else print "n/a"}'; }
mbps() { awk -v n="$CORPUS_BYTES" -v w="$1" 'BEGIN {if (w > 0) printf "%.1f", n / 1e6 / w; else print "n/a"}'; }

# add_row LABEL PEER_WALL PEER_RSS BOLWERK_WALL BOLWERK_RSS MBPS_PEER MBPS_BOLWERK
add_row() {
    local label=$1 pw=$2 pr=$3 bw=$4 br=$5 mp=$6 mb=$7 speedup rss_ratio
    speedup=$(ratio "$pw" "$bw")
    rss_ratio=$(ratio "$pr" "$br")
    [[ $pw == n/a || $bw == n/a ]] && speedup=n/a
    [[ $pr == n/a || $br == n/a ]] && rss_ratio=n/a
    ROWS+=("| $label | $pw | $pr | $bw | $br | $speedup | $rss_ratio | $mp | $mb |")
}

# compare_found LABEL PEER_NAME BOLWERK_NAME: warn if the infected files differ,
# with a few examples, and keep both lists in FOUND_DIR.
compare_found() {
    local label=$1 peer=$2 ours=$3 n
    cp "$WORK/found.$peer" "$FOUND_DIR/$peer.txt"
    cp "$WORK/found.$ours" "$FOUND_DIR/$ours.txt"
    # Compare the file paths (what is before the last ": ").
    sed 's/: [^:]* FOUND$//' "$WORK/found.$peer" | sort -u >"$WORK/paths.$peer"
    sed 's/: [^:]* FOUND$//' "$WORK/found.$ours" | sort -u >"$WORK/paths.$ours"
    if ! cmp -s "$WORK/paths.$peer" "$WORK/paths.$ours"; then
        local only_peer only_ours
        only_peer=$(comm -23 "$WORK/paths.$peer" "$WORK/paths.$ours" | head -n 3 | tr '\n' ' ')
        only_ours=$(comm -13 "$WORK/paths.$peer" "$WORK/paths.$ours" | head -n 3 | tr '\n' ' ')
        n=$(comm -3 "$WORK/paths.$peer" "$WORK/paths.$ours" | wc -l)
        WARNINGS+=("$label: $peer reported $(wc -l <"$WORK/found.$peer") infected files, bolwerk $(wc -l <"$WORK/found.$ours"); $n paths differ (only $peer, e.g.: ${only_peer:-none}; only bolwerk, e.g.: ${only_ours:-none}; lists in $FOUND_DIR)")
    fi
}

log "warming the page cache (database and corpus) ..."
cat "$DB"/synth.* "$TINY" >/dev/null
find "${CORPUS_DIRS[@]}" -type f -print0 | xargs -0 cat >/dev/null
CORPUS_FILES=$(find "${CORPUS_DIRS[@]}" -type f | wc -l)
CORPUS_BYTES=$(find "${CORPUS_DIRS[@]}" -type f -printf '%s\n' | awk '{n += $1} END {printf "%d", n}')
CORPUS_H=$(awk -v n="$CORPUS_BYTES" 'BEGIN {printf "%.2f GB", n / 1e9}')
LIMITS=(--max-filesize=0 --max-scansize=0)

# 1. Load + one tiny file, cold.
log "1. load the database + scan a tiny file (clamscan; bolwerk --no-cache) ..."
measure clamscan-load "$RUNS" found clamscan --no-summary -d "$DB" "$TINY"
C_LOAD_WALL=$M_WALL C_LOAD_RSS=$M_RSS
measure bolwerk-cold "$RUNS" found "$BOLWERK" clamscan --no-builtin --no-cache --no-summary -d "$DB" "$TINY"
add_row "1. load DB ($SIGS_H sigs) + scan 1 tiny file: clamscan vs bolwerk cold (\`--no-cache\`, parses)" \
    "$C_LOAD_WALL" "$C_LOAD_RSS" "$M_WALL" "$M_RSS" "" ""

# 2. Cold compile.
log "2. bolwerk db compile ..."
IMAGE=$WORK/engine.bwdb
measure bolwerk-compile "$RUNS" 0 "$BOLWERK" db compile --no-builtin -o "$IMAGE" "$DB"
IMAGE_MB=$(awk -v n="$(stat -c %s "$IMAGE")" 'BEGIN {printf "%.0f", n / 1048576}')
add_row "2. \`bolwerk db compile\` of the DB (cold compile; clamscan has no equivalent; image $IMAGE_MB MiB)" \
    n/a n/a "$M_WALL" "$M_RSS" "" ""

# 3. Warm load.
log "3. warm load: bolwerk maps its cached image (an unmeasured run fills the cache) ..."
"$BOLWERK" clamscan --no-builtin --no-summary -d "$DB" "$TINY" >/dev/null 2>&1 || true
measure bolwerk-warm "$RUNS" found "$BOLWERK" clamscan --no-builtin --no-summary -d "$DB" "$TINY"
add_row "3. warm load + scan 1 tiny file: clamscan (row 1) vs bolwerk mapping its cached image" \
    "$C_LOAD_WALL" "$C_LOAD_RSS" "$M_WALL" "$M_RSS" "" ""
measure bolwerk-image "$RUNS" found "$BOLWERK" clamscan --no-builtin --no-summary -d "$IMAGE" "$TINY"
add_row "3b. the same, bolwerk given the image of row 2 (\`-d engine.bwdb\`)" \
    "$C_LOAD_WALL" "$C_LOAD_RSS" "$M_WALL" "$M_RSS" "" ""

# 4. Corpus, one thread.
log "4. scan $CORPUS with one thread ..."
measure clamscan-corpus "$SCAN_RUNS" found clamscan --no-summary -r "${LIMITS[@]}" -d "$DB" "${CORPUS_DIRS[@]}"
C_WALL=$M_WALL C_RSS=$M_RSS
measure bolwerk-corpus-1t "$SCAN_RUNS" found "$BOLWERK" clamscan --no-builtin --no-summary --threads 1 -r "${LIMITS[@]}" -d "$DB" "${CORPUS_DIRS[@]}"
add_row "4. scan the corpus, 1 thread: clamscan vs bolwerk \`--threads 1\` (warm image)" \
    "$C_WALL" "$C_RSS" "$M_WALL" "$M_RSS" "$(mbps "$C_WALL")" "$(mbps "$M_WALL")"
compare_found "row 4" clamscan-corpus bolwerk-corpus-1t

# 5. Corpus, all threads: clamdscan --multiscan against a running clamd.
log "5. starting clamd with the same database (its load is not measured) ..."
mkdir -p "$WORK/clamd-db" "$WORK/clamd-tmp"
ln -s "$DB"/synth.* "$WORK/clamd-db/"
CLAMD_SOCK=$WORK/clamd.sock
cat >"$WORK/clamd.conf" <<CONF
Foreground yes
DatabaseDirectory $WORK/clamd-db
LocalSocket $CLAMD_SOCK
LogFile $WORK/clamd.log
TemporaryDirectory $WORK/clamd-tmp
SelfCheck 0
MaxFileSize 0
MaxScanSize 0
CONF
# As root, clamd would switch to its own user (clamav), which may not read the corpus.
if ((EUID == 0)); then echo "User root" >>"$WORK/clamd.conf"; fi
"$CLAMD" -c "$WORK/clamd.conf" >"$WORK/clamd.out" 2>&1 &
CLAMD_PID=$!
ping_clamd() {
    python3 - "$CLAMD_SOCK" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect(sys.argv[1])
s.sendall(b'zPING\0'); sys.exit(0 if s.recv(16).startswith(b'PONG') else 1)
PY
}
t0=$EPOCHREALTIME
until ping_clamd; do
    kill -0 "$CLAMD_PID" 2>/dev/null || die "clamd exited: $(tail -n 5 "$WORK/clamd.log" "$WORK/clamd.out" 2>/dev/null | tr '\n' ' ')"
    if awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {exit !(b - a > 900)}'; then die "clamd did not answer within 900 s"; fi
    sleep 0.2
done
CLAMD_START=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}')
log "  clamd answers after ${CLAMD_START}s, $(awk '/^VmRSS/ {printf "%d MiB", $2 / 1024}' "/proc/$CLAMD_PID/status")"
log "5. scan $CORPUS with all threads ..."
measure clamdscan-multiscan "$SCAN_RUNS" found clamdscan --config-file="$WORK/clamd.conf" --multiscan --no-summary "${CORPUS_DIRS[@]}"
D_WALL=$M_WALL
D_RSS=$(awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$CLAMD_PID/status")
D_HWM=$(awk '/^VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$CLAMD_PID/status")
kill "$CLAMD_PID"
wait "$CLAMD_PID" 2>/dev/null || true
CLAMD_PID=
measure bolwerk-corpus-all "$SCAN_RUNS" found "$BOLWERK" clamscan --no-builtin --no-summary -r "${LIMITS[@]}" -d "$DB" "${CORPUS_DIRS[@]}"
add_row "5. scan the corpus, all threads: \`clamdscan --multiscan\` (clamd's RSS after the scan) vs bolwerk (warm image)" \
    "$D_WALL" "$D_RSS" "$M_WALL" "$M_RSS" "$(mbps "$D_WALL")" "$(mbps "$M_WALL")"
compare_found "row 5" clamdscan-multiscan bolwerk-corpus-all
compare_found "rows 4 and 5 (bolwerk)" bolwerk-corpus-1t bolwerk-corpus-all

# 6. The ceiling.
log "6. the ceiling: cat and rg over $CORPUS ..."
# shellcheck disable=SC2016 # $1 is expanded by that sh
measure cat "$SCAN_RUNS" 0 sh -c 'find "$@" -type f -print0 | xargs -0 cat >/dev/null' sh "${CORPUS_DIRS[@]}"
add_row "6. ceiling: \`cat\` of every file of the corpus to /dev/null (in the ClamAV columns)" \
    "$M_WALL" "$M_RSS" n/a n/a "$(mbps "$M_WALL")" ""
measure rg-1t "$SCAN_RUNS" "0 1" rg -j1 -c -a -F --no-messages "$LITERAL" "${CORPUS_DIRS[@]}"
RG1_WALL=$M_WALL RG1_RSS=$M_RSS
measure rg-all "$SCAN_RUNS" "0 1" rg -c -a -F --no-messages "$LITERAL" "${CORPUS_DIRS[@]}"
add_row "6b. ceiling: \`rg -c -a -F LITERAL\`, 1 thread (ClamAV columns) and all threads (bolwerk columns)" \
    "$RG1_WALL" "$RG1_RSS" "$M_WALL" "$M_RSS" "$(mbps "$RG1_WALL")" "$(mbps "$M_WALL")"

# ---------------------------------------------------------------- report
CPU=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
MEM=$(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
echo "| task | ClamAV wall (s) | ClamAV peak RSS (MiB) | bolwerk wall (s) | bolwerk peak RSS (MiB) | speed-up | RSS ratio | ClamAV MB/s | bolwerk MB/s |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
echo "Machine: $(nproc) CPUs, ${CPU:-unknown CPU}, $MEM RAM. Date: $(date -u '+%Y-%m-%d %H:%M UTC')." \
    "Load average at start: $LOAD_AT_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg)." \
    "$(clamscan --version) (clamscan, clamd, clamdscan) vs $("$BOLWERK" --version); $(rg --version | head -n 1)."
echo "Database: $SIGS signatures at scale $SCALE ($KINDS), planted for the files of $PLANT." \
    "Corpus: $CORPUS ($CORPUS_FILES files, $CORPUS_H); page cache warm; no size limits (\`--max-filesize=0 --max-scansize=0\`; clamd: \`MaxFileSize 0\`, \`MaxScanSize 0\`)."
echo "Rows 1-3: median wall time of $RUNS runs; rows 4-6: of $SCAN_RUNS; RSS is the maximum over runs." \
    "speed-up = ClamAV wall / bolwerk wall; RSS ratio = ClamAV RSS / bolwerk RSS (above 1: bolwerk is faster / uses less); MB/s = corpus bytes / 10^6 / wall." \
    "Row 5: clamd with its default MaxThreads (10), started beforehand (answered after ${CLAMD_START} s), RSS after the scan ${D_RSS} MiB, peak over its life (load included) ${D_HWM} MiB."
echo "Command: \`SCALE=$SCALE RUNS=$RUNS SCAN_RUNS=$SCAN_RUNS CORPUS='$CORPUS' PLANT=$PLANT BENCH_DATA=$BENCH_DATA bench/engine.sh\`" \
    "(clamscan and \`bolwerk clamscan --no-builtin\` get the same ARGS; LITERAL was \`$LITERAL\`)."
if ((${#WARNINGS[@]})); then
    echo
    for w in "${WARNINGS[@]}"; do
        echo "**Warning:** $w"
    done
fi
