"""Shared by the chatcast DAG files: the chats config, the day template and the Docker step operator.

This module is not a DAG file (see .airflowignore); the DAG files import it from the dags folder.
"""

from __future__ import annotations

import logging
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
from docker.errors import NotFound
from docker.types import Mount

log = logging.getLogger(__name__)

# The daily DAG's tasks in the order it chains them; `track` comes after `push`, so neither the day's
# versioning nor the report (which waits for push) ever waits on an experiment tracker.
DAILY_STEPS = ["pull", "ingest", "aggregate", "evaluate", "train", "forecast", "render", "push", "track"]
# The report DAG's tasks after its sensor: `track` again at the end catches up a day the midnight run
# could not send (a tracker that was down) once the post is out.
REPORT_STEPS = ["pull", "report", "push", "track"]
# chatcast's exit codes (tasks/core/errors.ts). Bad input or state (2-6): a retry cannot help, so the
# task fails at once. EXTERNAL (7, a tool or service failed) and anything else (a crash, 137 when the
# container was killed) is retried.
EXIT_CODES = {2: "USAGE", 3: "CONFIG", 4: "INPUT", 5: "WORKSPACE", 6: "STATE", 7: "EXTERNAL"}
NOT_RETRYABLE = {code: name for code, name in EXIT_CODES.items() if code != 7}
# How long one try of a step may run before Airflow stops it, removes its container and retries it, in
# minutes. pull and push move the workspace's data (git, DVC remote), ingest reads Telegram (paged, with
# FLOOD_WAITs, catching up every day missed after downtime), render drives Chromium; the rest compute
# for seconds. A chat's `timeout_minutes` in chats.yaml overrides any of these and the run timeouts.
STEP_TIMEOUT_MINUTES = {
    "pull": 30,
    "ingest": 60,
    "aggregate": 15,
    "evaluate": 15,
    "train": 30,
    "forecast": 15,
    "render": 10,
    "push": 30,
    "track": 15,
    "report": 15,
}
# A whole run (dagrun_timeout; every try and retry delay included), in minutes. One pass of the daily
# steps may take 3 h 40 min at their limits and each step has two retries; the daily run must end well
# before the next one (one run at a time). The report run includes its sensor's 12 hours of waiting.
RUN_TIMEOUT_MINUTES = {"daily_run": 12 * 60, "report_run": 16 * 60}
# Ingest stops waiting out FLOOD_WAITs once they add up to this share of its timeout (a retryable
# failure), so that it ends by itself before Airflow has to kill it.
FLOOD_WAIT_SHARE = 0.5
WORKSPACE_IN_CONTAINER = "/workspace"
REMOTE_IN_CONTAINER = "/remote"
DEFAULT_ARGS = {
    "owner": "chatcast",
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
    # For a task that sets none (the report's sensor: one poke); every chatcast step sets its own.
    "execution_timeout": timedelta(minutes=15),
}
TRACKERS = ("local", "mlflow", "clearml")
CONNECTIONS = ("mtproto", "bot", "mlflow", "clearml", "remote")
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
    timeout_minutes: dict[str, int] = field(default_factory=dict)

    def step_timeout(self, step: str) -> timedelta:
        """How long one try of a step may run (execution_timeout)."""
        return timedelta(minutes=self.timeout_minutes.get(step, STEP_TIMEOUT_MINUTES[step]))

    def run_timeout(self, kind: str) -> timedelta:
        """How long a whole run of the chat's daily or report DAG may take (dagrun_timeout)."""
        return timedelta(minutes=self.timeout_minutes.get(f"{kind}_run", RUN_TIMEOUT_MINUTES[f"{kind}_run"]))


def chats_file() -> Path:
    """$CHATCAST_CHATS, else chats.yaml beside the DAG files."""
    return Path(os.environ.get("CHATCAST_CHATS") or Path(__file__).with_name("chats.yaml"))


