# Helpers shared by the bench scripts (sourced, not run). The sourcing script sets BENCH_NAME for messages.
# shellcheck shell=bash

log() { printf '[%s %(%H:%M:%S)T] %s\n' "$BENCH_NAME" -1 "$*" >&2; }

die() {
    printf '%s: error: %s\n' "$BENCH_NAME" "$*" >&2
    exit 1
}

require_uint() {
    local name="$1" value="${!1}"
    if ! [[ "$value" =~ ^[1-9][0-9]*$ ]]; then
        die "$name must be a positive integer (got '$value')"
    fi
}

require_cmd() {
    command -v "$1" >/dev/null 2>&1 || die "'$1' not found ($2)"
}

# All live processes of the tree rooted at $1 (the root included), one PID a line.
tree_pids() {
    ps -e -o pid=,ppid= | awk -v root="$1" '
        { parent[$1] = $2; pids[NR] = $1 }
        END {
            keep[root] = 1; print root
            do {
                grew = 0
                for (i in pids) {
                    p = pids[i]
                    if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; print p; grew = 1 }
                }
            } while (grew)
        }'
}

# CPU clock ticks (utime + stime + cutime + cstime) summed over the tree rooted at $1: live processes count
# their own time, reaped children are counted in their parent's cutime/cstime.
cpu_ticks() {
    local total=0 pid line
    local -a f
    for pid in $(tree_pids "$1"); do
        read -r line 2>/dev/null <"/proc/$pid/stat" || continue
        read -ra f <<<"${line##*) }" # fields from 3 (state) on: field N is f[N-3]
        total=$((total + f[11] + f[12] + f[13] + f[14]))
    done
    echo "$total"
}

# Proportional set size in KiB summed over the tree rooted at $1.
pss_kib() {
    local total=0 pid kib
    for pid in $(tree_pids "$1"); do
        kib="$(awk '/^Pss:/ { print $2; exit }' "/proc/$pid/smaps_rollup" 2>/dev/null)" || continue
        total=$((total + ${kib:-0}))
    done
    echo "$total"
}

now_ns() { date +%s%N; }
