"""The connector's container image, run through a container engine against the Halo simulator.

Builds `source-haloitsm:dev` with scripts/build-image.sh (once per session; the build is cached,
so an unchanged tree rebuilds in seconds), then runs `spec`, `check`, `discover` and `read` in it
with configs mounted from a temporary directory, and the README's container commands as written
(test_readme_container_commands).

    pytest -m image_tests integration_tests/test_image.py

The engine is podman (installed with apt when missing; a `docker` shim first on PATH), or Docker
when a daemon runs. Without an engine these tests are skipped on a developer's machine and fail
in CI (CI=true). SOURCE_HALOITSM_IMAGE=<image> tests an existing image instead of building one.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from integration_tests.fault_report import FIGURES

pytestmark = pytest.mark.image_tests

ROOT = Path(__file__).resolve().parent.parent
TICKETS = 250  # three pages of 100
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def _report_timings():
    """Writes how long each step took to .build/image-test-timings.txt (and prints it with -s)."""
    t0 = time.monotonic()
    yield
    TIMINGS["whole module"] = time.monotonic() - t0
    report = "\n".join(f"{step:>28}: {seconds:6.1f} s" for step, seconds in TIMINGS.items())
    (ROOT / ".build").mkdir(exist_ok=True)
    (ROOT / ".build" / "image-test-timings.txt").write_text(report + "\n")
    print("\n" + report)


def _fail_or_skip(message: str) -> None:
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def engine_env() -> dict[str, str]:
    """The environment with the engine set up (CONTAINERS_CONF, the docker shim on PATH)."""
    t0 = time.monotonic()
    proc = subprocess.run(
        [
            "bash",
            "-c",
            'out="$("$0" env)" || exit $?; eval "$out"; env -0',
            str(ROOT / "scripts" / "container-engine.sh"),
        ],
        capture_output=True,
        timeout=600,
    )
    stderr = proc.stderr.decode(errors="replace")
    if proc.returncode == 3:
        pytest.skip(stderr.strip().splitlines()[-1] if stderr.strip() else "no container engine")
    assert proc.returncode == 0, f"container engine setup failed:\n{stderr}"
    env = dict(
        item.split("=", 1) for item in proc.stdout.decode().split("\0") if "=" in item
    )
    TIMINGS["engine setup"] = time.monotonic() - t0
    return env


@pytest.fixture(scope="session")
def image(engine_env: dict[str, str]) -> str:
    prebuilt = os.environ.get("SOURCE_HALOITSM_IMAGE")
    if prebuilt:
        if _engine(engine_env, "image", "inspect", prebuilt).returncode != 0:
            pytest.fail(f"SOURCE_HALOITSM_IMAGE={prebuilt} does not exist")
        return prebuilt
    t0 = time.monotonic()
    log = ROOT / ".build" / "build-image.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        proc = subprocess.run(
            [str(ROOT / "scripts" / "build-image.sh")],
            env={**engine_env, "IMAGE": "source-haloitsm:dev"},
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=900,
        )
    TIMINGS["image build"] = time.monotonic() - t0
    text = log.read_text(errors="replace")
    if proc.returncode == 3:
        _fail_or_skip(text.strip().splitlines()[-1])
    assert proc.returncode == 0, f"image build failed (log {log}):\n{text[-4000:]}"
    base = [line for line in text.splitlines() if line.startswith("BASE_IMAGE_USED=")]
    print(f"\nimage source-haloitsm:dev built in {TIMINGS['image build']:.1f} s; {base}")
    return "source-haloitsm:dev"


@pytest.fixture(scope="module")
def image_sim():
    from integration_tests.halo_simulator import HaloSimulator

    sim = HaloSimulator(
        tickets=TICKETS,
        seed=42,
        client_id="demo-client",
        client_secret="demo-secret",
        tenant="demo",
    )
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture(scope="module")
def secrets_dir(image_sim):
    """A folder mounted at /secrets: readable by the image's non-root user `airbyte`."""
    with tempfile.TemporaryDirectory(prefix="haloitsm-image-") as tmp:
        path = Path(tmp)
        path.chmod(0o755)
        config = {
            "base_url": image_sim.base_url,
            "tenant": "demo",
            "client_id": "demo-client",
            "client_secret": "demo-secret",
            "rate_limit": 6000,
            "page_size": 100,
        }
        _write(path / "config.json", config)
        _write(path / "bad_config.json", {**config, "client_secret": "wrong-secret"})
        yield path


