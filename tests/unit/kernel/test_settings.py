"""Settings from the environment: addresses given win; empty means unset; TLS to Kafka."""

from __future__ import annotations

import ssl

import pytest

from shared.kafka import client_kwargs, ssl_context
from shared.settings import Settings


def test_an_empty_region_from_a_configmap_means_every_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UZDIK_REGION", "")
    assert Settings().region is None


def test_database_url_is_templated_per_service_and_a_service_url_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://u:p@h/uzdik_{service}")
    monkeypatch.setenv("UZDIK_SURVEY_DATABASE_URL", "postgresql+asyncpg://u:p@other/survey")
    settings = Settings()
    assert settings.database_url_for("scoring") == "postgresql+asyncpg://u:p@h/uzdik_scoring"
    assert settings.database_url_for("survey") == "postgresql+asyncpg://u:p@other/survey"


def test_without_a_database_url_each_service_gets_an_embedded_sqlite_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    url = Settings(data_dir=tmp_path).database_url_for("nominations")  # type: ignore[arg-type]
    assert url.startswith("sqlite+aiosqlite:///") and url.endswith("nominations.db")


def test_kafka_is_plaintext_unless_ssl_is_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UZDIK_KAFKA_SECURITY_PROTOCOL", raising=False)
    assert ssl_context() is None and client_kwargs() == {}
    monkeypatch.setenv("UZDIK_KAFKA_SECURITY_PROTOCOL", "SSL")
    kwargs = client_kwargs()
    assert kwargs["security_protocol"] == "SSL"
    assert isinstance(kwargs["ssl_context"], ssl.SSLContext)
