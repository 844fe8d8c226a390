#!/bin/sh
# check_bench_targets.sh -- the verdicts `make bench` prints on its targets
#
# Feeds contrib/bench/bench-targets.awk a table, facts, store-bench and
# rule-bench output whose figures are known, and checks each target's
# verdict and figure: met at the bound, a miss within 5% said as such, the
# worst connection count deciding, what was not run said as such. Prints
# one line per case and then "N passed, N failed"; exits 1 if any failed.
set -u

top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
targets=$top/contrib/bench/bench-targets.awk
LC_ALL=C
export LC_ALL

passed=0
failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check_bench_targets.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# bench-table.awk's columns: label conns msgs/s p50 p99 CPU% RSS anon err
# x-same p99-x x-env flt/msg
cat > "$tmp/table" <<'EOF'
target                 conns    msgs/s   p50 ms   p99 ms   CPU%  RSS MB anon MB   err  x same  p99 x  x env flt/msg
null-envelope              8     10000    0.800    1.500    110     2.2     0.4     0       -      -      -       -
null-envelope             64     10000    6.800   15.000    110     3.0     1.2     0       -      -      -       -
null-envelope            512      8000   60.000  120.000    110     6.0     3.0     0       -      -      -       -
at-bound                   8      9000    1.000    2.000    120     5.0     4.0     0    0.95   1.50   0.90    0.01
at-bound                  64      9000    9.000   20.000    120     8.0    16.0     0    0.95   1.20   0.90    0.01
at-bound                 512      8100   90.000  150.000    120    20.0    17.0     0    0.95   1.20   1.01    0.30
near                       8      8700    1.000    2.000    120     5.0     4.0     0    0.95   1.10   0.87    0.01
near                      64      9500    9.000   20.000    120     8.0    16.1     0    0.95   1.55   0.95    0.01
near                     512      7700   90.000  150.000    120    20.0    17.0     2    0.95   1.20   1.01    0.30
far                        8      8000    1.000    2.000    120     5.0     4.0     0    0.95   1.10   0.80    0.01
far                       64      9500    9.000   20.000    120     8.0     4.0     0    0.95   1.80   0.95    0.01
far                      512      6000   90.000  150.000    120    20.0    17.0     0    0.95   1.20   1.01    0.30
new-ok                     8      9000    1.000    2.000    120     5.0     4.0     0    0.95   1.10   0.90    0.01
new-ok                    64      9000    9.000   20.000    120     8.0     4.0     0    0.95   1.10   0.90    0.01
new-near                   8      8600    1.000    2.000    120     5.0     4.0     0    0.95   1.10   0.86    0.01
new-near                  64      9500    9.000   20.000    120     8.0     4.0     0    0.95   1.10   0.95    0.01
new-x                      8      8000    1.000    2.000    120     5.0     4.0     0    0.95   1.10   0.80    0.01
new-x                     64      8000    9.000   20.000    120     8.0     4.0     0    0.93   1.10   0.80    0.01
new-y                      8      9000    1.000    2.000    120     5.0     4.0     0    0.80   1.10   0.90    0.01
new-y                     64      9000    9.000   20.000    120     8.0     4.0     0    0.80   1.10   0.90    0.01
new-z                      8      9000    1.000    2.000    120     5.0     4.0     0    0.99   1.10   0.90    0.01
new-z                     64      8600    9.000   20.000    120     8.0     4.0     0       -   1.10   0.86    0.01
eight                      8      9000    1.000    2.000    120     5.0     4.0     0    0.95      -   0.90    0.01
kv                         8      6500    1.000    2.000    120     5.0     4.0     0    0.70   1.10   0.65    0.01
kv                        64      5900    9.000   20.000    120     8.0     5.0     0    0.60   1.10   0.59    0.01
kv                       512      5500   90.000  150.000    120    20.0    17.0     0    0.95   1.20   0.69    0.30
kv2                        8      6500    1.000    2.000    120     5.0     4.0     0    0.70   1.10   0.65    0.01
rspamd                     8      2000    4.000    6.000    190   230.0   130.0     0    0.30   1.10   0.20       -
rspamd                    64      2500   29.700   36.000    190   240.0   140.0     0    0.30   1.10   0.25       -
quick                      8      9500    1.000    2.000    190   230.0   130.0     0    0.30   1.10   0.95       -
quick                     64      8000    1.000    2.000    190   230.0   130.0     0    0.30   1.10   0.80       -
EOF

