# contrib/bench/bench-table.awk -- the table `make bench` prints
#
# usage: awk -v env=null-envelope -f bench-table.awk RESULTS
#
# RESULTS has one line per measured run, as bench.sh writes them:
#
#   label kind conns rate p50 p99 cpu rss anon err ref faults [pair]
#
# kind is "filterd", "peer" (another policy milter, measured as filterd
# is) or "null"; ref is the label of the null milter taking the same
# steps ("-" for a null milter's own run); pair names the measurement a
# run belongs to: a filterd or peer run and the null runs made right
# after it (BENCH_REPEAT) share one, every other run has "-" or none.
#
# A label measured several times at one connection count is one row of
# medians. A filterd or peer row's ratios ("x same", "p99 x", "x env")
# divide its median by the median of its references' runs in its own
# pairs, the runs made right after each of its own: a machine that slows
# down during a long bench then moves both sides of a ratio alike, and
# one odd run on either side is outvoted. A row without pairs is divided by the medians
# of its references' runs, wherever in the bench they were made.

# med - the median of the k values in v[1..k] (sorted in place)
function med(v, k,    i, j, t) {
	for (i = 2; i <= k; i++)
		for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
			t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
		}
	return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
}

# paired - the median of field f over row i's runs that have a run of
# reference label r in their pair, over the median of those r runs; -1
# if no run has one
function paired(i, r, f,    k, m, q, v, w, d) {
	m = 0
	for (k = 1; k <= cnt[i]; k++) {
		q = Q[i, k]
		if (!((q, r, f) in PV) || PV[q, r, f] <= 0)
			continue
		m++
		v[m] = V[i, f, k]
		w[m] = PV[q, r, f]
	}
	if (m == 0 || (d = med(w, m)) <= 0)
		return -1
	return med(v, m) / d
}

# pooled - row i's median of field f over reference label r's median at
# the same connection count; -1 if r was not measured there
function pooled(i, r, f) {
	if (!((r, c[i], f) in RM) || RM[r, c[i], f] <= 0)
		return -1
	return M[i, f] / RM[r, c[i], f]
}

# ratio - paired when row i has pairs with r, pooled otherwise
function ratio(i, r, f,    x) {
	x = paired(i, r, f)
	return x >= 0 ? x : pooled(i, r, f)
}

function show(x) {
	return x < 0 ? "-" : sprintf("%.2f", x)
}

# one row per label and connection count, in the order first measured
{
	key = $1 SUBSEP $3
	if (!(key in row)) {
		row[key] = ++n
		lab[n] = $1; kind[n] = $2; c[n] = $3; ref[n] = $11; err[n] = 0
	}
	i = row[key]; k = ++cnt[i]
	for (f = 4; f <= 9; f++)
		V[i, f, k] = $f
	V[i, 12, k] = $12
	err[i] += $10
	Q[i, k] = NF >= 13 ? $13 : "-"
	if (Q[i, k] != "-") {
		PV[Q[i, k], $1, 4] = $4
		PV[Q[i, k], $1, 6] = $6
	}
}

END {
	for (i = 1; i <= n; i++) {
		for (f = 4; f <= 12; f++) {
			if (f == 10 || f == 11)
				continue
			delete v
			for (k = 1; k <= cnt[i]; k++)
				v[k] = V[i, f, k] + 0
			M[i, f] = med(v, cnt[i])
		}
		RM[lab[i], c[i], 4] = M[i, 4]
		RM[lab[i], c[i], 6] = M[i, 6]
	}
	printf "%-22s %5s %9s %8s %8s %6s %7s %7s %5s %7s %6s %6s %7s\n", \
	    "target", "conns", "msgs/s", "p50 ms", "p99 ms", "CPU%", \
	    "RSS MB", "anon MB", "err", "x same", "p99 x", "x env", "flt/msg"
	for (i = 1; i <= n; i++) {
		xs = px = xe = -1
		if (ref[i] != "-") {
			xs = ratio(i, ref[i], 4)
			px = ratio(i, ref[i], 6)
		}
		if (kind[i] != "null")
			xe = ratio(i, env, 4)
		printf "%-22s %5d %9.0f %8.3f %8.3f %6s %7.1f %7.1f %5d %7s %6s %6s %7s\n", \
		    lab[i], c[i], M[i, 4], M[i, 5], M[i, 6], \
		    M[i, 7] < 0 ? "-" : sprintf("%.0f", M[i, 7]), M[i, 8] / 1024, \
		    M[i, 9] / 1024, err[i], show(xs), show(px), show(xe), \
		    M[i, 12] < 0 ? "-" : sprintf("%.2f", M[i, 12])
	}
}
