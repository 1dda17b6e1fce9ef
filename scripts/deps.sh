#!/usr/bin/env bash
# Installs the Debian packages poolbench needs, only those missing.  Shared
# by `make run`, `make check` and .ci/run.  Without root or sudo it prints
# the exact command to run and fails, rather than half-building.
set -euo pipefail

packages=(
    build-essential      # gcc, g++, make
    pkg-config
    check                # unit tests
    libbenchmark-dev     # Google Benchmark (harness)
    libpapi-dev papi-tools   # hardware counters
    libdnnl-dev          # oneDNN comparison backend
    libxnnpack-dev libpthreadpool-dev  # XNNPACK comparison backend
    gnuplot-nox          # plots
    valgrind             # deterministic instruction counts (callgrind)
    libjansson-dev       # reading benchmark JSON records (compare, report)
)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $(id -u) -eq 0 ]]; then
    sudo=""
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo="sudo"
else
    echo "poolbench: deps: missing packages: ${missing[*]}" >&2
    echo "poolbench: deps: cannot install them without root; run as root:" >&2
    echo "    $cmd" >&2
    exit 1
fi
echo "poolbench: deps: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