def _write(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data))
    path.chmod(0o644)


def _engine(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def _run(env: dict[str, str], image: str, secrets: Path | None, *args: str, timeout: float = 180):
    """`docker run` the connector; returns (parsed messages, completed process)."""
    cmd = ["run", "--rm"]
    if env.get("HALOITSM_ENGINE") == "docker":
        cmd += ["--network", "host"]  # podman gets host networking from containers.conf
    if secrets is not None:
        cmd += ["-v", f"{secrets}:/secrets:ro"]
    t0 = time.monotonic()
    proc = _engine(env, *cmd, image, *args, timeout=timeout)
    TIMINGS[f"docker run {args[0]}"] = time.monotonic() - t0
    messages = []
    for line in proc.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                messages.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return messages, proc


def _of_type(messages: list[dict], kind: str) -> list[dict]:
    return [m for m in messages if m.get("type") == kind]


def _explain(proc: subprocess.CompletedProcess) -> str:
    traces = [line for line in proc.stdout.splitlines() if '"TRACE"' in line][:3]
    return f"exit {proc.returncode}\nstderr: {proc.stderr[-2000:]}\ntraces: {traces}"


def _project_version() -> str:
    import re

    return re.search(r'^version\s*=\s*"([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)


def test_image_conventions(engine_env, image):
    proc = _engine(engine_env, "image", "inspect", image)
    assert proc.returncode == 0, proc.stderr
    config = json.loads(proc.stdout)[0]["Config"]
    assert config["Entrypoint"] == ["python", "/airbyte/integration_code/main.py"]
    assert "AIRBYTE_ENTRYPOINT=python /airbyte/integration_code/main.py" in config["Env"]
    assert config["User"] == "airbyte"
    assert config["Labels"]["io.airbyte.name"] == "source-haloitsm"
    assert config["Labels"]["io.airbyte.version"] == _project_version()
    who = _engine(engine_env, "run", "--rm", "--entrypoint", "id", image, "-un")
    assert who.stdout.strip() == "airbyte", who.stderr


def test_spec(engine_env, image):
    messages, proc = _run(engine_env, image, None, "spec", timeout=60)
    specs = _of_type(messages, "SPEC")
    assert proc.returncode == 0 and len(specs) == 1, _explain(proc)
    spec = specs[0]["spec"]
    expected = json.loads((ROOT / "source_haloitsm" / "spec.json").read_text())
    assert spec["connectionSpecification"] == expected["connectionSpecification"]


def test_check_succeeds_against_simulator(engine_env, image, secrets_dir):
    messages, proc = _run(engine_env, image, secrets_dir, "check", "--config", "/secrets/config.json")
    statuses = _of_type(messages, "CONNECTION_STATUS")
    assert statuses, _explain(proc)
    assert statuses[0]["connectionStatus"]["status"] == "SUCCEEDED", statuses[0]


def test_check_fails_cleanly_with_bad_credentials(engine_env, image, secrets_dir):
    messages, proc = _run(
        engine_env, image, secrets_dir, "check", "--config", "/secrets/bad_config.json"
    )
    statuses = _of_type(messages, "CONNECTION_STATUS")
    assert statuses, _explain(proc)
    assert statuses[0]["connectionStatus"]["status"] == "FAILED"
    assert "wrong-secret" not in proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def discovered(engine_env, image, secrets_dir) -> dict:
    messages, proc = _run(
        engine_env, image, secrets_dir, "discover", "--config", "/secrets/config.json"
    )
    catalogs = _of_type(messages, "CATALOG")
    assert proc.returncode == 0 and catalogs, _explain(proc)
    return catalogs[0]["catalog"]


def test_discover(discovered):
    names = [s["name"] for s in discovered["streams"]]
    assert "tickets" in names, names
    tickets = next(s for s in discovered["streams"] if s["name"] == "tickets")
    assert "full_refresh" in tickets["supported_sync_modes"]
    assert tickets["json_schema"].get("properties")


def test_read_returns_every_ticket(engine_env, image, secrets_dir, image_sim, discovered):
    tickets = next(s for s in discovered["streams"] if s["name"] == "tickets")
    _write(
        secrets_dir / "catalog.json",
        {
            "streams": [
                {
                    "stream": tickets,
                    "sync_mode": "full_refresh",
                    "destination_sync_mode": "overwrite",
                }
            ]
        },
    )
    messages, proc = _run(
        engine_env,
        image,
        secrets_dir,
        "read",
        "--config",
        "/secrets/config.json",
        "--catalog",
        "/secrets/catalog.json",
        timeout=300,
    )
    assert proc.returncode == 0, _explain(proc)
    errors = [m for m in _of_type(messages, "TRACE") if m["trace"].get("type") == "ERROR"]
    assert not errors, errors[:3]
    records = [m["record"] for m in _of_type(messages, "RECORD")]
    assert all(r["stream"] == "tickets" for r in records)
    truth = image_sim.truth()
    FIGURES.append(f"image `read`: {len(records)} records, simulator truth {len(truth)} tickets")
    assert len(records) == len(truth)
    assert {int(r["data"]["id"]) for r in records} == {int(i) for i in truth}


README_MARKER = "<!-- container-commands"


def readme_container_commands() -> list:
    """The shell lines of the README's block after its `<!-- container-commands ... -->` marker."""
    import re

    after = (ROOT / "README.md").read_text().split(README_MARKER, 1)[1]
    block = re.search(r"```sh\n(.*?)```", after, re.S).group(1)
    return [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_readme_container_commands(engine_env, image, image_sim):
    """The README's container commands, run as written by bash in a folder laid out like the repository
    (`scripts/` and `integration_tests/` linked, a `secrets/` of its own with a config for the simulator,
    mode 600 as a user's would be), from an environment without this session's engine settings: the
    README's own `eval` line must set them up. Docker runs only the lines the README gives for Docker
    with a Halo on this machine (`--network host`)."""
    commands = readme_container_commands()
    assert any(c.startswith("docker run") and " read " in c for c in commands), commands
    if engine_env.get("HALOITSM_ENGINE") == "docker":
        commands = [c for c in commands if not c.startswith("docker run") or "--network host" in c]
    if image != "source-haloitsm:dev":  # SOURCE_HALOITSM_IMAGE: the README names source-haloitsm:dev
        commands = [c.replace("source-haloitsm:dev", image) for c in commands]
    shim_dir = str(ROOT / ".build" / "bin")
    env = {k: v for k, v in os.environ.items() if k not in ("CONTAINERS_CONF", "HALOITSM_ENGINE")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != shim_dir)
    with tempfile.TemporaryDirectory(prefix="haloitsm-readme-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)
        (work / "scripts").symlink_to(ROOT / "scripts")
        (work / "integration_tests").symlink_to(ROOT / "integration_tests")
        secrets = work / "secrets"
        secrets.mkdir(mode=0o700)
        config = {"base_url": image_sim.base_url, "tenant": "demo", "client_id": "demo-client",
                  "client_secret": "demo-secret", "rate_limit": 6000}
        (secrets / "config.json").write_text(json.dumps(config))
        (secrets / "config.json").chmod(0o600)
        t0 = time.monotonic()
        proc = subprocess.run(["bash", "-c", "set -euo pipefail\n" + "\n".join(commands) + "\n"], cwd=work, env=env,
                              capture_output=True, text=True, timeout=900)
        TIMINGS["README container commands"] = time.monotonic() - t0
    assert proc.returncode == 0, f"{commands}\n{proc.stderr[-3000:]}"
    messages = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    statuses = _of_type(messages, "CONNECTION_STATUS")
    assert statuses and all(s["connectionStatus"]["status"] == "SUCCEEDED" for s in statuses), statuses
    errors = [m for m in _of_type(messages, "TRACE") if m["trace"].get("type") == "ERROR"]
    assert not errors, errors[:3]
    tickets = {int(m["record"]["data"]["id"]) for m in _of_type(messages, "RECORD")
               if m["record"]["stream"] == "tickets" and m["record"]["data"].get("_ab_cdc_deleted_at") is None}
    truth = {int(i) for i in image_sim.truth()}
    assert tickets == truth
    streams = {m["record"]["stream"] for m in _of_type(messages, "RECORD")}
    FIGURES.append(f"README container commands ({engine_env.get('HALOITSM_ENGINE')}): {len(tickets)} tickets of "
                   f"{len(truth)}, {len(streams)} streams with records")