def load_chats(path: Path | None = None) -> list[Chat]:
    """Reads and checks the chats file. A bad entry (unknown keys, a missing field, a bad value, broken
    YAML inside it) is logged with the chat's id and the rule it breaks and skipped: the other chats keep
    their DAGs. A file that cannot be read as a whole (not YAML outside the entries, no `chats` list),
    or whose entries are all bad, is an import error, which the UI shows."""
    path = path or chats_file()
    chats: list[Chat] = []
    skipped: list[str] = []
    for index, entry in enumerate(_entries(path)):
        where = f"{path} chats[{index}]"
        try:
            if isinstance(entry, _BrokenEntry):
                raise ValueError(f"Invalid {where} (line {entry.line}): not valid YAML: {entry.error}")
            chat = _check_entry(entry, where)
            if any(c.id == chat.id for c in chats):
                raise ValueError(f'Invalid {where}.id "{chat.id}": another chat has that id')
        except ValueError as error:
            chat_id = entry.id if isinstance(entry, _BrokenEntry) else _entry_id(entry)
            skipped.append(f"{error}")
            log.error('Skipped chat "%s", its DAGs are not loaded: %s', chat_id, error)
            continue
        chats.append(chat)
    if skipped and not chats:
        raise ValueError("No chat left to load, every entry is bad:\n" + "\n".join(skipped))
    return chats


@dataclass(frozen=True)
class _BrokenEntry:
    """An entry of the chats list that is not valid YAML on its own."""

    line: int
    id: str
    error: str


def _entries(path: Path) -> list[Any]:
    """The items of the file's `chats` list. When the file is not valid YAML, its block list is cut into
    its items (each starts with "- " at the list's indentation) and each item parsed alone, so a syntax
    error inside one entry costs that entry only; an error anywhere else is an import error."""
    text = path.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        entries = _entries_one_by_one(text)
        if entries is None:
            raise ValueError(f"Invalid {path}: not valid YAML, so no chat's DAGs load until it is fixed:\n{error}") from None
        return entries
    raw = raw or {}
    entries = raw.get("chats") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise ValueError(f'Invalid {path}: expected a mapping with a "chats" list')
    return entries


def _entries_one_by_one(text: str) -> list[Any] | None:
    """The `chats` block list of a file that is not valid YAML, item by item; None when the error is not
    inside one item (or the list is not a block list under a top-level `chats:`)."""
    lines = text.splitlines()
    key = next((i for i, line in enumerate(lines) if re.fullmatch(r"chats:\s*(#.*)?", line)), None)
    if key is None:
        return None
    end = next(
        (i for i in range(key + 1, len(lines)) if re.match(r"[^\s#-]", lines[i]) or re.match(r"-[^\s]", lines[i])),
        len(lines),
    )
    first = next((i for i in range(key + 1, end) if re.match(r"\s*-(\s|$)", lines[i])), None)
    if first is None or any(line.strip() and not line.lstrip().startswith("#") for line in lines[key + 1 : first]):
        return None
    indent = re.match(r"\s*", lines[first]).group(0)
    starts = [i for i in range(first, end) if re.match(rf"{re.escape(indent)}-(\s|$)", lines[i])]
    try:
        yaml.safe_load("\n".join(lines[:key] + ["chats: []"] + lines[end:]))
    except yaml.YAMLError:
        return None
    entries: list[Any] = []
    broken = False
    for start, stop in zip(starts, starts[1:] + [end]):
        item = "\n".join(lines[start:stop])
        try:
            parsed = yaml.safe_load("chats:\n" + item)
            if not (isinstance(parsed, dict) and isinstance(parsed.get("chats"), list) and len(parsed["chats"]) == 1):
                raise yaml.YAMLError("expected one list item")
            entries.append(parsed["chats"][0])
        except yaml.YAMLError as error:
            broken = True
            found = re.search(r"(?:^|[\s{,-])id:\s*[\"']?([\w-]+)", item)
            reason = " ".join(str(getattr(error, "problem", None) or error).split())
            entries.append(_BrokenEntry(line=start + 1, id=found.group(1) if found else "?", error=reason))
    return entries if broken else None


def _entry_id(entry: Any) -> str:
    return str(entry.get("id") or "?") if isinstance(entry, dict) else "?"


