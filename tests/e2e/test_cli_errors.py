"""Errors for people (issue 15, item 4): each mistake answered by one line that names it, a
documented exit code, no traceback and no file created."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from services.registry import SERVICES
from tests.e2e.test_serve import UZDIK, bare_env
from tests.ports import free_port


def uzdik(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(UZDIK), *args],
        env=bare_env(**env),
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def refused(
    folder: Path, code: int, words: list[str], *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    done = uzdik(folder, *args, **env)
    said = done.stderr + done.stdout
    assert done.returncode == code, said
    for word in words:
        assert word in said, said
    assert "Traceback" not in said and len(said.splitlines()) <= 4, said
    assert list(folder.iterdir()) == [], f"{args} created {list(folder.iterdir())}"
    return done


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    folder = tmp_path / "cwd"
    folder.mkdir()
    return folder


@pytest.mark.parametrize(
    "args",
    [
        ("serve", "--data-dir", "no-such-folder"),
        ("audit", "verify", "--data-dir", "no-such-folder"),
        ("replay", "--data-dir", "no-such-folder"),
        ("audit", "trail", "--candidate", "x", "--data-dir", "no-such-folder"),
    ],
)
def test_a_data_dir_that_does_not_exist_is_refused_and_not_created(
    empty: Path, args: tuple[str, ...]
) -> None:
    refused(empty, 2, ["no-such-folder", "no such folder"], *args)


def test_an_unreachable_database_is_named_by_host_and_port(empty: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql+asyncpg://uzdik:uzdik@127.0.0.1:{port}/uzdik_{{service}}"
    for args in (("serve", "nominations"), ("migrate", "all"), ("audit", "verify")):
        refused(
            empty,
            3,
            [f"127.0.0.1:{port}", "database", "DATABASE_URL"],
            *args,
            DATABASE_URL=url,
            KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{port}",
        )


def test_a_missing_database_or_a_refused_login_is_named(empty: Path, pg_admin_url: str) -> None:
    server = pg_admin_url.rpartition("@")[2].rpartition("/")[0]  # host:port
    user = pg_admin_url.split("://", 1)[1].split(":", 1)[0]
    missing = (
        f"postgresql+asyncpg://{pg_admin_url.split('://', 1)[1].rpartition('/')[0]}/no_such_db"
    )
    refused(
        empty,
        3,
        ["'no_such_db' does not exist", server, "createdb"],
        "migrate",
        "all",
        DATABASE_URL=missing,
    )
    wrong = f"postgresql+asyncpg://{user}:not-the-password@{server}/postgres"
    refused(empty, 3, [server, "refused the login", user], "migrate", "all", DATABASE_URL=wrong)


def test_an_unreachable_kafka_is_named_by_host_and_port(empty: Path, tmp_path: Path) -> None:
    port = free_port()
    refused(
        empty,
        3,
        [f"127.0.0.1:{port}", "Kafka", "KAFKA_BOOTSTRAP_SERVERS"],
        "serve",
        "scoring",
        UZDIK_SCORING_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/scoring.db",
        KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{port}",
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("serve", "nomination"), ["unknown service 'nomination'", "nominations"]),
        (("migrate", "scorng"), ["unknown service 'scorng'"]),
        (("relay", "polls"), ["unknown service 'polls'"]),
        (("audit", "verify", "--service", "votes"), ["unknown service 'votes'"]),
        (("token", "--sub", "x", "--role", "king"), ["unknown role", "king", "organiser"]),
        (("serve", "--no-such-option"), ["No such option"]),
        (("frobnicate",), ["No such command"]),
    ],
)
def test_an_unknown_service_role_or_option_is_refused_at_once(
    empty: Path, args: tuple[str, ...], words: list[str]
) -> None:
    refused(empty, 2, words, *args)


def test_one_service_without_kafka_says_what_it_needs(empty: Path) -> None:
    refused(empty, 2, ["KAFKA_BOOTSTRAP_SERVERS", "uzdik serve"], "serve", "survey")


def test_the_rehearsal_clock_is_refused_by_production_settings(empty: Path) -> None:
    for env in ({"UZDIK_ENV": "production"}, {"UZDIK_DEV_JWT_SECRET": ""}):
        refused(
            empty,
            4,
            ["UZDIK_CLOCK_START", "production"],
            "serve",
            UZDIK_CLOCK_OFFSET="-P2200D",
            **env,
        )


def test_a_busy_port_is_named(empty: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        refused(
            empty,
            3,
            [f"127.0.0.1:{port}", "UZDIK_HTTP_PORT"],
            "serve",
            UZDIK_HTTP_HOST="127.0.0.1",
            UZDIK_HTTP_PORT=str(port),
        )


def test_a_folder_without_the_databases_is_refused_and_left_as_it_was(empty: Path) -> None:
    for args in (("replay",), ("audit", "verify"), ("audit", "trail", "--candidate", "x")):
        refused(empty, 2, ["holds no", "scoring.db"], *args, "--data-dir", ".")


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(
    empty: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in SERVICES:
        (broken / f"{name}.db").write_bytes(b"not a database")
    plain = uzdik(empty, "audit", "verify", "--data-dir", str(broken))
    assert plain.returncode == 70, plain.stderr
    assert "uzdik: error: unexpected" in plain.stderr and "--debug" in plain.stderr
    assert "Traceback" not in plain.stderr and len(plain.stderr.splitlines()) <= 3
    debug = uzdik(empty, "--debug", "audit", "verify", "--data-dir", str(broken))
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_the_demo_refuses_a_district_without_applicants(empty: Path) -> None:
    refused(empty, 2, ["--per-district"], "demo", "--per-district", "0")


def marked(mark: str) -> list[int]:
    """The live processes (not zombies) whose environment holds ``mark``: a process the demo
    started inherits its environment, wherever it was reparented to."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if f"{MARK}={mark}".encode() not in (entry / "environ").read_bytes():
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if state != "Z":
            found.append(int(entry.name))
    return found


