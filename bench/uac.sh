#!/usr/bin/env bash
# Outbound registration benchmark: a SIP server registering itself to a trunk N times (Kamailio's uac module with
# its uacreg table, and lamppost's [uac] client), each registration granted GRANT seconds and kept alive.
#
# For each client: start a fresh trunk (lamppost's registrar with digest auth and N users), run the client once
# with an empty uacreg table to read its idle memory, then with N rows; wait until the trunk holds N bindings,
# read the client's CPU time over a steady WINDOW, its memory (PSS over all its processes) and check that no
# registration lapsed at the trunk. Prints a summary table, writes the raw results to
# bench/out/uac-results-<timestamp>.txt and exits non-zero if any registration lapsed.
#
# Usage: bench/uac.sh [all|kamailio|lamppost]      (default: all; see bench/README.md for the settings)
set -euo pipefail

# ---------------------------------------------------------------------------------------------- settings
N="${N:-10000}"                                    # registrations (uacreg rows = trunk users)
EXPIRES="${EXPIRES:-3600}"                         # expiry the clients ask for (uacreg `expires`)
GRANT="${GRANT:-60}"                               # expiry the trunk grants (its min_expires = max_expires)
WINDOW="${WINDOW:-150}"                            # seconds of the steady window (CPU and lapse check)
SETTLE="${SETTLE:-0}"                              # seconds between "all registered" and the window's start
SAMPLE_INTERVAL="${SAMPLE_INTERVAL:-10}"           # seconds between readings of the trunk's bindings in the window
REGISTER_TIMEOUT="${REGISTER_TIMEOUT:-120}"        # seconds a client gets to register all N
IDLE_SETTLE="${IDLE_SETTLE:-5}"                    # seconds an idle client (0 rows) runs before its PSS is read
READY_TIMEOUT="${READY_TIMEOUT:-30}"               # seconds a process gets to start answering
TRUNK_PORT="${TRUNK_PORT:-16060}"
TRUNK_HTTP_PORT="${TRUNK_HTTP_PORT:-16080}"
KAMAILIO_PORT="${KAMAILIO_PORT:-17060}"
LAMPPOST_PORT="${LAMPPOST_PORT:-27060}"
LAMPPOST_HTTP_PORT="${LAMPPOST_HTTP_PORT:-27080}"
KAMAILIO_CHILDREN="${KAMAILIO_CHILDREN:-2}"        # UDP receiver processes
KAMAILIO_SHM="${KAMAILIO_SHM:-256}"                # -m, MiB of shared memory (records and transactions)
KAMAILIO_PKG="${KAMAILIO_PKG:-32}"                 # -M, MiB of private memory per process (uac loads all rows at once)
KAMAILIO_REG_TIMER="${KAMAILIO_REG_TIMER:-10}"     # uac reg_timer_interval
KAMAILIO_REG_RETRY="${KAMAILIO_REG_RETRY:-10}"     # uac reg_retry_interval
KAMAILIO_REG_HASH_SIZE="${KAMAILIO_REG_HASH_SIZE:-10}" # uac reg_hash_size (2^n buckets)
SPREAD="${SPREAD:-10}"                             # first REGISTERs spread over this many seconds (both clients)
KAMAILIO_BIN="${KAMAILIO_BIN:-kamailio}"

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BENCH_NAME=uac.sh
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"
REPO_DIR="$(dirname "$BENCH_DIR")"
LAMPPOST_BIN="${LAMPPOST_BIN:-${CARGO_TARGET_DIR:-$REPO_DIR/target}/release/lamppost}" # trunk and client
OUT="$BENCH_DIR/out"
RUN_ID="$(date -u +%Y%m%dT%H%M%SZ)"
RUN_DIR="$OUT/uac-$RUN_ID"
RESULTS="$OUT/uac-results-$RUN_ID.txt"
CLK_TCK="$(getconf CLK_TCK)"
SCHEMA_DIR="${KAMAILIO_SCHEMA_DIR:-/usr/share/kamailio/db_sqlite}"

TRUNK_PID=""
CLIENT_PID=""
CLIENT_NAME=""

# ---------------------------------------------------------------------------------------------- helpers

