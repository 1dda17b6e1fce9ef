#!/usr/bin/env bash
# End-to-end checks of bench -> compare -> report and of the sim counters,
# on real (tiny) records.  Usage: tests/cli_report.sh path/to/poolbench
set -u
pb=${1:?usage: tests/cli_report.sh path/to/poolbench}
pass=0 fail=0 skip=0
tmp=$(mktemp -d /tmp/pb_cli_report_XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# check NAME WANT_RC TEXT -- CMD...: exit code and a text in the output
check() {
    local name=$1 want=$2 pattern=$3
    shift 4
    local out rc
    out=$("$@" 2>&1)
    rc=$?
    if [[ $rc -eq $want ]] && grep -Fq -- "$pattern" <<<"$out"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $name: exit $rc (want $want), output did not contain /$pattern/:"
        head -20 <<<"$out" | sed 's/^/    /'
    fi
}

# valgrind cannot run a sanitized program; the sim checks need both
sim=1
if ! command -v valgrind >/dev/null; then
    sim=0 why="valgrind not installed"
elif ldd "$pb" 2>/dev/null | grep -q 'libasan'; then
    sim=0 why="sanitized build (AddressSanitizer and valgrind cannot run together)"
fi
counters=none
[[ $sim -eq 1 ]] && counters=sim

bench() {
    "$pb" bench --impl naive --problem mb1ic8_ih16iw16_kh2kw2_sh2sw2 --alg max,avg_excl \
        --layout nchw --dir fwd_inf --threads 1 --reps 3 --min-time 0.01 --counters "$counters" \
        --out "$1"
}
check "bench A" 0 "record: $tmp/a/" -- bench "$tmp/a"
check "bench B" 0 "record: $tmp/b/" -- bench "$tmp/b"
a=$(ls -d "$tmp"/a/*/*/ | head -1)
b=$(ls -d "$tmp"/b/*/*/ | head -1)

# the same record against itself: every median equal, p = 1, no regression
check "compare self" 0 "| naive/mb1ic8_ih16iw16_kh2kw2_sh2sw2/max/nchw/fwd_inf/threads:1/real_time |" -- \
    "$pb" compare "$a" "$a"
check "compare self verdict" 0 "Result: no regression" -- "$pb" compare "$a" "$a"
check "compare csv" 0 "kind,case,metric,old,new,change,p_value,old_reps,new_reps,verdict,regression" -- \
    "$pb" compare --format csv "$a" "$b"
check "compare missing" 2 "poolbench: compare: OLD: $tmp/missing: No such file or directory" -- \
    "$pb" compare "$tmp/missing" "$b"

if [[ $sim -eq 1 ]]; then
    # exact counts repeat: two bench runs, all 2 cases x 9 counters equal
    check "sim counters repeat" 0 "Exact counters: 18 compared, 0 changed." -- "$pb" compare "$a" "$b"
    check "sim status" 0 '"status": "sim: valgrind callgrind, exact counts of one kernel call' -- \
        cat "$a/gbench.json"
    check "sim repeat" 0 "3 runs: counts identical" -- \
        "$pb" sim --impl naive --problem mb1ic8_ih16iw16_kh2kw2_sh2sw2 --repeat 3
else
    echo "cli_report: sim checks SKIPPED: $why"
    skip=$((skip + 3))
fi

# a problem listed twice (suites share some: resnet50:avgpool is also in
# global) is timed once, under its first label; the library would leave a
# second benchmark of the same name NOTRUN
check "bench repeat" 0 "mb1ic8_ih16iw16_kh2kw2_sh2sw2 is first again: timed once" -- \
    "$pb" bench --impl naive --problem nfirst_mb1ic8_ih16iw16_kh2kw2_sh2sw2 \
    --problem mb1ic8_ih16iw16_kh2kw2_sh2sw2 --alg max --layout nchw --dir fwd_inf --threads 1 \
    --reps 1 --min-time 0.01 --counters none --out "$tmp/rep"
check "bench repeat rows" 0 "1 OK, 0 other" -- \
    awk -F, 'NR > 1 { if ($13 == "OK") ok++; else other++ } END { printf "%d OK, %d other\n", ok, other + 0 }' \
    "$(ls -d "$tmp"/rep/*/*/ | head -1)results.csv"

# the report of record A: tables always, figures when gnuplot is here
check "report" 0 "poolbench: report: wrote $a" -- "$pb" report "${a%/}"
check "report summary" 0 "| naive | 2 |" -- cat "$a/report/report.md"
if command -v gnuplot >/dev/null; then
    check "report figure" 0 "PNG" -- head -c 4 "$a/report/gbps_fwd_inf.png"
else
    echo "cli_report: figure check SKIPPED: gnuplot not installed"
    skip=$((skip + 1))
fi
check "report none" 2 "poolbench: report:" -- "$pb" report --results "$tmp/none"

echo "cli_report: $pass passed, $fail failed, $skip skipped"
[[ $fail -eq 0 ]]
