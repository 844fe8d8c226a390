#!/bin/sh
# check_bench_table.sh -- the ratios `make bench` prints
#
# Feeds contrib/bench/bench-table.awk runs whose figures are known and
# checks the table's columns: a repeated filterd row is divided by the
# median of the null runs of its own pairs (so a machine that slows down
# halfway through moves both sides of each ratio), not by the median of
# the ratios, a row without pairs by the medians of its references, a
# peer's row as a filterd row, and a missing reference gives "-". Prints
# one line per case and then "N passed, N failed"; exits 1 if any failed.
set -u

top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
table=$top/contrib/bench/bench-table.awk
LC_ALL=C
export LC_ALL

passed=0
failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check_bench_table.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# runs: label kind conns rate p50 p99 cpu rss anon err ref faults [pair]
# The yardstick first, unpaired; then three measurements of row "fd", the
# machine at half speed for the last two: 500 over the 550 of its pairs'
# null-envelope runs; the medians of every run would say 500 over 825.
cat > "$tmp/paired" <<'EOF'
null-envelope null 8 1100 0.1 1.0 90 1024 512 0 - 0.00 -
fd filterd 8 1000 0.1 2.2 95 2048 1024 0 null-0xff 0.02 fd/8/1
null-0xff null 8 1100 0.1 2.0 90 1024 512 0 - 0.00 fd/8/1
null-envelope null 8 1100 0.1 2.0 90 1024 512 0 - 0.00 fd/8/1
fd filterd 8 500 0.2 4.4 95 2048 1024 0 null-0xff 0.01 fd/8/2
null-0xff null 8 550 0.2 4.0 90 1024 512 0 - 0.00 fd/8/2
null-envelope null 8 550 0.2 4.0 90 1024 512 0 - 0.00 fd/8/2
fd filterd 8 480 0.2 4.8 95 2048 1024 1 null-0xff 0.03 fd/8/3
null-0xff null 8 520 0.2 4.0 90 1024 512 0 - 0.00 fd/8/3
null-envelope null 8 520 0.2 4.0 90 1024 512 0 - 0.00 fd/8/3
EOF

# the same runs written without pairs (the older 12-field lines): the
# medians of each label divide each other
cut -d' ' -f1-12 "$tmp/paired" > "$tmp/pooled"

# runs whose ratios' median (0.75) is not the ratio of the medians: 900
# over 1100
cat > "$tmp/medians" <<'EOF'
fd filterd 8 1000 0.1 1.0 95 2048 1024 0 - 0.02 fd/8/1
null-envelope null 8 1000 0.1 1.0 90 1024 512 0 - 0.00 fd/8/1
fd filterd 8 900 0.1 1.0 95 2048 1024 0 - 0.02 fd/8/2
null-envelope null 8 1200 0.1 1.0 90 1024 512 0 - 0.00 fd/8/2
fd filterd 8 800 0.1 1.0 95 2048 1024 0 - 0.02 fd/8/3
null-envelope null 8 1100 0.1 1.0 90 1024 512 0 - 0.00 fd/8/3
EOF

# a filterd row whose same-steps null milter never ran, at a count where
# null-envelope did not run either
cat > "$tmp/noref" <<'EOF'
null-envelope null 8 1000 0.1 1.0 90 1024 512 0 - 0.00
fd filterd 64 900 0.1 2.0 95 2048 1024 0 null-0xff 0.02
EOF

# a peer (another policy milter) is measured as a filterd row is: its
# ratios against its own same-steps null milter and against null-envelope
cat > "$tmp/peer" <<'EOF'
null-envelope null 8 1000 0.1 1.0 90 1024 512 0 - 0.00
rspamd peer 8 200 4.0 6.0 190 235520 133120 0 null-0xff080 -1
null-0xff080 null 8 800 0.1 3.0 90 1024 512 0 - 0.00
EOF

# expect CASE FILE LABEL CONNS "MSGS/S X-SAME P99-X X-ENV FLT ERR"
expect() {
	awk -v env=null-envelope -f "$table" "$2" > "$tmp/out" 2>&1
	got=$(awk -v l="$3" -v c="$4" '$1 == l && $2 == c {
		print $3, $10, $11, $12, $13, $9 }' "$tmp/out")
	if [ "$got" = "$5" ]; then
		echo "ok: $1"
		passed=$((passed + 1))
	else
		echo "FAIL: $1: $3 at $4: got \"$got\", want \"$5\""
		sed 's/^/    /' "$tmp/out"
		failed=$((failed + 1))
	fi
}

# msgs/s 500 over 550, p99 4.4 over 4.0
expect "paired ratios" "$tmp/paired" fd 8 "500 0.91 1.10 0.91 0.02 1"
expect "ratio of the pairs' medians" "$tmp/medians" fd 8 \
    "900 - - 0.82 0.02 0"
# null rows: medians of their own runs, no ratios
expect "null row" "$tmp/paired" null-0xff 8 "550 - - - 0.00 0"
expect "yardstick pooled over its runs" "$tmp/paired" null-envelope 8 \
    "825 - - - 0.00 0"
# unpaired: 500 / 550 and 500 / 825; p99 4.4 / 4.0
expect "pooled ratios" "$tmp/pooled" fd 8 "500 0.91 1.10 0.61 0.02 1"
expect "no reference" "$tmp/noref" fd 64 "900 - - - 0.02 0"
expect "a peer's ratios" "$tmp/peer" rspamd 8 "200 0.25 2.00 0.20 - 0"

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
