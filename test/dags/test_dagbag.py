"""DAG integrity: every DAG file imports, each configured chat gets its pair of DAGs (a bad entry costs
its own chat only), and the schedule, day, commands, retries, timeouts and secrets handling are as
designed."""

from __future__ import annotations

import logging
import textwrap
from datetime import timedelta
from types import SimpleNamespace

import pendulum
import pytest

from conftest import DAGS


@pytest.fixture()
def chats_file(tmp_path, monkeypatch):
    path = tmp_path / "chats.yaml"
    path.write_text(
        textwrap.dedent(
            """
            chats:
              - id: berlin
                timezone: Europe/Berlin
                workspace: /srv/chatcast/berlin
                remote: /srv/chatcast/berlin-remote
                report_chat: "@berlin_stats"
                trackers: [mlflow, clearml]
                network: chatcast_default
                connections: {mtproto: tg_berlin, bot: bot_berlin, mlflow: mlflow_berlin, clearml: clearml_berlin}
                timeout_minutes: {ingest: 180, daily_run: 900}
              - id: tokyo
                timezone: Asia/Tokyo
                workspace: /srv/chatcast/tokyo
                daily_at: "15 0 * * *"
                report_at: "30 8 * * *"
            """
        )
    )
    monkeypatch.setenv("CHATCAST_CHATS", str(path))
    return path


def load_bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_the_repository_dags_import_without_errors():
    bag = load_bag()
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {"chatcast_daily_demo", "chatcast_report_demo"}


def test_each_configured_chat_gets_a_daily_and_a_report_dag(chats_file):
    bag = load_bag()
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {
        "chatcast_daily_berlin",
        "chatcast_report_berlin",
        "chatcast_daily_tokyo",
        "chatcast_report_tokyo",
    }


def test_daily_dag_chains_the_steps_in_pipeline_order(chats_file):
    dag = load_bag().dags["chatcast_daily_berlin"]
    order = ["pull", "ingest", "aggregate", "evaluate", "train", "forecast", "render", "push", "track"]
    assert [t.task_id for t in dag.topological_sort()] == order
    for upstream, downstream in zip(order, order[1:]):
        assert dag.get_task(downstream).upstream_task_ids == {upstream}
    report = load_bag().dags["chatcast_report_berlin"]
    assert [t.task_id for t in report.topological_sort()] == ["wait_for_daily", "pull", "report", "push", "track"]
    # Nothing waits on a tracker: track is the last task of both DAGs, after the push the report waits for.
    assert dag.get_task("track").downstream_task_ids == set() and report.get_task("track").downstream_task_ids == set()
    assert [o.name for o in dag.get_task("push").outlets] == ["chatcast_berlin_daily"]


def test_schedules_are_data_interval_cron_in_the_chat_time_zone(chats_file):
    from airflow.sdk import CronDataIntervalTimetable

    bag = load_bag()
    cases = {
        "chatcast_daily_berlin": ("5 0 * * *", "Europe/Berlin"),
        "chatcast_report_berlin": ("0 9 * * *", "Europe/Berlin"),
        "chatcast_daily_tokyo": ("15 0 * * *", "Asia/Tokyo"),
        "chatcast_report_tokyo": ("30 8 * * *", "Asia/Tokyo"),
    }
    for dag_id, (cron, zone) in cases.items():
        dag = bag.dags[dag_id]
        assert isinstance(dag.timetable, CronDataIntervalTimetable)
        assert dag.timetable.expression == cron
        assert str(getattr(dag.timetable.timezone, "name", dag.timetable.timezone)) == zone
        assert dag.max_active_runs == 1
        assert dag.catchup is False
        assert dag.doc_md and dag.doc_md.strip().startswith("### chatcast")
        assert {"chatcast", dag_id.split("_")[2]} <= set(dag.tags)
        assert "day" in dag.params


def render_command(task, *, interval_start, day=None, run_after=None):
    context = {"params": {"day": day}, "data_interval_start": interval_start, "dag_run": SimpleNamespace(run_after=run_after)}
    return task.render_template(task.command, context)


