#!/bin/sh
# contrib/bench/bench.sh -- `make bench`: filterd against null milters
#
# usage: bench.sh BUILDDIR [SRCDIR]
#
# Starts, on loopback, each daemon in turn and drives it with loadgen for a
# few seconds at each connection count, then prints one table:
#
#   null-every      libmilter filter taking every step, replying to each
#   null-envelope   libmilter filter taking only the envelope, no replies
#                   but at end of message (libmilter's ceiling)
#   ROW             filterd on a config made from contrib/bench/*.conf.in
#   null-0xMASK     a null milter negotiating exactly the steps ROW's
#                   filterd negotiated (its protocol mask, read with
#                   fd-mtest -n), measured right after ROW
#   rspamd          the peer: rspamd in milter mode, greylisting, rate
#                   limits and HELO checks on Redis, when installed
#                   (contrib/bench/rspamd-peer.ucl.in)
#
# with msgs/s, latency per message (p50, p99), the daemon's CPU (percent of
# one core) and memory, errors and timeouts, and the ratios: msgs/s and p99
# against the same-steps null milter ("x same", "p99 x") and msgs/s against
# null-envelope ("x env"); contrib/bench/bench-table.awk makes the table.
# Then it runs contrib/bench/store-bench and contrib/bench/rule-bench if
# they were built, and last prints the targets of docs/PERFORMANCE.md, each
# with its figure and "met" or "missed" (contrib/bench/bench-targets.awk).
#
# A config template is filterd.conf text with @SOCKET@, @STATE_DIR@,
# @PLUGIN_DIR@, @BUILDDIR@, @SRCDIR@ and @REDIS_URL@ (a private
# redis-server is started for templates that use it) and lines
#   #bench: row NAME [keys=N] [prime=SECS] [rcpts=R] [goal=G] [soak]
# each making a row: keys=N gives loadgen --keys N (N clients, each with
# its own HELO, sender and recipient); prime=SECS first shows filterd each
# of them once (loadgen --sweep) on a clock file (filterd -T) set SECS
# seconds in the past, then restarts filterd on the real clock with the
# same store, so greylisted triplets pass and the measured run does not
# pay for the test clock (a file read per clock reading); rcpts=R sends R
# recipients per message; goal=pass, goal=redis or goal=new:PASSROW names
# the targets the row is held to (the pass path on the embedded store, on
# Redis, the new-sender path against PASSROW); soak runs the row once more
# at the end, at 64 connections for BENCH_SOAK messages, for its memory
# afterwards. A row whose filterd is not
# built, whose config does not load or whose plugin is missing is skipped
# with a note.
#
# Environment:
#   BENCH_FULL=1    1, 8, 64 and 512 connections, 20 s per run, the full
#                   store-bench
#   BENCH_CONNS     connection counts (default "8 64")
#   BENCH_SECS      seconds per measured run (default 4)
#   BENCH_ROWS      only rows whose name matches this extended regex
#   BENCH_REPEAT=N  measure each filterd row N times, each time followed
#                   by its same-steps null milter and by null-envelope,
#                   and print the medians; a ratio is then the row's
#                   median over the median of the null runs made right
#                   after its runs (on a shared machine one run can be
#                   10-20% off, and its speed drifts over a long bench)
#   BENCH_SOAK=N    messages in the memory run of each row marked "soak"
#                   (64 connections; default 1000000, 0 for none)
#   BENCH_PEERS=0   leave out the peer (rspamd, when installed: a row
#                   "rspamd" taken as issue 9 describes it, and the
#                   target "faster than rspamd")
#   BENCH_KEEP=1    keep the scratch directory with every log
# A default run takes about five minutes on two cores, two of them the
# memory run.

set -u

build=${1:?usage: bench.sh BUILDDIR [SRCDIR]}
src=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
LG=$build/contrib/bench/loadgen
NM=$build/contrib/bench/null-milter
MT=$build/tests/mclient/fd-mtest
FD=$build/filterd/filterd

if [ "${BENCH_FULL:-0}" = 1 ]; then
	conns_def="1 8 64 512"; secs_def=20
else
	conns_def="8 64"; secs_def=4
