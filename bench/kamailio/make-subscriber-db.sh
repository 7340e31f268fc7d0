#!/usr/bin/env bash
# Creates Kamailio's SQLite auth database for the benchmark: the `version` and `subscriber` tables from the
# schema files shipped with Kamailio (kamailio-sqlite-modules), filled with COUNT users
# userNNNNNN / pw-NNNNNN in domain bench.local (plaintext passwords; the cfg sets calculate_ha1=yes).
# Usage: bench/kamailio/make-subscriber-db.sh DB_FILE [COUNT]   (default COUNT 100000)
set -euo pipefail

db="${1:?usage: make-subscriber-db.sh DB_FILE [COUNT]}"
count="${2:-100000}"
schema_dir="${KAMAILIO_SCHEMA_DIR:-/usr/share/kamailio/db_sqlite}"

if ! [[ "$count" =~ ^[1-9][0-9]*$ ]]; then
    echo "make-subscriber-db.sh: COUNT must be a positive integer (got '$count')" >&2
    exit 2
fi
for f in standard-create.sql auth_db-create.sql; do
    if [[ ! -r "$schema_dir/$f" ]]; then
        echo "make-subscriber-db.sh: $schema_dir/$f not found (apt-get install -y kamailio-sqlite-modules)" >&2
        exit 1
    fi
done
command -v sqlite3 >/dev/null || { echo "make-subscriber-db.sh: sqlite3 not found (apt-get install -y sqlite3)" >&2; exit 1; }

tmp="$db.tmp"
rm -f "$tmp"
{
    echo "BEGIN;"
    cat "$schema_dir/standard-create.sql" "$schema_dir/auth_db-create.sql"
    cat <<SQL
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $count - 1)
INSERT INTO subscriber (username, domain, password)
SELECT printf('user%06d', i), 'bench.local', printf('pw-%06d', i) FROM n;
COMMIT;
SQL
} | sqlite3 -bail "$tmp"

rows="$(sqlite3 "$tmp" 'SELECT count(*) FROM subscriber;')"
if [[ "$rows" != "$count" ]]; then
    echo "make-subscriber-db.sh: expected $count subscribers, found $rows" >&2
    exit 1
fi
mv "$tmp" "$db"
echo "make-subscriber-db.sh: wrote $count subscribers to $db"