# Value of the Prometheus sample $2 (name with labels, as printed) on the lamppost at HTTP port $1; 0 if absent.
metric() {
    local text
    text="$(curl -sf --max-time 5 "http://127.0.0.1:$1/metrics")" || return 1
    awk -v m="$2" '$1 == m { v = $2 + 0 } END { print v + 0 }' <<<"$text"
}

trunk_metric() { metric "$TRUNK_HTTP_PORT" "$1"; }

# Waits until a UDP port is bound and, if $3 is an HTTP port, that port answers $4; $1 PID, $2 name.
wait_listening() {
    local pid="$1" name="$2" udp="$3" http="${4:-}" path="${5:-/api/status}" deadline=$((SECONDS + READY_TIMEOUT))
    while ((SECONDS < deadline)); do
        kill -0 "$pid" 2>/dev/null || return 1
        if [[ -n "$(ss -Hlun "sport = :$udp")" ]]; then
            [[ -z "$http" ]] && return 0
            curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:$http$path" && return 0
        fi
        sleep 0.2
    done
    die "$name did not start listening on udp:127.0.0.1:$udp${http:+ and http 127.0.0.1:$http} within ${READY_TIMEOUT}s"
}

# Stops process $1 and its children (SIGTERM, SIGKILL after 10 s).
stop_tree() {
    local pid="$1" name="$2" i
    [[ -n "$pid" ]] || return 0
    local -a pids
    mapfile -t pids < <(tree_pids "$pid")
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
    for i in "${pids[@]}"; do
        [[ "$i" == "$pid" ]] && continue
        if kill -0 "$i" 2>/dev/null; then
            kill -KILL "$i" 2>/dev/null || true
        fi
    done
}

# Dies with the exit status of client $1, which is gone; $2 says when, $3 is its log.
client_died() {
    local rc=0 pid="$CLIENT_PID" how
    CLIENT_PID=""
    wait "$pid" 2>/dev/null || rc=$?
    if ((rc > 128)); then how="killed by signal $((rc - 128)) ($(kill -l $((rc - 128)) 2>/dev/null || echo '?'))"; else how="exit status $rc"; fi
    die "$1 died $2, $how: $(tail -n 5 "$3")"
}

stop_client() {
    local pid="$CLIENT_PID"
    CLIENT_PID=""
    stop_tree "$pid" "$CLIENT_NAME"
}

stop_trunk() {
    local pid="$TRUNK_PID"
    TRUNK_PID=""
    stop_tree "$pid" trunk
}

cleanup() {
    local rc=$?
    stop_client
    stop_trunk
    exit "$rc"
}

# ---------------------------------------------------------------------------------------------- trunk
# Starts a fresh trunk for client $1: new database, N users imported, log in $RUN_DIR/trunk-$1.log.
start_trunk() {
    local client="$1" dir="$RUN_DIR/trunk-$client"
    mkdir -p "$dir"
    sed -e "s|@TRUNK_PORT@|$TRUNK_PORT|g" -e "s|@TRUNK_HTTP_PORT@|$TRUNK_HTTP_PORT|g" -e "s|@GRANT@|$GRANT|g" \
        -e "s|@DIR@|$dir|g" "$BENCH_DIR/uac/trunk.toml" >"$dir/trunk.toml"
    "$LAMPPOST_BIN" user import "$RUN_DIR/trunk-users.txt" --config "$dir/trunk.toml" >"$dir/import.log" 2>&1 ||
        die "trunk: lamppost user import failed: $(tail -n 5 "$dir/import.log")"
    "$LAMPPOST_BIN" serve --config "$dir/trunk.toml" >"$RUN_DIR/trunk-$client.log" 2>&1 &
    TRUNK_PID=$!
    wait_listening "$TRUNK_PID" trunk "$TRUNK_PORT" "$TRUNK_HTTP_PORT" ||
        die "trunk exited during startup: $(tail -n 5 "$RUN_DIR/trunk-$client.log")"
}

# AORs at the trunk with at least one live binding, and the smallest remaining expiry among them ("count min").
trunk_live() {
    curl -sf --max-time 30 "http://127.0.0.1:$TRUNK_HTTP_PORT/api/aors" |
        jq -r '[.[] | select(.bindings | length > 0)] | "\(length) \([.[].bindings[].expires_in] | min // -1)"'
}