def test_the_day_comes_from_the_data_interval_in_the_chat_zone_or_from_the_day_param(chats_file):
    bag = load_bag()
    ingest = bag.dags["chatcast_daily_berlin"].get_task("ingest")
    # The run that fires at 00:05 on April 1 (Berlin) has its interval start at 00:05 on March 31,
    # which is still March 30 in UTC: the command must say the chat's day.
    start = pendulum.datetime(2024, 3, 31, 0, 5, tz="Europe/Berlin").in_timezone("UTC")
    assert start.to_date_string() == "2024-03-30"
    assert render_command(ingest, interval_start=start) == ["ingest", "--date", "2024-03-31"]
    assert render_command(ingest, interval_start=start, day="2024-02-29") == ["ingest", "--date", "2024-02-29"]
    tokyo = bag.dags["chatcast_daily_tokyo"].get_task("train")
    start = pendulum.datetime(2024, 6, 1, 0, 15, tz="Asia/Tokyo").in_timezone("UTC")
    assert render_command(tokyo, interval_start=start) == ["train", "--date", "2024-06-01"]


def test_a_manual_run_without_a_logical_date_processes_the_day_before_the_run_in_the_chat_zone(chats_file):
    """"Trigger" in the UI or the REST API with no logical date gives a run with no data interval."""
    bag = load_bag()
    ingest = bag.dags["chatcast_daily_berlin"].get_task("ingest")
    # 23:30 UTC on March 30 is already March 31 in Berlin: the day before is March 30.
    run_after = pendulum.datetime(2024, 3, 30, 23, 30, tz="UTC")
    assert render_command(ingest, interval_start=None, run_after=run_after) == ["ingest", "--date", "2024-03-30"]
    assert render_command(ingest, interval_start=None, run_after=run_after, day="2024-01-02")[2] == "2024-01-02"
    report = bag.dags["chatcast_report_berlin"].get_task("report")
    morning = pendulum.datetime(2024, 4, 1, 9, 0, tz="Europe/Berlin")
    assert render_command(report, interval_start=None, run_after=morning) == ["report", "--date", "2024-03-31"]
    with pytest.raises(Exception, match="set the day Param"):
        render_command(ingest, interval_start=None, run_after=None)


def test_tasks_run_the_image_with_the_workspace_mounted_and_are_retried(chats_file):
    bag = load_bag()
    for dag_id in ("chatcast_daily_berlin", "chatcast_report_berlin"):
        for task in bag.dags[dag_id].tasks:
            assert task.retries >= 2
            assert task.retry_delay == timedelta(minutes=5)
            if task.task_id == "wait_for_daily":
                assert task.mode == "reschedule"
                continue
            assert task.image == "chatcast:latest"
            assert task.command[0] == task.task_id
            assert task.auto_remove == "force"  # failed containers too: `docker inspect` shows their secrets
            assert task.mount_tmp_dir is False
            targets = {m["Target"]: m["Source"] for m in task.mounts}
            assert targets == {"/workspace": "/srv/chatcast/berlin", "/remote": "/srv/chatcast/berlin-remote"}
            assert task.environment["CHATCAST_TIMEZONE"] == "Europe/Berlin"
            assert task.environment["CHATCAST_CHAT_ID"] == "berlin"


