"""Settings from the environment (pydantic-settings).

``DATABASE_URL`` and ``KAFKA_BOOTSTRAP_SERVERS`` are read without prefix: an address you are
given always wins. Everything else is ``UZDIK_*``.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, Self
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "uzdik-dev-issuer-secret-not-for-production"
DEV_SESSION_SECRET = "uzdik-dev-session-secret-not-for-production"


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
    # a resumable upload nobody continued for this long is abandoned: its bytes are deleted
    nominations_upload_ttl_hours: float = Field(default=168.0, gt=0)

    jwks_url: str | None = None
    jwt_issuer: str = "uzdik-dev"
    jwt_audience: str = "uzdik"
    dev_jwt_secret: str | None = DEV_JWT_SECRET

    survey_pepper: str = "uzdik-dev-pepper-not-for-production"
    # the reverse proxies whose X-Forwarded-For the survey believes (comma-separated addresses
    # or networks); empty: the peer's address is the resident's
    survey_trusted_proxies: str = ""
    # the survey's operational knobs (services/survey/config.py says what each one does)
    survey_edition: str = "2020"
    survey_limits: str = ""  # JSON replacing the edition's per_ip, per_survey or burst
    survey_batch_max: int = Field(default=500, ge=1)
    survey_batch_linger_ms: float = Field(default=5.0, ge=0)
    survey_batch_quiet_ms: float = Field(default=1.0, ge=0)
    survey_batch_in_flight: int = Field(default=2, ge=1)
    survey_close_every_s: float = Field(default=30.0, ge=0)
    # Federation (deploy/README.md "Regions and the republic"): the MirrorMaker 2 aliases of the
    # regional clusters whose ``<alias>.<prefix>.results`` the republic's scoring reads
    # (comma-separated), and the alias of the republic's cluster whose results a region reads.
    federation_regions: str = ""
    federation_republic: str = ""
    # The portal (services/portal): where it finds the services' APIs (distributed; embedded it
    # calls them in process), the key that signs its session cookies, and the identity provider
    # it signs people in with (OpenID Connect, authorisation code + PKCE). No issuer: the dev
    # sign-in, while the dev issuer is on.
    portal_nominations_url: str = "http://nominations:8000"
    portal_scoring_url: str = "http://scoring:8000"
    portal_survey_url: str = "http://survey:8000"
    portal_reporting_url: str = "http://reporting:8000"
    portal_session_secret: str = DEV_SESSION_SECRET
    portal_public_url: str = ""
    # where residents open a survey's page (the survey service's public address, e.g.
    # https://survey.<region>.uzdik.kz); empty: ``/survey`` on the portal's host (embedded)
    portal_survey_page_url: str = ""
    oidc_issuer: str = ""
    oidc_client_id: str = "uzdik-portal"
    oidc_client_secret: str = ""
    oidc_scope: str = "openid profile"
    signing_keys_dir: Path | None = None
    blob_dir: Path | None = None

    kafka_security_protocol: str = "PLAINTEXT"
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    kafka_create_topics: bool = True

    relay_batch_size: int = 500
    # the relay's poll while idle: commits wake it at once (its own process's, and on PostgreSQL
    # another process's by NOTIFY), so the poll is only the safety net; at 0.05 s it was most
    # of an idle service's CPU (bench/README.md, "Score to rating")
    relay_idle_seconds: float = 0.5
    consumer_poll_seconds: float = 0.05
    # "feed": each consumer's topics take turns, the loop waits on the fetch itself (no fixed
    # wait); "faststream": FastStream's batch subscriber, which sleeps 50 ms after an empty
    # poll and applies every topic in one batch (bench/latency.py's reference)
    kafka_consumer: Literal["feed", "faststream"] = "feed"

    # What marks production: UZDIK_ENV=production, a real identity provider (JWKS) or the dev
    # issuer disabled. Rehearsal settings (the simulated business clock) are refused there.
    env: str = "development"
    clock_start: datetime | None = None
    clock_offset: timedelta | None = None

    @field_validator("clock_start", "clock_offset", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("clock_start")
    @classmethod
    def _almaty_unless_zoned(cls, value: datetime | None) -> datetime | None:
        """An instant without a zone is business time in Asia/Almaty."""
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=ZoneInfo("Asia/Almaty"))
        return value

    @model_validator(mode="after")
    def _rehearsal_is_not_production(self) -> Self:
        if (self.clock_start or self.clock_offset) and self.production:
            raise ValueError(
                "UZDIK_CLOCK_START / UZDIK_CLOCK_OFFSET run the services on a simulated clock, "
                "for rehearsals only; refused in production (UZDIK_ENV=production, "
                "UZDIK_JWKS_URL set or the dev issuer disabled)"
            )
        return self

    @property
    def production(self) -> bool:
        return self.env.lower() == "production" or bool(self.jwks_url) or not self.dev_jwt_secret

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
    def federated_regions(self) -> list[str]:
        """The regional clusters' MirrorMaker 2 aliases (``UZDIK_FEDERATION_REGIONS``)."""
        return [a.strip() for a in self.federation_regions.split(",") if a.strip()]

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