# Every binding at the trunk as "aor call-id cseq", one a line, into file $1.
trunk_cseqs() {
    curl -sf --max-time 30 "http://127.0.0.1:$TRUNK_HTTP_PORT/api/aors" |
        jq -r '.[] | .aor as $a | .bindings[] | "\($a) \(.call_id) \(.cseq)"' >"$1"
}

# New REGISTERs the client sent between the snapshots $1 and $2 of trunk_cseqs (retransmissions do not advance
# the CSeq), and the bindings whose Call-ID changed in between (their requests are not counted): "sent changed".
cseq_advance() {
    awk 'NR == FNR { id[$1] = $2; seq[$1] = $3; next }
        ($1 in id) && id[$1] == $2 { sent += $3 - seq[$1]; next }
        { changed++ }
        END { print sent + 0, changed + 0 }' "$1" "$2"
}

# ---------------------------------------------------------------------------------------------- clients
# The uacreg table for $2 rows into $1, from Kamailio's own DDL (its `version` row is the one 5.6 checks).
make_uacreg_db() {
    local db="$1" rows="$2"
    rm -f "$db"
    {
        echo "BEGIN;"
        cat "$SCHEMA_DIR/standard-create.sql" "$SCHEMA_DIR/uac-create.sql"
        if ((rows > 0)); then
            cat <<SQL
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $rows - 1)
INSERT INTO uacreg (l_uuid, l_username, l_domain, r_username, r_domain, realm, auth_username, auth_password,
                    auth_proxy, expires, flags, reg_delay)
SELECT printf('user%06d', i), printf('user%06d', i), 'client.local', printf('user%06d', i), 'bench.local', '',
       printf('user%06d', i), printf('pw-%06d', i), 'sip:127.0.0.1:$TRUNK_PORT', $EXPIRES, 0, 0 FROM n;
SQL
        fi
        echo "COMMIT;"
    } | sqlite3 -bail "$db"
    [[ "$(sqlite3 "$db" 'SELECT count(*) FROM uacreg;')" == "$rows" ]] || die "uacreg table in $db does not hold $rows rows"
}

# Starts client $1 on the uacreg database $2 (a file name in $RUN_DIR); $3 is a label for the log.
# Returns 2 (lamppost) when the binary does not know the [uac] section.
start_kamailio() {
    local db="$1" label="$2"
    "$KAMAILIO_BIN" -f "$BENCH_DIR/uac/kamailio-uac.cfg" -DD -E -x tlsf -X tlsf -m "$KAMAILIO_SHM" -M "$KAMAILIO_PKG" \
        -A "LISTEN=udp:127.0.0.1:$KAMAILIO_PORT" -A "CONTACT_ADDR=\"127.0.0.1:$KAMAILIO_PORT\"" \
        -A "DBURL=\"sqlite://$RUN_DIR/$db\"" -A "REG_TIMER=$KAMAILIO_REG_TIMER" -A "REG_RETRY=$KAMAILIO_REG_RETRY" \
        -A "REG_RANDOM_DELAY=$SPREAD" -A "REG_HASH_SIZE=$KAMAILIO_REG_HASH_SIZE" -A "CHILDREN=$KAMAILIO_CHILDREN" \
        >"$RUN_DIR/kamailio-$label.log" 2>&1 &
    CLIENT_PID=$!
    wait_listening "$CLIENT_PID" kamailio "$KAMAILIO_PORT" ||
        die "kamailio ($label) exited during startup: $(tail -n 5 "$RUN_DIR/kamailio-$label.log")"
}

start_lamppost() {
    local db="$1" label="$2" dir
    dir="$RUN_DIR/lamppost-$label"
    mkdir -p "$dir"
    cp "$RUN_DIR/$db" "$dir/$db"
    sed -e "s|@LAMPPOST_PORT@|$LAMPPOST_PORT|g" -e "s|@LAMPPOST_HTTP_PORT@|$LAMPPOST_HTTP_PORT|g" \
        -e "s|@LAMPPOST_SPREAD@|$SPREAD|g" -e "s|@DIR@|$dir|g" -e "s|@UACREG_DB@|$db|g" \
        "$BENCH_DIR/uac/client.toml" >"$dir/client.toml"
    "$LAMPPOST_BIN" serve --config "$dir/client.toml" >"$RUN_DIR/lamppost-$label.log" 2>&1 &
    CLIENT_PID=$!
    if ! wait_listening "$CLIENT_PID" lamppost "$LAMPPOST_PORT" "$LAMPPOST_HTTP_PORT" /api/status; then
        wait "$CLIENT_PID" 2>/dev/null || true
        CLIENT_PID=""
        if grep -qF 'unknown field `uac`' "$RUN_DIR/lamppost-$label.log"; then
            return 2
        fi
        die "lamppost client ($label) exited during startup: $(tail -n 5 "$RUN_DIR/lamppost-$label.log")"
    fi
}