def test_no_secret_is_read_at_parse_time_and_connections_fill_them_at_run_time(chats_file, monkeypatch):
    import chatcast_common

    bag = load_bag()
    ingest = bag.dags["chatcast_daily_berlin"].get_task("ingest")
    report = bag.dags["chatcast_report_berlin"].get_task("report")
    assert ingest._private_environment == {}
    assert report._private_environment == {}
    assert report.environment["TELEGRAM_REPORT_CHAT"] == "@berlin_stats"
    monkeypatch.setenv(
        "AIRFLOW_CONN_TG_BERLIN",
        '{"conn_type": "generic", "login": "12345", "password": "api-hash", "extra": {"session": "1BVts"}}',
    )
    monkeypatch.setenv("AIRFLOW_CONN_BOT_BERLIN", '{"conn_type": "generic", "password": "42:bot-token", "host": "http://127.0.0.1:8081"}')
    chat = ingest.chat
    assert chatcast_common._secrets(chat, "ingest") == {
        "TELEGRAM_API_ID": "12345",
        "TELEGRAM_API_HASH": "api-hash",
        "TELEGRAM_SESSION": "1BVts",
    }
    assert chatcast_common._secrets(chat, "report") == {
        "TELEGRAM_BOT_TOKEN": "42:bot-token",
        "TELEGRAM_API_ROOT": "http://127.0.0.1:8081",
    }
    assert chatcast_common._secrets(chat, "train") == {}
    monkeypatch.setenv(
        "AIRFLOW_CONN_MLFLOW_BERLIN",
        '{"conn_type": "http", "host": "mlflow", "port": 5000, "login": "bob", "password": "mlflow-pw", "extra": {"ui_url": "https://mlflow.example"}}',
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_CLEARML_BERLIN",
        '{"conn_type": "generic", "host": "http://clearml:8008", "login": "ACCESS", "password": "clearml-secret",'
        ' "extra": {"web_host": "http://clearml:8080", "files_host": "http://clearml:8081"}}',
    )
    assert chatcast_common._secrets(chat, "track") == {
        "MLFLOW_TRACKING_URI": "http://mlflow:5000",
        "MLFLOW_TRACKING_USERNAME": "bob",
        "MLFLOW_TRACKING_PASSWORD": "mlflow-pw",
        "CHATCAST_MLFLOW_UI_URL": "https://mlflow.example",
        "CLEARML_API_HOST": "http://clearml:8008",
        "CLEARML_WEB_HOST": "http://clearml:8080",
        "CLEARML_FILES_HOST": "http://clearml:8081",
        "CLEARML_API_ACCESS_KEY": "ACCESS",
        "CLEARML_API_SECRET_KEY": "clearml-secret",
    }
    assert chatcast_common._secrets(chat, "report") == {
        "TELEGRAM_BOT_TOKEN": "42:bot-token",
        "TELEGRAM_API_ROOT": "http://127.0.0.1:8081",
    }
    track = bag.dags["chatcast_daily_berlin"].get_task("track")
    assert track._private_environment == {}
    assert track.environment["CHATCAST_TRACKERS"] == "mlflow,clearml" and track.network_mode == "chatcast_default"
    for path in DAGS.glob("*.py"):
        text = path.read_text()
        assert "Variable.get" not in text and "token:" not in text.lower()


def test_an_s3_remote_connection_reaches_every_step_that_talks_to_the_remote(chats_file, monkeypatch):
    """`pull`, `push` and `track` (which pushes its ledger) get the S3 key, and the endpoint and region of
    an S3-compatible store; no other step sees them."""
    import dataclasses

    import chatcast_common

    bag = load_bag()
    chat = dataclasses.replace(bag.dags["chatcast_daily_berlin"].get_task("ingest").chat, connections={"remote": "s3_berlin"})
    monkeypatch.setenv(
        "AIRFLOW_CONN_S3_BERLIN",
        '{"conn_type": "aws", "login": "KEYID", "password": "s3-secret", "host": "http://minio:9000", "extra": {"region": "eu-central-1"}}',
    )
    expected = {
        "AWS_ACCESS_KEY_ID": "KEYID",
        "AWS_SECRET_ACCESS_KEY": "s3-secret",
        "AWS_ENDPOINT_URL": "http://minio:9000",
        "AWS_DEFAULT_REGION": "eu-central-1",
    }
    for step in ("pull", "push", "track"):
        assert chatcast_common._secrets(chat, step) == expected, step
    for step in ("ingest", "train", "render", "report"):
        assert "AWS_SECRET_ACCESS_KEY" not in chatcast_common._secrets(chat, step), step


