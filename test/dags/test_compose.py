"""docker/compose.yaml, run for real with `docker compose`: Postgres, airflow-init, api-server,
scheduler, dag-processor, triggerer and MLflow come up healthy; the dag-processor parses the chatcast DAGs from
the mounted dags folder; a run triggered through the REST API (what the UI's Trigger button calls)
runs the chatcast image through the mounted Docker socket, versions the day and tracks it in the
compose file's MLflow (secrets from an Airflow Connection); the task logs the
scheduler wrote are readable through the API server (the UI's log view); the report DAG follows and
its caption links the day's MLflow run, which opens; a bad day fails at once with the chatcast
message in the task log.

No image registry is reachable here, so the two registry images are stand-ins built from
test/docker/standins (see its README) and passed in through AIRFLOW_IMAGE_NAME, POSTGRES_IMAGE and
MLFLOW_IMAGE; set all three to test other images (e.g. the official ones where a registry answers)."""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from chatcast_common import DAILY_STEPS
from conftest import ROOT
from e2e_support import HISTORY, cleanup_containers, ensure_base_image, free_port, git, make_workspace, png_size, sh

pytestmark = pytest.mark.e2e

CHAT = "compose"
DAILY, REPORT = f"chatcast_daily_{CHAT}", f"chatcast_report_{CHAT}"
DAY = "2024-03-29"
STANDINS = ROOT / "test" / "docker" / "standins"
AIRFLOW_STANDIN = "chatcast-standin/airflow:3.3.2-python3.11"
POSTGRES_STANDIN = "chatcast-standin/postgres:15"
MLFLOW_STANDIN = "chatcast-standin/mlflow:3.17.2"
SERVICES = ["postgres", "api-server", "scheduler", "dag-processor", "triggerer", "mlflow"]
REGISTRY_IMAGES = ("AIRFLOW_IMAGE_NAME", "POSTGRES_IMAGE", "MLFLOW_IMAGE")


def registry_images(root: Path) -> dict[str, str]:
    """AIRFLOW_IMAGE_NAME, POSTGRES_IMAGE and MLFLOW_IMAGE from the environment, else the stand-ins, built now."""
    if all(os.environ.get(name) for name in REGISTRY_IMAGES):
        return {name: os.environ[name] for name in REGISTRY_IMAGES}
    ensure_base_image()
    context = root / "airflow-standin"
    shutil.copytree(STANDINS / "airflow", context)
    shutil.copy(ROOT / "test" / "dags" / "constraints.txt", context)
    started = time.monotonic()
    sh("docker", "build", "--tag", AIRFLOW_STANDIN, str(context))
    sh("docker", "build", "--tag", POSTGRES_STANDIN, str(STANDINS / "postgres"))
    sh("docker", "build", "--tag", MLFLOW_STANDIN, str(STANDINS / "mlflow"))
    print(f"stand-in images: {time.monotonic() - started:.1f} s")
    return {"AIRFLOW_IMAGE_NAME": AIRFLOW_STANDIN, "POSTGRES_IMAGE": POSTGRES_STANDIN, "MLFLOW_IMAGE": MLFLOW_STANDIN}


