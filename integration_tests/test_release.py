"""`make release` for real, against a throw-away registry on 127.0.0.1 (scripts/local-registry.sh,
Debian's docker-registry, installed with apt when missing).

- The refusal: where the real base (airbyte/python-connector-base, pinned by digest) cannot be pulled,
  `make release` refuses to build on the local stand-in and pushes nothing.
- linux/amd64 (in `make test`, through scripts/image-tests.sh): with ALLOW_STAND_IN_BASE=1 (test only)
  where the real base cannot be pulled, the release pushes; the registry's manifest list, the image's
  config (architecture, io.airbyte labels) and `spec` of the pulled-back image are checked.
- linux/amd64 + linux/arm64 (marker release_arm64: `make release-test`, not in `make test`: the arm64
  build runs under QEMU emulation and takes minutes): both platforms in the registry's list, and the
  arm64 image answers `spec` under emulation. Where this machine cannot emulate arm64, the release
  must refuse instead (exit 5) and push nothing, and that is what is tested.

Without a container engine these tests skip on a developer's machine and fail in CI (CI=true).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from integration_tests.fault_report import FIGURES

pytestmark = pytest.mark.image_tests

ROOT = Path(__file__).resolve().parent.parent
INDEX_TYPES = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_TYPES = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"


def _fail_or_skip(message: str) -> None:
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(message)
    pytest.skip(message)


def _version() -> str:
    return re.search(r'^version\s*=\s*"([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)


def _metadata() -> dict:
    return yaml.safe_load((ROOT / "metadata.yaml").read_text())["data"]


@pytest.fixture(scope="module")
def engine_env() -> dict:
    proc = subprocess.run(
        ["bash", "-c", 'out="$("$0" env)" || exit $?; eval "$out"; env -0', str(ROOT / "scripts" / "container-engine.sh")],
        capture_output=True, timeout=600,
    )
    if proc.returncode == 3:
        _fail_or_skip("no container engine: " + proc.stderr.decode(errors="replace").strip()[-300:])
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return dict(item.split("=", 1) for item in proc.stdout.decode().split("\0") if "=" in item)


@pytest.fixture(scope="module")
def registry(engine_env):
    """A registry on 127.0.0.1 for this module; stopped and its storage removed afterwards, with every
    image pulled back from it."""
    with tempfile.TemporaryDirectory(prefix="haloitsm-registry-") as tmp:
        proc = subprocess.run([str(ROOT / "scripts" / "local-registry.sh"), "start", tmp],
                              capture_output=True, text=True, timeout=600)
        if proc.returncode == 3:
            _fail_or_skip(proc.stderr.strip()[-300:])
        assert proc.returncode == 0, proc.stderr
        address = re.search(r"^REGISTRY=(\S+)$", proc.stdout, re.M).group(1)
        try:
            yield address
        finally:
            subprocess.run([str(ROOT / "scripts" / "local-registry.sh"), "stop", tmp], timeout=60)
            # Pulled back by tag or by digest: untagged by name (name@digest when it has no tag), which
            # leaves the layers other images share (the local release images, source-haloitsm:dev) alone.
            rows = subprocess.run(["docker", "images", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}"], env=engine_env,
                                  capture_output=True, text=True, timeout=120).stdout.splitlines()
            for repository, tag, digest in (row.split() for row in rows if row.startswith(address + "/")):
                name = f"{repository}@{digest}" if tag == "<none>" else f"{repository}:{tag}"
                subprocess.run(["docker", "rmi", name], env=engine_env, capture_output=True, timeout=300)


@pytest.fixture(scope="module")
def real_base_reachable(engine_env) -> bool:
    """Whether this machine can pull the real base (online); offline the release must refuse it."""
    base = re.search(r"^ARG BASE_IMAGE=(\S+)", (ROOT / "Dockerfile").read_text(), re.M).group(1)
    proc = subprocess.run(["timeout", "120", "docker", "pull", "-q", "--platform", "linux/amd64", base],
                          env=engine_env, capture_output=True, text=True)
    return proc.returncode == 0


def _release(registry: str, name: str, timeout: float, **env: str) -> subprocess.CompletedProcess:
    """`make release IMAGE=<registry>/<name>:<version>`, from the user's environment plus `env`."""
    clean = {k: v for k, v in os.environ.items()
             if k not in ("IMAGE", "ALLOW_STAND_IN_BASE", "PLATFORMS", "BASE_IMAGE", "CONTAINERS_CONF")}
    t0 = time.monotonic()
    proc = subprocess.run(["make", "-s", "release", f"IMAGE={registry}/{name}:{_version()}"], cwd=ROOT,
                          env={**clean, **env}, capture_output=True, text=True, timeout=timeout)
    proc.seconds = time.monotonic() - t0
    return proc


def _get(url: str, accept: str) -> tuple:
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.headers.get("Content-Type", ""), json.loads(response.read())


def _catalog(registry: str) -> list:
    return _get(f"http://{registry}/v2/_catalog", "application/json")[1]["repositories"]


