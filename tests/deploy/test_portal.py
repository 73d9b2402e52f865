"""The portal's Deployment: stateless, its secrets by reference, and a network that lets it
reach the four services it calls (and the identity provider), nothing else of uzdik."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from services.portal.backends import SERVICES as PORTAL_CALLS
from services.portal.backends import Backends
from shared.settings import Settings
from tests.deploy.conftest import (
    PORTAL,
    SERVICES,
    Rendered,
    Resource,
    egress_allowed,
    ingress_allowed,
    pod_labels,
    pod_spec,
    policies_of,
    workloads,
)

KAFKA_PODS = {"strimzi.io/cluster": "uzdik", "strimzi.io/kind": "Kafka"}
HTTP = 8000  # the pods' port: policies see it, not the Services' 80


def env_of(workload: Resource) -> dict[str, Resource]:
    """The app container's env entries by name."""
    (app,) = pod_spec(workload)["containers"]
    return {e["name"]: e for e in app.get("env", [])}


def config(overlay: Rendered) -> dict[str, str]:
    (cm,) = [
        c for c in overlay.of_kind("ConfigMap") if c["metadata"]["name"].startswith("uzdik-config")
    ]
    data: dict[str, str] = cm["data"]
    return data


def test_the_portal_has_no_database_and_no_kafka_identity(overlay: Rendered) -> None:
    portal = overlay.one("Deployment", PORTAL)
    env = env_of(portal)
    assert not {"DATABASE_URL", "DB_PASSWORD", "UZDIK_KAFKA_SSL_CERTFILE"} & set(env)
    refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in env.values() if "valueFrom" in e}
    assert refs == {"uzdik-portal"}
    volumes = pod_spec(portal)["volumes"]
    assert [v["name"] for v in volumes if "emptyDir" not in v] == [], "no secret is mounted"
    assert portal["spec"]["replicas"] == (1 if overlay.overlay == "dev" else 2)


def test_the_portal_gets_its_secrets_by_reference_only(overlay: Rendered) -> None:
    env = env_of(overlay.one("Deployment", PORTAL))
    for name, key in (
        ("UZDIK_PORTAL_SESSION_SECRET", "session-secret"),
        ("UZDIK_OIDC_CLIENT_SECRET", "oidc-client-secret"),
    ):
        assert "value" not in env[name], f"{name} must not be written in the manifest"
        assert env[name]["valueFrom"] == {"secretKeyRef": {"name": "uzdik-portal", "key": key}}
    assert not {k for k in config(overlay) if "SECRET" in k} - {"UZDIK_DEV_JWT_SECRET"}
    for w in workloads(overlay):  # the portal's secret is its own
        if w["metadata"]["name"] != PORTAL:
            assert "uzdik-portal" not in str(pod_spec(w))


def test_the_portal_calls_the_four_services_at_their_in_cluster_services(
    overlay: Rendered,
) -> None:
    env = env_of(overlay.one("Deployment", PORTAL))
    assert set(PORTAL_CALLS) == {"nominations", "scoring", "survey", "reporting"}
    for service in PORTAL_CALLS:
        (port,) = overlay.one("Service", service)["spec"]["ports"]
        assert port["targetPort"] == "http"
        url = env[f"UZDIK_PORTAL_{service.upper()}_URL"]["value"]
        assert url == f"http://{service}:{port['port']}"
    urls = {n for n in env if n.startswith("UZDIK_PORTAL_") and n.endswith("_URL")}
    assert urls == {f"UZDIK_PORTAL_{s.upper()}_URL" for s in PORTAL_CALLS}


def test_every_variable_the_portal_is_given_is_a_setting(overlay: Rendered) -> None:
    """A misspelt name would be ignored silently (the settings ignore unknown variables)."""
    given = set(env_of(overlay.one("Deployment", PORTAL))) | set(config(overlay))
    known = {f"UZDIK_{name.upper()}" for name in Settings.model_fields} | {
        "DATABASE_URL",
        "KAFKA_BOOTSTRAP_SERVERS",
        "UZDIK_DEPLOYMENT",  # a name for people (and kubectl), read by no code
    }
    assert given <= known, given - known
    assert {"UZDIK_OIDC_ISSUER", "UZDIK_OIDC_CLIENT_ID", "UZDIK_PORTAL_PUBLIC_URL"} <= given
    assert config(overlay)["UZDIK_ENV"] == "production"


