"""Every overlay renders, the generated ones are up to date, and each says who it is."""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.conftest import K8S, OVERLAYS, PORTAL, SERVICES, Rendered

GENERATOR = K8S / "gen_overlays.py"


def config(r: Rendered) -> dict[str, str]:
    (cm,) = [c for c in r.of_kind("ConfigMap") if c["metadata"]["name"].startswith("uzdik-config")]
    data: dict[str, str] = cm["data"]
    return data


def kato_oblasts() -> dict[str, str]:
    """KATO code -> Russian name of every oblast, from the KATO data the generator reads."""
    spec = importlib.util.spec_from_file_location("gen_overlays", GENERATOR)
    assert spec and spec.loader
    generator = sys.modules.setdefault(spec.name, importlib.util.module_from_spec(spec))
    spec.loader.exec_module(generator)  # dataclasses need the module in sys.modules
    with generator.find_kato(None).open(encoding="utf-8", newline="") as f:
        return {
            row["kato_code"]: row["name_ru"]
            for row in csv.DictReader(f)
            if row["level"] == "region" and row["name_kk"].endswith("облысы")
        }


def test_there_is_one_overlay_per_oblast_plus_republic_and_dev() -> None:
    regions = [o for o in OVERLAYS if o.startswith("region-")]
    assert len(regions) == len(kato_oblasts()) == 17
    assert {"republic", "dev"} <= set(OVERLAYS)


def test_generated_overlays_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, (
        f"re-run `python deploy/k8s/gen_overlays.py`:\n{result.stderr}{result.stdout}"
    )


def test_generator_is_idempotent(tmp_path: Path) -> None:
    for _ in range(2):
        subprocess.run(
            [sys.executable, str(GENERATOR), "--output", str(tmp_path)],
            check=True,
            capture_output=True,
        )
    committed = {p.relative_to(K8S / "overlays") for p in (K8S / "overlays").glob("*/*.yaml")}
    written = {p.relative_to(tmp_path) for p in tmp_path.glob("*/*.yaml")}
    assert written == committed - {Path("dev/kustomization.yaml")}


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_overlay_renders(name: str, render_errors: dict[str, str]) -> None:
    assert name not in render_errors, render_errors.get(name)


def test_each_overlay_has_the_whole_system(overlay: Rendered) -> None:
    names = {(r["kind"], r["metadata"]["name"]) for r in overlay.resources}
    for service in SERVICES:
        for kind in ("Deployment", "Service", "PodDisruptionBudget", "ServiceAccount", "KafkaUser"):
            assert (kind, service if kind != "KafkaUser" else f"{service}-kafka") in names
        assert ("Cluster", f"{service}-db") in names
    assert ("HorizontalPodAutoscaler", "survey") in names
    assert ("Kafka", "uzdik") in names
    assert ("CronJob", "reporting-replay") in names
    for kind in ("Deployment", "Service", "PodDisruptionBudget", "ServiceAccount"):
        assert (kind, PORTAL) in names
    # the portal keeps no store: no database, no Kafka identity
    assert ("Cluster", f"{PORTAL}-db") not in names
    assert ("KafkaUser", f"{PORTAL}-kafka") not in names


def test_everything_is_in_the_overlays_namespace(overlay: Rendered) -> None:
    (namespace,) = overlay.of_kind("Namespace")
    name = namespace["metadata"]["name"]
    assert name == "uzdik-" + overlay.overlay.removeprefix("region-")
    others = [r for r in overlay.resources if r["kind"] != "Namespace"]
    assert {r["metadata"].get("namespace") for r in others} == {name}


def test_region_overlays_carry_their_kato_code_and_realm(overlay: Rendered) -> None:
    slug = overlay.overlay.removeprefix("region-")
    settings = config(overlay)
    assert settings["UZDIK_DEPLOYMENT"] == slug
    if overlay.overlay.startswith("region-"):
        assert settings["UZDIK_REGION"] in kato_oblasts()
    else:
        assert settings["UZDIK_REGION"] == ""  # republic and dev see every region
    if overlay.overlay == "dev":  # the built-in dev issuer
        assert settings["UZDIK_JWKS_URL"] == "" and "UZDIK_DEV_JWT_SECRET" not in settings
        return
    assert settings["UZDIK_DEV_JWT_SECRET"] == "", "the dev issuer is off in production"
    assert settings["UZDIK_JWT_ISSUER"].endswith(f"/realms/{slug}")
    assert settings["UZDIK_JWKS_URL"].startswith(settings["UZDIK_JWT_ISSUER"] + "/")