fi
CONNS=${BENCH_CONNS:-$conns_def}
SECS=${BENCH_SECS:-$secs_def}
REPEAT=${BENCH_REPEAT:-1}
SOAK=${BENCH_SOAK:-1000000}

for p in "$LG" "$NM" "$MT"; do
	if [ ! -x "$p" ]; then
		echo "bench: $p is not built; run make first" >&2
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fdbench.XXXXXX") || exit 1
results=$tmp/results		# bench-table.awk's input: a line per run
PAIR=-				# the measurement a run belongs to
FDLOG=				# filterd_start's log; empty: the row's filterd.log
notes=$tmp/notes
facts=$tmp/facts		# bench-targets.awk's: rows' goals, masks, EVALSHA counts
: > "$results"
: > "$notes"
: > "$facts"
pids=""
started=$(date +%s)

cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	for p in $pids; do
		wait "$p" 2>/dev/null
	done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: logs kept in $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

note() {
	echo "$*" >> "$notes"
	echo "bench: $*" >&2
}

# start_bg LOG CMD...: run in the background; its pid in BGPID
start_bg() {
	log=$1
	shift
	"$@" > "$log" 2>&1 < /dev/null &
	BGPID=$!
	pids="$pids $BGPID"
}

# wait_ready SPEC PID [TENTHS]: until a milter answers OPTNEG on SPEC,
# for at most TENTHS tenths of a second (100)
wait_ready() {
	i=0
	while [ $i -lt "${3:-100}" ]; do
		kill -0 "$2" 2>/dev/null || return 1
		"$MT" -n -t 300 "$1" > /dev/null 2>&1 < /dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# stop_bg PID [SPEC]: SIGTERM, then SIGKILL after 10 s. A connection to
# SPEC now and then wakes libmilter, which looks at its stop flag only
# every 5 seconds otherwise.
stop_bg() {
	kill "$1" 2>/dev/null || return 0
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do
		if [ -n "${2:-}" ] && [ $((i % 5)) -eq 1 ]; then
			"$MT" -n -t 200 "$2" > /dev/null 2>&1 < /dev/null
		fi
		sleep 0.1
		i=$((i + 1))
	done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	pids=$(echo " $pids " | sed "s/ $1 / /")
}

# run_load LABEL KIND SPEC PID CONNS REF [LOADGEN ARGS...]: one row
run_load() {
	label=$1 kind=$2 spec=$3 pid=$4 conns=$5 ref=$6
	shift 6
	warm=$((conns * 10))
	[ $warm -lt 200 ] && warm=200
	out=$tmp/load-$label-$conns.txt
	printf '  %-24s %4s connections ...' "$label" "$conns" >&2
	"$LG" -s "$spec" -c "$conns" -d "$SECS" -w "$warm" -p "$pid" \
	    -l "$label" "$@" > "$out" 2>&1 < /dev/null
	line=$(grep '^RESULT' "$out")
	if [ -z "$line" ]; then
		echo " failed" >&2
		note "$label at $conns connections: loadgen failed: $(tail -1 "$out")"
		return 1
	fi
	set -- $(echo "$line" | tr ' ' '\n' | sed -n \
	    -e 's/^rate=//p' -e 's/^p50_ms=//p' -e 's/^p99_ms=//p' \
	    -e 's/^cpu_pct=//p' -e 's/^rss_kb=//p' -e 's/^rssanon_kb=//p' \
	    -e 's/^errors=//p' -e 's/^timeouts=//p' -e 's/^faults=//p')
	# sed prints in the order of the line: rate p50 p99 errors timeouts
	# cpu rss anon faults
	echo "$label $kind $conns $1 $2 $3 $6 $7 $8 $(($4 + $5)) $ref ${9:--1}" \
	    "$PAIR" >> "$results"
	echo " $1 msg/s" >&2
	if [ $(($4 + $5)) -gt 0 ]; then
		note "$label at $conns connections: $4 errors, $5 timeouts: $(grep -o 'last: .*' "$out" | head -1)"
	fi
	LOADMSGS=$(echo "$line" | tr ' ' '\n' | sed -n 's/^msgs=//p')
	return 0
}

# free_port: a TCP port free on 127.0.0.1 now
free_port() {
	"$MT" -F
}

# null_row LABEL CONNS REF MILTER-ARGS -- LOADGEN-ARGS: a null milter row
null_row() {
	label=$1 conns=$2
	shift 3
	port=$(free_port)
	nspec="inet:$port@127.0.0.1"
	margs=""
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		margs="$margs $1"
		shift
	done
	[ $# -gt 0 ] && shift
	start_bg "$tmp/$label-$conns.log" "$NM" -p "$nspec" $margs
	npid=$BGPID
	if ! wait_ready "$nspec" "$npid"; then
		note "$label: null-milter did not start: $(tail -1 "$tmp/$label-$conns.log")"
		stop_bg "$npid"
		return 1
	fi
	run_load "$label" null "$nspec" "$npid" "$conns" - "$@"
	stop_bg "$npid" "$nspec"
}

# redis_start DIR: a private redis-server; REDIS_URL and RPORT, RPID
redis_start() {
	rs=${REDIS_SERVER:-$(command -v redis-server || echo /usr/bin/redis-server)}
	if [ ! -x "$rs" ]; then
		return 1
	fi
	RPORT=$(free_port)
	start_bg "$1/redis.log" "$rs" --port "$RPORT" --bind 127.0.0.1 \
	    --save "" --appendonly no --dir "$1"
	RPID=$BGPID
	i=0
	while [ $i -lt 100 ]; do
		redis-cli -p "$RPORT" ping 2>/dev/null < /dev/null | grep -q PONG &&
		    break
		sleep 0.1
		i=$((i + 1))
	done
	REDIS_URL="redis://127.0.0.1:$RPORT/0"
	return 0
}

# redis_calls: "ALL EVALSHA" commands the private Redis ran since the last
# reset (the bench's own INFO and CONFIG left out)
redis_calls() {
	redis-cli -p "$RPORT" info commandstats 2>/dev/null < /dev/null |
	    sed -n 's/^cmdstat_\([a-z|]*\):calls=\([0-9]*\),.*/\1 \2/p' |
	    awk '$1 != "info" && $1 != "config" && $1 != "ping" { n += $2 }
		$1 == "evalsha" { e += $2 }
		END { print n + 0, e + 0 }'
}

# redis_top: the four most called commands, "name calls, ..."
redis_top() {
	redis-cli -p "$RPORT" info commandstats 2>/dev/null < /dev/null |
	    sed -n 's/^cmdstat_\([a-z|]*\):calls=\([0-9]*\),.*/\2 \1/p' |
	    grep -v ' info$\| config|' | sort -rn | head -4 |
	    awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }'
}

# filterd_start TEMPLATE NAME CONNS OPTIONS: write the row's config, start
# its redis-server if it needs one, prime filterd if asked, and start it
# on the real clock: fspec, fpid, redis (redis-server's pid or ""), keys
# and rcpts for the caller
filterd_start() {
	tpl=$1 name=$2 conns=$3
	shift 3
	keys="" prime="" rcpts=1
	for o in "$@"; do
		case $o in
		keys=*) keys=${o#keys=} ;;
		prime=*) prime=${o#prime=} ;;
		rcpts=*) rcpts=${o#rcpts=} ;;
		goal=pass|goal=redis|goal=new:?*|soak) ;;
		*) note "$name: unknown option $o" ;;
		esac
	done
	dir=$tmp/$name-$conns
	mkdir -p "$dir/state" && chmod 700 "$dir/state"
	port=$(free_port)
	fspec="inet:$port@127.0.0.1"
	redis=""
	if grep -v '^#' "$tpl" | grep -q '@REDIS_URL@'; then
		if ! redis_start "$dir"; then
			note "$name: skipped, no redis-server"
			return 1
		fi
		redis=$RPID
	fi
	sed -e "s|@SOCKET@|$fspec|g" -e "s|@STATE_DIR@|$dir/state|g" \
	    -e "s|@PLUGIN_DIR@|$build/plugins/.libs|g" \
	    -e "s|@BUILDDIR@|$build|g" -e "s|@SRCDIR@|$src|g" \
	    -e "s|@REDIS_URL@|${REDIS_URL:-}|g" "$tpl" > "$dir/filterd.conf"
	if ! "$FD" -t -c "$dir/filterd.conf" > "$dir/check.txt" 2>&1 \
	    < /dev/null; then
		note "$name: skipped, config not accepted: $(head -1 "$dir/check.txt")"
		[ -n "$redis" ] && stop_bg "$redis"
		return 1
	fi
	if [ -n "$prime" ]; then
		# show filterd every client SECS seconds ago, on a test clock
		echo $(($(date +%s) - prime - 5)) > "$dir/clock"
		start_bg "$dir/prime.log" "$FD" -f -c "$dir/filterd.conf" \
		    -T "$dir/clock"
		fpid=$BGPID
		if ! wait_ready "$fspec" "$fpid"; then
			note "$name: skipped, filterd did not start: $(tail -1 "$dir/prime.log")"
			stop_bg "$fpid"
			[ -n "$redis" ] && stop_bg "$redis"
			return 1
		fi
		"$LG" -s "$fspec" -c 8 -n "${keys:-1000}" --sweep \
		    --keys "${keys:-1000}" --rcpts-per-msg "$rcpts" -q \
		    -l prime > "$dir/prime.txt" 2>&1 < /dev/null
		stop_bg "$fpid" "$fspec"
	fi
	start_bg "${FDLOG:-$dir/filterd.log}" "$FD" -f -c "$dir/filterd.conf"
	fpid=$BGPID
	if ! wait_ready "$fspec" "$fpid"; then
		note "$name: skipped, filterd did not start: $(tail -1 "${FDLOG:-$dir/filterd.log}")"
		stop_bg "$fpid"
		[ -n "$redis" ] && stop_bg "$redis"
		return 1
	fi
	return 0
}