MARK = "UZDIK_TEST_DEMO_MARK"


def test_a_service_process_that_cannot_start_is_one_sentence_and_the_others_end(
    empty: Path, tmp_path: Path
) -> None:
    """The demo's services run as processes: one that fails at its start (its database is no
    database) is named in a sentence, no traceback; the demo ends with 1, and no process it
    started is left."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "survey.db").write_bytes(b"not a database" * 100)
    mark = uuid.uuid4().hex
    demo = subprocess.run(
        [str(UZDIK), "demo", "--data-dir", str(data), "--no-fresh", "--region", "100000000"],
        env=bare_env(**{MARK: mark}),
        cwd=empty,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out, err = demo.stdout, demo.stderr
    assert demo.returncode == 1, out + err
    assert "the survey service's process failed: DatabaseError" in err, err
    assert "uzdik: error: the survey service's process ended before it served" in err, err
    assert "Traceback" not in out + err, err
    assert marked(mark) == []


def test_ctrl_c_stops_the_demo_with_a_sentence_and_every_process_it_started(
    empty: Path, tmp_path: Path
) -> None:
    mark = uuid.uuid4().hex
    demo = subprocess.Popen(
        [str(UZDIK), "demo", "--data-dir", str(tmp_path / "data"), "--region", "100000000"],
        env=bare_env(**{MARK: mark}),
        cwd=empty,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as a terminal's
    )
    assert demo.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the services are up once a step has finished
        line = demo.stdout.readline()
        if "commissions:" in line or not line:
            break
    started = set(marked(mark)) - {demo.pid}
    assert len(started) >= 5, started  # the five services' processes at least
    demo.send_signal(signal.SIGINT)
    out, err = demo.communicate(timeout=60)
    assert demo.returncode == 130, out + err
    assert "uzdik: error: interrupted (Ctrl-C)" in err, err
    assert "Traceback" not in err, err
    deadline = time.monotonic() + 10  # they end when their standard input closes
    while marked(mark) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert marked(mark) == []
