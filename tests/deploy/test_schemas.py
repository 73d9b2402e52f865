"""Rendered resources against schemas.

Core Kubernetes kinds: kubernetes-validate, strict (no unknown field), against the schemas of
Kubernetes 1.32 that the package ships (offline).
Custom resources (Strimzi, CloudNativePG, Prometheus Operator): their CRD schemas are not
available offline here, so they are checked structurally: apiVersion and kind known,
metadata.name a DNS-1123 name, and every key on the paths we write taken from the operators'
API references (a misspelt field fails), plus the enumerations we rely on. Alert expressions
are parsed as PromQL.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import Rendered, Resource

KUBERNETES_VERSION = "1.32.0"
DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")

CUSTOM_KINDS = {
    ("kafka.strimzi.io/v1beta2", "Kafka"),
    ("kafka.strimzi.io/v1beta2", "KafkaNodePool"),
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"),
    ("kafka.strimzi.io/v1beta2", "KafkaUser"),
    ("kafka.strimzi.io/v1beta2", "KafkaMirrorMaker2"),
    ("postgresql.cnpg.io/v1", "Cluster"),
    ("postgresql.cnpg.io/v1", "ScheduledBackup"),
    ("monitoring.coreos.com/v1", "PodMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}

# kind -> {dotted path of a mapping: the keys it may hold}; "[]" steps into each list item.
ALLOWED_KEYS: dict[str, dict[str, set[str]]] = {
    "Kafka": {
        "spec": {
            "kafka",
            "entityOperator",
            "clusterCa",
            "clientsCa",
            "cruiseControl",
            "kafkaExporter",
            "maintenanceTimeWindows",
        },
        "spec.kafka": {
            "version",
            "metadataVersion",
            "listeners",
            "config",
            "authorization",
            "rack",
            "metricsConfig",
            "logging",
            "template",
            "jvmOptions",
            "resources",
            "quotas",
            "tieredStorage",
            "image",
        },
        "spec.kafka.listeners.[]": {
            "name",
            "port",
            "type",
            "tls",
            "authentication",
            "configuration",
            "networkPolicyPeers",
        },
        "spec.entityOperator": {"topicOperator", "userOperator", "template", "tlsSidecar"},
        "spec.kafkaExporter": {
            "topicRegex",
            "groupRegex",
            "topicExcludeRegex",
            "groupExcludeRegex",
            "resources",
            "logging",
            "template",
            "enableSaramaLogging",
            "showAllOffsets",
            "image",
        },
    },
    "KafkaNodePool": {
        "spec": {"replicas", "roles", "storage", "resources", "jvmOptions", "template"},
        "spec.storage": {"type", "volumes"},
        "spec.storage.volumes.[]": {
            "id",
            "type",
            "size",
            "class",
            "deleteClaim",
            "kraftMetadata",
            "selector",
        },
    },
    "KafkaTopic": {
        "spec": {"topicName", "partitions", "replicas", "config"},
    },
    "KafkaUser": {
        "spec": {"authentication", "authorization", "quotas", "template"},
        "spec.authorization": {"type", "acls"},
        "spec.authorization.acls.[]": {"resource", "operations", "host", "type"},
        "spec.authorization.acls.[].resource": {"type", "name", "patternType"},
    },
    "KafkaMirrorMaker2": {
        "spec": {
            "version",
            "replicas",
            "image",
            "connectCluster",
            "clusters",
            "mirrors",
            "resources",
            "livenessProbe",
            "readinessProbe",
            "jvmOptions",
            "jmxOptions",
            "logging",
            "clientRackInitImage",
            "rack",
            "tracing",
            "template",
            "externalConfiguration",
            "metricsConfig",
        },
        "spec.clusters.[]": {"alias", "bootstrapServers", "tls", "authentication", "config"},
        "spec.clusters.[].tls": {"trustedCertificates"},
        "spec.clusters.[].tls.trustedCertificates.[]": {"secretName", "certificate", "pattern"},
        "spec.clusters.[].authentication": {
            "type",
            "certificateAndKey",
            "username",
            "passwordSecret",
        },
        "spec.clusters.[].authentication.certificateAndKey": {"secretName", "certificate", "key"},
        "spec.mirrors.[]": {
            "sourceCluster",
            "targetCluster",
            "sourceConnector",
            "heartbeatConnector",
            "checkpointConnector",
            "topicsPattern",
            "topicsExcludePattern",
            "groupsPattern",
            "groupsExcludePattern",
        },
        "spec.mirrors.[].sourceConnector": {
            "tasksMax",
            "config",
            "autoRestart",
            "state",
            "pause",
            "listOffsets",
            "alterOffsets",
        },
        "spec.metricsConfig": {"type", "valueFrom"},
        "spec.template": {
            "deployment",
            "podSet",
            "pod",
            "apiService",
            "headlessService",
            "connectContainer",
            "initContainer",
            "podDisruptionBudget",
            "serviceAccount",
            "clusterRoleBinding",
            "buildPod",
            "buildContainer",
            "buildConfig",
            "buildServiceAccount",
            "jmxSecret",
        },
        "spec.template.pod": {
            "metadata",
            "imagePullSecrets",
            "securityContext",
            "terminationGracePeriodSeconds",
            "affinity",
            "tolerations",
            "topologySpreadConstraints",
            "priorityClassName",
            "schedulerName",
            "hostAliases",
            "dnsPolicy",
            "dnsConfig",
            "enableServiceLinks",
            "tmpDirSizeLimit",
            "volumes",
        },
    },
    "Cluster": {
        "spec": {
            "instances",
            "imageName",
            "primaryUpdateStrategy",
            "enableSuperuserAccess",
            "bootstrap",
            "storage",
            "walStorage",
            "postgresql",
            "resources",
            "affinity",
            "backup",
            "monitoring",
            "description",
            "inheritedMetadata",
        },
        "spec.bootstrap": {"initdb", "recovery", "pg_basebackup"},
        "spec.bootstrap.initdb": {
            "database",
            "owner",
            "secret",
            "postInitApplicationSQL",
            "encoding",
            "localeCollate",
            "localeCType",
            "dataChecksums",
        },
        "spec.storage": {"size", "storageClass", "resizeInUseVolumes", "pvcTemplate"},
        "spec.affinity": {
            "enablePodAntiAffinity",
            "topologyKey",
            "podAntiAffinityType",
            "nodeSelector",
            "tolerations",
        },
        "spec.backup": {"barmanObjectStore", "retentionPolicy", "target", "volumeSnapshot"},
        "spec.backup.barmanObjectStore": {
            "destinationPath",
            "endpointURL",
            "s3Credentials",
            "azureCredentials",
            "googleCredentials",
            "wal",
            "data",
            "serverName",
            "tags",
            "endpointCA",
        },
        "spec.backup.barmanObjectStore.s3Credentials": {
            "accessKeyId",
            "secretAccessKey",
            "region",
            "sessionToken",
            "inheritFromIAMRole",
        },
        "spec.backup.barmanObjectStore.wal": {"compression", "maxParallel", "encryption"},
        "spec.backup.barmanObjectStore.data": {
            "compression",
            "jobs",
            "encryption",
            "immediateCheckpoint",
        },
    },
    "ScheduledBackup": {
        "spec": {
            "schedule",
            "immediate",
            "backupOwnerReference",
            "method",
            "cluster",
            "suspend",
            "target",
            "online",
        },
    },
    "PodMonitor": {
        "spec": {"selector", "podMetricsEndpoints", "namespaceSelector", "jobLabel"},
        "spec.podMetricsEndpoints.[]": {
            "port",
            "path",
            "interval",
            "scrapeTimeout",
            "relabelings",
            "metricRelabelings",
            "scheme",
        },
    },
    "PrometheusRule": {
        "spec": {"groups"},
        "spec.groups.[]": {"name", "rules", "interval"},
        "spec.groups.[].rules.[]": {"alert", "record", "expr", "for", "labels", "annotations"},
    },
}

ACL_OPERATIONS = {
    "Read",
    "Write",
    "Create",
    "Delete",
    "Alter",
    "Describe",
    "ClusterAction",
    "AlterConfigs",
    "DescribeConfigs",
    "IdempotentWrite",
    "All",
}
ACL_RESOURCE_TYPES = {"topic", "group", "cluster", "transactionalId"}


def at(value: Any, path: str) -> list[Any]:
    """All values at a dotted path; '[]' fans out over a list."""
    values = [value]
    for step in path.split("."):
        if step == "[]":
            values = [item for v in values if isinstance(v, list) for item in v]
        else:
            values = [v[step] for v in values if isinstance(v, dict) and step in v]
    return values


def is_custom(r: Resource) -> bool:
    group = r["apiVersion"].rpartition("/")[0]
    return "." in group and not group.endswith("k8s.io")


def test_core_resources_validate_against_kubernetes_schemas(
    tools: dict[str, str], rendered: dict[str, Rendered], tmp_path: Path
) -> None:
    files = []
    for name, r in rendered.items():
        path = tmp_path / f"{name}.yaml"
        # JSON documents are YAML documents: no YAML writer needed in this process.
        path.write_text("\n---\n".join(json.dumps(x) for x in r.resources if not is_custom(x)))
        files.append(str(path))
    result = subprocess.run(
        [tools["kubernetes-validate"], "--strict", "-k", KUBERNETES_VERSION, *files],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = result.stdout.splitlines()
    problems = [line for line in lines if " passed for resource " not in line]
    assert result.returncode == 0 and not problems, "\n".join(problems) + result.stderr
    assert len(lines) == sum(
        len([x for x in r.resources if not is_custom(x)]) for r in rendered.values()
    )


def test_custom_resources_are_known_kinds(overlay: Rendered) -> None:
    for r in overlay.resources:
        if is_custom(r):
            assert (r["apiVersion"], r["kind"]) in CUSTOM_KINDS
            assert DNS1123.match(r["metadata"]["name"]), r["metadata"]["name"]
            assert isinstance(r.get("spec"), dict)


def test_custom_resources_use_only_documented_fields(overlay: Rendered) -> None:
    for r in overlay.resources:
        for path, allowed in ALLOWED_KEYS.get(r["kind"], {}).items():
            for mapping in at(r, path):
                unknown = set(mapping) - allowed
                assert not unknown, f"{r['kind']}/{r['metadata']['name']} {path}: {unknown}"


def test_strimzi_resources_name_their_cluster(overlay: Rendered) -> None:
    for r in overlay.resources:
        if r["kind"] == "KafkaMirrorMaker2":  # names the clusters it joins in its spec
            assert r["spec"]["connectCluster"] == "local"
            local = [c for c in r["spec"]["clusters"] if c["alias"] == "local"]
            assert local[0]["bootstrapServers"] == "uzdik-kafka-bootstrap:9093"
        elif r["apiVersion"].startswith("kafka.strimzi.io/") and r["kind"] != "Kafka":
            assert r["metadata"]["labels"]["strimzi.io/cluster"] == "uzdik"


def test_kafka_user_acls_use_strimzi_enumerations(overlay: Rendered) -> None:
    for user in overlay.of_kind("KafkaUser"):
        assert user["spec"]["authentication"]["type"] == "tls"
        for acl in user["spec"]["authorization"]["acls"]:
            assert set(acl["operations"]) <= ACL_OPERATIONS
            assert acl["resource"]["type"] in ACL_RESOURCE_TYPES
            assert acl["resource"]["patternType"] in {"literal", "prefix"}


def test_topics_have_valid_sizes(overlay: Rendered) -> None:
    for topic in overlay.of_kind("KafkaTopic"):
        spec = topic["spec"]
        assert isinstance(spec["partitions"], int) and spec["partitions"] >= 1
        assert isinstance(spec["replicas"], int) and spec["replicas"] >= 1


def test_backups_are_scheduled_with_six_cron_fields(overlay: Rendered) -> None:
    clusters = {c["metadata"]["name"] for c in overlay.of_kind("Cluster")}
    for backup in overlay.of_kind("ScheduledBackup"):
        assert len(backup["spec"]["schedule"].split()) == 6  # CloudNativePG: seconds first
        assert backup["spec"]["cluster"]["name"] in clusters
        assert backup["spec"]["method"] == "barmanObjectStore"


def test_alert_expressions_are_promql(tools: dict[str, str], rendered: dict[str, Rendered]) -> None:
    rules = rendered["republic"].of_kind("PrometheusRule")
    exprs = [rule["expr"] for r in rules for rule in at(r, "spec.groups.[].rules.[]")]
    assert exprs
    check = (
        "import json, sys, promql_parser\nfor e in json.load(sys.stdin): promql_parser.parse(e)\n"
    )
    result = subprocess.run(
        [tools["python"], "-c", check],
        input=json.dumps(exprs),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "metric",
    [
        "uzdik_relay_backlog",
        "uzdik_consumer_lag",
        "uzdik_http_request_seconds_count",
        "kafka_connect_mirror_source_connector_replication_latency_ms",  # MirrorMaker 2's lag
    ],
)
def test_alerts_watch_the_services_metrics(rendered: dict[str, Rendered], metric: str) -> None:
    rules = rendered["republic"].of_kind("PrometheusRule")
    exprs = [rule["expr"] for r in rules for rule in at(r, "spec.groups.[].rules.[]")]
    assert any(metric in e for e in exprs)