# redis_note NAME CONNS RCPTS: what NAME's first run at CONNS asked of
# its private redis-server since the last reset: a note, and its EVALSHA
# calls per recipient in the facts
redis_note() {
	msgs=$((LOADMSGS + warm))
	calls=$(redis_calls)
	note "$1 at $2 connections: $(echo "$calls" | awk -v m="$msgs" -v r="$3" '{ d = m * r; printf "INFO commandstats: %d calls (calls inside scripts included), %d EVALSHA for %d messages x %d recipients: %.2f (%.2f EVALSHA) per recipient", $1, $2, m, r, d ? $1 / d : 0, d ? $2 / d : 0 }'); most called: $(redis_top)"
	echo "$calls" | awk -v n="$1" -v c="$2" -v m="$msgs" -v r="$3" '{
		d = m * r; if (d) printf "evalsha %s %s %.4f\n", n, c, $2 / d }' \
	    >> "$facts"
}

# measure_row NAME KIND SPEC PIDS CONNS MASK RCPTS [LOADGEN ARGS...]: the
# daemon on SPEC measured REPEAT times at CONNS; repeated, each run is
# followed by the null milter taking the same steps (MASK) and by
# null-envelope, one pair: the ratios divide by the medians of these
# (bench-table.awk). With a private redis-server (redis set) the first
# run's commands are noted; ROW_HOOK, if set, names a function run after
# the first run. ref_once then measures the same-steps null milter of a
# row run once.
measure_row() {
	mr_name=$1 mr_kind=$2 mr_spec=$3 mr_pids=$4 mr_conns=$5 mr_mask=$6
	mr_rcpts=$7
	shift 7
	# run_load and null_row set their own globals: ours are mr_*
	mr_ref=null-$mr_mask
	[ "$mr_rcpts" != 1 ] && mr_ref=$mr_ref-r$mr_rcpts
	[ -n "$redis" ] && redis-cli -p "$RPORT" config resetstat \
	    > /dev/null 2>&1 < /dev/null
	rep=1
	while [ $rep -le "$REPEAT" ]; do
		[ "$REPEAT" -gt 1 ] && PAIR=$mr_name/$mr_conns/$rep
		if run_load "$mr_name" "$mr_kind" "$mr_spec" "$mr_pids" \
		    "$mr_conns" "$mr_ref" "$@" && [ $rep = 1 ]; then
			[ -n "$redis" ] &&
			    redis_note "$mr_name" "$mr_conns" "$mr_rcpts"
			[ -n "${ROW_HOOK:-}" ] && "$ROW_HOOK"
		fi
		if [ "$REPEAT" -gt 1 ] && [ -n "$mr_mask" ]; then
			null_row "$mr_ref" "$mr_conns" - -P "${mr_mask#0x}" -- \
			    --rcpts-per-msg "$mr_rcpts"
			null_row null-envelope "$mr_conns" - -m envelope --
		fi
		PAIR=-
		rep=$((rep + 1))
	done
}