def test_every_task_has_a_time_limit_and_every_run_a_timeout(chats_file):
    """A hung Chromium or Telegram call must not hold its slot forever: a try that runs too long is
    stopped (and retried), a run that takes too long fails, and a chat can lengthen any of them."""
    bag = load_bag()
    minutes = lambda n: timedelta(minutes=n)  # noqa: E731
    tokyo = bag.dags["chatcast_daily_tokyo"]
    limits = {t.task_id: t.execution_timeout for t in tokyo.tasks}
    assert limits == {
        "pull": minutes(30), "ingest": minutes(60), "aggregate": minutes(15), "evaluate": minutes(15), "train": minutes(30),
        "forecast": minutes(15), "render": minutes(10), "push": minutes(30), "track": minutes(15),
    }
    assert tokyo.dagrun_timeout == timedelta(hours=12)
    report = bag.dags["chatcast_report_tokyo"]
    assert report.dagrun_timeout == timedelta(hours=16)
    assert {t.task_id: t.execution_timeout for t in report.tasks} == {
        "wait_for_daily": minutes(15), "pull": minutes(30), "report": minutes(15), "push": minutes(30), "track": minutes(15),
    }
    # The run outlasts the report's sensor, which gives up after 12 hours.
    assert report.dagrun_timeout > timedelta(seconds=report.get_task("wait_for_daily").timeout)
    for dag in bag.dags.values():
        assert dag.default_args["execution_timeout"] == minutes(15)
        for task in dag.tasks:
            assert task.execution_timeout and task.execution_timeout < dag.dagrun_timeout
    # berlin's chats.yaml entry: timeout_minutes: {ingest: 180, daily_run: 900}
    berlin = bag.dags["chatcast_daily_berlin"]
    assert berlin.get_task("ingest").execution_timeout == minutes(180)
    assert berlin.get_task("render").execution_timeout == minutes(10)
    assert berlin.dagrun_timeout == minutes(900)
    assert bag.dags["chatcast_report_berlin"].dagrun_timeout == timedelta(hours=16)


