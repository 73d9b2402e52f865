"""README "Running it distributed": every command of the section, as written, in bash, on a
second set of ports (PGPORT, KAFKA_PORT, KAFKA_CONTROLLER_PORT, UZDIK_HTTP_PORT) while the first
set (the PostgreSQL and Kafka the other tests use) stays busy and untouched.

Only the paths change: `make` runs with ``-C <repo>`` and `deploy/local/`, `.venv/bin/` are the
repo's, so the script runs in an empty folder (its `.uzdik/` logs land there). The section's
own `make down` stops this run's cluster and broker; the test then drops the cluster and its
data (``postgres.sh drop``) and removes the broker's data folder.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from tests.conftest import ROOT
from tests.e2e.test_serve import bare_env
from tests.ports import free_port

SECTION = "Running it distributed"
LOCAL = ROOT / "deploy" / "local"


def section_blocks(title: str) -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
    blocks: list[str] = re.findall(r"```sh\n(.*?)```", section, re.S)
    return blocks


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def below_ephemeral() -> int:
    """A port nothing listens on, below the range the kernel picks outgoing connections' local
    ports from: a port taken from that range (bind to 0) can be handed to a client connection
    (the broker's, a driver's) before the server meant for it binds, and the server then
    fails with "Address already in use"."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(max(1024, low - 12000), low - 8)
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                continue
        if not port_open(port):
            return port
    return free_port()


def free_run(count: int) -> int:
    """A port ``p`` with ``p + 1`` … ``p + count`` all free."""
    for _ in range(50):
        base = below_ephemeral()
        if base + count < 65536 and not any(port_open(base + i) for i in range(1, count + 1)):
            return base
    raise AssertionError("no run of free ports found")


def first_set() -> list[int]:
    """The ports of the PostgreSQL and Kafka the test session already uses (busy throughout)."""
    ports = []
    for name in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"):
        value = os.environ.get(name, "")
        if value:
            first = value.split(",")[0]
            port = urlsplit(first if "://" in first else f"//{first}").port
            if port:
                ports.append(port)
    return ports


def second_set() -> dict[str, str]:
    taken: set[int] = set()
    ports = {}
    for name in ("PGPORT", "KAFKA_PORT", "KAFKA_CONTROLLER_PORT"):
        port = below_ephemeral()
        while port in taken:
            port = below_ephemeral()
        taken.add(port)
        ports[name] = str(port)
    base = free_run(4)
    while taken & set(range(base, base + 5)):
        base = free_run(4)
    ports["UZDIK_HTTP_PORT"] = str(base)
    return ports


def as_written(blocks: list[str]) -> str:
    script = "\n".join(blocks)
    script = re.sub(r"(?m)^make ", f"make -s -C {ROOT} ", script)
    return script.replace("deploy/local/", f"{LOCAL}/").replace(".venv/bin/", f"{ROOT}/.venv/bin/")


def kill_session(sid: int) -> None:
    """SIGKILL every process of session ``sid``: the script and its jobs (``set -m`` gives each
    job its own process group, not its own session). PostgreSQL and Kafka run in sessions of
    their own and are left to :func:`cleanup`."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:  # after the command: state, ppid, pgrp, session
            try:
                os.kill(int(stat.parent.name), signal.SIGKILL)
            except ProcessLookupError:
                pass


def cleanup(env: dict[str, str], ports: dict[str, str]) -> str:
    """Stop and remove this run's cluster and broker (only them: their names hold our ports)."""
    out = []
    for command in (["down.sh"], ["postgres.sh", "drop"]):
        done = subprocess.run(
            [str(LOCAL / command[0]), *command[1:]],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        out.append(done.stderr)
    shutil.rmtree(ROOT / ".cache" / "kafka" / f"data-{ports['KAFKA_PORT']}", ignore_errors=True)
    return "".join(out)


def test_the_readme_distributed_section_runs_as_written_beside_a_busy_first_set(
    tmp_path: Path,
) -> None:
    busy = first_set()
    for port in busy:
        assert port_open(port), f"the first set's port {port} should be busy"
    blocks = section_blocks(SECTION)
    assert len(blocks) == 5, "setup, the open edition, the refusal, auditors, stop"
    script = as_written(blocks)
    commands = re.sub(r"\$\{\w+:-\d+\}|#.*", "", script)  # defaults and comments aside
    fixed = re.findall(r"\b(?:55432|909[23]|800[0-4])\b", commands)
    assert fixed == [], f"fixed ports in the commands: {fixed}"
    ports = second_set()
    env = bare_env(**ports)
    env.pop("PGPASSWORD", None)
    env["KAFKA_HEAP"] = "384m"
    bash = subprocess.Popen(
        ["bash", "-c", "set -m\n" + script],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = bash.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        kill_session(bash.pid)
        stdout, stderr = bash.communicate()
        raise AssertionError(f"the README commands did not finish:\n{stdout}\n{stderr}") from None
    finally:
        kill_session(bash.pid)  # a service the script left running (nothing, when it passed)
        still_open = [int(p) for p in ports.values() if port_open(int(p))]
        cleaned = cleanup(env, ports)
    output = stdout + "\n--- stderr\n" + stderr + "\n--- cleanup\n" + cleaned

    answers = re.findall(r"^(.*) (\d{3})$", stdout, re.M)
    codes = [code for _, code in answers]
    assert codes == ["201", "201", "201", "422"], output
    assert '"status":"submitted"' in answers[1][0].replace(" ", ""), output
    assert '"code":"application_late"' in answers[3][0].replace(" ", ""), output
    assert stdout.count('"status":"ready"') == 4, output
    # The auditors' block: the chains verify, the replay is identical, and the line about
    # `make demo`'s databases refuses the folder this empty directory does not have.
    assert "ok   nominations: 3 events" in stderr, output
    assert '"identical": true' in stdout, output
    assert "uzdik: error: --data-dir .uzdik/demo: no such folder" in stderr, output
    assert "Permission denied" not in stderr, output
    # `make down` stopped this run's PostgreSQL and Kafka; the first set is still served.
    assert still_open == [], output
    assert "stopping PostgreSQL" in stderr and "stopping broker" in stderr, output
    for port in busy:
        assert port_open(port), f"the first set's port {port} was touched:\n{output}"
    clusters = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True).stdout
    assert f" {ports['PGPORT']} " not in clusters, clusters
