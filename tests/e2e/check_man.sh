#!/bin/sh
# check_man.sh -- every man page in docs/ renders without a warning
#
# Each page must leave both linters silent: `groff -ww -man -z` (all
# warnings on, no output) and `mandoc -T lint`. The three pages filterd
# installs must exist. Prints one line per page and then
# "N passed, N failed"; exits 1 if any page failed, 99 if groff or
# mandoc is missing (77 with FD_ALLOW_SKIP=1, as for every test here).
set -u

top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
docs=$top/docs
LC_ALL=C
export LC_ALL

for prog in groff mandoc; do
	if ! command -v "$prog" >/dev/null 2>&1; then
		if [ "${FD_ALLOW_SKIP:-}" = 1 ]; then
			echo "check_man: $prog not found; skipped (FD_ALLOW_SKIP=1)"
			exit 77
		fi
		echo "check_man: $prog not found (build-aux/setup installs" \
		    "it); set FD_ALLOW_SKIP=1 to skip" >&2
		exit 99
	fi
done

passed=0
failed=0
out=${TMPDIR:-/tmp}/check_man.$$
trap 'rm -f "$out"' EXIT

for need in filterd.8 filterd.conf.5 filterd-plugin.3; do
	if [ ! -f "$docs/$need" ]; then
		echo "FAIL: $need: missing from $docs"
		failed=$((failed + 1))
	fi
done

for page in "$docs"/*.[1-9]; do
	[ -f "$page" ] || continue
	name=${page##*/}
	ok=1
	if ! groff -ww -man -z "$page" >"$out" 2>&1 || [ -s "$out" ]; then
		echo "FAIL: $name: groff -ww -man -z:"
		sed 's/^/    /' "$out"
		ok=0
	fi
	if ! mandoc -T lint "$page" >"$out" 2>&1 || [ -s "$out" ]; then
		echo "FAIL: $name: mandoc -T lint:"
		sed 's/^/    /' "$out"
		ok=0
	fi
	if [ $ok = 1 ]; then
		echo "ok: $name"
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
