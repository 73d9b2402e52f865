"""Least privilege, checked on what is rendered: pods, secrets, Kafka ACLs, network paths."""

from __future__ import annotations

import pytest

from shared.settings import Settings
from tests.conftest import ROOT
from tests.deploy.conftest import (
    PORTAL,
    SERVICES,
    Rendered,
    Resource,
    pod_labels,
    pod_spec,
    policies_of,
    selects,
    workloads,
)

# What each service may write and read (ARCHITECTURE.md, "Services").
WRITES = {
    "nominations": {"uzdik.nominations.events"},
    "scoring": {"uzdik.scoring.events"},
    "survey": {"uzdik.survey.events"},
    "reporting": {"uzdik.results"},
    "notifications": {"uzdik.notifications.events"},
}
READS = {
    "nominations": set(),
    "scoring": {"uzdik.nominations.events", "uzdik.survey.events"},
    "survey": {"uzdik.scoring.events"},
    "reporting": {"uzdik.nominations.events", "uzdik.scoring.events", "uzdik.survey.events"},
    "notifications": {"uzdik.nominations.events", "uzdik.scoring.events", "uzdik.results"},
}
EVENT_TOPICS = {
    "uzdik.nominations.events",
    "uzdik.scoring.events",
    "uzdik.survey.events",
    "uzdik.reporting.events",
    "uzdik.notifications.events",
}
# Beyond its database, Kafka, DNS and HTTPS (identity provider; integrators' webhooks):
# notifications reaches the SMTP relay.
EXTRA_EGRESS = {"notifications": {("ip", "0.0.0.0/0", frozenset({25, 465, 587}))}}


def containers(workload: Resource) -> list[Resource]:
    pod = pod_spec(workload)
    found: list[Resource] = pod.get("initContainers", []) + pod["containers"]
    return found


def acl_map(user: Resource) -> dict[tuple[str, str], set[str]]:
    acls: dict[tuple[str, str], set[str]] = {}
    for acl in user["spec"]["authorization"]["acls"]:
        res = acl["resource"]
        assert res["patternType"] == "literal", "no prefix/wildcard grants"
        acls.setdefault((res["type"], res["name"]), set()).update(acl["operations"])
    return acls


def test_no_secret_value_is_committed(overlay: Rendered) -> None:
    assert overlay.of_kind("Secret") == []


def test_pods_run_as_non_root_with_a_read_only_root(overlay: Rendered) -> None:
    for w in workloads(overlay):
        pod = pod_spec(w)
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] >= 10000
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert pod["automountServiceAccountToken"] is False
        tmp = [v for v in pod["volumes"] if v["name"] == "tmp"]
        assert tmp and "emptyDir" in tmp[0]
        for c in containers(w):
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["readOnlyRootFilesystem"] is True
            assert sc["capabilities"]["drop"] == ["ALL"]
            assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]
            assert c["resources"]["requests"] and c["resources"]["limits"]["memory"]


