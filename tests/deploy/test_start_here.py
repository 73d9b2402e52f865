"""The dev overlay's Deployments, started here as local processes, become ready.

For each Deployment of the rendered dev overlay, its initContainer (`uzdik migrate <service>`)
and its server container (`uzdik serve <service>`) are run as they would run in the pod: the
image's ENTRYPOINT (read from the Dockerfile) followed by the container's args, with the
container's environment (ConfigMap values included, `$(VAR)` references expanded as the
kubelet does). Only what points into the cluster is substituted:
  - the CloudNativePG secret keys (username, password, host, port, dbname) come from a fresh
    database on the local PostgreSQL (DATABASE_URL), so DATABASE_URL is still composed by the
    manifest's own `$(DB_USER)...` template;
  - KAFKA_BOOTSTRAP_SERVERS is the local broker, which speaks PLAINTEXT (no TLS files);
  - other secret values get test values; mounted volumes become temporary folders;
  - UZDIK_HTTP_HOST/PORT: 127.0.0.1 and a free port;
  - the portal's four service URLs: one local stand-in answering their /healthz.
The test passes when the readiness probe's path (/readyz) answers 200. The portal needs no
PostgreSQL or Kafka, so its test runs wherever the uzdik CLI does.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest

from tests.deploy.conftest import PORTAL, REPO, SERVICES, Rendered, Resource, pod_spec
from tests.ports import free_port

READY_TIMEOUT_S = 60.0
MIGRATE_TIMEOUT_S = 120.0
KAFKA_TLS_VARS = {"UZDIK_KAFKA_SSL_CAFILE", "UZDIK_KAFKA_SSL_CERTFILE", "UZDIK_KAFKA_SSL_KEYFILE"}

pytestmark = pytest.mark.integration


def entrypoint() -> list[str]:
    """The image's ENTRYPOINT, from the Dockerfile's last stage."""
    lines = (REPO / "Dockerfile").read_text(encoding="utf-8").splitlines()
    (line,) = [x for x in lines if x.startswith("ENTRYPOINT ")][-1:]
    argv: list[str] = json.loads(line.removeprefix("ENTRYPOINT "))
    return argv


def local_uzdik() -> Path:
    """.venv/bin/uzdik (UZDIK_DEPLOY_TEST_UZDIK overrides it, to test this test)."""
    path = Path(os.environ.get("UZDIK_DEPLOY_TEST_UZDIK") or REPO / ".venv" / "bin" / "uzdik")
    assert path.exists(), "no .venv/bin/uzdik: run `make venv`"
    probe = subprocess.run([str(path), "--help"], capture_output=True, text=True, check=False)
    if "No module named 'services.cli'" in probe.stderr:
        pytest.skip("the uzdik CLI (services.cli) does not exist yet")
    return path


def argv_of(container: Resource, uzdik: Path) -> list[str]:
    """What the container runs, with the image's `uzdik` replaced by the local one."""
    command = container.get("command") or entrypoint()
    assert command[0] == "uzdik", f"unexpected command {command}"
    return [str(uzdik), *command[1:], *container.get("args", [])]


