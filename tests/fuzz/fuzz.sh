#!/bin/sh
# fuzz.sh -- `make fuzz`: each libFuzzer target for FUZZ_SECS seconds
#
# usage: fuzz.sh BUILDDIR SRCDIR
#
# Each target's corpus is FUZZ_DIR/NAME (FUZZ_DIR a new temp dir unless
# set), started from its seeds; a finding is written as FUZZ_DIR/NAME-*
# (crash-, leak-, timeout-, oom-) and makes the run fail.
set -u
B=$1 S=$2
SECS=${FUZZ_SECS:-60}
DIR=${FUZZ_DIR:-}
[ -n "$DIR" ] || DIR=$(mktemp -d "${TMPDIR:-/tmp}/filterd-fuzz.XXXXXX")
mkdir -p "$DIR" || exit 1

# seed NAME FILE... - copy the files into NAME's corpus
seed() {
	name=$1
	shift
	mkdir -p "$DIR/$name"
	for f in "$@"; do
		[ -f "$f" ] && cp "$f" "$DIR/$name/seed-$(basename "$f")"
	done
}

# seed_table KIND FILE - a table seed: the kind's byte, then the file
seed_table() {
	mkdir -p "$DIR/table"
	{ printf "\\$(printf %03o "$1")"; cat "$2"; } \
	    > "$DIR/table/seed-$1-$(basename "$2")"
}

seed conf "$S"/contrib/filterd.conf "$S"/tests/conf/*.conf \
    "$S"/rules/default.rules
seed session "$S"/tests/fuzz/seeds/session/*
seed_table 0 "$S"/rules/trusted-networks.cidr
seed_table 2 "$S"/rules/generic-helo.pcre
seed_table 3 "$S"/rules/role-accounts.list
seed_table 1 "$S"/tests/fuzz/seeds/domains

rc=0
for name in conf session table; do
	echo "== fuzz_$name: $SECS s, corpus $DIR/$name"
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	"$B/tests/fuzz/fuzz_$name" -max_total_time="$SECS" -timeout=10 \
	    -rss_limit_mb=4096 -max_len=16384 \
	    -artifact_prefix="$DIR/$name-" "$DIR/$name" \
	    > "$DIR/$name.log" 2>&1
	st=$?
	grep -E '^Done|^#[0-9]+.*DONE' "$DIR/$name.log" | tail -1
	if [ "$st" -ne 0 ]; then
		echo "fuzz_$name: finding (exit $st); log $DIR/$name.log:"
		grep -E 'ERROR|SUMMARY|Test unit written' "$DIR/$name.log"
		rc=1
	fi
done
echo "corpora and logs in $DIR"
exit $rc