# Registrations the lamppost client reports as registered.
lamppost_registered() {
    curl -sf --max-time 10 "http://127.0.0.1:$LAMPPOST_HTTP_PORT/api/registrations" |
        jq '[.[] | select(.state == "registered")] | length'
}

# ---------------------------------------------------------------------------------------------- one client
# Runs client $1 (kamailio|lamppost) against a fresh trunk; appends raw lines to $RESULTS.
run_client() {
    local name="$1" rc t0 t1 deadline live=0 pss_idle pss c0 c1 tc0 tc1 w0 w1 ok0 ok1 ch0 ch1 exp0 exp1
    local min_live sample line count min_exp expired_log errors registered=-

    log "$name: starting a fresh trunk on udp:127.0.0.1:$TRUNK_PORT (grant ${GRANT}s, $N users)"
    start_trunk "$name"
    CLIENT_NAME="$name"

    # Idle: the same client with an empty uacreg table.
    rc=0
    "start_$name" uacreg-empty.db idle || rc=$?
    if ((rc == 2)); then
        log "$name: NOT RUN: this lamppost binary does not support the [uac] section yet ($(grep -m1 -iE 'uac' "$RUN_DIR/lamppost-idle.log" | cut -c1-200))"
        echo "skipped client=$name reason=no-uac-support" >>"$RESULTS"
        stop_trunk
        return 0
    fi
    sleep "$IDLE_SETTLE"
    kill -0 "$CLIENT_PID" 2>/dev/null || client_died "$name" "while idle" "$RUN_DIR/$name-idle.log"
    pss_idle="$(pss_kib "$CLIENT_PID")"
    echo "idle client=$name rows=0 pss_kib=$pss_idle" >>"$RESULTS"
    log "$name: idle PSS $((pss_idle / 1024)) MiB"
    stop_client

    # Registration of all N.
    log "$name: starting with $N uacreg rows (asking ${EXPIRES}s, first REGISTERs spread over ${SPREAD}s)"
    t0="$(now_ns)"
    "start_$name" uacreg.db run || die "$name stopped supporting [uac] between its idle and its full run"
    deadline=$((SECONDS + REGISTER_TIMEOUT))
    while :; do
        kill -0 "$CLIENT_PID" 2>/dev/null || client_died "$name" "while registering" "$RUN_DIR/$name-run.log"
        live="$(trunk_metric lamppost_bindings)" || die "trunk stopped answering /metrics"
        ((live >= N)) && break
        if ((SECONDS >= deadline)); then
            [[ "$name" == lamppost ]] && registered="$(lamppost_registered || echo '?')"
            die "$name: only $live of $N registrations reached the trunk within ${REGISTER_TIMEOUT}s" \
                "(client reports $registered registered; logs in $RUN_DIR): $(tail -n 5 "$RUN_DIR/$name-run.log")"
        fi
        sleep 1
    done
    t1="$(now_ns)"
    local ramp_s
    ramp_s="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')"
    [[ "$name" == lamppost ]] && registered="$(lamppost_registered || echo '?')"
    echo "ramp client=$name n=$N seconds=$ramp_s client_registered=$registered" >>"$RESULTS"
    log "$name: all $N registered at the trunk after ${ramp_s}s"
    sleep "$SETTLE"

    # Steady window.
    log "$name: steady window of ${WINDOW}s"
    trunk_cseqs "$RUN_DIR/$name-cseq-start.txt" || die "trunk did not answer GET /api/aors"
    ok0="$(trunk_metric 'lamppost_register_responses_total{status="200"}')"
    ch0="$(trunk_metric 'lamppost_register_responses_total{status="401"}')"
    exp0="$(trunk_metric 'lamppost_binding_removals_total{reason="expired"}')"
    c0="$(cpu_ticks "$CLIENT_PID")"
    tc0="$(cpu_ticks "$TRUNK_PID")"
    w0="$(now_ns)"
    min_live="$N"
    deadline=$((SECONDS + WINDOW))
    while ((SECONDS < deadline)); do
        sample=$((deadline - SECONDS))
        ((sample > SAMPLE_INTERVAL)) && sample="$SAMPLE_INTERVAL"
        sleep "$sample"
        kill -0 "$CLIENT_PID" 2>/dev/null || client_died "$name" "in the steady window" "$RUN_DIR/$name-run.log"
        live="$(trunk_metric lamppost_bindings)" || die "trunk stopped answering /metrics"
        ((live < min_live)) && min_live="$live"
    done
    c1="$(cpu_ticks "$CLIENT_PID")"
    tc1="$(cpu_ticks "$TRUNK_PID")"
    w1="$(now_ns)"
    pss="$(pss_kib "$CLIENT_PID")"
    ok1="$(trunk_metric 'lamppost_register_responses_total{status="200"}')"
    ch1="$(trunk_metric 'lamppost_register_responses_total{status="401"}')"
    exp1="$(trunk_metric 'lamppost_binding_removals_total{reason="expired"}')"

    trunk_cseqs "$RUN_DIR/$name-cseq-end.txt" || die "trunk did not answer GET /api/aors"
    local sent callid_changed
    read -r sent callid_changed < <(cseq_advance "$RUN_DIR/$name-cseq-start.txt" "$RUN_DIR/$name-cseq-end.txt")

    # Lapse check: every user must still have a live binding; any expiry at the trunk is a lapse too.
    line="$(trunk_live)" || die "trunk did not answer GET /api/aors"
    read -r count min_exp <<<"$line"
    expired_log="$(grep -cE 'binding removed.*reason="?expired' "$RUN_DIR/trunk-$name.log" || true)"
    if [[ "$name" == kamailio ]]; then
        errors="$(grep -c 'ERROR' "$RUN_DIR/kamailio-run.log" || true)"
    else
        errors="$(grep -cE ' (ERROR|WARN) ' "$RUN_DIR/lamppost-run.log" || true)"
        registered="$(lamppost_registered || echo '?')"
    fi
    echo "window client=$name n=$N grant=$GRANT expires=$EXPIRES" \
        "wall_s=$(awk -v a="$w0" -v b="$w1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')" \
        "client_cpu_ticks=$((c1 - c0)) trunk_cpu_ticks=$((tc1 - tc0)) hz=$CLK_TCK" \
        "ok200=$((ok1 - ok0)) challenged401=$((ch1 - ch0)) sent=$sent callid_changed=$callid_changed" \
        "expired_in_window=$((exp1 - exp0))" \
        "min_live=$min_live pss_kib=$pss pss_idle_kib=$pss_idle" >>"$RESULTS"
    echo "lapse client=$name n=$N live=$count lapses=$((N - count)) min_expires_in=$min_exp" \
        "expired_log=$expired_log client_registered=$registered client_errors=$errors" >>"$RESULTS"
    log "$name: CPU $(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" -v a="$w0" -v b="$w1" \
        'BEGIN { printf "%.2f", 100 * t / hz / ((b - a) / 1e9) }')% of a core, PSS $((pss / 1024)) MiB," \
        "$count/$N live at the trunk, $expired_log expired"

    stop_client
    stop_trunk
    log "$name: stopped"
}

