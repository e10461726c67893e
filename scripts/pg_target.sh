# shellcheck shell=bash
# shellcheck disable=SC2034  # ZB_PG_DSN is read by the scripts that source this file
# Sourced by backup.sh and restore.sh: which PostgreSQL database to use, the way the application
# chooses it. DATABASE_URL first, then ZB_DATABASE_URL (the settings read them in that order);
# without either, libpq's own environment (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE,
# PGSERVICE, ~/.pgpass). Sets ZB_PG_DSN for the PostgreSQL tools, exporting the password as
# PGPASSWORD so that it never appears in a command line (ps shows those).

zb_pg_target() {
    local url="${DATABASE_URL:-${ZB_DATABASE_URL:-}}"
    ZB_PG_DSN=""
    if [ -z "$url" ]; then
        return 0 # libpq's environment decides
    fi
    case "$url" in
        sqlite*)
            echo "error: $url is a SQLite database; these scripts are for PostgreSQL" \
                "(docs/operations.md, \"SQLite\")" >&2
            return 2
            ;;
        postgresql://* | postgres://* | postgresql+*://*) ;;
        *)
            echo "error: not a PostgreSQL URL: DATABASE_URL/ZB_DATABASE_URL" >&2
            return 2
            ;;
    esac
    # SQLAlchemy's driver suffix (postgresql+psycopg://) means nothing to libpq.
    local rest="${url#*://}"
    local userinfo="" hostpart="$rest"
    if [[ "$rest" == *@* ]]; then
        userinfo="${rest%%@*}"
        hostpart="${rest#*@}"
    fi
    local user="$userinfo"
    if [[ "$userinfo" == *:* ]]; then
        user="${userinfo%%:*}"
        local password="${userinfo#*:}"
        # Percent-decode (%40 is @ and so on); the URL form encodes special characters.
        password="${password//\\/\\\\}"
        printf -v PGPASSWORD '%b' "${password//%/\\x}"
        export PGPASSWORD
    fi
    if [ -n "$user" ]; then
        ZB_PG_DSN="postgresql://${user}@${hostpart}"
    else
        ZB_PG_DSN="postgresql://${hostpart}"
    fi
}