def test_ingest_is_told_how_long_it_may_wait_out_flood_waits_in_all(chats_file):
    bag = load_bag()
    for chat, limit in (("tokyo", 60), ("berlin", 180)):
        ingest = bag.dags[f"chatcast_daily_{chat}"].get_task("ingest")
        assert ingest.environment["CHATCAST_FLOOD_WAIT_MAX_SECONDS"] == str(limit * 60 // 2)
        assert "CHATCAST_FLOOD_WAIT_MAX_SECONDS" not in bag.dags[f"chatcast_daily_{chat}"].get_task("render").environment


GOOD = "{id: good, timezone: UTC, workspace: /w}"
# A bad entry, the id its log line names, and the rule it breaks.
BAD_ENTRIES = [
    ("{id: x, timezone: Mars/Olympus, workspace: /w}", "x", 'chats[0].timezone "Mars/Olympus": expected an IANA time zone'),
    ("{id: X-1, timezone: UTC, workspace: /w}", "X-1", 'chats[0].id "X-1": expected lower-case letters'),
    ("{id: x, timezone: UTC}", "x", 'chats[0]: missing "workspace"'),
    ("{timezone: UTC, workspace: /w}", "?", 'chats[0]: missing "id"'),
    ("{id: x, timezone: UTC, workspace: /w, daily_at: 'at midnight'}", "x", 'chats[0].daily_at "at midnight": expected a 5-field cron'),
    ("{id: x, timezone: UTC, workspace: /w, tz: UTC}", "x", "chats[0]: unknown keys ['tz']"),
    ("{id: x, timezone: UTC, workspace: /w, trackers: [wandb]}", "x", "chats[0].trackers \"['wandb']\": expected a list of local, mlflow, clearml"),
    ("{id: x, timezone: UTC, workspace: /w, start_date: soon}", "x", 'chats[0].start_date "soon": expected YYYY-MM-DD'),
    ("{id: x, timezone: UTC, workspace: [/w]}", "x", "chats[0].workspace \"['/w']\": expected a string"),
    ("{id: x, timezone: UTC, workspace: /w, catchup: maybe}", "x", 'chats[0].catchup "maybe": expected true or false'),
    ("{id: x, timezone: UTC, workspace: /w, connections: {telegram: tg}}", "x", "chats[0].connections \"{'telegram': 'tg'}\": expected Connection ids"),
    ("{id: x, timezone: UTC, workspace: /w, timeout_minutes: {ingest: 0}}", "x", "chats[0].timeout_minutes \"{'ingest': 0}\": expected whole minutes > 0"),
    ("{id: x, timezone: UTC, workspace: /w, timeout_minutes: {render: 2h}}", "x", "chats[0].timeout_minutes \"{'render': '2h'}\": expected whole minutes"),
    ("{id: x, timezone: UTC, workspace: /w, timeout_minutes: {daily_run: 30}}", "x", "the daily run (0:30:00) would end before its longest step may (ingest: 1:00:00)"),
    ("just a string", "?", "chats[0]: expected a mapping"),
    ("{id: x, timezone: \"UTC, workspace: /w}", "x", "chats[0] (line {line}): not valid YAML"),
    ("{id: x, timezone: UTC, workspace: /w", "x", "chats[0] (line {line}): not valid YAML"),
    ("id: x\n    timezone: UTC\n   workspace: /w", "x", "chats[0] (line {line}): not valid YAML"),
]


@pytest.mark.parametrize(("entry", "chat_id", "message"), BAD_ENTRIES)
def test_a_bad_chats_entry_is_logged_and_skipped_and_the_other_chats_keep_their_dags(tmp_path, monkeypatch, caplog, entry, chat_id, message):
    path = tmp_path / "chats.yaml"
    path.write_text(f"# the chats\nchats:\n  - {entry}\n  # the good one\n  - {GOOD}\n")
    monkeypatch.setenv("CHATCAST_CHATS", str(path))
    with caplog.at_level(logging.ERROR, logger="chatcast_common"):
        bag = load_bag()
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {"chatcast_daily_good", "chatcast_report_good"}
    logged = [r.getMessage() for r in caplog.records if r.name == "chatcast_common"]
    assert len(logged) == 2  # once per DAG file
    assert logged[0].startswith(f'Skipped chat "{chat_id}", its DAGs are not loaded: Invalid {path} chats[0]')
    assert message.replace("{line}", "3") in logged[0]


def test_a_second_entry_with_the_same_id_is_skipped(tmp_path, monkeypatch, caplog):
    path = tmp_path / "chats.yaml"
    path.write_text(f"chats:\n  - {GOOD}\n  - {{id: good, timezone: Asia/Tokyo, workspace: /w2}}\n")
    monkeypatch.setenv("CHATCAST_CHATS", str(path))
    with caplog.at_level(logging.ERROR, logger="chatcast_common"):
        bag = load_bag()
    assert bag.import_errors == {}
    assert bag.dags["chatcast_daily_good"].timezone.name == "UTC"
    assert 'chats[1].id "good": another chat has that id' in caplog.text


@pytest.mark.parametrize(("entry", "chat_id", "message"), BAD_ENTRIES)
def test_a_chats_file_whose_every_entry_is_bad_is_an_import_error_that_names_the_entry_and_the_rule(
    tmp_path, monkeypatch, entry, chat_id, message
):
    path = tmp_path / "chats.yaml"
    path.write_text(f"chats:\n  - {entry}\n")
    monkeypatch.setenv("CHATCAST_CHATS", str(path))
    bag = load_bag()
    assert not bag.dag_ids
    errors = "\n".join(bag.import_errors.values())
    assert "No chat left to load, every entry is bad" in errors and message.replace("{line}", "2") in errors


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # Outside every entry, or a list that cannot be cut into entries: the whole file is unreadable.
        ("defaults: [\nchats:\n  - {GOOD}\n", "not valid YAML, so no chat's DAGs load until it is fixed"),
        ("chats: [{GOOD}, {{id: x\n", "not valid YAML, so no chat's DAGs load until it is fixed"),
        ("chats:\n  - {GOOD}\nlater: [\n", "not valid YAML, so no chat's DAGs load until it is fixed"),
        ("chats:\n  oops: [\n  - {GOOD}\n", "not valid YAML, so no chat's DAGs load until it is fixed"),
        ("chats: {GOOD}\n", 'expected a mapping with a "chats" list'),
        ("- {GOOD}\n", 'expected a mapping with a "chats" list'),
    ],
)
def test_a_chats_file_that_cannot_be_read_as_a_whole_is_an_import_error(tmp_path, monkeypatch, text, message):
    path = tmp_path / "chats.yaml"
    path.write_text(text.replace("{GOOD}", GOOD))
    monkeypatch.setenv("CHATCAST_CHATS", str(path))
    bag = load_bag()
    assert not bag.dag_ids
    assert set(bag.import_errors) == {str(DAGS / "chatcast_daily.py"), str(DAGS / "chatcast_report.py")}
    for error in bag.import_errors.values():
        assert f"Invalid {path}: {message}" in error