# ref_once: after measure_row run once, its same-steps null milter, once
# per mask and count in the whole bench
ref_once() {
	if [ "$REPEAT" = 1 ] && [ -n "$mr_mask" ] &&
	    ! grep -q "^$mr_ref $mr_conns\$" "$tmp/refs" 2>/dev/null; then
		echo "$mr_ref $mr_conns" >> "$tmp/refs"
		null_row "$mr_ref" "$mr_conns" - -P "${mr_mask#0x}" -- \
		    --rcpts-per-msg "$mr_rcpts"
	fi
}

# filterd_row TEMPLATE NAME CONNS OPTIONS: start filterd on the config,
# prime it if asked, measure, then measure the same-steps null milter
filterd_row() {
	for o in "$@"; do
		case $o in
		goal=pass|goal=redis) echo "goal $2 ${o#goal=}" >> "$facts" ;;
		goal=new:?*) echo "goal $2 new ${o#goal=new:}" >> "$facts" ;;
		esac
	done
	filterd_start "$@" || return 1
	mask=$("$MT" -n "$fspec" 2>/dev/null < /dev/null |
	    sed -n 's/^protocol \(0x[0-9a-f]*\).*/\1/p')
	[ -n "$mask" ] && echo "mask $name $mask" >> "$facts"
	if [ "$conns" = "$first_conns" ]; then
		note "$name negotiates: $("$MT" -n "$fspec" 2>/dev/null < /dev/null | grep '^protocol')"
	fi
	set -- --rcpts-per-msg "$rcpts"
	[ -n "$keys" ] && set -- "$@" --keys "$keys"
	measure_row "$name" filterd "$fspec" "$fpid" "$conns" "$mask" \
	    "$rcpts" "$@"
	stop_bg "$fpid" "$fspec"
	[ -n "$redis" ] && stop_bg "$redis"
	ref_once
	return 0
}

