"""Shared by the chatcast DAG files: the chats config, the day template and the Docker step operator.

This module is not a DAG file (see .airflowignore); the DAG files import it from the dags folder.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
import yaml
from airflow.sdk.exceptions import AirflowFailException
from airflow.providers.docker.exceptions import DockerContainerFailedException
from airflow.providers.docker.operators.docker import DockerOperator
from airflow.sdk import Asset, BaseHook
from docker.types import Mount

# The daily DAG's tasks in the order it chains them; `track` comes after `push`, so neither the day's
# versioning nor the report (which waits for push) ever waits on an experiment tracker.
DAILY_STEPS = ["pull", "ingest", "aggregate", "evaluate", "train", "forecast", "render", "push", "track"]
# The report DAG's tasks after its sensor: `track` again at the end catches up a day the midnight run
# could not send (a tracker that was down) once the post is out.
REPORT_STEPS = ["pull", "report", "push", "track"]
# chatcast exit codes that mean bad input or state: a retry cannot help, so the task fails at once.
NOT_RETRYABLE = {2: "USAGE", 3: "CONFIG", 4: "INPUT", 5: "WORKSPACE", 6: "STATE"}
WORKSPACE_IN_CONTAINER = "/workspace"
REMOTE_IN_CONTAINER = "/remote"
DEFAULT_ARGS = {
    "owner": "chatcast",
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
}
TRACKERS = ("local", "mlflow", "clearml")
_ID = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
_CRON = re.compile(r"^\S+( \S+){4}$")


@dataclass(frozen=True)
class Chat:
    """One chat served by this Airflow: where its workspace is and when its DAGs run."""

    id: str
    timezone: str
    workspace: str
    image: str = "chatcast:latest"
    remote: str | None = None
    daily_at: str = "5 0 * * *"
    report_at: str = "0 9 * * *"
    start_date: str = "2026-01-01"
    catchup: bool = False
    report_chat: str | None = None
    connections: dict[str, str] = field(default_factory=dict)
    docker_url: str | None = None
    user: str | None = None
    trackers: list[str] | None = None
    network: str | None = None


def chats_file() -> Path:
    """$CHATCAST_CHATS, else chats.yaml beside the DAG files."""
    return Path(os.environ.get("CHATCAST_CHATS") or Path(__file__).with_name("chats.yaml"))


def load_chats(path: Path | None = None) -> list[Chat]:
    """Reads and checks the chats file; a bad entry is an import error naming the entry and the rule."""
    path = path or chats_file()
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = raw.get("chats") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise ValueError(f'Invalid {path}: expected a mapping with a "chats" list')
    chats: list[Chat] = []
    known = set(Chat.__dataclass_fields__)
    for index, entry in enumerate(entries):
        where = f"{path} chats[{index}]"
        if not isinstance(entry, dict):
            raise ValueError(f"Invalid {where}: expected a mapping")
        unknown = sorted(set(entry) - known)
        if unknown:
            raise ValueError(f"Invalid {where}: unknown keys {unknown}; expected some of {sorted(known)}")
        for required in ("id", "timezone", "workspace"):
            if not entry.get(required):
                raise ValueError(f'Invalid {where}: missing "{required}"')
        chat = Chat(**{k: str(v) if k in ("start_date",) else v for k, v in entry.items()})
        if not _ID.match(chat.id):
            raise ValueError(f'Invalid {where}.id "{chat.id}": expected lower-case letters, digits and _')
        try:
            pendulum.timezone(chat.timezone)
        except Exception as error:
            raise ValueError(f'Invalid {where}.timezone "{chat.timezone}": expected an IANA time zone') from error
        for key in ("daily_at", "report_at"):
            if not _CRON.match(getattr(chat, key)):
                raise ValueError(f'Invalid {where}.{key} "{getattr(chat, key)}": expected a 5-field cron expression')
        if chat.trackers is not None and (
            not isinstance(chat.trackers, list) or any(t not in TRACKERS for t in chat.trackers)
        ):
            raise ValueError(f'Invalid {where}.trackers "{chat.trackers}": expected a list of {", ".join(TRACKERS)}')
        if any(c.id == chat.id for c in chats):
            raise ValueError(f'Invalid {where}.id "{chat.id}": another chat has that id')
        chats.append(chat)
    return chats


# The --date of every step of a run; `chat_day` (a macro of the chat's DAGs) says which day that is.
DAY_TEMPLATE = "{{ chat_day(params.day, data_interval_start, dag_run) }}"


def chat_day_macro(chat: Chat):
    """The day a run processes: the `day` Param when given, else the data interval's start in the chat's
    zone, else (a manual run with no logical date, e.g. "Trigger" in the UI) the day before the run."""

    def chat_day(param: Any, interval_start: Any, dag_run: Any) -> str:
        if param:
            return str(param)
        if interval_start:
            return pendulum.instance(interval_start).in_timezone(chat.timezone).to_date_string()
        run_after = getattr(dag_run, "run_after", None)
        if run_after:
            return pendulum.instance(run_after).in_timezone(chat.timezone).subtract(days=1).to_date_string()
        raise AirflowFailException("No day to process: the run has no data interval; set the day Param")

    return chat_day


def daily_asset(chat: Chat) -> Asset:
    """Updated by the daily DAG's push, with the day in the event's extra; the report DAG waits for it."""
    return Asset(name=f"chatcast_{chat.id}_daily", uri=f"file://{chat.workspace}")


def start_date(chat: Chat) -> pendulum.DateTime:
    """The chat's start_date at local midnight."""
    return pendulum.parse(chat.start_date, tz=chat.timezone).start_of("day")


