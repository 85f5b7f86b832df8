#!/usr/bin/env bash
# bolwerk daemon against clamd (Debian's clamav-daemon), measured in the same
# run with the same database: idle RSS, peak RSS during a RELOAD (of the
# same databases, and after they changed), reload time, and INSTREAM
# requests per second for a small and a 10 MB file at 1,
# 8 and 64 concurrent clients, and MULTISCAN (what `clamdscan -m` sends) of
# a directory twice: the first scan, and the rescan of the unchanged files
# that both daemons answer from their clean-result caches. Everything runs
# on Unix sockets in a temporary directory.
#
#   DB=/var/lib/clamav SECS=5 RESCAN=/usr/lib/python3 bench/daemon.sh
#
# DB: a database file or directory (default: test-3.cvd from the shared
# corpora); SECS: seconds per throughput cell; LEVELS: client counts;
# RESCAN: the directory scanned twice (default /usr/lib/python3); BOLWERK:
# a bolwerk binary to measure (default: build one in release). The
# INSTREAM cells send the same bytes again and again, so after the first
# request of a cell both daemons answer from their caches too.
set -euo pipefail
cd "$(dirname "$0")/.."

DB="${DB:-../shared/corpora/clamav/test-3.cvd}"
SECS="${SECS:-5}"
LEVELS="${LEVELS:-1 8 64}"
CLAMD="${CLAMD:-/usr/sbin/clamd}"
[ -x "$CLAMD" ] || { echo "clamd missing: apt-get install clamav-daemon" >&2; exit 2; }

RESCAN="${RESCAN:-/usr/lib/python3}"
[ -d "$RESCAN" ] || { echo "RESCAN $RESCAN is not a directory" >&2; exit 2; }
RESCAN="$(cd "$RESCAN" && pwd)"
if [ -z "${BOLWERK:-}" ]; then
  cargo build --release --locked --quiet -p bolwerk
  BOLWERK="${CARGO_TARGET_DIR:-$PWD/target}/release/bolwerk"
fi
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# bolwerk's engine cache starts empty: its first start parses the databases,
# writes the compiled image and maps it.
export XDG_CACHE_HOME="$work/cache"
mkdir -p "$work/db"
if [ -d "$DB" ]; then cp -r "$DB"/. "$work/db/"; else cp "$DB" "$work/db/"; fi
printf 'X5O!P%%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' > "$work/small"
head -c $((10 << 20)) /dev/urandom > "$work/large"

cat > "$work/client.py" <<'PY'
import socket, struct, sys, threading, time
cmd, sock = sys.argv[1], sys.argv[2]
def ask(req, timeout=600):
    s = socket.socket(socket.AF_UNIX); s.settimeout(timeout); s.connect(sock)
    s.sendall(req); out = b''
    while True:
        b = s.recv(65536)
        if not b: return out
        out += b
if cmd == 'ping':
    print(ask(b'zPING\0', 2).decode(errors='replace'))
elif cmd == 'reload':
    # Time from RELOAD to the log's "reloaded" line; the largest RSS seen.
    pid, log = sys.argv[3], sys.argv[4]
    rss = lambda: int([l for l in open('/proc/%s/status' % pid) if l.startswith('VmRSS')][0].split()[1])
    before = open(log, errors='replace').read().count('reloaded')
    peak = rss(); t0 = time.time(); ask(b'zRELOAD\0')
    while open(log, errors='replace').read().count('reloaded') <= before:
        peak = max(peak, rss()); time.sleep(0.002)
    print('%.3f %d' % (time.time() - t0, max(peak, rss())))
elif cmd == 'multiscan':
    # Seconds for one MULTISCAN of a directory, and the FOUND lines.
    t0 = time.time(); out = ask(b'zMULTISCAN ' + sys.argv[3].encode() + b'\0')
    print('%.3f %d' % (time.time() - t0, out.count(b' FOUND')))
elif cmd == 'load':
    path, clients, secs = sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    data = open(path, 'rb').read()
    req = b'zINSTREAM\0' + b''.join(struct.pack('>I', len(data[i:i+65536])) + data[i:i+65536]
                                    for i in range(0, len(data), 65536)) + b'\0\0\0\0'
    ok = [0]; bad = [0]; end = time.time() + secs; lock = threading.Lock()
    def run():
        while time.time() < end:
            try: r = ask(req); good = r.startswith(b'stream: ')
            except Exception: good = False
            with lock:
                if good: ok[0] += 1
                else: bad[0] += 1
    ts = [threading.Thread(target=run) for _ in range(clients)]
    t0 = time.time(); [t.start() for t in ts]; [t.join() for t in ts]
    print('%.1f %d' % (ok[0] / (time.time() - t0), bad[0]))
