#!/usr/bin/env bash
# REGISTER benchmark: lamppost vs Kamailio on the same machine, in the same run, with the same load (sipp).
#
# For each server and each mode (noauth, auth): start the server, prefill USERS bindings, read the server's
# memory (PSS over all its processes), then run STEPS refresh steps of DURATION seconds at a fixed offered rate,
# reading the server's CPU time before and after each step. Prints a summary table and the lamppost/kamailio
# ratios, writes the raw results to bench/out/results-<timestamp>.txt, and exits non-zero if any REGISTER failed.
#
# Usage: bench/register.sh [all|kamailio|floor|lamppost]   (default: all; see bench/README.md for the settings)
set -euo pipefail

# ---------------------------------------------------------------------------------------------- settings
USERS="${USERS:-100000}"                           # distinct users = bindings after the prefill
MODES="${MODES:-noauth auth}"                      # which modes to run
NOAUTH_RATE="${NOAUTH_RATE:-5000}"                 # refresh steps, REGISTER/s offered (noauth)
AUTH_RATE="${AUTH_RATE:-2000}"                     # refresh steps, registrations/s offered (auth: 401 + REGISTER)
PREFILL_NOAUTH_RATE="${PREFILL_NOAUTH_RATE:-5000}" # prefill rate (noauth)
PREFILL_AUTH_RATE="${PREFILL_AUTH_RATE:-2000}"     # prefill rate (auth)
DURATION="${DURATION:-10}"                         # seconds per refresh step
STEPS="${STEPS:-3}"                                # refresh steps per server and mode (median reported)
SETTLE="${SETTLE:-2}"                              # seconds of rest after the prefill, before reading memory
KAMAILIO_PORT="${KAMAILIO_PORT:-15060}"
LAMPPOST_PORT="${LAMPPOST_PORT:-25060}"
LAMPPOST_HTTP_PORT="${LAMPPOST_HTTP_PORT:-28080}"
SIPP_PORT="${SIPP_PORT:-35060}"                    # sipp's local UDP port
SIPP_RECV_TIMEOUT="${SIPP_RECV_TIMEOUT:-5000}"     # ms a sipp call waits for a response before failing
READY_TIMEOUT="${READY_TIMEOUT:-30}"               # seconds a server gets to answer the OPTIONS probe
KAMAILIO_BIN="${KAMAILIO_BIN:-kamailio}"
LAMPPOST_BIN="${LAMPPOST_BIN:-target/release/lamppost}"
FLOOR_PORT="${FLOOR_PORT:-45060}"
FLOOR_BIN="${FLOOR_BIN:-target/release/examples/udp_floor}" # the no-work UDP responder (noauth only)

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BENCH_NAME=register.sh
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"
REPO_DIR="$(dirname "$BENCH_DIR")"
OUT="$BENCH_DIR/out"
RUN_ID="$(date -u +%Y%m%dT%H%M%SZ)"
RUN_DIR="$OUT/run-$RUN_ID"
RESULTS="$OUT/results-$RUN_ID.txt"
CLK_TCK="$(getconf CLK_TCK)"

SERVER_PID=""
SERVER_NAME=""
SIPP_PID=""

# ---------------------------------------------------------------------------------------------- helpers
# CPU ticks of this script's reaped children (sipp runs as one; nothing else is reaped while it runs).
own_children_ticks() {
    local line
    local -a f
    read -r line <"/proc/$$/stat"
    read -ra f <<<"${line##*) }"
    echo $((f[13] + f[14]))
}

# Value of column $2 in the last line of sipp's statistics file $1 (';'-separated, header in line 1).
sipp_stat() {
    awk -F';' -v col="$2" '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
        { last = $0 }
        END {
            if (!c || last == "") exit 1
            split(last, v, ";"); print v[c] + 0
        }' "$1"
}

# ---------------------------------------------------------------------------------------------- servers
server_port() {
    case "$1" in
    kamailio) echo "$KAMAILIO_PORT" ;;
    lamppost) echo "$LAMPPOST_PORT" ;;
    floor) echo "$FLOOR_PORT" ;;
    esac
}