def dag_settings(chat: Chat, kind: str, cron: str, doc: str) -> dict[str, Any]:
    """What both DAGs of a chat share: its timetable in its zone, one run at a time, retries, the day Param."""
    from airflow.sdk import CronDataIntervalTimetable, Param

    return {
        "dag_id": f"chatcast_{kind}_{chat.id}",
        "description": f"chatcast {kind} for chat {chat.id} ({chat.timezone})",
        "doc_md": doc,
        "schedule": CronDataIntervalTimetable(cron, timezone=chat.timezone),
        "start_date": start_date(chat),
        "catchup": chat.catchup,
        "max_active_runs": 1,
        "default_args": DEFAULT_ARGS,
        "user_defined_macros": {"chat_day": chat_day_macro(chat)},
        "tags": ["chatcast", kind, chat.id],
        "params": {
            "day": Param(
                None,
                type=["null", "string"],
                title="Day",
                description="Process this day (YYYY-MM-DD, chat time zone) instead of the data interval's day.",
            )
        },
    }


def _secrets(chat: Chat, step: str) -> dict[str, str]:
    """Secrets for a step, read from Airflow Connections when the task runs (never at parse time)."""
    env: dict[str, str] = {}
    if step == "ingest" and chat.connections.get("mtproto"):
        conn = BaseHook.get_connection(chat.connections["mtproto"])
        env["TELEGRAM_API_ID"] = str(conn.login or "")
        env["TELEGRAM_API_HASH"] = str(conn.password or "")
        env["TELEGRAM_SESSION"] = str(conn.extra_dejson.get("session", ""))
    if step == "report" and chat.connections.get("bot"):
        conn = BaseHook.get_connection(chat.connections["bot"])
        env["TELEGRAM_BOT_TOKEN"] = str(conn.password or "")
        if conn.host:
            env["TELEGRAM_API_ROOT"] = str(conn.host)
    if step == "track" and chat.connections.get("mlflow"):
        conn = BaseHook.get_connection(chat.connections["mlflow"])
        extra = conn.extra_dejson
        env["MLFLOW_TRACKING_URI"] = _url(conn)
        if conn.login:
            env["MLFLOW_TRACKING_USERNAME"] = str(conn.login)
            env["MLFLOW_TRACKING_PASSWORD"] = str(conn.password or "")
        if extra.get("token"):
            env["MLFLOW_TRACKING_TOKEN"] = str(extra["token"])
        if extra.get("ui_url"):
            env["CHATCAST_MLFLOW_UI_URL"] = str(extra["ui_url"])
    if step == "track" and chat.connections.get("clearml"):
        conn = BaseHook.get_connection(chat.connections["clearml"])
        extra = conn.extra_dejson
        env["CLEARML_API_HOST"] = _url(conn)
        env["CLEARML_WEB_HOST"] = str(extra.get("web_host", ""))
        env["CLEARML_FILES_HOST"] = str(extra.get("files_host", ""))
        env["CLEARML_API_ACCESS_KEY"] = str(conn.login or "")
        env["CLEARML_API_SECRET_KEY"] = str(conn.password or "")
    if step in ("pull", "push") and chat.connections.get("remote"):
        conn = BaseHook.get_connection(chat.connections["remote"])
        env["AWS_ACCESS_KEY_ID"] = str(conn.login or "")
        env["AWS_SECRET_ACCESS_KEY"] = str(conn.password or "")
    return env


