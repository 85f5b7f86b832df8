# shellcheck shell=bash
# bench/lib.sh — helpers the bench scripts share (sourced, not run).

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# build_bolwerk: build bolwerk in release mode (honouring CARGO_TARGET_DIR)
# and print the binary's path.
build_bolwerk() {
    log "building bolwerk (release) ..."
    cargo build --release --locked -p bolwerk >&2
    local dir
    dir=$(cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
    [[ -x $dir/release/bolwerk ]] || die "built binary not found at $dir/release/bolwerk"
    echo "$dir/release/bolwerk"
}

# hash_db DATA SCALE GEN: print the directory of the synthetic hash
# database (.hdb/.hsb/.mdb) at SCALE, generating it with GEN under DATA on
# first use (later runs and other scripts reuse it).
hash_db() {
    local data=$1 scale=$2 gen=$3
    local set=$data/hash-scale-$scale
    if [[ ! -f $set/complete ]]; then
        log "generating hash database at scale $scale in $set/db (cached for later runs) ..."
        rm -rf "$set"
        mkdir -p "$set"
        python3 "$gen" "$set/db.tmp" --only hdb,hsb,mdb --scale "$scale" >&2
        mv "$set/db.tmp" "$set/db"
        touch "$set/complete"
    fi
    echo "$set/db"
}

# measure NAME RUNS EXPECT CMD... : run CMD RUNS times; sets M_WALL (median s),
# M_RSS (max MiB) and M_FOUND (FOUND lines of the last run), keeps the FOUND lines of the last run in
# $WORK/found.NAME, and records a warning if the exit code does not match what
# the tool reported or the count changes between runs. EXPECT is "found" (exit
# 0 with nothing found, 1 otherwise, as the scanners do), or a list of
# accepted exit codes such as "0 1". Needs TIME, WORK and WARNINGS set.
# shellcheck disable=SC2034 # M_WALL, M_RSS and M_FOUND are for the caller.
measure() {
    local name=$1 runs=$2 expect=$3; shift 3
    local walls=() rss_max=0 i rc found prev_found=
    for ((i = 1; i <= runs; i++)); do
        rc=0
        local t0=$EPOCHREALTIME t1 wall elapsed kib
        "$TIME" -f '%e %M' -o "$WORK/time" "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
        t1=$EPOCHREALTIME
        read -r elapsed kib < <(tail -n 1 "$WORK/time")
        wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
        walls+=("$wall")
        if ((kib > rss_max)); then rss_max=$kib; fi
        grep ' FOUND$' "$WORK/out" | sort >"$WORK/found.$name" || true
        found=$(wc -l <"$WORK/found.$name")
        log "  $name run $i/$runs: ${wall}s (time: ${elapsed}s), $((kib / 1024)) MiB, exit $rc, $found found"
        if [[ $expect == found ]]; then
            local expected=0
            if ((found > 0)); then expected=1; fi
            if ((rc != expected)); then
                WARNINGS+=("$name exited $rc (expected $expected with $found found): $(head -c 300 "$WORK/err" | tr '\n' ' ')")
            fi
        elif [[ " $expect " != *" $rc "* ]]; then
            WARNINGS+=("$name exited $rc (expected one of: $expect): $(head -c 300 "$WORK/err" | tr '\n' ' ')")
        fi
        if [[ -n $prev_found && $prev_found != "$found" ]]; then
            WARNINGS+=("$name found $prev_found then $found infected files in repeated runs")
        fi
        prev_found=$found
    done
    M_WALL=$(printf '%s\n' "${walls[@]}" | sort -g |
        awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}')
    M_RSS=$(awk -v k="$rss_max" 'BEGIN {printf "%.1f", k / 1024}')
    M_FOUND=$found
}
