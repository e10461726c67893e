#!/usr/bin/env bash
# Restore a dump made by scripts/backup.sh into an empty PostgreSQL database, all or nothing
# (pg_restore --single-transaction: the first error rolls everything back and exits non-zero).
# The target is named like the application's database: DATABASE_URL, else ZB_DATABASE_URL, else
# libpq's environment, where PGDATABASE must then be set (a restore never guesses its target).
#
#   scripts/restore.sh FILE              # into an empty database (create it first)
#   scripts/restore.sh --force FILE      # drop and recreate the dump's objects in a used one
#
# Objects are owned by the role that connects (--no-owner): connect as the application's role.
# Stop the API and the workers first; run `zorgbrigade db upgrade` afterwards when the code is
# newer than the dump (docs/operations.md, "Backup and restore").
set -euo pipefail

usage() {
    echo 'usage:' >&2
    sed -n '7,8p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

force=0
file=""
while [ $# -gt 0 ]; do
    case "$1" in
        -f | --force)
            force=1
            shift
            ;;
        -h | --help) usage ;;
        -*) usage ;;
        *)
            [ -z "$file" ] || usage
            file="$1"
            shift
            ;;
    esac
done
[ -n "$file" ] || usage
[ -f "$file" ] || { echo "error: no such file: $file" >&2; exit 1; }

# shellcheck source=scripts/pg_target.sh
source "$(dirname "$0")/pg_target.sh"
zb_pg_target
if [ -n "$ZB_PG_DSN" ]; then
    target="$ZB_PG_DSN"
elif [ -n "${PGDATABASE:-}" ]; then
    target="$PGDATABASE"
else
    echo "error: name the target database (DATABASE_URL, ZB_DATABASE_URL or PGDATABASE)" >&2
    exit 2
fi

for tool in pg_restore psql; do
    command -v "$tool" >/dev/null || { echo "error: $tool is not installed" >&2; exit 1; }
done

if ! pg_restore --list "$file" >/dev/null; then
    echo "error: $file is not a pg_dump custom-format archive" >&2
    exit 1
fi

query() {
    psql --dbname="$target" --no-password --no-psqlrc --tuples-only --no-align --quiet \
        --set ON_ERROR_STOP=1 --command "$1"
}

database="$(query 'SELECT current_database()')"
# Relations outside the system schemas, not counting an extension's own (PostGIS's
# spatial_ref_sys in a database made from a PostGIS template is still "empty").
used="$(query "
    SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d
                      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                        AND d.deptype = 'e')")"

options=(--single-transaction --exit-on-error --no-owner --no-password)
if [ "$used" != 0 ]; then
    if [ "$force" != 1 ]; then
        echo "error: database ${database} is not empty (${used} tables, views or sequences);" \
            "restore into a new database, or pass --force to replace the dump's objects" >&2
        exit 1
    fi
    echo "warning: --force: replacing the dump's objects in ${database}" >&2
    options+=(--clean --if-exists)
fi

pg_restore "${options[@]}" --dbname="$target" "$file"
# pg_restore copies no planner statistics: gather them before the application's first query.
query 'ANALYZE' >/dev/null
echo "restored $file into ${database}" >&2