def _check_entry(entry: Any, where: str) -> Chat:
    """One entry of the chats list as a Chat, or a ValueError naming the entry, the key and the rule."""
    if not isinstance(entry, dict):
        raise ValueError(f"Invalid {where}: expected a mapping")
    known = set(Chat.__dataclass_fields__)
    unknown = sorted(set(entry) - known, key=str)
    if unknown:
        raise ValueError(f"Invalid {where}: unknown keys {unknown}; expected some of {sorted(known)}")
    for required in ("id", "timezone", "workspace"):
        if not entry.get(required):
            raise ValueError(f'Invalid {where}: missing "{required}"')
    for key, value in entry.items():
        if key in ("start_date", "catchup", "connections", "trackers", "timeout_minutes", "user"):
            continue
        if key == "report_chat" and isinstance(value, int) and not isinstance(value, bool):
            continue  # a numeric chat id such as -1001234567890
        if value is not None and not isinstance(value, str):
            raise ValueError(f'Invalid {where}.{key} "{value}": expected a string')
    if not isinstance(entry.get("catchup", False), bool):
        raise ValueError(f'Invalid {where}.catchup "{entry["catchup"]}": expected true or false')
    if entry.get("user") is not None and not isinstance(entry["user"], (str, int)):
        raise ValueError(f'Invalid {where}.user "{entry["user"]}": expected a user name or uid')
    fields = {k: str(v) if k in ("start_date", "report_chat") and v is not None else v for k, v in entry.items()}
    for key in ("connections", "timeout_minutes"):
        if fields.get(key, "") is None:
            fields[key] = {}  # the key with everything under it commented out
    chat = Chat(**fields)
    if not _ID.match(chat.id):
        raise ValueError(f'Invalid {where}.id "{chat.id}": expected lower-case letters, digits and _')
    try:
        pendulum.timezone(chat.timezone)
    except Exception as error:
        raise ValueError(f'Invalid {where}.timezone "{chat.timezone}": expected an IANA time zone') from error
    try:
        start_date(chat)
    except Exception as error:
        raise ValueError(f'Invalid {where}.start_date "{chat.start_date}": expected YYYY-MM-DD') from error
    for key in ("daily_at", "report_at"):
        if not _CRON.match(getattr(chat, key)):
            raise ValueError(f'Invalid {where}.{key} "{getattr(chat, key)}": expected a 5-field cron expression')
    if chat.trackers is not None and (
        not isinstance(chat.trackers, list) or any(t not in TRACKERS for t in chat.trackers)
    ):
        raise ValueError(f'Invalid {where}.trackers "{chat.trackers}": expected a list of {", ".join(TRACKERS)}')
    if not isinstance(chat.connections, dict) or any(
        k not in CONNECTIONS or not isinstance(v, str) for k, v in chat.connections.items()
    ):
        raise ValueError(
            f'Invalid {where}.connections "{chat.connections}": expected Connection ids for some of {", ".join(CONNECTIONS)}'
        )
    timeouts = chat.timeout_minutes
    kinds = [*STEP_TIMEOUT_MINUTES, *RUN_TIMEOUT_MINUTES]
    if not isinstance(timeouts, dict) or any(
        k not in kinds or isinstance(v, bool) or not isinstance(v, int) or v <= 0 for k, v in timeouts.items()
    ):
        raise ValueError(
            f'Invalid {where}.timeout_minutes "{timeouts}": expected whole minutes > 0 for some of {", ".join(kinds)}'
        )
    for kind, steps in (("daily", DAILY_STEPS), ("report", REPORT_STEPS)):
        longest = max(steps, key=chat.step_timeout)
        if chat.run_timeout(kind) < chat.step_timeout(longest):
            raise ValueError(
                f"Invalid {where}.timeout_minutes: the {kind} run ({chat.run_timeout(kind)}) would end"
                f" before its longest step may ({longest}: {chat.step_timeout(longest)})"
            )
    return chat


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
    """What both DAGs of a chat share: its timetable in its zone, one run at a time, retries, timeouts, the
    day Param."""
    from airflow.sdk import CronDataIntervalTimetable, Param

    return {
        "dag_id": f"chatcast_{kind}_{chat.id}",
        "description": f"chatcast {kind} for chat {chat.id} ({chat.timezone})",
        "doc_md": doc,
        "schedule": CronDataIntervalTimetable(cron, timezone=chat.timezone),
        "start_date": start_date(chat),
        "catchup": chat.catchup,
        "max_active_runs": 1,
        "dagrun_timeout": chat.run_timeout(kind),
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
    # `track` pushes its ledger, so it reaches the DVC remote too.
    if step in ("pull", "push", "track") and chat.connections.get("remote"):
        conn = BaseHook.get_connection(chat.connections["remote"])
        env["AWS_ACCESS_KEY_ID"] = str(conn.login or "")
        env["AWS_SECRET_ACCESS_KEY"] = str(conn.password or "")
        if conn.host:
            env["AWS_ENDPOINT_URL"] = _url(conn)  # an S3-compatible store (MinIO, Ceph, …)
        region = (conn.extra_dejson or {}).get("region")
        if region:
            env["AWS_DEFAULT_REGION"] = str(region)
    return env


def _url(conn: Any) -> str:
    """A connection's host as a URL: `http://mlflow:5000` as given, or built from schema, host and port."""
    host = str(conn.host or "")
    if "://" in host:
        return host.rstrip("/")
    scheme = conn.conn_type if conn.conn_type in ("http", "https") else (conn.schema or "http")
    return f"{scheme}://{host}{f':{conn.port}' if conn.port else ''}"


class _ExitStatus:
    """The operator's Docker API client, keeping what `wait` returned: the container's exit status (the
    provider raises with it only as text, and the container is gone by the time the exception is seen)."""

    def __init__(self, client: Any, step: ChatcastStep) -> None:
        self._client = client
        self._step = step

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def wait(self, *args: Any, **kwargs: Any) -> Any:
        result = self._client.wait(*args, **kwargs)
        self._step.exit_code = result.get("StatusCode") if isinstance(result, dict) else None
        return result


class ChatcastStep(DockerOperator):
    """One chatcast step in the chatcast image: secrets injected at run time, a time limit per try, its
    container removed however it ends (its secrets with it), bad input not retried."""

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
        timeout = kwargs.pop("execution_timeout", None) or chat.step_timeout(step)
        if step == "ingest":
            # The most ingest may spend waiting out FLOOD_WAITs in all, so it fails (retryable) by itself
            # before Airflow has to kill it at its timeout.
            environment["CHATCAST_FLOOD_WAIT_MAX_SECONDS"] = str(int(timeout.total_seconds() * FLOOD_WAIT_SHARE))
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
            # Removed when it ends, however it ends: `docker inspect` of a kept container shows its
            # environment, secrets included. Its output is in the task log already (streamed while it
            # runs) and in the exception a failure raises.
            auto_remove="force",
            execution_timeout=timeout,
            do_xcom_push=False,
            docker_url=chat.docker_url or os.environ.get("DOCKER_HOST") or "unix://var/run/docker.sock",
            user=chat.user,
            network_mode=chat.network,
            labels={"chatcast.chat": chat.id, "chatcast.step": step},
            **kwargs,
        )
        self.chat = chat
        self.step = step
        self.exit_code: int | None = None

    @property
    def cli(self) -> Any:
        return _ExitStatus(super().cli, self)

    def execute(self, context: Any) -> Any:
        # DockerOperator keeps private_environment out of rendered fields and logs; fill it only now.
        self._private_environment = {**self._private_environment, **_secrets(self.chat, self.step)}
        self.exit_code = None
        try:
            result = super().execute(context)
        except DockerContainerFailedException as error:
            code = self.exit_code
            said = [line for line in _lines(error.logs) if line.startswith("chatcast ")]
            reason = said[-1] if said else "The container failed"
            name = f", {EXIT_CODES[code]}" if code in EXIT_CODES else ""
            if code in NOT_RETRYABLE:
                raise AirflowFailException(f"{reason} (exit {code}{name}: not retried)") from error
            raise DockerContainerFailedException(f"{reason} (exit {code}{name}: retryable)", logs=error.logs) from error
        for outlet in self.outlets:
            context["outlet_events"][outlet].extra = {"day": self.command[2]}
        return result

    def on_kill(self) -> None:
        # On a timeout the provider has already removed the container (auto_remove="force") by the time
        # Airflow calls on_kill, whose `stop` then finds nothing: that is no error.
        try:
            super().on_kill()
        except NotFound:
            self.log.info("The container is already gone")


def _lines(logs: Any) -> list[str]:
    out: list[str] = []
    for item in logs or []:
        text = item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)
        out.extend(text.splitlines())
    return out