def test_the_portal_is_denied_by_default(overlay: Rendered) -> None:
    policies = policies_of(overlay, pod_labels(overlay, PORTAL))
    assert [
        p
        for p in policies
        if set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not p["spec"].get("egress")
        and not p["spec"].get("ingress")
    ]


@pytest.mark.parametrize("service", PORTAL_CALLS)
def test_the_portal_and_each_service_it_calls_let_it_through(
    overlay: Rendered, service: str
) -> None:
    portal, target = pod_labels(overlay, PORTAL), pod_labels(overlay, service)
    assert egress_allowed(overlay, portal, target, HTTP)
    assert ingress_allowed(overlay, target, HTTP, pod=portal)
    assert not egress_allowed(overlay, portal, target, 5432)


def test_the_portal_reaches_no_database_no_kafka_and_not_notifications(
    overlay: Rendered,
) -> None:
    portal = pod_labels(overlay, PORTAL)
    for service in SERVICES:
        database = {"cnpg.io/cluster": f"{service}-db"}
        assert not egress_allowed(overlay, portal, database, 5432), service
        assert not ingress_allowed(overlay, database, 5432, pod=portal), service
    assert not egress_allowed(overlay, portal, KAFKA_PODS, 9093)
    notifications = pod_labels(overlay, "notifications")
    assert not egress_allowed(overlay, portal, notifications, HTTP)
    assert not ingress_allowed(overlay, notifications, HTTP, pod=portal)
    replay = {"app.kubernetes.io/component": "replay", "uzdik.kz/service": "reporting"}
    assert not egress_allowed(overlay, portal, replay, HTTP)


def test_the_portal_egress_is_the_four_services_dns_and_the_identity_provider(
    overlay: Rendered,
) -> None:
    reached = set()
    for p in policies_of(overlay, pod_labels(overlay, PORTAL)):
        for rule in p["spec"].get("egress", []):
            ports = frozenset(x["port"] for x in rule["ports"])
            for peer in rule["to"]:
                if "ipBlock" in peer:
                    reached.add(("ip", peer["ipBlock"]["cidr"], ports))
                elif peer["podSelector"].get("matchLabels", {}).get("k8s-app") == "kube-dns":
                    reached.add(("dns", "kube-dns", ports))
                else:
                    (services,) = peer["podSelector"]["matchExpressions"]
                    assert services["operator"] == "In"
                    reached.add(("uzdik", frozenset(services["values"]), ports))
    assert reached == {
        ("uzdik", frozenset(PORTAL_CALLS), frozenset({HTTP})),
        ("dns", "kube-dns", frozenset({53})),
        ("ip", "0.0.0.0/0", frozenset({443})),  # the identity provider
    }


def test_only_the_ingress_controller_reaches_the_portal(overlay: Rendered) -> None:
    portal = pod_labels(overlay, PORTAL)
    assert ingress_allowed(overlay, portal, HTTP, namespace="ingress-nginx")
    assert not ingress_allowed(overlay, portal, HTTP, namespace="monitoring")
    assert not ingress_allowed(overlay, portal, HTTP, namespace="default")
    for service in SERVICES:
        assert not ingress_allowed(overlay, portal, HTTP, pod=pod_labels(overlay, service))


def test_the_portal_calls_the_services_as_itself_with_no_client_address() -> None:
    """The survey believes X-Forwarded-For from private peers (the ingress controller); the
    portal, a private peer it admits, must not pass a browser's address on."""
    seen: list[httpx.Headers] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(200, json={})

    async def call() -> None:
        transport = httpx.MockTransport(answer)
        api = Backends(
            {
                s: httpx.AsyncClient(base_url=f"http://{s}", transport=transport)
                for s in PORTAL_CALLS
            }
        )
        await api.send("survey", "GET", "/v1/surveys", "a-token")
        await api.aclose()

    asyncio.run(call())
    (headers,) = seen
    assert not {"x-forwarded-for", "x-real-ip", "forwarded"} & {k.lower() for k in headers}
