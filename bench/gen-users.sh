#!/usr/bin/env bash
# Generates the benchmark's user lists into bench/out/ (git-ignored):
#   users.csv          sipp injection file: SEQUENTIAL, then "userNNNNNN;pw-NNNNNN;" per line
#   lamppost-users.txt lamppost import file: "userNNNNNN@bench.local,pw-NNNNNN" per line
# Usage: bench/gen-users.sh [COUNT]   (default 100000)
set -euo pipefail

count="${1:-100000}"
if ! [[ "$count" =~ ^[1-9][0-9]*$ ]] || (( count > 1000000 )); then
    echo "gen-users.sh: COUNT must be an integer in 1..1000000 (got '$count')" >&2
    exit 2
fi

out="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/out"
mkdir -p "$out"

awk -v n="$count" 'BEGIN {
    print "SEQUENTIAL"
    for (i = 0; i < n; i++) printf "user%06d;pw-%06d;\n", i, i
}' >"$out/users.csv.tmp"
mv "$out/users.csv.tmp" "$out/users.csv"

awk -v n="$count" 'BEGIN {
    for (i = 0; i < n; i++) printf "user%06d@bench.local,pw-%06d\n", i, i
}' >"$out/lamppost-users.txt.tmp"
mv "$out/lamppost-users.txt.tmp" "$out/lamppost-users.txt"

echo "gen-users.sh: wrote $count users to $out/users.csv and $out/lamppost-users.txt"
