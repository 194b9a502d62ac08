#!/usr/bin/env bash
# Sets where this project is published, everywhere it is written:
#
#   scripts/set-project-url.sh https://github.com/<owner>/source-haloitsm
#
# The project URL is the README's "Project:" line. The connector's documentation URL is that URL +
# /blob/main/docs/haloitsm.md (a GitHub/Gitea-style path to docs/haloitsm.md; give DOCS_URL=... for
# another host), written into source_haloitsm/spec.json (documentationUrl, what Airbyte links to),
# metadata.yaml (documentationUrl), pyproject.toml ([project.urls]) and docs/haloitsm.md.
# unit_tests/test_release.py checks they agree; `make release` prints the URL and tries to open it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
NEW="${1:-}"
[[ "$NEW" =~ ^https://[^[:space:]]+[^/]$ ]] || { echo "usage: $0 https://<host>/<path> (https, no trailing slash)" >&2; exit 2; }
OLD="$(sed -nE 's/^Project: <?(https:[^ >]+)>?.*$/\1/p' README.md | head -1)"
[ -n "$OLD" ] || { echo "no 'Project: <url>' line in README.md" >&2; exit 1; }
OLD_DOCS="$(sed -nE 's/^ *documentationUrl: *(.+)$/\1/p' metadata.yaml | head -1)"
NEW_DOCS="${DOCS_URL:-$NEW/blob/main/docs/haloitsm.md}"

python3 - "$OLD" "$NEW" "$OLD_DOCS" "$NEW_DOCS" <<'EOF'
import pathlib, sys
old, new, old_docs, new_docs = sys.argv[1:]
for name in ("README.md", "metadata.yaml", "source_haloitsm/spec.json", "pyproject.toml", "docs/haloitsm.md"):
    path = pathlib.Path(name)
    text = path.read_text()
    changed = text.replace(old_docs, new_docs).replace(old, new)
    if changed != text:
        path.write_text(changed)
        print(f"{name}: updated")
EOF
echo "project URL: $NEW"
echo "documentation URL: $NEW_DOCS"