# rspamd_start: the peer issue 9 names, rspamd in milter mode with only
# greylisting, rate limits and HELO checks, on its own redis-server and
# a private unbound for its HELO lookups (contrib/bench/rspamd-peer.ucl.in);
# rspec, rpid, rpids (its processes, comma-separated), ubpid, redis and
# mask for the caller. Not installed or not started: a note, and 1.
rspamd_start() {
	rsp=${RSPAMD:-$(command -v rspamd || echo /usr/bin/rspamd)}
	ub=${UNBOUND:-$(command -v unbound || echo /usr/sbin/unbound)}
	if [ ! -x "$rsp" ]; then
		note "rspamd: not measured, not installed (apt-get install rspamd)"
		return 1
	fi
	if [ ! -x "$ub" ]; then
		note "rspamd: not measured, no unbound for its HELO lookups"
		return 1
	fi
	dir=$tmp/rspamd
	mkdir -p "$dir/db" "$dir/run"
	if ! redis_start "$dir"; then
		note "rspamd: not measured, no redis-server"
		return 1
	fi
	redis=$RPID
	dport=$(free_port)
	cat > "$dir/unbound.conf" <<-EOF
	server:
	  interface: 127.0.0.1
	  port: $dport
	  do-ip6: no
	  do-daemonize: no
	  chroot: ""
	  username: ""
	  directory: "$dir"
	  pidfile: ""
	  use-syslog: no
	  num-threads: 1
	  access-control: 127.0.0.0/8 allow
	  module-config: "iterator"
	  local-zone: "." static
	remote-control:
	  control-enable: no
	EOF
	start_bg "$dir/unbound.log" "$ub" -d -c "$dir/unbound.conf"
	ubpid=$BGPID
	mport=$(free_port)
	sed -e "s|@DIR@|$dir|g" -e "s|@DNS_PORT@|$dport|g" \
	    -e "s|@REDIS_PORT@|$RPORT|g" -e "s|@MILTER_PORT@|$mport|g" \
	    -e "s|@NORMAL_PORT@|$(free_port)|g" \
	    "$src/contrib/bench/rspamd-peer.ucl.in" > "$dir/rspamd.conf"
	rspec="inet:$mport@127.0.0.1"
	# -i: rspamd refuses to run its workers as root without it
	start_bg "$dir/rspamd.out" "$rsp" -f -i -c "$dir/rspamd.conf" \
	    --var DBDIR="$dir/db" --var RUNDIR="$dir/run" --var LOGDIR="$dir"
	rpid=$BGPID
	# it compiles its URL and regex tables first: up to a minute
	if ! wait_ready "$rspec" "$rpid" 600; then
		note "rspamd: not measured, did not start: $(grep -v '^$' "$dir/rspamd.log" "$dir/rspamd.out" 2>/dev/null | tail -1)"
		stop_bg "$rpid"
		stop_bg "$ubpid"
		stop_bg "$redis"
		return 1
	fi
	# the main process and its workers, all started by now
	rpids=$rpid$(pgrep -P "$rpid" | sed 's/^/,/' | tr -d '\n')
	mask=$("$MT" -n "$rspec" 2>/dev/null < /dev/null |
	    sed -n 's/^protocol \(0x[0-9a-f]*\).*/\1/p')
	note "rspamd negotiates: $("$MT" -n "$rspec" 2>/dev/null < /dev/null | grep '^protocol')"
	return 0
}

