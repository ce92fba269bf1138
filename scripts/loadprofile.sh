#!/usr/bin/env bash
# Reproduces issue 16's load measurement with a CPU profile: the demo's
# dedicated server (demo/server: interest management, a budget, 60 ticks/s,
# 20 Hz snapshots) with a large world, netburi-load's bots against it over
# loopback, and, over a window once the bots are connected, the server's
# ticks per second, tick time p50/p99/max, its own CPU seconds per second
# and a CPU profile. Not part of `make test`. See BENCHMARKS.md.
#
#   scripts/loadprofile.sh -c 256 -p 2 -d 20            # a small check
#   scripts/loadprofile.sh -c 4095 -p 4 -d 60 -w 40     # the issue's size
#
# Flags (all optional):
#   -c N    bot clients (default 256; the server takes up to 4095)
#   -p N    bot processes (default 2)
#   -d SEC  how long each bot plays after it is accepted (default 20)
#   -w SEC  measurement window (default: -d minus 5 s, at least 5 s)
#   -n N    drones in the world (default 9988: with 12 gems and the bots'
#           ships, about 10,000 replicated entities and more)
#   -r PX   each player's view radius in pixels (default 0: the screen's,
#           608); the arena is fixed, so -r 80 gives each player about the
#           100 entities of 14,000 that a world ten times wider would
#   -i HZ   bot input rate (default 60, the demo's tick rate)
#   -t SEC  how long a bot may take to be accepted (default 60; thousands
#           of bots connect over tens of seconds)
#   -z MODE compression (default zlib; none, range_coder, fastlz, zstd, ...)
#   -o DIR  where logs and the profile go (default a new /tmp/loadprofile.*)
#
# The server runs without the demo's scoreboard rows (-standings=false):
# one per player to every player is N squared, a game's choice, not the
# transport's cost.
# The bots run at the lowest CPU priority (nice 19): on one machine they
# would otherwise take the server's cores (thousands of bots each stepping
# at 60 Hz outweigh one server), and the measurement is the server's.
# The bots share the machine with the server: read the server's CPU
# seconds per second beside its ticks per second.
set -euo pipefail

clients=256 procs=2 duration=20 window= drones=9988 radius=0 inputhz=60 connect=60 compress=zlib out=
while getopts "c:p:d:w:n:r:i:t:z:o:h" opt; do
  case $opt in
    c) clients=$OPTARG ;; p) procs=$OPTARG ;; d) duration=$OPTARG ;; w) window=$OPTARG ;;
    n) drones=$OPTARG ;; r) radius=$OPTARG ;; i) inputhz=$OPTARG ;; t) connect=$OPTARG ;; z) compress=$OPTARG ;; o) out=$OPTARG ;;
    *) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
[ -n "$window" ] || window=$(( duration > 10 ? duration - 5 : 5 ))
command -v curl >/dev/null || { echo "loadprofile: needs curl (scripts/setup.sh installs it)" >&2; exit 1; }
[ -r /proc/self/stat ] || { echo "loadprofile: needs Linux's /proc for the server's CPU time" >&2; exit 1; }

cd "$(dirname "$0")/.."
out=${out:-$(mktemp -d /tmp/loadprofile.XXXXXX)}
mkdir -p "$out"
echo "loadprofile: building into $out"
go build -o "$out/server" ./demo/server
go build -o "$out/netburi-load" ./cmd/netburi-load