# ---------------------------------------------------------------------------------------------- report
summarize() {
    awk '
        function kv(   i, kv2) { delete f; for (i = 2; i <= NF; i++) { split($i, kv2, "="); f[kv2[1]] = kv2[2] } }
        function seen(c) { if (!(c in order)) { order[c] = ++n; keys[n] = c } }
        $1 == "skipped" { kv(); seen(f["client"]); skipped[f["client"]] = f["reason"] }
        $1 == "ramp"    { kv(); seen(f["client"]); ramp[f["client"]] = f["seconds"] }
        $1 == "window"  {
            kv(); c = f["client"]; seen(c); nn[c] = f["n"]; grant[c] = f["grant"]
            cpu[c] = 100 * f["client_cpu_ticks"] / f["hz"] / f["wall_s"]
            tcpu[c] = 100 * f["trunk_cpu_ticks"] / f["hz"] / f["wall_s"]
            # A refresh is an authenticated REGISTER answered 200; "sent" counts new requests (CSeq advances),
            # so responses beyond it answered retransmissions.
            rps[c] = f["ok200"] / f["wall_s"]; sent[c] = f["sent"] / f["wall_s"]
            retr[c] = (f["ok200"] + f["challenged401"] - f["sent"]) / f["wall_s"]; cidch[c] = f["callid_changed"]
            pss[c] = f["pss_kib"]; idle[c] = f["pss_idle_kib"]; minlive[c] = f["min_live"]
        }
        $1 == "lapse" {
            kv(); c = f["client"]; lapses[c] = f["lapses"]; expired[c] = f["expired_log"]; minexp[c] = f["min_expires_in"]
            errors[c] = f["client_errors"]
        }
        END {
            fmt = "%-9s %6s %6s %7s %10s %8s %9s %12s %9s %11s %8s %9s %14s %7s %8s %9s %10s %7s\n"
            printf fmt, "client", "N", "grant", "ramp-s", "CPU-%core", "trunk-%", "200s/s", "REGISTERs/s", "retrans/s",
                "CPU-us/REG",
                "PSS-MiB", "idle-MiB", "state-KiB/reg", "lapses", "expired", "min-live", "min-exp-s", "errors"
            for (i = 1; i <= n; i++) {
                c = keys[i]
                if (c in skipped) { printf "%-9s not run: %s\n", c, skipped[c]; continue }
                printf fmt, c, nn[c], grant[c], ramp[c], sprintf("%.2f", cpu[c]), sprintf("%.1f", tcpu[c]),
                    sprintf("%.1f", rps[c]), sprintf("%.1f", sent[c]), sprintf("%.1f", retr[c]),
                    (sent[c] > 0 ? sprintf("%.0f", 1e4 * cpu[c] / sent[c]) : "-"), sprintf("%.1f", pss[c] / 1024),
                    sprintf("%.1f", idle[c] / 1024), sprintf("%.3f", (pss[c] - idle[c]) / nn[c]), lapses[c],
                    expired[c], minlive[c], minexp[c], errors[c]
                total += lapses[c] + expired[c]
            }
            for (i = 1; i <= n; i++) {
                c = keys[i]
                if (cidch[c] > 0)
                    printf "note: %s: %d bindings changed Call-ID in the window; their REGISTERs are not in REGISTERs/s\n", c, cidch[c]
            }
            if (("lamppost" in cpu) && ("kamailio" in cpu) && cpu["kamailio"] > 0) {
                printf "\nlamppost / kamailio: CPU %.2f   client-state memory %.2f   PSS %.2f\n",
                    cpu["lamppost"] / cpu["kamailio"],
                    ((pss["kamailio"] - idle["kamailio"]) > 0 ? (pss["lamppost"] - idle["lamppost"]) / (pss["kamailio"] - idle["kamailio"]) : 0),
                    pss["lamppost"] / pss["kamailio"]
            }
            printf "lapses and expiries in total: %d\n", total
        }' "$RESULTS"
}