# peer_rspamd: rspamd measured as a filterd row is, at each count: a row
# "rspamd", its CPU and memory summed over its processes, its same-steps
# null milter reading the whole message
peer_rspamd() {
	rspamd_start || return 1
	echo "peer rspamd" >> "$facts"
	ROW_HOOK=peer_memory
	for c in $CONNS; do
		measure_row rspamd peer "$rspec" "$rpids" "$c" "$mask" 1 \
		    --keys 2000
		ref_once
	done
	ROW_HOOK=
	stop_bg "$rpid" "$rspec"
	stop_bg "$ubpid"
	stop_bg "$redis"
	return 0
}

# peer_memory: the peer's memory after measure_row's first run, summed
# over its processes two ways: RSS counts a page they share once per
# process (what the table shows), PSS shares it out (what they take
# together)
peer_memory() {
	mem=$(for p in $(echo "$mr_pids" | tr ',' ' '); do
		cat "/proc/$p/smaps_rollup" 2>/dev/null
	done | awk -v n="$(echo "$mr_pids" | tr ',' '\n' | wc -l)" '
		$1 == "Rss:" { r += $2 } $1 == "Pss:" { p += $2 }
		END { printf "%d processes, RSS %.1f MiB summed, PSS %.1f MiB (shared pages counted once)", n, r / 1024, p / 1024 }')
	note "$mr_name at $mr_conns connections: $mem"
}

# soak_row TEMPLATE NAME OPTIONS: the row at 64 connections for SOAK
# messages, then filterd's RssAnon, as "soak NAME 64 MSGS KB ERRORS" in
# the facts: the memory target holds after a million messages, and a
# few seconds' run would not show a slow leak or a cache that grows
soak_row() {
	tpl=$1 sname=$2
	shift 2
	# a million decision lines would be some 400 MB of log
	FDLOG=/dev/null
	filterd_start "$tpl" "$sname-soak" 64 "$@" || { FDLOG=; return 1; }
	FDLOG=
	set -- --rcpts-per-msg "$rcpts"
	[ -n "$keys" ] && set -- "$@" --keys "$keys"
	out=$tmp/load-$sname-soak.txt
	printf '  %-24s %4s connections, %s messages ...' "$sname" 64 \
	    "$SOAK" >&2
	# bounded: a filterd that stopped answering would otherwise cost
	# each of the million messages loadgen's 10 s deadline
	timeout 1800 "$LG" -s "$fspec" -c 64 -n "$SOAK" -w 640 -p "$fpid" \
	    -l soak "$@" > "$out" 2>&1 < /dev/null
	stop_bg "$fpid" "$fspec"
	[ -n "$redis" ] && stop_bg "$redis"
	line=$(grep '^RESULT' "$out")
	if [ -z "$line" ]; then
		echo " failed" >&2
		note "$sname soak: loadgen failed: $(tail -1 "$out")"
		return 1
	fi
	fact=$(echo "$line" | tr ' ' '\n' | awk -F= -v n="$sname" '
		{ v[$1] = $2 }
		END { printf "soak %s 64 %d %d %d\n", n, v["msgs"] + 640,
		    v["rssanon_kb"], v["errors"] + v["timeouts"] }')
	echo "$fact" >> "$facts"
	echo " $(echo "$fact" | cut -d' ' -f5) kB RssAnon" >&2
	return 0
}

first_conns=${CONNS%% *}
echo "bench: $SECS s per run at $CONNS connections; $(nproc 2>/dev/null || echo '?') CPUs" >&2

# the yardsticks
for c in $CONNS; do
	null_row null-every "$c" - -m every --
done
for c in $CONNS; do
	null_row null-envelope "$c" - -m envelope --
done

# one row per `#bench: row` line of each template
for tpl in "$src"/contrib/bench/*.conf.in; do
	[ -f "$tpl" ] || continue
	base=$(basename "$tpl" .conf.in)
	grep '^#bench: row ' "$tpl" | sed 's/^#bench: row //' > "$tmp/rows"
	[ -s "$tmp/rows" ] || echo "$base" > "$tmp/rows"
	while read -r name opts; do
		if [ -n "${BENCH_ROWS:-}" ] &&
		    ! echo "$name" | grep -Eq "$BENCH_ROWS"; then
			continue
		fi
		if [ ! -x "$FD" ]; then
			note "$name: skipped, $FD is not built yet"
			continue
		fi
		for c in $CONNS; do
			# shellcheck disable=SC2086
			filterd_row "$tpl" "$name" "$c" $opts || break
		done
		case " $opts " in
		*" soak "*) [ "$SOAK" -gt 0 ] && echo "$tpl $name $opts" \
		    >> "$tmp/soaks" ;;
		esac
	done < "$tmp/rows"
done

# the peer, after filterd's rows and before the memory runs
if [ "${BENCH_PEERS:-1}" != 0 ] && { [ -z "${BENCH_ROWS:-}" ] ||
    echo rspamd | grep -Eq "$BENCH_ROWS"; }; then
	peer_rspamd
fi

# the memory runs, after the rows so that the table's figures are
# measured on a machine in the same state for every row
if [ -s "$tmp/soaks" ]; then
	while read -r tpl name opts; do
		# shellcheck disable=SC2086
		soak_row "$tpl" "$name" $opts
	done < "$tmp/soaks"
fi

echo
echo "make bench: $(uname -sr), $(nproc 2>/dev/null || echo '?') CPUs, $SECS s per run$([ "$REPEAT" -gt 1 ] && echo ", medians of $REPEAT runs"); loadgen and daemon share the machine"
awk -v env=null-envelope -f "$src/contrib/bench/bench-table.awk" "$results" \
    > "$tmp/table"
cat "$tmp/table"
if [ -s "$notes" ]; then
	echo
	sed 's/^/note: /' "$notes"
fi

# the store and rule benchmarks, when built
if [ -z "${REDIS_SERVER:-}" ] && command -v redis-server > /dev/null; then
	REDIS_SERVER=$(command -v redis-server)
	export REDIS_SERVER
fi
sb=$build/contrib/bench/store-bench
: > "$tmp/store-bench.txt"
if [ -x "$sb" ]; then
	echo
	echo "== store-bench"
	if [ "${BENCH_FULL:-0}" = 1 ]; then
		timeout 1800 "$sb" < /dev/null 2>&1
	else
		timeout 300 "$sb" --quick < /dev/null 2>&1
	fi | tee "$tmp/store-bench.txt"
fi
rb=$build/contrib/bench/rule-bench
: > "$tmp/rule-bench.txt"
if [ -x "$rb" ]; then
	echo
	echo "== rule-bench"
	timeout 300 "$rb" < /dev/null 2>&1 | tee "$tmp/rule-bench.txt"
fi

# the targets of docs/PERFORMANCE.md, from the figures above
echo
echo "== targets (one run is good to about 5%: BENCH_REPEAT=3 for medians)"
awk -f "$src/contrib/bench/bench-targets.awk" "$tmp/table" "$facts" \
    "$tmp/store-bench.txt" "$tmp/rule-bench.txt"
echo
echo "bench: done in $(($(date +%s) - started)) s"
