#!/usr/bin/env bash
# Back up Zorgbrigade's PostgreSQL database with pg_dump in custom format (restore it with
# scripts/restore.sh). The database is the application's: DATABASE_URL, else ZB_DATABASE_URL,
# else libpq's environment (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSERVICE).
#
#   scripts/backup.sh [DIRECTORY]        # DIRECTORY/zorgbrigade-<database>-<UTC time>.dump
#   scripts/backup.sh --output FILE      # exactly FILE
#
# Never overwrites a file; the dump is written beside its final name and only appears under it
# once pg_dump has finished and the archive reads back. Prints the file's path on stdout.
# The dump holds personal data: it is created readable by its owner only (umask 077).
# pg_dump must be the server's major version or newer (docs/operations.md, "Backup and restore").
set -euo pipefail
umask 077

usage() {
    echo 'usage:' >&2
    sed -n '6,7p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

output=""
directory="."
while [ $# -gt 0 ]; do
    case "$1" in
        -o | --output)
            [ $# -ge 2 ] || usage
            output="$2"
            shift 2
            ;;
        -h | --help) usage ;;
        -*) usage ;;
        *)
            directory="$1"
            shift
            ;;
    esac
done

# shellcheck source=scripts/pg_target.sh
source "$(dirname "$0")/pg_target.sh"
zb_pg_target
conn=()
if [ -n "$ZB_PG_DSN" ]; then
    conn=(--dbname="$ZB_PG_DSN")
fi

for tool in pg_dump pg_restore psql; do
    command -v "$tool" >/dev/null || { echo "error: $tool is not installed" >&2; exit 1; }
done

database="$(psql "${conn[@]}" --no-password --no-psqlrc --tuples-only --no-align --quiet \
    --command 'SELECT current_database()')"
if [ -z "$output" ]; then
    [ -d "$directory" ] || { echo "error: no such directory: $directory" >&2; exit 1; }
    output="${directory%/}/zorgbrigade-${database}-$(date -u +%Y%m%dT%H%M%SZ).dump"
fi
if [ -e "$output" ]; then
    echo "error: $output exists; a backup never overwrites a file" >&2
    exit 1
fi

partial="$(mktemp "${output}.partial.XXXXXX")"
trap 'rm -f "$partial"' EXIT
pg_dump "${conn[@]}" --format=custom --compress=6 --no-password --file="$partial"
# A dump that pg_restore cannot list is no backup.
pg_restore --list "$partial" >/dev/null
# ln fails if the name was taken meanwhile: the only atomic "create, never replace".
if ! ln "$partial" "$output" 2>/dev/null; then
    echo "error: $output appeared while dumping; left untouched" >&2
    exit 1
fi
echo "backup of ${database}: $output ($(du -h "$output" | cut -f1))" >&2
echo "$output"