# ---------------------------------------------------------------------------------------------- main
main() {
    local target="${1:-all}" clients client v port
    case "$target" in
    all) clients="kamailio lamppost" ;;
    kamailio | lamppost) clients="$target" ;;
    -h | --help)
        sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        return 0
        ;;
    *) die "unknown target '$target' (use all, kamailio or lamppost)" ;;
    esac
    for v in N EXPIRES GRANT WINDOW SAMPLE_INTERVAL REGISTER_TIMEOUT IDLE_SETTLE READY_TIMEOUT TRUNK_PORT \
        TRUNK_HTTP_PORT KAMAILIO_PORT LAMPPOST_PORT LAMPPOST_HTTP_PORT KAMAILIO_CHILDREN KAMAILIO_SHM KAMAILIO_PKG \
        KAMAILIO_REG_TIMER KAMAILIO_REG_RETRY KAMAILIO_REG_HASH_SIZE SPREAD; do
        require_uint "$v"
    done
    [[ "$SETTLE" =~ ^[0-9]+$ ]] || die "SETTLE must be a non-negative integer (got '$SETTLE')"
    ((N <= 1000000)) || die "N must be at most 1000000 (got $N)"
    ((EXPIRES >= GRANT)) || die "EXPIRES ($EXPIRES) must be at least GRANT ($GRANT): the trunk answers shorter requests with 423"

    cd "$REPO_DIR"
    require_cmd sqlite3 "apt-get install -y sqlite3"
    require_cmd curl "apt-get install -y curl"
    require_cmd jq "apt-get install -y jq"
    require_cmd ss "apt-get install -y iproute2"
    [[ -x "$LAMPPOST_BIN" ]] ||
        die "$LAMPPOST_BIN not found (it is the trunk): build it with 'cargo build --release -p lamppost' (or set LAMPPOST_BIN)"
    for f in standard-create.sql uac-create.sql; do
        [[ -r "$SCHEMA_DIR/$f" ]] || die "$SCHEMA_DIR/$f not found (apt-get install -y kamailio-sqlite-modules)"
    done
    if [[ " $clients " == *" kamailio "* ]]; then
        require_cmd "$KAMAILIO_BIN" "apt-get install -y kamailio kamailio-sqlite-modules"
        [[ -r /usr/lib/x86_64-linux-gnu/kamailio/modules/db_sqlite.so ]] ||
            die "Kamailio's db_sqlite module is missing (apt-get install -y kamailio-sqlite-modules)"
    fi
    for port in $TRUNK_PORT $KAMAILIO_PORT $LAMPPOST_PORT; do
        [[ -z "$(ss -Hlun "sport = :$port")" ]] || die "udp port $port is already in use: $(ss -Hlunp "sport = :$port")"
    done
    for port in $TRUNK_HTTP_PORT $LAMPPOST_HTTP_PORT; do
        [[ -z "$(ss -Hltn "sport = :$port")" ]] || die "tcp port $port is already in use: $(ss -Hltnp "sport = :$port")"
    done

    mkdir -p "$RUN_DIR"
    trap cleanup EXIT
    trap 'log "interrupted"; exit 130' INT TERM

    # Test data: the trunk's users and the clients' uacreg tables (the same rows for both clients).
    awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "user%06d@bench.local,pw-%06d\n", i, i }' \
        >"$RUN_DIR/trunk-users.txt"
    make_uacreg_db "$RUN_DIR/uacreg.db" "$N"
    make_uacreg_db "$RUN_DIR/uacreg-empty.db" 0

    {
        echo "# lamppost outbound registration benchmark, run $RUN_ID"
        echo "# host: $(uname -srm), $(nproc) cores, $(awk '/^model name/ { $1 = $2 = $3 = ""; print; exit }' /proc/cpuinfo | sed 's/^ *//')"
        [[ " $clients " == *" kamailio "* ]] && echo "# kamailio: $("$KAMAILIO_BIN" -v 2>&1 | awk 'NR == 1 { print $2, $3 }')"
        echo "# lamppost (trunk$([[ " $clients " == *" lamppost "* ]] && echo ' and client')): $LAMPPOST_BIN," \
            "git $(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)"
        echo "# settings: N=$N EXPIRES=$EXPIRES GRANT=$GRANT WINDOW=$WINDOW SETTLE=$SETTLE SPREAD=$SPREAD" \
            "KAMAILIO_REG_TIMER=$KAMAILIO_REG_TIMER KAMAILIO_REG_RETRY=$KAMAILIO_REG_RETRY" \
            "KAMAILIO_CHILDREN=$KAMAILIO_CHILDREN KAMAILIO_SHM=$KAMAILIO_SHM KAMAILIO_PKG=$KAMAILIO_PKG"
        echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
        echo "# logs: $RUN_DIR"
    } >"$RESULTS"
    local load
    load="$(cut -d' ' -f1 /proc/loadavg)"
    if awk -v l="$load" 'BEGIN { exit !(l >= 0.5) }'; then
        log "warning: load average $load: other work on the machine skews the CPU figures"
    fi

    for client in $clients; do
        run_client "$client"
    done

    local summary total
    summary="$(summarize)"
    printf '\n%s\n' "$summary" | tee -a "$RESULTS"
    echo "raw results: $RESULTS"
    total="$(awk '/^lapses and expiries in total:/ { print $NF }' <<<"$summary")"
    ((total == 0)) || die "$total registrations lapsed or expired at the trunk (see $RUN_DIR)"
}

main "$@"