def _url(conn: Any) -> str:
    """A connection's host as a URL: `http://mlflow:5000` as given, or built from schema, host and port."""
    host = str(conn.host or "")
    if "://" in host:
        return host.rstrip("/")
    scheme = conn.conn_type if conn.conn_type in ("http", "https") else (conn.schema or "http")
    return f"{scheme}://{host}{f':{conn.port}' if conn.port else ''}"


class ChatcastStep(DockerOperator):
    """One chatcast step in the chatcast image: secrets injected at run time, bad input not retried."""

    def __init__(self, *, chat: Chat, step: str, **kwargs: Any) -> None:
        environment = {
            "CHATCAST_WORKSPACE": WORKSPACE_IN_CONTAINER,
            "CHATCAST_TIMEZONE": chat.timezone,
            "CHATCAST_CHAT_ID": chat.id,  # names the chat in the experiment trackers
        }
        if chat.report_chat and step == "report":
            environment["TELEGRAM_REPORT_CHAT"] = chat.report_chat
        if chat.trackers is not None:
            # Which trackers `track` sends to and `report` links (not a secret: the names only).
            environment["CHATCAST_TRACKERS"] = ",".join(chat.trackers)
        mounts = [Mount(target=WORKSPACE_IN_CONTAINER, source=chat.workspace, type="bind")]
        if chat.remote:
            mounts.append(Mount(target=REMOTE_IN_CONTAINER, source=chat.remote, type="bind"))
        super().__init__(
            task_id=step,
            image=chat.image,
            command=[step, "--date", DAY_TEMPLATE],
            environment=environment,
            mounts=mounts,
            mount_tmp_dir=False,
            auto_remove="success",
            do_xcom_push=False,
            docker_url=chat.docker_url or os.environ.get("DOCKER_HOST") or "unix://var/run/docker.sock",
            user=chat.user,
            network_mode=chat.network,
            labels={"chatcast.chat": chat.id, "chatcast.step": step},
            **kwargs,
        )
        self.chat = chat
        self.step = step

    def execute(self, context: Any) -> Any:
        # DockerOperator keeps private_environment out of rendered fields and logs; fill it only now.
        self._private_environment = {**self._private_environment, **_secrets(self.chat, self.step)}
        try:
            result = super().execute(context)
        except DockerContainerFailedException as error:
            match = re.search(r"'StatusCode': (\d+)", str(error))
            code = int(match.group(1)) if match else None
            said = [line for line in _lines(error.logs) if line.startswith("chatcast ")]
            reason = said[-1] if said else str(error)
            if code in NOT_RETRYABLE:
                raise AirflowFailException(f"{reason} (exit {code}, {NOT_RETRYABLE[code]}: not retried)") from error
            raise
        for outlet in self.outlets:
            context["outlet_events"][outlet].extra = {"day": self.command[2]}
        return result


def _lines(logs: Any) -> list[str]:
    out: list[str] = []
    for item in logs or []:
        text = item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)
        out.extend(text.splitlines())
    return out
