"""What a release is made of, checked without a container engine: one semver version in every file
that states it, one project URL, and the release script's refusals that need no engine.

(integration_tests/test_release.py runs `make release` against a registry on 127.0.0.1.)
"""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
DOCS_PATH = "/blob/main/docs/haloitsm.md"


def pyproject_version() -> str:
    match = re.search(r'^version\s*=\s*"([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert match, "pyproject.toml has no static version"
    return match.group(1)


def metadata() -> dict:
    return yaml.safe_load((ROOT / "metadata.yaml").read_text())["data"]


def dockerfile_label(name: str) -> str:
    match = re.search(rf"^LABEL {re.escape(name)}=(\S+)\s*$", (ROOT / "Dockerfile").read_text(), re.M)
    assert match, f"the Dockerfile has no LABEL {name}="
    return match.group(1)


def changelog_versions() -> list:
    return re.findall(r"^## (\S+) \((\d{4}-\d\d-\d\d)\)\s*$", (ROOT / "CHANGELOG.md").read_text(), re.M)


def docs_changelog_rows() -> list:
    text = (ROOT / "docs" / "haloitsm.md").read_text()
    section = text.split("\n## Changelog\n", 1)[1]
    header, rule, *rows = [line for line in section.splitlines() if line.startswith("|")]
    assert [c.strip() for c in header.strip("|").split("|")] == ["Version", "Date", "Pull Request", "Subject"]
    return [[c.strip() for c in row.strip("|").split("|")] for row in rows]


def project_url() -> str:
    match = re.search(r"^Project: <(https://[^>]+)>", (ROOT / "README.md").read_text(), re.M)
    assert match, "README.md has no 'Project: <https://...>' line"
    return match.group(1)


def test_one_semver_version_everywhere():
    version = pyproject_version()
    assert SEMVER.match(version), version
    assert metadata()["dockerImageTag"] == version
    assert dockerfile_label("io.airbyte.version") == version
    newest, _ = changelog_versions()[0]
    assert newest == version, "CHANGELOG.md's newest entry must be the current version"
    assert docs_changelog_rows()[0][0] == version, "docs/haloitsm.md's changelog table must start with the current version"


def test_changelogs_agree():
    entries = changelog_versions()
    rows = docs_changelog_rows()
    assert [v for v, _ in entries] == [row[0] for row in rows]
    assert [d for _, d in entries] == [row[1] for row in rows]
    assert all(SEMVER.match(v) for v, _ in entries)
    assert all(row[3] for row in rows), "every row needs a subject"


def test_one_project_url():
    url = project_url()
    docs_url = url + DOCS_PATH
    spec = json.loads((ROOT / "source_haloitsm" / "spec.json").read_text())
    assert spec["documentationUrl"] == docs_url
    assert metadata()["documentationUrl"] == docs_url
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'Homepage = "{url}"' in pyproject
    assert f'Documentation = "{docs_url}"' in pyproject
    # The docs say it must be set to where the project is published, and how.
    docs = (ROOT / "docs" / "haloitsm.md").read_text()
    assert "scripts/set-project-url.sh" in docs and docs_url in docs


def test_set_project_url_rewrites_every_copy(tmp_path):
    for name in ("README.md", "metadata.yaml", "source_haloitsm/spec.json", "pyproject.toml", "docs/haloitsm.md",
                 "scripts/set-project-url.sh"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text((ROOT / name).read_text())
    (tmp_path / "scripts/set-project-url.sh").chmod(0o755)
    new = "https://git.example.org/acme/source-haloitsm"
    proc = subprocess.run([str(tmp_path / "scripts/set-project-url.sh"), new], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    old = project_url()
    for name in ("README.md", "metadata.yaml", "source_haloitsm/spec.json", "pyproject.toml", "docs/haloitsm.md"):
        text = (tmp_path / name).read_text()
        assert old not in text, name
    assert json.loads((tmp_path / "source_haloitsm/spec.json").read_text())["documentationUrl"] == new + DOCS_PATH
    assert f"Project: <{new}>" in (tmp_path / "README.md").read_text()


def test_no_airbyte_namespace_claimed():
    data = metadata()
    assert data["dockerRepository"] == "source-haloitsm"
    text = "\n".join((ROOT / name).read_text() for name in ("Dockerfile", "metadata.yaml", "scripts/build-image.sh", "Makefile"))
    assert "airbyte/source-haloitsm" not in text


def _release(**env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("IMAGE", "ALLOW_STAND_IN_BASE", "BASE_IMAGE", "PLATFORMS")}
    return subprocess.run([str(ROOT / "scripts" / "release.sh")], env={**base, **env}, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize(
    "env, says",
    [
        ({}, "IMAGE is not set"),
        ({"IMAGE": "source-haloitsm:{v}"}, "does not name a registry"),
        ({"IMAGE": "acme/source-haloitsm:{v}"}, "does not name a registry"),
        ({"IMAGE": "ghcr.io/acme/source-haloitsm"}, "has no tag"),
        ({"IMAGE": "ghcr.io/acme/source-haloitsm:9.9.9"}, "is not the project's version"),
        ({"IMAGE": "ghcr.io/acme/source-haloitsm@sha256:" + "0" * 64}, "give a tag"),
        ({"IMAGE": "ghcr.io/acme/source-haloitsm:{v}", "ALLOW_STAND_IN_BASE": "1"}, "only accepted for a registry on 127.0.0.1"),
        ({"IMAGE": "ghcr.io/acme/source-haloitsm:{v}", "PLATFORMS": "linux/amd64,linux/s390x"}, "linux/s390x"),
    ],
)
def test_release_refuses_before_building(env, says):
    """Refusals that come before any engine or network: exit 2 with a message saying what to do."""
    version = pyproject_version()
    proc = _release(**{k: v.format(v=version) for k, v in env.items()})
    assert proc.returncode == 2, proc.stderr
    assert says in proc.stderr
