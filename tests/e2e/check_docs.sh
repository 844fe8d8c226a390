#!/bin/sh
# check_docs.sh -- the error messages docs/CONFIG.md shows are filterd's
#
# The block under *Errors* in docs/CONFIG.md is what `filterd -t` prints
# for tests/conf/doc/filterd.conf installed as
# /usr/local/etc/filterd/filterd.conf: the test runs filterd on the file
# where it stands, puts the installed directory in place of its own and
# compares the two byte for byte, so that a change to a message, a
# column or the order of the messages shows in the docs. Prints one line
# per check and then "N passed, N failed"; exits 1 if any failed, 99 if
# filterd was not built.
set -u

top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
filterd=${FILTERD:-$top/filterd/filterd}
conf=$top/tests/conf/doc/filterd.conf
shown=/usr/local/etc/filterd/
LC_ALL=C
export LC_ALL

if [ ! -x "$filterd" ]; then
	echo "check_docs: $filterd not found (make it first)" >&2
	exit 99
fi

passed=0
failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check_docs.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# report NAME - compare $tmp/want and $tmp/got
report() {
	if cmp -s "$tmp/want" "$tmp/got"; then
		echo "ok: $1"
		passed=$((passed + 1))
	else
		echo "FAIL: $1 (- docs, + filterd):"
		diff -u "$tmp/want" "$tmp/got" | sed -n '3,$s/^/    /p'
		failed=$((failed + 1))
	fi
}

# the first fenced block after the heading "## Errors"
awk '/^## /{ sec = $0 } sec == "## Errors" && /^```/ { n++; next }
    sec == "## Errors" && n == 1' "$top/docs/CONFIG.md" >"$tmp/want"

"$filterd" -t -c "$conf" >"$tmp/out" 2>&1
rc=$?
# a sed pattern matching the directory as it is written
dir=$(printf '%s\n' "${conf%/*}/" | sed 's/[][\.*^$|]/\\&/g')
sed "s|^$dir|$shown|" "$tmp/out" >"$tmp/got"
report "CONFIG.md, Errors: filterd -t on tests/conf/doc/filterd.conf"

echo 78 >"$tmp/want"
echo $rc >"$tmp/got"
report "filterd -t exits 78 on it"

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