cat > "$tmp/facts" <<'EOF'
goal at-bound pass
goal near pass
goal far pass
goal new-ok new at-bound
goal new-near new near
goal new-x new at-bound
goal new-y new at-bound
goal new-z new at-bound
mask at-bound 0xff3f0
mask new-x 0xff3f0
mask new-y 0xf73f0
mask new-z 0xff3f0
goal eight pass
goal kv redis
goal kv2 redis
evalsha kv 8 1.0000
evalsha kv 64 1.0080
evalsha kv 512 1.0000
evalsha kv2 8 2.0000
soak at-bound 64 1000640 16384 0
soak near 64 1000640 17000 0
soak far 64 1000640 20480 0
soak new-ok 64 1000640 4096 3
soak kv 64 500000 5000 0
peer rspamd
peer quick
EOF

cat > "$tmp/store" <<'EOF'
lmdb   grey flood: 1000000 new triplets in 3.1s, 324992/s
         1000000 entries, 67.3 MB in use, file 68.0 MB on disk (256.0 MB as ls shows it)
EOF

cat > "$tmp/store-small" <<'EOF'
lmdb   grey flood: 100000 new triplets in 0.2s, 464960/s
         100000 entries, 6.7 MB in use, file 6.7 MB on disk (256.0 MB as ls shows it)
EOF

cat > "$tmp/store-big" <<'EOF'
lmdb   grey flood: 1000000 new triplets in 3.1s, 324992/s
         1000000 entries, 257.0 MB in use, file 265.0 MB on disk (265.0 MB as ls shows it)
EOF

cat > "$tmp/rule" <<'EOF'
cidr      1000 entries:     21294431 lookups/s  (47 ns each, 37 hits)
cidr    100000 entries:     10491509 lookups/s  (95 ns each, 2987 hits)
domain     1000 names made alone: 75 ns each (50707463 bytes), left out below
domain    1000 entries:      6487098 lookups/s  (154 ns each, 250410 hits)
domain   100000 names made alone: 74 ns each (54710385 bytes), left out below
domain  100000 entries:      3215089 lookups/s  (311 ns each, 249787 hits)
eval: 500 rules over 1000-entry tables, 0 matching: 61040 evaluations/s (16.4 us each)
load: 100k cidr + 100k domain entries + 500 rules: 0.050 s
eval: 500 rules over 100000-entry tables, 0 matching: 59261 evaluations/s (16.9 us each)
EOF

cat > "$tmp/rule-slow" <<'EOF'
load: 100k cidr + 100k domain entries + 500 rules: 1.200 s
EOF

# run STORE RULE: the targets of the table and facts above
run() {
	awk -f "$targets" "$tmp/table" "$tmp/facts" "$1" "$2" > "$tmp/out" 2>&1
}