class Stack:
    """One `docker compose` project of docker/compose.yaml and a REST client for its API server."""

    def __init__(self, root: Path, ws: Path, env: dict[str, str]):
        self.root = root
        self.ws = ws
        self.project = f"chatcast-e2e-{os.getpid()}"
        self.env_file = root / "compose.env"
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        self.url = f"http://127.0.0.1:{env['AIRFLOW_PORT']}"
        self.mlflow = f"http://127.0.0.1:{env['MLFLOW_PORT']}"
        self.http: httpx.Client | None = None

    def compose(self, *args: str, check: bool = True, timeout: float = 900):
        return sh(
            "docker", "compose", "--project-name", self.project, "--env-file", str(self.env_file),
            "--file", str(ROOT / "docker" / "compose.yaml"), *args, check=check, timeout=timeout,
        )

    def login(self) -> None:
        """As README says: the admin's generated password from the auth volume, then a REST API token."""
        passwords = json.loads(self.compose("exec", "-T", "api-server", "cat", "/opt/airflow/auth/passwords.json").stdout)
        token = httpx.post(f"{self.url}/auth/token", json={"username": "admin", "password": passwords["admin"]})
        assert token.status_code in (200, 201), token.text
        self.http = httpx.Client(
            base_url=f"{self.url}/api/v2", headers={"Authorization": f"Bearer {token.json()['access_token']}"}, timeout=30
        )

    def get(self, path: str) -> dict:
        response = self.http.get(path)
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text[:500]}"
        return response.json()

    def trigger(self, dag_id: str, day: str) -> str:
        response = self.http.post(f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": {"day": day}})
        assert response.status_code == 200, response.text
        return response.json()["dag_run_id"]

    def wait(self, dag_id: str, run_id: str, timeout: float = 600) -> str:
        deadline = time.monotonic() + timeout
        while True:
            state = self.get(f"/dags/{dag_id}/dagRuns/{quote(run_id)}")["state"]
            if state in ("success", "failed"):
                return state
            assert time.monotonic() < deadline, f"{dag_id} {run_id} still {state} after {timeout} s"
            time.sleep(3)

    def tasks(self, dag_id: str, run_id: str) -> dict[str, tuple[str, int]]:
        listing = self.get(f"/dags/{dag_id}/dagRuns/{quote(run_id)}/taskInstances")["task_instances"]
        return {t["task_id"]: (t["state"], t["try_number"]) for t in listing}

    def log(self, dag_id: str, run_id: str, task_id: str, attempt: int = 1) -> str:
        """The task log as the UI's log view gets it."""
        content = self.get(f"/dags/{dag_id}/dagRuns/{quote(run_id)}/taskInstances/{task_id}/logs/{attempt}")["content"]
        lines = []
        for entry in content:
            if isinstance(entry, str):
                lines.append(entry)
                continue
            lines.append(str(entry.get("event", "")))
            # A failed task's exception: the UI shows its type and message under the event.
            lines += [f"{e.get('exc_type')}: {e.get('exc_value')}" for e in entry.get("error_detail") or []]
        return "\n".join(lines)


@pytest.fixture(scope="module")
def stack(image, tmp_path_factory):
    if sh("docker", "compose", "version", check=False).returncode != 0:
        if os.environ.get("CHATCAST_REQUIRE_DOCKER") == "1":
            pytest.fail("CHATCAST_REQUIRE_DOCKER=1 but `docker compose` is missing (.ci/run installs it)")
        pytest.skip("`docker compose` (Compose v2) is missing")
    root = tmp_path_factory.mktemp("compose")
    images = registry_images(root)
    ws, remote = make_workspace(root, image)
    stack = Stack(root, ws, {
        **images,
        "AIRFLOW_PORT": str(free_port()),
        "MLFLOW_PORT": str(free_port()),
        "AIRFLOW_UID": "50000",
        "DOCKER_GID": str(os.stat("/var/run/docker.sock").st_gid),
        "CHATCAST_CHATS_DIR": str(root),
        "AIRFLOW_JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW_FERNET_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    })
    # A start_date in the future: the scheduler makes no runs of its own, only the ones triggered here.
    # Tracked in the compose file's MLflow, reached on the project's network; its Connection is added below.
    (root / "chats.yaml").write_text(
        "chats:\n"
        f"  - id: {CHAT}\n    timezone: Europe/Berlin\n    workspace: {ws}\n    remote: {remote}\n"
        f"    image: {image}\n    start_date: \"2099-01-01\"\n    report_chat: \"@{CHAT}\"\n"
        f"    trackers: [local, mlflow]\n    network: {stack.project}_default\n"
        "    connections: {mlflow: chatcast_mlflow}\n"
    )
    started = time.monotonic()
    up = stack.compose("up", "--detach", "--wait", "--wait-timeout", "300", check=False)
    print(f"docker compose up --wait: {time.monotonic() - started:.1f} s")
    try:
        assert up.returncode == 0, up.stderr[-3000:] + stack.compose("logs", "--tail", "60", check=False).stdout[-8000:]
        stack.login()
        # As README says: the tracker's address for the containers, and the one readers open.
        stack.compose(
            "exec", "-T", "api-server", "airflow", "connections", "add", "chatcast_mlflow",
            "--conn-type", "http", "--conn-host", "http://mlflow:5000", "--conn-extra", json.dumps({"ui_url": stack.mlflow}),
        )
        yield stack
    finally:
        if os.environ.get("CHATCAST_KEEP_COMPOSE") != "1":
            stack.compose("down", "--volumes", "--remove-orphans", check=False)
        cleanup_containers(CHAT)


def test_every_service_is_healthy_and_the_chatcast_dags_are_parsed_paused(stack):
    states = {}
    for line in stack.compose("ps", "--all", "--format", "json").stdout.splitlines():
        container = json.loads(line)
        states[container["Service"]] = (container["State"], container.get("Health", ""), container.get("ExitCode"))
    assert {s: states[s][:2] for s in SERVICES} == {s: ("running", "healthy") for s in SERVICES}
    assert states["airflow-init"][0] == "exited" and states["airflow-init"][2] == 0
    deadline = time.monotonic() + 120
    while stack.http.get(f"/dags/{REPORT}").status_code != 200:
        assert time.monotonic() < deadline, "the dag-processor never parsed the report DAG"
        time.sleep(2)
    assert stack.get("/importErrors")["total_entries"] == 0
    for dag_id in (DAILY, REPORT):
        dag = stack.get(f"/dags/{dag_id}")
        assert dag["is_paused"] is True  # AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION
        assert {t["name"] for t in dag["tags"]} >= {"chatcast", CHAT}
        assert stack.http.patch(f"/dags/{dag_id}", json={"is_paused": False}).json()["is_paused"] is False


@pytest.fixture(scope="module")
def daily(stack):
    run_id = stack.trigger(DAILY, DAY)
    started = time.monotonic()
    state = stack.wait(DAILY, run_id)
    print(f"{DAILY} for {DAY} through compose: {time.monotonic() - started:.1f} s")
    return {"run_id": run_id, "state": state}


def test_a_run_triggered_through_the_api_runs_every_step_in_the_chatcast_image_and_versions_the_day(stack, daily):
    assert daily["state"] == "success", stack.tasks(DAILY, daily["run_id"])
    assert stack.tasks(DAILY, daily["run_id"]) == {step: ("success", 1) for step in DAILY_STEPS}
    assert git(stack.ws, "tag").split() == [HISTORY[-1], DAY]
    assert git(stack.ws, "status", "--porcelain") == ""
    for chart in ("actual.png", "forecast.png"):
        assert png_size(stack.ws / "render" / DAY[:7] / DAY / chart) == (1200, 600)
    assert json.loads((stack.ws / "forecast" / "2024-03" / "2024-03-30.json").read_text())["made_on"] == DAY
    ledger = json.loads((stack.ws / "track" / "ledger.json").read_text())
    run = ledger["trackers"]["mlflow"]["days"][DAY]
    found = httpx.get(f"{stack.mlflow}/api/2.0/mlflow/runs/get", params={"run_id": run["id"]}, timeout=30).json()["run"]
    tags = {t["key"]: t["value"] for t in found["data"]["tags"]}
    assert tags["chatcast.day"] == DAY and tags["chatcast.chat"] == CHAT
    assert {m["key"] for m in found["data"]["metrics"]} >= {"actual_total", "next_total"}


def test_the_task_logs_the_scheduler_wrote_are_readable_through_the_api_server(stack, daily):
    log = stack.log(DAILY, daily["run_id"], "train")
    assert "Starting docker container from image chatcast:e2e" in log
    assert '"step":"train"' in log and f'"day":"{DAY}"' in log and '"backend":' in log


def test_the_report_dag_reports_the_day_the_daily_dag_pushed(stack, daily):
    run_id = stack.trigger(REPORT, DAY)
    assert stack.wait(REPORT, run_id) == "success", stack.tasks(REPORT, run_id)
    assert stack.tasks(REPORT, run_id)["wait_for_daily"][0] == "success"
    caption = (stack.ws / "report" / "outbox" / DAY[:7] / DAY / "caption.txt").read_text()
    assert caption.startswith(f"📊 Учебный чат — {DAY} (Europe/Berlin)")
    assert f"report for {DAY}" in stack.log(REPORT, run_id, "report")
    assert stack.tasks(REPORT, run_id)["track"] == ("success", 1)
    # The morning link: the day's run page in the compose file's MLflow, and it opens.
    run = json.loads((stack.ws / "track" / "ledger.json").read_text())["trackers"]["mlflow"]["days"][DAY]
    link = f"{stack.mlflow}/#/experiments/{run['experiment']}/runs/{run['id']}"
    assert f"Метрики: {link}" in caption
    page = httpx.get(link.split("#")[0], timeout=30)
    assert page.status_code == 200 and "<html" in page.text.lower()


def test_a_bad_day_fails_at_once_with_the_chatcast_error_in_the_task_log(stack, daily):
    before = git(stack.ws, "rev-parse", "HEAD")
    run_id = stack.trigger(DAILY, "2024-13-01")
    assert stack.wait(DAILY, run_id) == "failed"
    assert stack.tasks(DAILY, run_id)["pull"] == ("failed", 1)  # not retried
    log = stack.log(DAILY, run_id, "pull")
    assert 'chatcast pull: Invalid --date "2024-13-01": expected YYYY-MM-DD' in log
    assert "(exit 2, USAGE: not retried)" in log
    assert git(stack.ws, "rev-parse", "HEAD") == before
