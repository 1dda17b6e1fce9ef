#!/usr/bin/env bash
# How small a slowdown does `poolbench compare` detect with 9 repetitions on
# this machine?  The experiment:
#   - one `bench` run times a case and copies of it with x% more channels
#     (C = 64 and 66, 67, 68, 70, 72, 77: +3.1% .. +20% work; the kernel's
#     time is linear in C), 9 repetitions each, randomly interleaved so
#     machine drift hits every case alike;
#   - the copy is relabelled as the base case (sed on the JSON: the base
#     case renamed away, the copy given its name) and `compare --filter`
#     checks base against copy: an A/B test with a known x% slowdown;
#   - repeated TRIALS times; a slowdown is detected when compare says
#     "slower" (p < 0.05 and change above the threshold);
#   - A/A: the base case of consecutive runs against each other (no real
#     change) gives the false-alarm rate.
# Usage: scripts/detect_slowdown.sh [TRIALS] [IMPL]   (defaults 8, naive)
# Env: REUSE=1 (analyse the records already in OUT); MIN_TIME (seconds per repetition, default 0.1, bench's default);
# METRIC (real_time, the default, or cpu_time: on a shared machine the
# process is often descheduled, which real time counts and CPU time does
# not; meaningful for 1-thread cases);
# BENCH (program with the bench subcommand), COMPARE (program with
# compare), both default build/poolbench; OUT (scratch dir).
set -euo pipefail

trials=${1:-8}
impl=${2:-naive}
min_time=${MIN_TIME:-0.1}
metric=${METRIC:-real_time}
bench=${BENCH:-build/poolbench}
compare=${COMPARE:-build/poolbench}
out=${OUT:-$(mktemp -d /tmp/poolbench-slowdown-XXXXXX)}
mkdir -p "$out"
base=64
variants=(66 67 68 70 72 77)
shape() { echo "mb1ic$1_ih56iw56_kh2kw2_sh2sw2"; }

problems=(--problem "$(shape $base)")
for c in "${variants[@]}"; do problems+=(--problem "$(shape "$c")"); done

# REUSE=1: analyse the records already in OUT (e.g. with another METRIC)
runs=()
for t in $(seq 1 "$trials"); do
    if [[ ${REUSE:-0} == 1 ]]; then
        runs+=("$(ls -d "$out/r$t"/*/*/ | head -1)")
        continue
    fi
    "$bench" bench --impl "$impl" "${problems[@]}" --alg max --layout nchw --dir fwd_inf \
        --threads 1 --reps 9 --min-time "$min_time" --counters none --out "$out/r$t" \
        --benchmark_enable_random_interleaving=true >"$out/bench$t.log" 2>&1
    runs+=("$(ls -d "$out/r$t"/*/*/ | head -1)")
done

echo "impl $impl, problem $(shape $base), 9 repetitions of >= ${min_time} s, $metric, $trials trials; records under $out"
printf '%-10s %-8s %-22s %-22s %s\n' "channels" "work" "detected (thr 0%)" "detected (thr 5%)" "median change (each trial)"
for c in "${variants[@]}"; do
    d0=0 d5=0 changes=""
    for t in $(seq 1 "$trials"); do
        run=${runs[$((t - 1))]}
        sed -e "s/ic${base}_/icBASE_/g" -e "s/ic${c}_/ic${base}_/g" "$run/gbench.json" >"$out/relabel-$t-$c.json"
        set +e
        "$compare" compare --metric "$metric" --filter "ic${base}_" --threshold 0 --format csv "$run/gbench.json" \
            "$out/relabel-$t-$c.json" >"$out/cmp0-$t-$c.csv"
        rc0=$?
        "$compare" compare --metric "$metric" --filter "ic${base}_" --format csv "$run/gbench.json" \
            "$out/relabel-$t-$c.json" >"$out/cmp5-$t-$c.csv"
        rc5=$?
        set -e
        [[ $rc0 -eq 1 ]] && d0=$((d0 + 1))
        [[ $rc5 -eq 1 ]] && d5=$((d5 + 1))
        ch=$(awk -F, '$1=="time" {printf "%+.1f%%", 100*$6}' "$out/cmp0-$t-$c.csv")
        changes="$changes $ch"
    done
    work=$(awk -v c="$c" -v b="$base" 'BEGIN {printf "+%.1f%%", 100 * (c / b - 1)}')
    printf '%-10s %-8s %-22s %-22s %s\n' "$c" "$work" "$d0/$trials" "$d5/$trials" "$changes"
done

# A/A: the unchanged base case in consecutive runs
fa=0 n=0
for t in $(seq 2 "$trials"); do
    set +e
    "$compare" compare --metric "$metric" --filter "ic${base}_" "${runs[$((t - 2))]}" "${runs[$((t - 1))]}" >/dev/null
    rc=$?
    set -e
    n=$((n + 1))
    [[ $rc -eq 1 ]] && fa=$((fa + 1))
done
echo "A/A (same case, consecutive runs, threshold 5%): $fa false alarms in $n comparisons"