# expect CASE TARGET ROW "VERDICT|FIGURE": the line whose target starts
# with TARGET and whose row is ROW
expect() {
	got=$(awk -v t="$2" -v r="$3" '
	    function trim(s) { sub(/^ +/, "", s); sub(/ +$/, "", s); return s }
	    index($0, t) == 1 && trim(substr($0, 42, 15)) == r {
		print trim(substr($0, 58, 13)) "|" trim(substr($0, 72)) }' \
	    "$tmp/out")
	if [ "$got" = "$4" ]; then
		echo "ok: $1"
		passed=$((passed + 1))
	else
		echo "FAIL: $1: $2 / $3: got \"$got\", want \"$4\""
		sed 's/^/    /' "$tmp/out"
		failed=$((failed + 1))
	fi
}

run "$tmp/store" "$tmp/rule"
expect "ratio at the floor" "pass path >= 0.9x" at-bound \
    "met|0.90x at 8, 0.90x at 64"
expect "the worse count decides, within 5%" "pass path >= 0.9x" near \
    "missed (<5%)|0.87x at 8, 0.95x at 64"
expect "a miss beyond 5%" "pass path >= 0.9x" far \
    "missed|0.80x at 8, 0.95x at 64"
expect "one count measured" "pass path >= 0.9x" eight \
    "met|0.90x at 8, - at 64"
expect "p99 at the ceiling" "p99 <= 1.5x" at-bound \
    "met|1.50x at 8, 1.20x at 64"
expect "p99 within 5% over" "p99 <= 1.5x" near \
    "missed (<5%)|1.10x at 8, 1.55x at 64"
expect "p99 far over" "p99 <= 1.5x" far "missed|1.10x at 8, 1.80x at 64"
expect "p99 not measured" "p99 <= 1.5x" eight "not run|- at 8, - at 64"
expect "Redis floor, within 5%" "Redis pass path >= 0.6x" kv \
    "missed (<5%)|0.65x at 8, 0.59x at 64"
expect "one EVALSHA per recipient, 1% either way" \
    "Redis: 1 EVALSHA per recipient" kv \
    "met|1.00 at 8, 1.01 at 64, 1.00 at 512"
expect "two EVALSHA per recipient" "Redis: 1 EVALSHA per recipient" kv2 \
    "missed|2.00 at 8"
expect "new sender as fast" "new sender no slower than at-bound" new-ok \
    "met|+0% at 8, +0% at 64 in msgs/s"
expect "new sender slower at one count" \
    "new sender no slower than near" new-near \
    "missed (<5%)|-1% at 8, +0% at 64 in msgs/s"
expect "new sender, same steps: judged on x same" \
    "new sender no slower than at-bound" new-x \
    "missed (<5%)|+0% at 8, -2% at 64 against the same-steps null milter (msgs/s -11%, -11%)"
expect "new sender, other steps: judged on msgs/s" \
    "new sender no slower than at-bound" new-y \
    "met|+0% at 8, +0% at 64 in msgs/s"
expect "new sender, an x same missing: judged on msgs/s" \
    "new sender no slower than at-bound" new-z \
    "missed (<5%)|+0% at 8, -4% at 64 in msgs/s"
expect "the peer's own figures" "rspamd (issue: 0.2x, 200 MiB)" rspamd \
    "shown|0.20x, 0.25x of null-envelope at 8, 64; p50 29.7 ms, RSS 240 MiB at 64"
expect "faster than the peer" "faster than rspamd, same run" at-bound \
    "met|4.5x at 8, 3.6x at 64"
expect "faster than the peer, on Redis" "faster than rspamd, same run" kv \
    "met|3.2x at 8, 2.4x at 64"
expect "faster than the peer, one count" "faster than rspamd, same run" \
    eight "met|4.5x at 8"
expect "slower than a peer at one count" "faster than quick, same run" \
    at-bound "missed|0.9x at 8, 1.1x at 64"
expect "a new-sender row is not held to it" "faster than rspamd, same run" \
    new-ok ""
expect "RssAnon at the bound" "RssAnon <= 16 MiB, 64 conns, short" \
    at-bound "met|16.0 MiB"
expect "RssAnon over it" "RssAnon <= 16 MiB, 64 conns, short" near \
    "missed (<5%)|16.1 MiB"
expect "RssAnon not at 64" "RssAnon <= 16 MiB, 64 conns, short" eight \
    "not run|-"
expect "soak at the bound" "RssAnon <= 16 MiB, 64 conns, 1 M" at-bound \
    "met|16.0 MiB after 1000640 messages (16.0 after the short run)"
expect "soak within 5% over" "RssAnon <= 16 MiB, 64 conns, 1 M" near \
    "missed (<5%)|16.6 MiB after 1000640 messages (16.1 after the short run)"
expect "soak far over" "RssAnon <= 16 MiB, 64 conns, 1 M" far \
    "missed|20.0 MiB after 1000640 messages (4.0 after the short run)"
expect "soak with errors" "RssAnon <= 16 MiB, 64 conns, 1 M" new-ok \
    "missed|4.0 MiB after 1000640 messages (4.0 after the short run), 3 errors and timeouts"
expect "soak short of a million" "RssAnon <= 16 MiB, 64 conns, 1 M" kv \
    "not run|4.9 MiB after 500000 messages (5.0 after the short run)"
expect "scaling: a gain" "8 -> 512 connections: falls" at-bound \
    "met|-10.0%"
expect "scaling: within 5 points" "8 -> 512 connections: falls" near \
    "missed (<5%)|-11.5%"
expect "scaling: beyond" "8 -> 512 connections: falls" far \
    "missed|-25.0%"
expect "scaling: no 512 run" "8 -> 512 connections: falls" eight \
    "not run|-"
expect "the yardstick's own fall" "8 -> 512 connections (the yardstick)" \
    null-envelope "-|-20.0%"
expect "no errors at 512" "no error or timeout" at-bound \
    "met|0 errors and timeouts"
expect "errors at 512" "no error or timeout" near \
    "missed|2 errors and timeouts"
expect "a million greylist entries" "1 M greylist entries" store-bench \
    "met|68.0 MiB for 1000000 entries"
expect "load time" "load 100k tables" rule-bench "met|0.050 s"
expect "lookups shown" "rules, lookups: 1,000 vs 100,000" rule-bench \
    "shown|rules 16.4 -> 16.9 us (x1.0), cidr 47 -> 95 ns (x2.0), domain 154 -> 311 ns (x2.0)"

run "$tmp/store-small" "$tmp/rule-slow"
expect "fewer than a million entries" "1 M greylist entries" store-bench \
    "not run|6.7 MiB for 100000 entries"
expect "slow load" "load 100k tables" rule-bench "missed|1.200 s"
expect "no lookups" "rules, lookups: 1,000 vs 100,000" rule-bench "not run|-"

run "$tmp/store-big" /dev/null
expect "too big on disk" "1 M greylist entries" store-bench \
    "missed (<5%)|265.0 MiB for 1000000 entries"
expect "no rule-bench" "load 100k tables" rule-bench "not run|-"

# no run at 512 connections: one line for each of its targets
grep -v ' 512 ' "$tmp/table" > "$tmp/table-8-64"
awk -f "$targets" "$tmp/table-8-64" "$tmp/facts" "$tmp/store" "$tmp/rule" \
    > "$tmp/out" 2>&1
expect "scaling not run" "8 -> 512 connections: falls" - \
    'not run|BENCH_CONNS="8 64 512"'
expect "errors at 512 not run" "no error or timeout" - \
    'not run|BENCH_CONNS="8 64 512"'

# no soak: the target is said not run
grep -v '^soak ' "$tmp/facts" > "$tmp/facts-nosoak"
awk -f "$targets" "$tmp/table" "$tmp/facts-nosoak" "$tmp/store" "$tmp/rule" \
    > "$tmp/out" 2>&1
expect "no soak" "RssAnon <= 16 MiB, 64 conns, 1 M" - \
    "not run|a row marked soak, BENCH_SOAK=1000000"

# no peer measured: the target is said not run
grep -v '^peer ' "$tmp/facts" > "$tmp/facts-nopeer"
awk -f "$targets" "$tmp/table" "$tmp/facts-nopeer" "$tmp/store" "$tmp/rule" \
    > "$tmp/out" 2>&1
expect "no peer" "faster than rspamd, same run" - \
    "not run|rspamd not installed or BENCH_PEERS=0"

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