def test_the_portal_signs_in_at_the_deployments_own_realm(overlay: Rendered) -> None:
    """The portal's identity provider is the realm whose tokens the services believe, and
    people reach each deployment's portal at an address of its own (its redirect URI)."""
    settings = config(overlay)
    assert settings["UZDIK_OIDC_CLIENT_ID"] == "uzdik-portal"
    if overlay.overlay == "dev":  # no identity provider and no public address
        assert settings["UZDIK_OIDC_ISSUER"] == settings["UZDIK_PORTAL_PUBLIC_URL"] == ""
        assert settings["UZDIK_PORTAL_SURVEY_PAGE_URL"] == ""
        return
    slug = overlay.overlay.removeprefix("region-")
    assert settings["UZDIK_OIDC_ISSUER"] == settings["UZDIK_JWT_ISSUER"]
    assert settings["UZDIK_PORTAL_PUBLIC_URL"] == f"https://portal.{slug}.uzdik.kz"
    assert settings["UZDIK_PORTAL_SURVEY_PAGE_URL"] == f"https://survey.{slug}.uzdik.kz"


def test_each_deployment_has_its_own_portal_address(rendered: dict[str, Rendered]) -> None:
    urls = [config(r)["UZDIK_PORTAL_PUBLIC_URL"] for o, r in rendered.items() if o != "dev"]
    assert len(urls) == len(set(urls)) == len(OVERLAYS) - 1


def test_region_codes_are_distinct(rendered: dict[str, Rendered]) -> None:
    codes = [config(r)["UZDIK_REGION"] for o, r in rendered.items() if o.startswith("region-")]
    assert sorted(codes) == sorted(kato_oblasts())


def test_backups_of_each_deployment_go_to_its_own_prefix(overlay: Rendered) -> None:
    for cluster in overlay.of_kind("Cluster"):
        backup = cluster["spec"].get("backup")
        if overlay.overlay == "dev":
            assert backup is None
            continue
        slug = overlay.overlay.removeprefix("region-")
        assert backup["barmanObjectStore"]["destinationPath"] == f"s3://uzdik-backups/{slug}"
    scheduled = {b["spec"]["cluster"]["name"] for b in overlay.of_kind("ScheduledBackup")}
    expected = set() if overlay.overlay == "dev" else {f"{s}-db" for s in SERVICES}
    assert scheduled == expected


@pytest.mark.parametrize("name", [o for o in OVERLAYS if o != "dev"])
def test_production_overlays_replicate_three_times(
    name: str, rendered: dict[str, Rendered]
) -> None:
    overlay = rendered[name]
    (pool,) = overlay.of_kind("KafkaNodePool")
    assert pool["spec"]["replicas"] == 3
    assert sorted(pool["spec"]["roles"]) == ["broker", "controller"]
    kafka = overlay.one("Kafka", "uzdik")["spec"]["kafka"]["config"]
    assert kafka["default.replication.factor"] == 3
    assert kafka["min.insync.replicas"] == 2
    for topic in overlay.of_kind("KafkaTopic"):
        assert topic["spec"]["replicas"] == 3
        assert topic["spec"]["config"]["min.insync.replicas"] == 2
    assert {c["spec"]["instances"] for c in overlay.of_kind("Cluster")} == {3}


def test_dev_is_one_node_of_everything(rendered: dict[str, Rendered]) -> None:
    dev = rendered["dev"]
    assert dev.one("KafkaNodePool", "dual-role")["spec"]["replicas"] == 1
    assert {t["spec"]["replicas"] for t in dev.of_kind("KafkaTopic")} == {1}
    assert {c["spec"]["instances"] for c in dev.of_kind("Cluster")} == {1}
    assert {d["spec"]["replicas"] for d in dev.of_kind("Deployment")} == {1}
    assert dev.of_kind("PrometheusRule") == []


def test_survey_scales_more_in_the_republic(rendered: dict[str, Rendered]) -> None:
    def most(o: str) -> int:
        return int(rendered[o].one("HorizontalPodAutoscaler", "survey")["spec"]["maxReplicas"])

    regions = [o for o in rendered if o.startswith("region-")]
    assert all(2 < most(o) < most("republic") for o in regions)


def test_autoscaled_deployments_leave_the_replica_count_to_the_hpa(overlay: Rendered) -> None:
    if overlay.overlay == "dev":
        return  # one replica on one node; the HPA may still add a second
    for hpa in overlay.of_kind("HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        assert "replicas" not in overlay.one(target["kind"], target["name"])["spec"]


def test_no_deployment_can_run_on_the_rehearsal_clock(overlay: Rendered) -> None:
    """Every overlay (dev included) says UZDIK_ENV=production, where the services refuse
    UZDIK_CLOCK_START / UZDIK_CLOCK_OFFSET at start; and none sets them."""
    assert config(overlay).get("UZDIK_ENV") == "production"
    assert "UZDIK_CLOCK_" not in overlay.path.read_text(encoding="utf-8")
