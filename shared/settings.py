"""Settings from the environment (pydantic-settings).

``DATABASE_URL`` and ``KAFKA_BOOTSTRAP_SERVERS`` are read without prefix: an address you are
given always wins. Everything else is ``UZDIK_*``.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "uzdik-dev-issuer-secret-not-for-production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="UZDIK_", extra="ignore")

    service: str = "nominations"
    data_dir: Path = Path(".uzdik")
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "UZDIK_DATABASE_URL")
    )
    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "UZDIK_KAFKA_BOOTSTRAP_SERVERS"),
    )
    region: str | None = None
    topic_prefix: str = "uzdik"
    http_host: str = "0.0.0.0"
    http_port: int = 8000
    log_json: bool = True
    log_level: str = "INFO"
    max_body_bytes: int = Field(default=1 << 20, gt=0)  # a JSON body; uploads set their own

    jwks_url: str | None = None
    jwt_issuer: str = "uzdik-dev"
    jwt_audience: str = "uzdik"
    dev_jwt_secret: str | None = DEV_JWT_SECRET

    survey_pepper: str = "uzdik-dev-pepper-not-for-production"
    signing_keys_dir: Path | None = None
    blob_dir: Path | None = None

    kafka_security_protocol: str = "PLAINTEXT"
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    kafka_create_topics: bool = True

    relay_batch_size: int = 500
    relay_idle_seconds: float = 0.05
    consumer_poll_seconds: float = 0.05

    @field_validator(
        "region",
        "jwks_url",
        "kafka_ssl_cafile",
        "kafka_ssl_certfile",
        "kafka_ssl_keyfile",
        "database_url",
        "kafka_bootstrap_servers",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        """An empty variable (a Kubernetes ConfigMap's ``UZDIK_REGION: ""``) means unset."""
        return None if value == "" else value

    @property
    def distributed(self) -> bool:
        return self.kafka_bootstrap_servers is not None

    def database_url_for(self, service: str) -> str:
        """The service's own database.

        ``UZDIK_<SERVICE>_DATABASE_URL`` first; then ``DATABASE_URL``, where ``{service}`` is
        replaced by the service's name (one server, a database per service); else an embedded
        SQLite file under the data directory.
        """
        own = os.environ.get(f"UZDIK_{service.upper()}_DATABASE_URL")
        if own:
            return own
        if self.database_url:
            return self.database_url.replace("{service}", service)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{self.data_dir / service}.db"
