#!/usr/bin/env bash
# Regenerates the initial schema migration from the models. Only for use before the first
# release, while the schema is still one migration; afterwards add new revisions instead.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f alembic/versions/*_0001_initial_schema.py
mv alembic/versions/*.py "$tmp"/ 2>/dev/null || true
DATABASE_URL="sqlite:///$tmp/gen.db" .venv/bin/alembic revision --autogenerate --rev-id 0001 -m "initial schema" >/dev/null 2>&1
mv "$tmp"/*.py alembic/versions/ 2>/dev/null || true
# One stable file name, so regenerating never shows up as a rename.
for f in alembic/versions/*_0001_initial_schema.py; do
  [ "$f" = alembic/versions/20261123_1057_0001_initial_schema.py ] || mv "$f" alembic/versions/20261123_1057_0001_initial_schema.py
done
rm -rf "$tmp"
.venv/bin/ruff format -q alembic/versions || true
echo "regenerated: $(ls alembic/versions/*_0001_initial_schema.py)"
