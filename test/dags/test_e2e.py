"""End to end on this machine: real Airflow 3, the real Docker engine, the chatcast image built from
this checkout. `airflow dags test` runs the daily DAG for three consecutive days and the report DAG for
the last; a scheduler-driven `airflow backfill create` over the same days in a second workspace gives
the same artifacts. Skipped when no Docker engine answers, unless CHATCAST_REQUIRE_DOCKER=1 (CI)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from e2e_support import AIRFLOW, HISTORY, ZONE, airflow_env, cleanup_containers, free_port, git, make_workspace, png_size, sh

pytestmark = pytest.mark.e2e

DAYS = ["2024-03-29", "2024-03-30", "2024-03-31"]  # the last is Berlin's 23-hour spring day


def dags_test(env: dict, dag_id: str, logical_date: str, *extra: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return sh(AIRFLOW, "dags", "test", dag_id, logical_date, *extra, check=False, env=env, timeout=timeout)


def artifacts(ws: Path) -> dict[str, str]:
    """sha256 of every pipeline artifact (git and DVC bookkeeping, the report outbox, the lease and the
    track ledger, which records when each day was sent, aside)."""
    out = {}
    for path in sorted(ws.rglob("*")):
        rel = path.relative_to(ws)
        if (
            path.is_file()
            and rel.parts[0] not in (".git", ".dvc", "report", ".chatcast")
            and rel.name not in ("dvc.lock", ".gitignore")
            and str(rel) != "track/ledger.json"
        ):
            data = path.read_bytes()
            if str(rel) == "dvc.yaml":  # push lists the report's outputs once the report DAG has run
                pipeline = yaml.safe_load(data)
                del pipeline["stages"]["report"]["outs"]
                data = json.dumps(pipeline, sort_keys=True).encode()
            out[str(rel)] = hashlib.sha256(data).hexdigest()
    return out


@pytest.fixture(scope="module")
def live(image, tmp_path_factory):
    """The daily DAG for three days and the report DAG for the last, with `airflow dags test`."""
    root = tmp_path_factory.mktemp("live")
    ws, remote = make_workspace(root, image)
    env = airflow_env(root, ws, remote, image, start_date="2024-03-01")
    logs = {}
    for day in DAYS:
        # The run that fires just after midnight on day+1 processes day: pass a moment after that.
        fire = sh("date", "-u", "-d", f"{day} + 1 day", "+%Y-%m-%d").stdout.strip()
        started = time.monotonic()
        result = dags_test(env, "chatcast_daily_e2e", fire)
        logs[day] = result.stdout + result.stderr
        assert result.returncode == 0, logs[day][-5000:]
        print(f"chatcast_daily_e2e for {day}: {time.monotonic() - started:.1f} s")
    report = dags_test(env, "chatcast_report_e2e", "2024-04-01T12:00:00+00:00")
    logs["report"] = report.stdout + report.stderr
    assert report.returncode == 0, logs["report"][-5000:]
    yield {"root": root, "ws": ws, "env": env, "logs": logs}
    cleanup_containers("e2e")


def test_each_day_is_processed_versioned_and_tagged(live):
    ws = live["ws"]
    assert git(ws, "tag").split() == [HISTORY[-1], *DAYS]
    for day in DAYS:
        log = live["logs"][day]
        assert "ingested" in log and f"for {day}" in log
        assert f"pushed {day} as" in log
        assert (ws / "ingest" / day[:7] / f"{day}.jsonl").exists()
        for chart in ("actual.png", "forecast.png"):
            assert png_size(ws / "render" / day[:7] / day / chart) == (1200, 600)
        target = sh("date", "-d", f"{day} + 1 day", "+%F").stdout.strip()
        forecast = json.loads((ws / "forecast" / target[:7] / f"{target}.json").read_text())
        assert forecast["made_on"] == day and forecast["data"]["through"] == day
    assert '"backend":"wasm"' in live["logs"][DAYS[0]] or '"backend":"tensorflow"' in live["logs"][DAYS[0]]
    spring = json.loads((ws / "forecast" / "2024-03" / "2024-03-31.json").read_text())
    assert len(spring["hours"]) == 23
    history = (ws / "evaluate" / "history.tsv").read_text().splitlines()
    assert [line.split("\t")[:2] for line in history[1:]] == [[DAYS[0], "skipped"], [DAYS[1], "scored"], [DAYS[2], "scored"]]
    # `track` ran after each push (the local tracker by default) and versioned its own ledger.
    tracked = (ws / "track" / "history.tsv").read_text().splitlines()
    assert [line.split("\t")[0] for line in tracked[1:]] == DAYS
    assert sorted(json.loads((ws / "track" / "ledger.json").read_text())["trackers"]["local"]["days"]) == DAYS
    assert git(ws, "status", "--porcelain") == ""


def test_report_waits_for_the_daily_asset_and_writes_the_outbox(live):
    ws, log = live["ws"], live["logs"]["report"]
    assert "Success criteria met" in log
    outbox = ws / "report" / "outbox" / DAYS[-1][:7] / DAYS[-1]
    assert (outbox / "caption.txt").read_text().startswith(f"📊 Учебный чат — {DAYS[-1]} (Europe/Berlin)")
    assert png_size(outbox / "actual.png") == (1200, 600)
    assert not (ws / "report" / "outbox" / DAYS[0][:7] / DAYS[0]).exists()  # only the report DAG reports


def test_report_for_a_day_the_daily_has_not_pushed_keeps_waiting(live):
    """No daily run for 2024-04-01: the sensor reschedules and the report never runs."""
    proc = subprocess.Popen(
        [AIRFLOW, "dags", "test", "chatcast_report_e2e", "2024-04-02T12:00:00+00:00"],
        env=live["env"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    time.sleep(25)
    os.killpg(proc.pid, signal.SIGKILL)  # `dags test` keeps re-poking a rescheduled sensor
    output = proc.communicate()[0]
    assert "Rescheduling task, marking task as UP_FOR_RESCHEDULE" in output
    assert "report for 2024-04-01" not in output
    assert not (live["ws"] / "report" / "outbox" / "2024-04" / "2024-04-01").exists()


def test_a_bad_day_param_fails_the_task_with_the_chatcast_error_in_its_log(live):
    before = git(live["ws"], "rev-parse", "HEAD")
    result = dags_test(live["env"], "chatcast_daily_e2e", "2024-04-02", "-c", '{"day": "2024-13-01"}')
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert 'chatcast pull: Invalid --date "2024-13-01": expected YYYY-MM-DD' in output
    assert "(exit 2, USAGE: not retried)" in output
    assert "DagRun Finished: dag_id=chatcast_daily_e2e" in output and "state=failed" in output
    assert git(live["ws"], "rev-parse", "HEAD") == before
    # The failed step's container is gone too: `docker inspect` of a kept one would show its secrets.
    assert sh("docker", "ps", "-aq", "--filter", "label=chatcast.chat=e2e").stdout.split() == []
    cleanup_containers("e2e")


def test_a_backfill_gives_the_same_artifacts_as_the_live_runs(live, image, tmp_path_factory):
    """`airflow backfill create` run by a real scheduler (airflow standalone) over the same three days,
    one run at a time as README says, in a second workspace with the same history."""
    root = tmp_path_factory.mktemp("backfill")
    ws, remote = make_workspace(root, image)
    # A start_date in the future: the scheduler makes no runs of its own, only the backfill's.
    env = airflow_env(root, ws, remote, image, start_date="2099-01-01")
    port = free_port()
    env.update({
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{port}/execution/",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
    })
    standalone = subprocess.Popen(
        [AIRFLOW, "standalone"], env=env, stdout=open(root / "standalone.log", "w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        while "Airflow is ready" not in (root / "standalone.log").read_text():
            assert time.monotonic() < deadline and standalone.poll() is None, (root / "standalone.log").read_text()[-3000:]
            time.sleep(2)
        while sh(AIRFLOW, "dags", "unpause", "chatcast_daily_e2e", check=False, env=env).returncode != 0:
            assert time.monotonic() < deadline, "the DAG was never parsed"
            time.sleep(3)
        started = time.monotonic()
        for attempt in range(5):  # SQLite may still be locked by a component for a moment
            created = sh(
                AIRFLOW, "backfill", "create", "--dag-id", "chatcast_daily_e2e", "--max-active-runs", "1",
                "--from-date", "2024-03-29T00:00:00+01:00", "--to-date", "2024-03-31T12:00:00+02:00", env=env, check=False,
            )
            if created.returncode == 0 or "database is locked" not in created.stdout + created.stderr:
                break
            time.sleep(3)
        assert created.returncode == 0, created.stdout[-3000:] + created.stderr[-3000:]
        deadline = time.monotonic() + 900
        while True:
            listing = sh(AIRFLOW, "dags", "list-runs", "chatcast_daily_e2e", "-o", "json", env=env, check=False).stdout
            runs = json.loads(next((line for line in listing.splitlines() if line.startswith("[")), "[]"))
            states = sorted(r["state"] for r in runs)
            if len(runs) == 3 and all(s in ("success", "failed") for s in states):
                break
            assert time.monotonic() < deadline, states
            time.sleep(5)
        print(f"backfill of 3 days: {time.monotonic() - started:.1f} s")
        assert states == ["success"] * 3, (root / "standalone.log").read_text()[-5000:]
    finally:
        os.killpg(standalone.pid, signal.SIGTERM)
        try:
            standalone.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(standalone.pid, signal.SIGKILL)
        cleanup_containers("e2e")

    assert git(ws, "tag").split() == [HISTORY[-1], *DAYS]
    assert artifacts(ws) == artifacts(live["ws"])
    # No leakage: each day's forecast saw exactly the hours up to the end of that day.
    for day in DAYS:
        target = sh("date", "-d", f"{day} + 1 day", "+%F").stdout.strip()
        forecast = json.loads((ws / "forecast" / target[:7] / f"{target}.json").read_text())
        hours_through_day = 24 * (len(HISTORY) + DAYS.index(day) + 1) - (1 if day == "2024-03-31" else 0)
        assert (forecast["data"]["through"], forecast["data"]["hours"]) == (day, hours_through_day)


def test_a_rerun_of_a_past_day_changes_nothing(live):
    """An Airflow run for a day older than the last pushed one (a "Clear" of last week's run, here a
    triggered run with `day` set): every task succeeds, says the day is history, and no file, commit or
    tag moves, so checking out a day's tag still shows that day."""
    ws = live["ws"]
    before = (git(ws, "rev-parse", "HEAD"), git(ws, "show-ref", "--tags"), artifacts(ws))
    result = dags_test(live["env"], "chatcast_daily_e2e", "2024-04-06", "-c", f'{{"day": "{DAYS[1]}"}}')
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert "state=success" in output
    for step in ("pull", "ingest", "train", "render", "push"):
        assert f'{DAYS[1]} is history: this workspace has pushed {DAYS[-1]} since, so \\"{step}\\" leaves it as pushed' in output, step
    assert (git(ws, "rev-parse", "HEAD"), git(ws, "show-ref", "--tags"), artifacts(ws)) == before
    assert git(ws, "status", "--porcelain") == ""
    cleanup_containers("e2e")
