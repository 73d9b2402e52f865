"""A service's stderr is JSON lines, whoever logs: structlog, a library, uvicorn, a warning."""

from __future__ import annotations

import json
import logging
import warnings

import pytest
import structlog

from shared.logging import configure_logging, get_logger


@pytest.fixture(autouse=True)
def _restore_root() -> object:
    root = logging.getLogger()
    handlers, level, config = list(root.handlers), root.level, structlog.get_config()
    yield  # the test's stderr is closed after it: nothing may keep writing there
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)
    structlog.configure(**config)


def lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def test_library_records_are_json_lines_beside_ours(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True)
    get_logger("uzdik.test").info("service.started", service="notifications")
    logging.getLogger("aiokafka.consumer.fetcher").error(
        "Failed fetch offsets from %s: %s", 1, "NotLeaderForPartitionError"
    )
    try:
        raise ValueError("the broker went away")
    except ValueError:
        logging.getLogger("sqlalchemy.pool").exception("connection lost")
    logging.getLogger("aiokafka").info("below the library threshold: not written")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("a deprecated call", DeprecationWarning, stacklevel=1)

    records = lines(capsys.readouterr().err)  # every line parses: none is bare text
    assert [r["event"] for r in records][:3] == [
        "service.started",
        "Failed fetch offsets from 1: NotLeaderForPartitionError",
        "connection lost",
    ]
    library = records[1]
    assert library["level"] == "error" and library["logger"] == "aiokafka.consumer.fetcher"
    assert "timestamp" in library
    assert "ValueError: the broker went away" in str(records[2]["exception"])
    assert len(records) == 4 and "a deprecated call" in str(records[3]["event"])
    assert records[3]["logger"] == "py.warnings"


def test_configuring_twice_keeps_one_handler(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=True)
    configure_logging(json=True)
    logging.getLogger("aiokafka").warning("once")
    assert [r["event"] for r in lines(capsys.readouterr().err)] == ["once"]


def test_console_rendering_for_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json=False)
    logging.getLogger("aiokafka").warning("rebalancing")
    err = capsys.readouterr().err
    assert "rebalancing" in err and "[warning" in err and not err.lstrip().startswith("{")