PY

rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

start() { # name command... ; sets $pid and $sock
  local name="$1"; shift
  sock="$work/$name.sock"
  cat > "$work/$name.conf" <<CONF
Foreground yes
User root
DatabaseDirectory $work/db
LocalSocket $sock
LogFile $work/$name.log
TemporaryDirectory $work
StreamMaxLength 20M
SelfCheck 0
CONF
  "$@" -c "$work/$name.conf" >/dev/null 2>&1 &
  pid=$!; pids+=("$pid")
  for _ in $(seq 600); do
    python3 "$work/client.py" ping "$sock" 2>/dev/null | grep -q PONG && return 0
    sleep 0.1
  done
  echo "$name did not start" >&2; exit 1
}

reload() { # pid sock log -> "seconds peak_rss_kib"
  python3 "$work/client.py" reload "$2" "$1" "$3"
}

declare -A res
for name in clamd bolwerk; do
  if [ "$name" = clamd ]; then start clamd "$CLAMD"; else start bolwerk "$BOLWERK" daemon; fi
  sleep 1
  res[$name,idle]=$(rss "$pid")
  read -r secs peak < <(reload "$pid" "$sock" "$work/$name.log")
  res[$name,reload]=$secs; res[$name,peak]=$peak
  touch "$work"/db/*
  read -r secs peak < <(reload "$pid" "$sock" "$work/$name.log")
  res[$name,reload2]=$secs; res[$name,peak2]=$peak
  res[$name,idle2]=$(rss "$pid")
  read -r secs found < <(python3 "$work/client.py" multiscan "$sock" "$RESCAN")
  res[$name,scan1]=$secs; res[$name,found1]=$found
  read -r secs found < <(python3 "$work/client.py" multiscan "$sock" "$RESCAN")
  res[$name,scan2]=$secs; res[$name,found2]=$found
  for f in small large; do
    for n in $LEVELS; do
      read -r rps bad < <(python3 "$work/client.py" load "$sock" "$work/$f" "$n" "$SECS")
      res[$name,$f,$n]=$rps; res[$name,$f,$n,bad]=$bad
    done
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
done

echo "| measure | clamd | bolwerk |"
echo "|---|---:|---:|"
echo "| idle RSS (MiB) | $((res[clamd,idle] / 1024)) | $((res[bolwerk,idle] / 1024)) |"
echo "| peak RSS during RELOAD (MiB) | $((res[clamd,peak] / 1024)) | $((res[bolwerk,peak] / 1024)) |"
echo "| reload time (s) | ${res[clamd,reload]} | ${res[bolwerk,reload]} |"
echo "| peak RSS during RELOAD after the databases changed (MiB) | $((res[clamd,peak2] / 1024)) | $((res[bolwerk,peak2] / 1024)) |"
echo "| reload time after the databases changed (s) | ${res[clamd,reload2]} | ${res[bolwerk,reload2]} |"
echo "| RSS after that reload (MiB) | $((res[clamd,idle2] / 1024)) | $((res[bolwerk,idle2] / 1024)) |"
echo "| MULTISCAN of RESCAN (s; FOUND lines) | ${res[clamd,scan1]}; ${res[clamd,found1]} | ${res[bolwerk,scan1]}; ${res[bolwerk,found1]} |"
echo "| MULTISCAN of RESCAN again, files unchanged (s; FOUND lines) | ${res[clamd,scan2]}; ${res[clamd,found2]} | ${res[bolwerk,scan2]}; ${res[bolwerk,found2]} |"
for f in small large; do
  for n in $LEVELS; do
    echo "| INSTREAM $f, $n clients (req/s; failed) | ${res[clamd,$f,$n]}; ${res[clamd,$f,$n,bad]} | ${res[bolwerk,$f,$n]}; ${res[bolwerk,$f,$n,bad]} |"
  done
done
echo
echo "Database: $DB. RESCAN: $RESCAN ($(find "$RESCAN" -type f | wc -l) files, $(du -sm "$RESCAN" | cut -f1) MiB). $(nproc) CPUs. $SECS s per cell. Load average: $(cut -d' ' -f1-3 /proc/loadavg). $(date -u '+%Y-%m-%d %H:%M UTC')."
