"""A real OpenID Connect provider for tests: deploy/local/idp (panva/oidc-provider on Node.js).

Each provider runs on a free port of 127.0.0.1 with the accounts and redirect URIs a test gives,
in a process group of its own that is killed at the end. Its first use installs the npm
packages (``deploy/local/idp.sh install``: ``npm ci`` once). Without Node.js or the packages the
tests are skipped, and fail under ``make test`` (UZDIK_REQUIRE_SERVICES=1) or CI.

Use it as a fixture made for a test module::

    from tests.idp import Account, Idp, idp_fixture

    idp = idp_fixture(
        accounts=[Account("sec-1", "pw", "Aigerim", ["secretary"], region="110000000")],
        redirect_uris=["http://127.0.0.1:8123/auth/callback"],
    )

    def test_sign_in(idp: Idp) -> None:
        ...  # idp.issuer, idp.client_id, idp.client_secret, idp.jwks_url, idp.settings()

or, when the redirect URIs are known only inside the test, as a context manager::

    with running_idp(tmp_path, accounts, [f"http://127.0.0.1:{port}/auth/callback"]) as idp:
        ...
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest

from shared.settings import Settings
from tests.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
IDP_SH = ROOT / "deploy" / "local" / "idp.sh"
SERVER = ROOT / "deploy" / "local" / "idp" / "server.mjs"
CLIENT_ID = "uzdik-portal"
CLIENT_SECRET = "uzdik-portal-dev-secret"
AUDIENCE = "uzdik"


@dataclass(frozen=True)
class Account:
    """One person who may sign in: ``sub`` is the username."""

    sub: str
    password: str
    name: str
    roles: list[str]
    region: str | None = None
    commission: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Idp:
    """A running provider and its one confidential client (auth code + PKCE S256)."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    audience: str
    log: Path
    accounts: list[Account] = field(default_factory=list)

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/jwks"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def settings(self, **more: Any) -> Settings:
        """Settings whose TokenVerifier accepts this provider's access tokens (and no dev
        token); also those of a portal signing in here (``UZDIK_OIDC_*``)."""
        values: dict[str, Any] = {
            "jwks_url": self.jwks_url,
            "jwt_issuer": self.issuer,
            "jwt_audience": self.audience,
            "dev_jwt_secret": None,
            "oidc_issuer": self.issuer,
            "oidc_client_id": self.client_id,
            "oidc_client_secret": self.client_secret,
        }
        known = Settings.model_fields
        return Settings(**{k: v for k, v in {**values, **more}.items() if k in known})

    def env(self) -> dict[str, str]:
        """The same as environment variables (for a portal started as a process)."""
        return {
            "UZDIK_OIDC_ISSUER": self.issuer,
            "UZDIK_OIDC_CLIENT_ID": self.client_id,
            "UZDIK_OIDC_CLIENT_SECRET": self.client_secret,
            "UZDIK_JWKS_URL": self.jwks_url,
            "UZDIK_JWT_ISSUER": self.issuer,
            "UZDIK_JWT_AUDIENCE": self.audience,
        }

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def _unavailable(message: str) -> None:
    if os.environ.get("UZDIK_REQUIRE_SERVICES") or os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def node() -> str:
    """The ``node`` to run the provider with, its packages installed (once)."""
    found = shutil.which("node")
    if found is None or shutil.which("npm") is None:
        _unavailable(
            "the local identity provider needs Node.js 20 or later with npm on PATH "
            "(Debian: apt-get install nodejs npm); node or npm is not there"
        )
    done = subprocess.run(
        ["bash", str(IDP_SH), "install"], capture_output=True, text=True, timeout=900, check=False
    )
    if done.returncode != 0:
        _unavailable(
            "the local identity provider's npm packages could not be installed "
            f"(deploy/local/idp.sh install said: {done.stderr.strip()[-2000:]})"
        )
    assert found is not None
    return found


def _stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout)
    else:  # the server is gone; anything it started in its group goes too
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _wait_ready(proc: subprocess.Popen[bytes], issuer: str, log: Path, timeout: float) -> bool:
    """True when the discovery document answers; False when the process exited."""
    deadline = time.monotonic() + timeout
    url = f"{issuer}/.well-known/openid-configuration"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if httpx.get(url, timeout=2.0).json().get("issuer") == issuer:
                return True
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.1)
    _stop(proc)
    tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
    pytest.fail(f"the identity provider did not answer on {url} within {timeout:.0f} s:\n{tail}")


@contextmanager
def running_idp(
    workdir: Path,
    accounts: Sequence[Account],
    redirect_uris: Sequence[str],
    post_logout_redirect_uris: Sequence[str] = (),
    *,
    client_id: str = CLIENT_ID,
    client_secret: str = CLIENT_SECRET,
    audience: str = AUDIENCE,
    access_token_ttl: int = 3600,
    timeout: float = 60.0,
) -> Iterator[Idp]:
    """Start a provider on a free port; stop it (its whole process group) on leaving."""
    executable = node()
    workdir.mkdir(parents=True, exist_ok=True)
    accounts_file = workdir / "accounts.json"
    accounts_file.write_text(json.dumps([asdict(a) for a in accounts]), encoding="utf-8")
    log = workdir / "idp.log"
    for _attempt in range(3):  # a free port may be taken between looking and listening
        port = free_port()
        issuer = f"http://127.0.0.1:{port}"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("IDP_")},
            "IDP_PORT": str(port),
            "IDP_ISSUER": issuer,
            "IDP_ACCOUNTS": str(accounts_file),
            "IDP_CLIENT_ID": client_id,
            "IDP_CLIENT_SECRET": client_secret,
            "IDP_REDIRECT_URIS": ",".join(redirect_uris),
            "IDP_POST_LOGOUT_URIS": ",".join(post_logout_redirect_uris),
            "IDP_AUDIENCE": audience,
            "IDP_ACCESS_TOKEN_TTL": str(access_token_ttl),
        }
        with log.open("ab") as out:
            start = out.tell()
            proc = subprocess.Popen(
                [executable, str(SERVER)],
                cwd=SERVER.parent,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            if _wait_ready(proc, issuer, log, timeout):
                break
        except BaseException:
            _stop(proc)
            raise
        _stop(proc)
        said = log.read_bytes()[start:].decode("utf-8", errors="replace")
        if "EADDRINUSE" not in said:
            pytest.fail(f"the identity provider exited during start-up:\n{said[-3000:]}")
    else:
        pytest.fail("the identity provider found no free port in three attempts")
    try:
        yield Idp(
            issuer=issuer,
            client_id=client_id,
            client_secret=client_secret,
            redirect_uris=list(redirect_uris),
            post_logout_redirect_uris=list(post_logout_redirect_uris),
            audience=audience,
            log=log,
            accounts=list(accounts),
        )
    finally:
        _stop(proc)


def idp_fixture(
    accounts: Sequence[Account],
    redirect_uris: Sequence[str],
    post_logout_redirect_uris: Sequence[str] = (),
    *,
    name: str = "idp",
    scope: Literal["session", "package", "module", "class", "function"] = "session",
    **options: Any,
) -> Callable[..., Iterator[Idp]]:
    """A pytest fixture (assign it in a test module) yielding a provider started for it."""

    @pytest.fixture(scope=scope, name=name)
    def _idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Idp]:
        with running_idp(
            tmp_path_factory.mktemp("idp"),
            accounts,
            redirect_uris,
            post_logout_redirect_uris,
            **options,
        ) as idp:
            yield idp

    return _idp