start_kamailio() {
    local mode="$1"
    local -a args=(-f "$BENCH_DIR/kamailio/kamailio.cfg" -DD -E -x tlsf -X tlsf -m 256 -M 8
        -A "LISTEN=udp:127.0.0.1:$KAMAILIO_PORT")
    if [[ "$mode" == auth ]]; then
        args+=(-A WITH_AUTH -A "DBURL=\"sqlite://$OUT/kamailio-subscriber.db\"")
    fi
    "$KAMAILIO_BIN" "${args[@]}" >"$RUN_DIR/kamailio-$mode.log" 2>&1 &
    SERVER_PID=$!
}

start_lamppost() {
    local mode="$1" enabled=true
    [[ "$mode" == noauth ]] && enabled=false
    local cfg="$RUN_DIR/lamppost-$mode.toml"
    awk -v enabled="$enabled" -v port="$LAMPPOST_PORT" -v http="$LAMPPOST_HTTP_PORT" '
        /^\[/ { section = $0 }
        section == "[auth]" && /^[[:space:]]*enabled[[:space:]]*=/ { print "enabled = " enabled; next }
        { gsub(/127\.0\.0\.1:25060/, "127.0.0.1:" port); gsub(/127\.0\.0\.1:28080/, "127.0.0.1:" http); print }' \
        "$BENCH_DIR/lamppost-bench.toml" >"$cfg"
    rm -f "$OUT/lamppost-bench.db" "$OUT/lamppost-bench.db-wal" "$OUT/lamppost-bench.db-shm"
    log "lamppost: importing $USERS users"
    "$LAMPPOST_BIN" user import "$OUT/lamppost-users.txt" --config "$cfg" >"$RUN_DIR/lamppost-$mode-import.log" 2>&1 ||
        die "lamppost user import failed, see $RUN_DIR/lamppost-$mode-import.log: $(tail -n 5 "$RUN_DIR/lamppost-$mode-import.log")"
    "$LAMPPOST_BIN" serve --config "$cfg" >"$RUN_DIR/lamppost-$mode.log" 2>&1 &
    SERVER_PID=$!
}

# The floor: a UDP responder that answers every request 200 with no work (crates/sip-transport/examples/udp_floor.rs),
# one thread per core as lamppost's UDP transport. What it costs is what the kernel's UDP path costs every server.
start_floor() {
    "$FLOOR_BIN" "127.0.0.1:$FLOOR_PORT" "$(nproc)" >"$RUN_DIR/floor-$1.log" 2>&1 &
    SERVER_PID=$!
}

# Waits until the server listens on its UDP port and answers a SIP OPTIONS probe (any final response).
wait_ready() {
    local name="$1" mode="$2" port="$3" deadline=$((SECONDS + READY_TIMEOUT)) rc
    while ((SECONDS < deadline)); do
        kill -0 "$SERVER_PID" 2>/dev/null ||
            die "$name ($mode) exited during startup: $(tail -n 5 "$RUN_DIR/$name-$mode.log")"
        if [[ -n "$(ss -Hlun "sport = :$port")" ]]; then
            rc=0
            timeout 3 sipsak -s "sip:probe@127.0.0.1:$port" -H 127.0.0.1 >/dev/null 2>&1 || rc=$?
            ((rc == 0 || rc == 1)) && return 0
        fi
        sleep 0.2
    done
    die "$name ($mode) did not answer an OPTIONS probe on udp:127.0.0.1:$port within ${READY_TIMEOUT}s"
}

stop_server() {
    [[ -n "$SERVER_PID" ]] || return 0
    local pid="$SERVER_PID" name="$SERVER_NAME" i
    local -a pids
    mapfile -t pids < <(tree_pids "$pid")
    SERVER_PID=""
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "$name did not stop within 10 s, killing it"
        kill -KILL "${pids[@]}" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    # Children of a stopped server must not outlive it (they would hold the port).
    for i in "${pids[@]}"; do
        [[ "$i" == "$pid" ]] && continue
        if kill -0 "$i" 2>/dev/null; then
            kill -KILL "$i" 2>/dev/null || true
        fi
    done
}

cleanup() {
    local rc=$?
    if [[ -n "$SIPP_PID" ]]; then
        kill -TERM "$SIPP_PID" 2>/dev/null || true
        wait "$SIPP_PID" 2>/dev/null || true
    fi
    stop_server
    exit "$rc"
}

# ---------------------------------------------------------------------------------------------- load
# Runs one sipp pass: $1 label, $2 scenario (noauth|auth), $3 calls/s, $4 calls, $5 server port.
# Sets SIPP_OK, SIPP_FAILED, SIPP_RETRANS, SIPP_WALL_S, SIPP_CPU_S.
run_sipp() {
    local label="$1" scenario="$2" rate="$3" calls="$4" port="$5" rc=0 t0 t1 c0 c1
    local stat="$RUN_DIR/$label.stat.csv"
    t0="$(now_ns)"
    c0="$(own_children_ticks)"
    sipp -sf "$BENCH_DIR/sipp/register-$scenario.xml" -inf "$OUT/users.csv" \
        -i 127.0.0.1 -p "$SIPP_PORT" -r "$rate" -rp 1000 -m "$calls" -l $((rate * 5)) \
        -recv_timeout "$SIPP_RECV_TIMEOUT" -nostdin \
        -trace_stat -stf "$stat" -fd 1 -trace_err -error_file "$RUN_DIR/$label.errors.log" \
        "127.0.0.1:$port" >"$RUN_DIR/$label.sipp.log" 2>&1 &
    SIPP_PID=$!
    wait "$SIPP_PID" || rc=$?
    SIPP_PID=""
    c1="$(own_children_ticks)"
    t1="$(now_ns)"
    # sipp: 0 all calls succeeded, 1 some failed; anything else is a fatal sipp error.
    ((rc == 0 || rc == 1)) || die "sipp ($label) exited with $rc: $(tail -n 5 "$RUN_DIR/$label.sipp.log")"
    SIPP_OK="$(sipp_stat "$stat" 'SuccessfulCall(C)')" || die "sipp ($label) wrote no statistics to $stat"
    SIPP_FAILED="$(sipp_stat "$stat" 'FailedCall(C)')"
    SIPP_RETRANS="$(sipp_stat "$stat" 'Retransmissions(C)')"
    # Calls that never completed (sipp stopped early) count as failed.
    if ((SIPP_OK + SIPP_FAILED < calls)); then
        SIPP_FAILED=$((calls - SIPP_OK))
    fi
    SIPP_WALL_S="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')"
    SIPP_CPU_S="$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }')"
}

# Runs the prefill and the refresh steps against one server in one mode; appends raw lines to $RESULTS.
run_case() {
    local name="$1" mode="$2" port rate prefill_rate step c0 c1 pss_idle pss
    port="$(server_port "$name")"
    if [[ "$mode" == auth ]]; then
        rate="$AUTH_RATE" prefill_rate="$PREFILL_AUTH_RATE"
    else
        rate="$NOAUTH_RATE" prefill_rate="$PREFILL_NOAUTH_RATE"
    fi

    log "$name ($mode): starting on udp:127.0.0.1:$port"
    SERVER_NAME="$name"
    "start_$name" "$mode"
    wait_ready "$name" "$mode" "$port"
    pss_idle="$(pss_kib "$SERVER_PID")"

    log "$name ($mode): prefill of $USERS bindings at $prefill_rate/s"
    run_sipp "$name-$mode-prefill" "$mode" "$prefill_rate" "$USERS" "$port"
    echo "prefill server=$name mode=$mode rate=$prefill_rate calls=$USERS ok=$SIPP_OK failed=$SIPP_FAILED" \
        "retrans=$SIPP_RETRANS wall_s=$SIPP_WALL_S" >>"$RESULTS"
    ((SIPP_FAILED == 0)) || log "$name ($mode): $SIPP_FAILED prefill registrations FAILED"
    sleep "$SETTLE"
    kill -0 "$SERVER_PID" 2>/dev/null || die "$name ($mode) died during the prefill: $(tail -n 5 "$RUN_DIR/$name-$mode.log")"
    pss="$(pss_kib "$SERVER_PID")"
    echo "memory server=$name mode=$mode bindings=$USERS pss_idle_kib=$pss_idle pss_kib=$pss" >>"$RESULTS"
    log "$name ($mode): PSS $((pss_idle / 1024)) MiB idle, $((pss / 1024)) MiB with $USERS bindings"

    for ((step = 1; step <= STEPS; step++)); do
        log "$name ($mode): refresh step $step/$STEPS, $rate/s for ${DURATION}s"
        c0="$(cpu_ticks "$SERVER_PID")"
        run_sipp "$name-$mode-step$step" "$mode" "$rate" $((rate * DURATION)) "$port"
        c1="$(cpu_ticks "$SERVER_PID")"
        kill -0 "$SERVER_PID" 2>/dev/null || die "$name ($mode) died during step $step: $(tail -n 5 "$RUN_DIR/$name-$mode.log")"
        echo "step server=$name mode=$mode step=$step rate=$rate calls=$((rate * DURATION)) ok=$SIPP_OK" \
            "failed=$SIPP_FAILED retrans=$SIPP_RETRANS wall_s=$SIPP_WALL_S" \
            "server_cpu_s=$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }')" \
            "sipp_cpu_s=$SIPP_CPU_S" >>"$RESULTS"
        ((SIPP_FAILED == 0)) || log "$name ($mode): $SIPP_FAILED registrations FAILED in step $step"
    done

    stop_server
    log "$name ($mode): stopped"
}

# ---------------------------------------------------------------------------------------------- report
# Reads the raw lines of $RESULTS, prints the summary table and the ratios.
summarize() {
    awk '
        function kv(   i, kv2) { delete f; for (i = 2; i <= NF; i++) { split($i, kv2, "="); f[kv2[1]] = kv2[2] } }
        function median(list,   n, a, i, j, t) {
            n = split(list, a, " ")
            for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
            return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        $1 == "prefill" { kv(); k = f["server"] SUBSEP f["mode"]; failed[k] += f["failed"]; seen(k) }
        $1 == "memory"  { kv(); k = f["server"] SUBSEP f["mode"]; pss[k] = f["pss_kib"]; bindings[k] = f["bindings"] }
        $1 == "step" {
            kv(); k = f["server"] SUBSEP f["mode"]; seen(k)
            rate[k] = f["rate"]; regs[k] += f["calls"]; failed[k] += f["failed"]; retrans[k] += f["retrans"]
            cpu[k] = cpu[k] " " f["server_cpu_s"] * 10000 / f["calls"]
            scpu[k] = scpu[k] " " f["sipp_cpu_s"] * 10000 / f["calls"]
            got = f["ok"] / f["wall_s"]
            if (!(k in achieved) || got < achieved[k]) achieved[k] = got
        }
        function seen(k) { if (!(k in order)) { order[k] = ++n; keys[n] = k } }
        END {
            fmt = "%-9s %-7s %8s %13s %10s %7s %8s %10s %15s %13s %12s %12s\n"
            printf fmt, "server", "mode", "rate/s", "registrations", "REGISTERs", "failed", "retrans", "achieved/s",
                "server-CPU/10k", "sipp-CPU/10k", "PSS-MiB@" bindings[keys[1]] / 1000 "k", "KiB/binding"
            for (i = 1; i <= n; i++) {
                k = keys[i]; split(k, sm, SUBSEP)
                per = sm[2] == "auth" ? 2 : 1
                c = (k in cpu) ? median(cpu[k]) : -1; cs[k] = c
                kib[k] = (k in pss) ? pss[k] / bindings[k] : -1
                printf fmt, sm[1], sm[2], rate[k] + 0, regs[k] + 0, regs[k] * per, failed[k] + 0, retrans[k] + 0,
                    sprintf("%.0f", achieved[k]), c < 0 ? "-" : sprintf("%.3f", c), sprintf("%.3f", median(scpu[k])),
                    (k in pss) ? sprintf("%.1f", pss[k] / 1024) : "-", kib[k] < 0 ? "-" : sprintf("%.3f", kib[k])
                total_failed += failed[k]
            }
            print ""
            any = 0
            for (i = 1; i <= n; i++) {
                k = keys[i]; split(k, sm, SUBSEP)
                if (sm[1] == "kamailio") continue
                kk = "kamailio" SUBSEP sm[2]
                if (!(kk in order)) continue
                if (!any) { print "against kamailio (lamppost target: <= 0.5 for both; floor: the UDP path alone)"; any = 1 }
                printf "  %-8s / kamailio %-7s CPU per registration %s   memory per binding %s\n", sm[1], sm[2],
                    (cs[kk] > 0 ? sprintf("%.2f", cs[k] / cs[kk]) : "-"),
                    (kib[kk] > 0 ? sprintf("%.2f", kib[k] / kib[kk]) : "-")
            }
            if (!any) print "ratios against kamailio: need kamailio in the same run"
            # CPU above the floor: what each server spends beyond the UDP path of the kernel (noauth only).
            kf = "floor" SUBSEP "noauth"; kk = "kamailio" SUBSEP "noauth"; kl = "lamppost" SUBSEP "noauth"
            if ((kf in cs) && (kk in cs) && (kl in cs) && cs[kk] > cs[kf])
                printf "  noauth CPU above the floor: lamppost %.3f, kamailio %.3f, ratio %.2f\n",
                    cs[kl] - cs[kf], cs[kk] - cs[kf], (cs[kl] - cs[kf]) / (cs[kk] - cs[kf])
            printf "failed registrations in total: %d\n", total_failed
        }' "$RESULTS"
}

# ---------------------------------------------------------------------------------------------- main
main() {
    local target="${1:-all}" servers server mode
    case "$target" in
    all) servers="kamailio floor lamppost" ;;
    kamailio | lamppost | floor) servers="$target" ;;
    -h | --help)
        sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        return 0
        ;;
    *) die "unknown target '$target' (use all, kamailio, floor or lamppost)" ;;
    esac
    for mode in $MODES; do
        [[ "$mode" == noauth || "$mode" == auth ]] || die "MODES may hold only noauth and auth (got '$mode')"
    done
    local v
    for v in USERS NOAUTH_RATE AUTH_RATE PREFILL_NOAUTH_RATE PREFILL_AUTH_RATE DURATION STEPS KAMAILIO_PORT \
        LAMPPOST_PORT LAMPPOST_HTTP_PORT FLOOR_PORT SIPP_PORT SIPP_RECV_TIMEOUT READY_TIMEOUT; do
        require_uint "$v"
    done
    [[ "$SETTLE" =~ ^[0-9]+$ ]] || die "SETTLE must be a non-negative integer (got '$SETTLE')"

    cd "$REPO_DIR"
    require_cmd sipp "apt-get install -y sip-tester"
    require_cmd sipsak "apt-get install -y sipsak"
    require_cmd ss "apt-get install -y iproute2"
    for server in $servers; do
        case "$server" in
        kamailio)
            require_cmd "$KAMAILIO_BIN" "apt-get install -y kamailio kamailio-sqlite-modules"
            [[ -r /usr/lib/x86_64-linux-gnu/kamailio/modules/db_sqlite.so ]] ||
                die "Kamailio's db_sqlite module is missing (apt-get install -y kamailio-sqlite-modules)"
            ;;
        floor)
            [[ -x "$FLOOR_BIN" ]] ||
                die "$FLOOR_BIN not found: build it with 'cargo build --release --example udp_floor -p sip-transport' (or set FLOOR_BIN)"
            ;;
        lamppost)
            [[ -x "$LAMPPOST_BIN" ]] ||
                die "$LAMPPOST_BIN not found: build it with 'cargo build --release -p lamppost' (or set LAMPPOST_BIN)"
            ;;
        esac
    done
    local port
    for port in $KAMAILIO_PORT $LAMPPOST_PORT $FLOOR_PORT $SIPP_PORT; do
        [[ -z "$(ss -Hlun "sport = :$port")" ]] || die "udp port $port is already in use: $(ss -Hlunp "sport = :$port")"
    done
    if [[ " $servers " == *" lamppost "* && -n "$(ss -Hltn "sport = :$LAMPPOST_HTTP_PORT")" ]]; then
        die "tcp port $LAMPPOST_HTTP_PORT is already in use: $(ss -Hltnp "sport = :$LAMPPOST_HTTP_PORT")"
    fi

    mkdir -p "$RUN_DIR"
    trap cleanup EXIT
    trap 'log "interrupted"; exit 130' INT TERM

    # Test data: regenerated when missing or sized for another USERS.
    if [[ ! -r "$OUT/users.csv" || "$(($(wc -l <"$OUT/users.csv") - 1))" != "$USERS" ||
        ! -r "$OUT/lamppost-users.txt" ]]; then
        "$BENCH_DIR/gen-users.sh" "$USERS" >&2
    fi
    if [[ " $servers " == *" kamailio "* && " $MODES " == *" auth "* ]] &&
        [[ ! -r "$OUT/kamailio-subscriber.db" ||
        "$(sqlite3 "$OUT/kamailio-subscriber.db" 'SELECT count(*) FROM subscriber' 2>/dev/null)" != "$USERS" ]]; then
        require_cmd sqlite3 "apt-get install -y sqlite3"
        "$BENCH_DIR/kamailio/make-subscriber-db.sh" "$OUT/kamailio-subscriber.db" "$USERS" >&2
    fi

    {
        echo "# lamppost REGISTER benchmark, run $RUN_ID"
        echo "# host: $(uname -srm), $(nproc) cores, $(awk '/^model name/ { $1 = $2 = $3 = ""; print; exit }' /proc/cpuinfo | sed 's/^ *//')"
        echo "# sipp: $(sipp -v 2>&1 | awk '/SIPp/ { print $2; exit }')"
        [[ " $servers " == *" kamailio "* ]] && echo "# kamailio: $("$KAMAILIO_BIN" -v 2>&1 | awk 'NR == 1 { print $2, $3 }')"
        [[ " $servers " == *" lamppost "* ]] && echo "# lamppost: $LAMPPOST_BIN, git $(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)"
        echo "# settings: USERS=$USERS MODES='$MODES' NOAUTH_RATE=$NOAUTH_RATE AUTH_RATE=$AUTH_RATE" \
            "PREFILL_NOAUTH_RATE=$PREFILL_NOAUTH_RATE PREFILL_AUTH_RATE=$PREFILL_AUTH_RATE DURATION=$DURATION STEPS=$STEPS"
        echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
        echo "# logs: $RUN_DIR"
    } >"$RESULTS"
    local load
    load="$(cut -d' ' -f1 /proc/loadavg)"
    if awk -v l="$load" 'BEGIN { exit !(l >= 0.5) }'; then
        log "warning: load average $load: other work on the machine skews the figures (sipp retransmits more)"
    fi

    for server in $servers; do
        for mode in $MODES; do
            # The floor answers 200 at once: it has no challenge to give.
            [[ "$server" == floor && "$mode" == auth ]] && continue
            run_case "$server" "$mode"
        done
    done

    local summary total_failed
    summary="$(summarize)"
    printf '\n%s\n' "$summary" | tee -a "$RESULTS"
    echo "raw results: $RESULTS"
    total_failed="$(awk '/^failed registrations in total:/ { print $NF }' <<<"$summary")"
    ((total_failed == 0)) || die "$total_failed registrations failed (see the sipp logs in $RUN_DIR)"
}

main "$@"