def test_servers_have_probes_and_migrate_first(overlay: Rendered) -> None:
    deployments = overlay.of_kind("Deployment")
    assert {d["metadata"]["name"] for d in deployments} == {*SERVICES, PORTAL}
    for d in deployments:
        service = d["metadata"]["name"]
        pod = pod_spec(d)
        if service == PORTAL:
            assert "initContainers" not in pod, "the portal has no database to migrate"
        else:
            (init,) = pod["initContainers"]
            assert init["args"] == ["migrate", service]
        (app,) = pod["containers"]
        assert app["args"] == ["serve", service]
        assert app["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert app["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert app["startupProbe"]["httpGet"]["path"] == "/healthz"
        assert app["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]


def test_each_service_uses_its_own_database_and_kafka_identity(overlay: Rendered) -> None:
    clusters = {c["metadata"]["name"] for c in overlay.of_kind("Cluster")}
    users = {u["metadata"]["name"] for u in overlay.of_kind("KafkaUser")}
    for w in workloads(overlay):
        service = w["metadata"]["labels"]["uzdik.kz/service"]
        if service == PORTAL:
            continue  # test_the_portal_has_no_database_and_no_kafka_identity
        refs = {
            e["valueFrom"]["secretKeyRef"]["name"]
            for c in containers(w)
            for e in c.get("env", [])
            if "secretKeyRef" in e.get("valueFrom", {})
        }
        # CloudNativePG names the application's secret <cluster>-app
        assert {r for r in refs if r.endswith("-db-app")} == {f"{service}-db-app"}
        assert f"{service}-db" in clusters
        secrets = {v["secret"]["secretName"] for v in pod_spec(w)["volumes"] if "secret" in v}
        assert f"{service}-kafka" in secrets and f"{service}-kafka" in users


def test_survey_pepper_goes_to_the_survey_only(overlay: Rendered) -> None:
    for w in workloads(overlay):
        names = {e["name"] for c in containers(w) for e in c.get("env", [])}
        assert ("UZDIK_SURVEY_PEPPER" in names) == (w["metadata"]["name"] == "survey")


def federated_reads(overlay: Rendered, service: str) -> set[str]:
    """What a service reads of the other side of the federation (MirrorMaker 2's topics): the
    republic's scoring every region's finalists, a region's reporting the republic's answer
    and its notifications the winners it tells."""
    if overlay.overlay == "republic" and service == "scoring":
        return {f"{s}.uzdik.results" for s in REGION_ALIASES}
    if overlay.overlay.startswith("region-") and service in ("reporting", "notifications"):
        return {"republic.uzdik.results"}
    return set()


REGION_ALIASES = {p.name for p in (ROOT / "deploy" / "k8s" / "overlays").glob("region-*")}


@pytest.mark.parametrize("service", SERVICES)
def test_kafka_user_writes_only_its_own_topics(overlay: Rendered, service: str) -> None:
    acls = acl_map(overlay.one("KafkaUser", f"{service}-kafka"))
    writable = {name for (kind, name), ops in acls.items() if kind == "topic" and "Write" in ops}
    readable = {name for (kind, name), ops in acls.items() if kind == "topic" and "Read" in ops}
    assert writable == WRITES[service]
    assert readable == READS[service] | federated_reads(overlay, service)
    groups = {name for (kind, name) in acls if kind == "group"}
    assert all(g == f"uzdik-{service}" or g.startswith(f"uzdik-{service}-") for g in groups)
    assert (f"uzdik-{service}" in groups) == bool(READS[service])
    assert not [k for k in acls if k[0] in {"cluster", "transactionalId"}]
    assert all(ops <= {"Read", "Write", "Describe"} for ops in acls.values())


def test_every_topic_is_declared_and_events_are_kept_forever(overlay: Rendered) -> None:
    topics = {t["spec"]["topicName"]: t["spec"] for t in overlay.of_kind("KafkaTopic")}
    assert set(topics) == EVENT_TOPICS | {"uzdik.results"}
    for name in EVENT_TOPICS:
        assert topics[name]["config"]["retention.ms"] == -1
        assert topics[name]["config"]["retention.bytes"] == -1
    kafka = overlay.one("Kafka", "uzdik")["spec"]["kafka"]
    assert kafka["config"]["auto.create.topics.enable"] is False
    assert kafka["authorization"]["type"] == "simple"
    for listener in kafka["listeners"]:  # the services' and, federated, MirrorMaker 2's
        assert listener["tls"] is True and listener["authentication"]["type"] == "tls"
    names = [listener["name"] for listener in kafka["listeners"]]
    assert names == (["tls"] if overlay.overlay == "dev" else ["tls", "federation"])


def _egress_of(overlay: Rendered, labels: dict[str, str]) -> list[Resource]:
    return [rule for p in policies_of(overlay, labels) for rule in p["spec"].get("egress", [])]


@pytest.mark.parametrize("service", SERVICES)
def test_network_lets_a_service_reach_only_its_db_kafka_dns_and_idp(
    overlay: Rendered, service: str
) -> None:
    labels = pod_labels(overlay, service)
    policies = policies_of(overlay, labels)
    deny_all = [
        p
        for p in policies
        if set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not p["spec"].get("egress")
        and not p["spec"].get("ingress")
    ]
    assert deny_all, "a default-deny policy selects the service's pods"
    reached = set()
    for rule in _egress_of(overlay, labels):
        ports = {p["port"] for p in rule["ports"]}
        for peer in rule["to"]:
            pod = peer.get("podSelector", {}).get("matchLabels", {})
            if "cnpg.io/cluster" in pod:
                reached.add(("db", pod["cnpg.io/cluster"], frozenset(ports)))
            elif "strimzi.io/cluster" in pod:
                reached.add(("kafka", pod["strimzi.io/cluster"], frozenset(ports)))
            elif pod.get("k8s-app") == "kube-dns":
                reached.add(("dns", "kube-dns", frozenset(ports)))
            elif "ipBlock" in peer:
                reached.add(("ip", peer["ipBlock"]["cidr"], frozenset(ports)))
            else:
                pytest.fail(f"unexpected egress peer for {service}: {peer}")
    assert reached == {
        ("db", f"{service}-db", frozenset({5432})),
        ("kafka", "uzdik", frozenset({9093})),
        ("dns", "kube-dns", frozenset({53})),
        ("ip", "0.0.0.0/0", frozenset({443})),  # the identity provider's JWKS
    } | EXTRA_EGRESS.get(service, set())


@pytest.mark.parametrize("service", SERVICES)
def test_a_database_accepts_only_its_own_service(overlay: Rendered, service: str) -> None:
    policy = overlay.one("NetworkPolicy", f"{service}-db")
    assert policy["spec"]["podSelector"]["matchLabels"] == {"cnpg.io/cluster": f"{service}-db"}
    pods = [
        peer["podSelector"]["matchLabels"]
        for rule in policy["spec"]["ingress"]
        for peer in rule["from"]
        if "podSelector" in peer
    ]
    assert pods == [{"uzdik.kz/service": service}, {"cnpg.io/cluster": f"{service}-db"}]


def test_kafka_listener_admits_only_uzdik_pods_but_the_portal(overlay: Rendered) -> None:
    listeners = overlay.one("Kafka", "uzdik")["spec"]["kafka"]["listeners"]
    (listener,) = [x for x in listeners if x["name"] == "tls"]
    (peer,) = listener["networkPolicyPeers"]
    assert peer["podSelector"]["matchExpressions"] == [
        {"key": "uzdik.kz/service", "operator": "Exists"},
        {"key": "uzdik.kz/service", "operator": "NotIn", "values": [PORTAL]},
    ]
    for service in SERVICES:
        assert selects(peer["podSelector"], pod_labels(overlay, service))
    assert not selects(peer["podSelector"], pod_labels(overlay, PORTAL))
    assert not selects(peer["podSelector"], {"app.kubernetes.io/name": "somebody-else"})


def test_the_survey_sees_each_resident_behind_the_ingress_and_only_the_ingress_is_trusted(
    overlay: Rendered,
) -> None:
    """Residents reach the survey through ingress-nginx: their address is the last untrusted
    hop of X-Forwarded-For, so the per-address limits apply per resident, not to the whole
    region at once. Trusting private peers is safe only while nothing but the ingress
    controller, Prometheus and the portal (which forwards no client's address: it calls the
    survey as itself, test_portal.py) may connect to the survey's pods."""
    from services.survey.config import SurveyConfig

    survey = overlay.one("Deployment", "survey")
    env = {
        e["name"]: e.get("value", "")
        for c in pod_spec(survey)["containers"]
        for e in c.get("env", [])
    }
    config = SurveyConfig.from_settings(
        Settings(survey_trusted_proxies=env["UZDIK_SURVEY_TRUSTED_PROXIES"])
    )
    assert config.source_of("10.244.3.17", "203.0.113.7") == "203.0.113.7"  # via the ingress
    assert config.source_of("10.244.3.17", "203.0.113.7, 10.0.0.4") == "203.0.113.7"
    assert config.source_of("198.51.100.9", "203.0.113.7") == "198.51.100.9"  # a public peer

    labels = pod_labels(overlay, "survey")
    sources = [
        peer
        for p in policies_of(overlay, labels)
        for rule in p["spec"].get("ingress", [])
        for peer in rule.get("from", [])
    ]
    pods = [peer for peer in sources if "namespaceSelector" not in peer]
    namespaces = {
        peer["namespaceSelector"].get("matchLabels", {}).get("kubernetes.io/metadata.name")
        for peer in sources
        if "namespaceSelector" in peer
    }
    assert sources and None not in namespaces, sources  # every other peer is a named namespace
    assert namespaces <= {"ingress-nginx", "monitoring"}, namespaces
    portal = {"app.kubernetes.io/component": "server", "uzdik.kz/service": PORTAL}
    assert pods == [{"podSelector": {"matchLabels": portal}}], pods