def expand(value: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: defined variables only, $$ escapes."""
    return re.sub(
        r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
        lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)),
        value,
    )


class Substitutions:
    """Local stand-ins for what a container gets from the cluster."""

    def __init__(self, database_url: str, kafka: str, scratch: Path, port: int) -> None:
        url = urlsplit(database_url)
        self.db = {
            "username": url.username or "",
            "password": url.password or "",
            "host": url.hostname or "127.0.0.1",
            "port": str(url.port or 5432),
            "dbname": url.path.lstrip("/"),
        }
        self.kafka, self.scratch, self.port = kafka, scratch, port

    def secret(self, ref: dict[str, Any]) -> str:
        if ref["name"].endswith("-db-app"):
            return self.db[ref["key"]]
        return f"test-{ref['name']}-{ref['key']}"

    def mount(self, path: str) -> Path:
        local = self.scratch / path.strip("/").replace("/", "_")
        local.mkdir(parents=True, exist_ok=True)
        return local

    def environment(self, container: Resource, config: dict[str, str]) -> dict[str, str]:
        env: dict[str, str] = {}
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                env.update(config)
            else:
                assert source["secretRef"].get("optional"), f"required secret {source}"
        for var in container.get("env", []):
            if "value" in var:
                env[var["name"]] = expand(var["value"], env)
            else:
                env[var["name"]] = self.secret(var["valueFrom"]["secretKeyRef"])
        return self.localise(env, container)

    def localise(self, env: dict[str, str], container: Resource) -> dict[str, str]:
        mounts = {m["mountPath"]: self.mount(m["mountPath"]) for m in container["volumeMounts"]}
        for name, value in list(env.items()):
            for path, local in mounts.items():
                if value == path or value.startswith(path + "/"):
                    env[name] = str(local) + value[len(path) :]
        for name in KAFKA_TLS_VARS:
            env.pop(name, None)
        env |= {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka,
            "UZDIK_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",
            "UZDIK_HTTP_HOST": "127.0.0.1",
            "UZDIK_HTTP_PORT": str(self.port),
            "TMPDIR": str(mounts["/tmp"]),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.scratch),
            "LANG": "C.UTF-8",
        }
        return env


def wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"exited with {process.returncode} before ready:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
                last = str(response.status)
        except urllib.error.HTTPError as e:
            last = f"{e.code} {e.read()[:500]!r}"
        except OSError as e:
            last = str(e)
        time.sleep(0.5)
    pytest.fail(f"{url} not 200 within {READY_TIMEOUT_S} s (last: {last}):\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def config_of(dev: Rendered) -> dict[str, str]:
    (cm,) = [
        c for c in dev.of_kind("ConfigMap") if c["metadata"]["name"].startswith("uzdik-config")
    ]
    data: dict[str, str] = cm["data"]
    return data


@pytest.fixture
async def service_database(pg_url_factory: Callable[[], Awaitable[str]]) -> str:
    """A fresh database for the service (each service owns one, as in the cluster)."""
    return await pg_url_factory()


@pytest.mark.parametrize("service", SERVICES)
def test_rendered_deployments_start_here(
    service: str,
    rendered: dict[str, Rendered],
    service_database: str,
    kafka_bootstrap: str,
    tmp_path: Path,
) -> None:
    uzdik = local_uzdik()
    dev = rendered["dev"]
    assert {d["metadata"]["name"] for d in dev.of_kind("Deployment")} == {*SERVICES, PORTAL}
    pod = pod_spec(dev.one("Deployment", service))
    port = free_port()
    local = Substitutions(service_database, kafka_bootstrap, tmp_path, port)
    config = config_of(dev)
    for init in pod.get("initContainers", []):
        log = tmp_path / f"{init['name']}.log"
        with log.open("wb") as out:
            done = subprocess.run(
                argv_of(init, uzdik),
                env=local.environment(init, config),
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=MIGRATE_TIMEOUT_S,
                check=False,
            )
        assert done.returncode == 0, f"{init['name']} failed:\n{log.read_text()}"
    (app,) = pod["containers"]
    probe = app["readinessProbe"]["httpGet"]["path"]
    log = tmp_path / "app.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv_of(app, uzdik),
            env=local.environment(app, config),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_ready(process, f"http://127.0.0.1:{port}{probe}", log)
        finally:
            stop(process)


class _Healthy(http.server.BaseHTTPRequestHandler):
    """Stands in for the four services: every /healthz answers 200 and is remembered."""

    asked: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.asked.append(self.path)
        self.send_response(200 if self.path.endswith("/healthz") else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *_: object) -> None:
        pass


def test_rendered_portal_starts_here_and_is_ready_when_the_services_answer(
    rendered: dict[str, Rendered], tmp_path: Path
) -> None:
    """The portal needs no database and no Kafka: its container, with the manifest's
    environment (UZDIK_ENV=production, its secrets by reference), starts; it is ready once
    the four services its URLs name answer, here one local stand-in for all four."""
    uzdik = local_uzdik()
    dev = rendered["dev"]
    (app,) = pod_spec(dev.one("Deployment", PORTAL))["containers"]
    port = free_port()
    env = Substitutions("", "", tmp_path, port).environment(app, config_of(dev))
    assert env["UZDIK_ENV"] == "production"
    _Healthy.asked.clear()
    stand_in = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Healthy)
    threading.Thread(target=stand_in.serve_forever, daemon=True).start()
    for name, value in list(env.items()):
        if name.startswith("UZDIK_PORTAL_") and name.endswith("_URL"):
            service = urlsplit(value).hostname
            env[name] = f"http://127.0.0.1:{stand_in.server_port}/{service}"
    log = tmp_path / "portal.log"
    try:
        with log.open("wb") as out:
            process = subprocess.Popen(
                argv_of(app, uzdik), env=env, stdout=out, stderr=subprocess.STDOUT
            )
            try:
                for probe in ("livenessProbe", "readinessProbe"):
                    path = app[probe]["httpGet"]["path"]
                    wait_ready(process, f"http://127.0.0.1:{port}{path}", log)
            finally:
                stop(process)
    finally:
        stand_in.shutdown()
        stand_in.server_close()
    asked = set(_Healthy.asked)
    assert asked == {
        "/nominations/healthz",
        "/scoring/healthz",
        "/survey/healthz",
        "/reporting/healthz",
    }