server_pid= load_pid=
cleanup() {
  # Only the processes this script started, by their IDs.
  [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null || true
  [ -n "$server_pid" ] && kill -INT "$server_pid" 2>/dev/null || true
}
trap cleanup EXIT

"$out/server" -port 0 -bind 127.0.0.1 -max-clients "$clients" -drones "$drones" -view-radius "$radius" -standings=false -compress "$compress" \
  -metrics 127.0.0.1:0 -pprof 127.0.0.1:0 -status-every 1s -log-format json >"$out/server.log" 2>&1 &
server_pid=$!

# The ports the server chose, from its log.
for _ in $(seq 200); do
  grep -aq '"msg":"dedicated server ready"' "$out/server.log" && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$out/server.log" >&2; exit 1; }
  sleep 0.1
done
ready=$(grep -a '"msg":"dedicated server ready"' "$out/server.log") || { echo "loadprofile: server never ready" >&2; exit 1; }
port=$(sed -n 's/.*"udp_port":\([0-9]*\).*/\1/p' <<<"$ready")
metrics=$(sed -n 's/.*"metrics":"\([^"]*\)".*/\1/p' <<<"$ready")
pprof=$(sed -n 's|.*"msg":"profiles served","addr":"\([^"]*\)".*|\1|p' "$out/server.log")
echo "loadprofile: server pid $server_pid on udp 127.0.0.1:$port, metrics $metrics, profiles $pprof"

nice -n 19 "$out/netburi-load" -server "127.0.0.1:$port" -clients "$clients" -procs "$procs" -duration "${duration}s" \
  -input-hz "$inputhz" -connect-timeout "${connect}s" -compress "$compress" >"$out/load.txt" 2>"$out/load.err" &
load_pid=$!

connected() {
  curl -s "http://$metrics/metrics" | sed -n 's/^netburi_peers{state="connected"} \([0-9.e+]*\)$/\1/p' | awk '{printf "%d", $1}'
}
# The window starts once every bot is connected, or once the count has
# stopped growing for 5 s (a server that cannot take them all: measured at
# its plateau, not after the bots gave up), or at the connect timeout.
start=$(date +%s) best=0 grew=$(date +%s)
while :; do
  n=$(connected); n=${n:-0}
  [ "$n" -ge "$clients" ] && break
  kill -0 "$load_pid" 2>/dev/null || break
  now=$(date +%s)
  if [ "$n" -gt "$best" ]; then best=$n grew=$now; fi
  [ "$best" -gt 0 ] && [ $(( now - grew )) -ge 5 ] && break
  [ $(( now - start )) -ge $(( connect + 10 )) ] && break
  sleep 0.5
done
echo "loadprofile: $n of $clients bots connected; measuring ${window}s"

clk=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
lines_before=$(grep -ac '"msg":"status"' "$out/server.log" || true)
cpu0=$(cpu_ticks); t0=$(date +%s.%N)
curl -s -o "$out/cpu.pprof" "${pprof}profile?seconds=$window"
cpu1=$(cpu_ticks); t1=$(date +%s.%N)
n_end=$(connected)
grep -a '"msg":"status"' "$out/server.log" | tail -n +"$(( lines_before + 2 ))" >"$out/window.log" || true

wait "$load_pid" || echo "loadprofile: netburi-load exited with $?" >&2
load_pid=
kill -INT "$server_pid" 2>/dev/null || true
wait "$server_pid" || true
server_pid=

field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" "$out/window.log"; }
median() { sort -g | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]; else print "n/a"}'; }
maxof() { sort -g | tail -1; }
tps=$(field ticks_per_s | awk '{s+=$1} END {if (NR) printf "%.1f", s/NR; else print "n/a"}')
cat <<EOF

== netburi load profile ==
bots:            $clients in $procs processes, inputs at $inputhz Hz, $compress
world:           $drones drones, 12 gems and a ship per bot, interest management (view radius $radius px, 0: the screen's) and budget on
window:          ${window}s once $n of $clients bots were connected ($n_end at its end)
peers:           $(sed -n 's/.*"peers":\([0-9]*\).*/\1/p' "$out/window.log" | median) (median of the window's one-second counts)
server ticks/s:  $tps (goal 60)
tick p50:        $(field tick_p50_ms | median) ms (median of the window's one-second p50s)
tick p99:        $(field tick_p99_ms | median) ms (median of the one-second p99s; worst $(field tick_p99_ms | maxof) ms)
tick max:        $(field tick_max_ms | maxof) ms
server CPU:      $(awk -v a="$cpu0" -v b="$cpu1" -v c="$clk" -v s="$t0" -v e="$t1" 'BEGIN {printf "%.2f", (b-a)/c/(e-s)}') CPU seconds per second (of $(nproc) cores)
CPU profile:     $out/cpu.pprof (go tool pprof $out/server $out/cpu.pprof)

-- the server's top functions (flat) --
EOF
go tool pprof -top -nodecount=25 "$out/server" "$out/cpu.pprof" 2>/dev/null | sed -n '1,32p'
echo
echo "-- cumulative, the network system's steps --"
go tool pprof -top -cum -nodecount=400 "$out/server" "$out/cpu.pprof" 2>/dev/null |
  grep -E 'systems\.\(\*Network\)\.(ReceiveStep|SendStep|updatePeers|sendReplication|flushOutbox)|enethost|replication\.\(\*Server\)\.(Capture|scopedDatagrams|Datagrams)$|syscall' | head -15 || true
echo
echo "-- netburi-load's report --"
cat "$out/load.txt"
[ -s "$out/load.err" ] && { echo "-- netburi-load's stderr (last lines) --"; tail -5 "$out/load.err"; }
exit 0
