#!/usr/bin/env bash
# End-to-end checks of the poolbench program: real output values and exit
# codes, as a user sees them.  Usage: tests/cli.sh path/to/poolbench
set -u
pb=${1:?usage: tests/cli.sh path/to/poolbench}
pass=0 fail=0

# expect NAME WANT_RC TEXT -- CMD...: exit code WANT_RC, and TEXT appears in
# the output (stdout and stderr) once runs of spaces and newlines are
# squeezed to one space, so a matrix is matched whole, in order.
expect() {
    local name=$1 want=$2 pattern=$3
    shift 4
    local out rc
    out=$("$@" 2>&1)
    rc=$?
    if [[ $rc -eq $want ]] && tr -s ' \n' '  ' <<<"$out" | grep -Fq -- "$pattern"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $name: exit $rc (want $want), output did not match /$pattern/:"
        head -20 <<<"$out" | sed 's/^/    /'
    fi
}

# The seed's worked example, both layouts, every algorithm.
for layout in nchw nhwc; do
    expect "show max $layout" 0 \
        'output (2x2): 6 8 3 4 n0 c0 argmax (flat h*W+w in the input plane): 5 7 8 15' -- \
        "$pb" show --layout "$layout"
    expect "show avg_incl $layout" 0 'output (2x2): 3.25 5.25 2 2' -- \
        "$pb" show --alg avg_incl --layout "$layout"
done
# Padding counted or not: 3x3/1 p1 on a 3x3 plane of ones-through-nine.
# avg_excl corner (1+2+4+5)/4 = 3, edge (1+2+3+4+5+6)/6 = 3.5; centre 5.
expect "show avg_excl corner" 0 'output (3x3): 3 3.5 4 4.5 5 5.5 6 6.5 7' -- "$pb" show --problem ic1ih3k3s1p1 --alg avg_excl --values 1,2,3,4,5,6,7,8,9
# avg_incl divides by 9 everywhere: corner 12/9, edge 21/9, left 27/9.
expect "show avg_incl corner" 0 'output (3x3): 1.333 2.333 1.778 3 5 3.667 2.667 4.333 3.111' -- "$pb" show --problem ic1ih3k3s1p1 --alg avg_incl --values 1,2,3,4,5,6,7,8,9
expect "show wrong value count" 2 'has 3 numbers, the problem has 16 inputs' -- \
    "$pb" show --problem ic1ih4k2 --values 1,2,3

# Bad input: one line naming the culprit, exit 2.
expect "bad token" 2 "bad token 'xx3'" -- "$pb" verify --problem mb1ic3_ih5xx3
expect "padding over half window" 2 'padding' -- "$pb" verify --problem ic1ih8k2p2
expect "unknown impl" 2 "unknown implementation 'nope'" -- "$pb" verify --impl nope
expect "unknown suite" 2 "unknown suite 'nope'" -- "$pb" verify --suite nope
expect "unknown option" 2 "unknown option '--bogus'" -- "$pb" verify --bogus
expect "unknown alg" 2 "unknown alg 'min'" -- "$pb" gradcheck --alg min
expect "unknown command" 2 "unknown command 'frobnicate'" -- "$pb" frobnicate
expect "bad seed" 2 "--seed '-1'" -- "$pb" verify --seed -1

# The verifier and gradient checker pass on the reference, and say so.
expect "verify seed" 0 'verify: 36 passed, 0 failed, 0 skipped' -- "$pb" verify --impl naive --suite seed
expect "gradcheck seed" 0 'gradcheck: 12 passed, 0 failed, 0 skipped' -- \
    "$pb" gradcheck --impl naive --suite seed
expect "random" 0 ' 0 failed' -- "$pb" verify --random 50 --seed 7
expect "list" 0 'naive baseline max,avg_incl,avg_excl nchw,nhwc fwd_inf,fwd_train,bwd runs here (reference)' -- "$pb" list

echo "cli: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
