# bench/lib.sh — helpers the bench scripts share (sourced, not run).

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

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