def _platforms(registry: str, name: str, tag: str) -> dict:
    """{"linux/amd64": image config, ...} read from the registry: its manifest list, each manifest, each config."""
    kind, index = _get(f"http://{registry}/v2/{name}/manifests/{tag}", INDEX_TYPES)
    assert "index" in kind or "list" in kind, f"{registry}/{name}:{tag} is not a multi-platform image ({kind})"
    found = {}
    for entry in index["manifests"]:
        _, manifest = _get(f"http://{registry}/v2/{name}/manifests/{entry['digest']}", MANIFEST_TYPES)
        config = _get(f"http://{registry}/v2/{name}/blobs/{manifest['config']['digest']}", "*/*")[1]
        platform = f"{entry['platform']['os']}/{entry['platform']['architecture']}"
        assert config["architecture"] == entry["platform"]["architecture"], (platform, config["architecture"])
        found[platform] = config
    return found


def _check_release_output(proc, registry: str, name: str, platforms: str) -> None:
    out = proc.stdout
    data = _metadata()
    assert f"Connector display name:       {data['name']}" in out
    assert f"Docker repository name:       {registry}/{name}" in out
    assert f"Docker image tag:             {_version()}" in out
    assert f"Connector documentation URL:  {data['documentationUrl']}" in out
    assert f"PLATFORMS={platforms}" in out


def test_release_refuses_the_stand_in_base(registry, real_base_reachable):
    if real_base_reachable:
        pytest.skip("the real base can be pulled here: the refusal of the stand-in cannot be provoked")
    proc = _release(registry, "refused/source-haloitsm", timeout=300)
    assert proc.returncode != 0
    assert "Refusing to release" in proc.stderr and "stand-in" in proc.stderr, proc.stderr[-2000:]
    assert _catalog(registry) == [], "nothing may be pushed"


def test_release_amd64_to_a_local_registry(registry, engine_env, real_base_reachable):
    name = "haloitsm/source-haloitsm"
    proc = _release(registry, name, timeout=1800, PLATFORMS="linux/amd64", ALLOW_STAND_IN_BASE="1")
    assert proc.returncode == 0, proc.stderr[-4000:]
    _check_release_output(proc, registry, name, "linux/amd64")
    assert ("STAND_IN_BASE=1" in proc.stdout) == (not real_base_reachable)
    assert "NOTE: only linux/amd64 was released" in proc.stdout
    configs = _platforms(registry, name, _version())
    assert set(configs) == {"linux/amd64"}
    labels = configs["linux/amd64"]["config"]["Labels"]
    assert labels["io.airbyte.name"] == f"{registry}/{name}"
    assert labels["io.airbyte.version"] == _version()
    # The digest printed to pin the release is the registry's list, and the image pulled back answers spec.
    digest = re.search(r"^DIGEST=(\S+)$", proc.stdout, re.M).group(1)
    assert _get(f"http://{registry}/v2/{name}/manifests/{digest}", INDEX_TYPES)[1]["manifests"]
    tls = ["--tls-verify=false"] if engine_env.get("HALOITSM_ENGINE") == "podman" else []
    run = subprocess.run(["docker", "run", "--rm", "--pull=always", *tls, f"{registry}/{name}:{_version()}", "spec"],
                         env=engine_env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and '"type":"SPEC"' in run.stdout.replace(" ", ""), run.stderr[-2000:]
    FIGURES.append(f"make release (linux/amd64) to {registry}: {proc.seconds:.0f} s")


@pytest.mark.release_arm64
def test_release_amd64_and_arm64(registry, engine_env, real_base_reachable):
    name = "haloitsm/source-haloitsm-multi"
    emulation = subprocess.run([str(ROOT / "scripts" / "container-engine.sh"), "emulation", "arm64"],
                               capture_output=True, text=True, timeout=600)
    proc = _release(registry, name, timeout=3600, ALLOW_STAND_IN_BASE="1")
    if emulation.returncode != 0:
        # No QEMU here: a release without arm64 must not be pushed silently.
        assert proc.returncode != 0 and "Refusing to release without arm64" in proc.stderr, proc.stderr[-2000:]
        assert name not in _catalog(registry)
        FIGURES.append(f"make release refused: this machine cannot emulate arm64 ({emulation.stderr.strip()[-200:]})")
        return
    assert proc.returncode == 0, proc.stderr[-4000:]
    _check_release_output(proc, registry, name, "linux/amd64,linux/arm64")
    configs = _platforms(registry, name, _version())
    assert set(configs) == {"linux/amd64", "linux/arm64"}
    for config in configs.values():
        assert config["config"]["Labels"]["io.airbyte.name"] == f"{registry}/{name}"
    # The arm64 image, pulled back from the registry, runs `spec` (under emulation here).
    tls = ["--tls-verify=false"] if engine_env.get("HALOITSM_ENGINE") == "podman" else []
    run = subprocess.run(["docker", "run", "--rm", "--pull=always", *tls, "--platform", "linux/arm64",
                          f"{registry}/{name}:{_version()}", "spec"],
                         env=engine_env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0 and '"type":"SPEC"' in run.stdout.replace(" ", ""), run.stderr[-2000:]
    FIGURES.append(f"make release (linux/amd64 + linux/arm64) to {registry}: {proc.seconds:.0f} s")
