"""Benchmark: one chat day of the daily DAG through `airflow dags test` with the chatcast image (issue 12:
at most 12 s), on a workspace with a year of simulated history; median of 3 consecutive days after 1
warm-up day. For each timed day: the wall time of `airflow dags test`; each task's duration from the
metadata DB, split by its log and the Docker events of its container (Airflow starting the task, which
for the first one includes `dags test` bringing up its in-process Execution API; the operator until
Docker creates the container; create→start; the container running the CLI; exit→task end); and
Airflow's own time outside the tasks (process start, DAG parsing and DB, gaps between tasks, exit). Also
a no-op container and `chatcast --help` in one, for scale. Exit code 1 when the median is over target.

Builds and uses its own image tag, chatcast:bench (never chatcast, :test or :e2e), and the Airflow venv.
Run: npm run bench:airflow [-- --image IMAGE (skip the build) --days N --runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "test" / "dags"))
from e2e_support import AIRFLOW, ZONE, airflow_env, bench_unready, cleanup_containers, ensure_base_image, sh  # noqa: E402

TARGET_S = 12.0
CHAT = "bench"
DAG_ID = f"chatcast_daily_{CHAT}"
LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT[\d:.]+Z) \[\s*\w+\s*\] (.*)")
TASKS = ["pull", "ingest", "aggregate", "evaluate", "train", "forecast", "render", "push", "track"]

# Ingests and aggregates the history in one process inside the image, as bench/daily.mjs does on the host.
HISTORY_SCRIPT = """
import pino from '/app/node_modules/pino/pino.js';
import { openWorkspace } from '/app/dist/io/workspace.js';
import { ingest } from '/app/dist/commands/ingest.js';
import { aggregate } from '/app/dist/commands/aggregate.js';
import { daysFrom } from '/app/dist/core/dates.js';
const [first, last] = process.argv.slice(2);
const ws = await openWorkspace('/workspace');
const ctx = { log: pino({ level: 'silent' }), now: () => Date.now(), interactive: false };
for (const day of daysFrom(first, last)) {
  await ingest(ws, day, ctx);
  await aggregate(ws, day, ctx);
}
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", help="use this image as it is (default: build chatcast:bench from this checkout)")
    parser.add_argument("--days", type=int, default=365, help="days of history before the warm-up day")
    parser.add_argument("--runs", type=int, default=3, help="timed days after the warm-up day")
    parser.add_argument("--first", default="2026-01-01", help="the warm-up day; the timed days follow it")
    return parser.parse_args()


def build_image() -> str:
    ensure_base_image()
    revision = sh("git", "-C", str(ROOT), "rev-parse", "HEAD", check=False).stdout.strip() or "unknown"
    started = time.monotonic()
    sh("docker", "build", "--build-arg", f"REVISION={revision}", "--tag", "chatcast:bench", str(ROOT))
    print(f"docker build chatcast:bench: {time.monotonic() - started:.1f} s")
    return "chatcast:bench"


def make_workspace(root: Path, image: str, first: date, last: date) -> tuple[Path, Path]:
    ws, remote = root / "workspace", root / "remote"
    for path in (ws, remote):
        path.mkdir(parents=True)
        path.chmod(0o777)
    (root / "history.mjs").write_text(HISTORY_SCRIPT)
    mounts = ["-v", f"{ws}:/workspace", "-v", f"{remote}:/remote", "-v", f"{root / 'history.mjs'}:/bench/history.mjs:ro"]
    started = time.monotonic()
    sh("docker", "run", "--rm", *mounts, image, "init", "--remote", "/remote", "--timezone", ZONE, "--source", "simulate")
    sh("docker", "run", "--rm", *mounts, "--entrypoint", "node", image, "/bench/history.mjs", str(first), str(last))
    sh("docker", "run", "--rm", *mounts, image, "push", "--date", str(last))
    print(f"workspace: {(last - first).days + 1} days of history ({first} … {last}), made in {time.monotonic() - started:.1f} s")
    return ws, remote


def utc(text: str | None) -> float:
    if not text:
        return float("nan")
    stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)).timestamp()


def task_instances(home: Path) -> dict[str, dict]:
    """The task instances of the DAG's newest run, with start/end as Unix seconds."""
    with closing(sqlite3.connect(home / "airflow.db")) as db:
        db.row_factory = sqlite3.Row
        run = db.execute(
            "SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (DAG_ID,)
        ).fetchone()
        rows = db.execute(
            "SELECT task_id, state, try_number, start_date, end_date FROM task_instance WHERE dag_id = ? AND run_id = ?",
            (DAG_ID, run["run_id"]),
        ).fetchall()
    return {r["task_id"]: {**dict(r), "start": utc(r["start_date"]), "end": utc(r["end_date"])} for r in rows}


def container_events(since: float, until: float) -> dict[str, dict[str, float]]:
    """Per step, when Docker created, started, saw exit and destroyed its container (Unix seconds)."""
    out = sh(
        "docker", "events", "--since", f"{since:.3f}", "--until", f"{until:.3f}", "--filter", "type=container",
        "--filter", f"label=chatcast.chat={CHAT}", "--format", "{{json .}}",
    ).stdout
    steps: dict[str, dict[str, float]] = {}
    for line in out.splitlines():
        event = json.loads(line)
        step = event.get("Actor", {}).get("Attributes", {}).get("chatcast.step")
        status = event.get("status") or event.get("Action")
        if step and status in ("create", "start", "die", "destroy"):
            steps.setdefault(step, {})[status] = event["timeNano"] / 1e9
    return steps


def log_marks(output: str) -> tuple[float | None, dict[str, float]]:
    """When `dags test` wrote its first log line, and per task when the operator asked Docker for its
    container (Unix seconds)."""
    first, docker, current = None, {}, None
    for line in output.splitlines():
        found = LOG_LINE.match(line)
        if not found:
            continue
        at = datetime.fromisoformat(found.group(1).replace("Z", "+00:00")).timestamp()
        first = first or at
        if (started := re.search(r"\[DAG TEST\] starting task_id=(\w+)", found.group(2))):
            current = started.group(1)
        elif current and "Starting docker container" in found.group(2):
            docker.setdefault(current, at)
    return first, docker


def one_day(env: dict, day: date) -> dict:
    fire = day + timedelta(days=1)
    started_at = time.time()
    started = time.monotonic()
    result = subprocess.run(
        [str(AIRFLOW), "dags", "test", DAG_ID, str(fire)], env=env, capture_output=True, text=True, timeout=900,
        stdin=subprocess.DEVNULL,
    )
    wall = time.monotonic() - started
    ended_at = time.time()
    output = result.stdout + result.stderr
    if result.returncode != 0 or "state=success" not in output:
        raise SystemExit(f"airflow dags test {DAG_ID} {fire} (day {day}) failed, exit {result.returncode}:\n{output[-5000:]}")
    tis = task_instances(Path(env["AIRFLOW_HOME"]))
    first_log, marks = log_marks(output)
    chromium = re.search(r'"chromium_ms":(\d+)', output)
    return {
        "day": day, "wall": wall, "t0": started_at, "t1": ended_at, "first_log": first_log or started_at, "tis": tis,
        "marks": marks, "events": container_events(started_at - 1, ended_at + 1),
        "chromium": int(chromium.group(1)) / 1000 if chromium else float("nan"),
    }


COLUMNS = [
    ("airflow", "Airflow starts it"),
    ("operator", "operator→create"),
    ("create", "create→start"),
    ("cli", "CLI in container"),
    ("after", "exit→task end"),
]


def split(day: dict) -> dict[str, dict[str, float]]:
    """Per task: its duration (task instance) and its parts, marked off by the log and Docker's events."""
    rows = {}
    for task in TASKS:
        ti, ev = day["tis"].get(task), day["events"].get(task, {})
        if not ti:
            continue
        start, end = ti["start"], ti["end"]
        docker = day["marks"].get(task, start)
        create, run_from, die = ev.get("create", docker), ev.get("start", docker), ev.get("die", end)
        rows[task] = {
            "task": end - start,
            "airflow": docker - start,
            "operator": create - docker,
            "create": run_from - create,
            "cli": die - run_from,
            "after": end - die,
        }
    return rows


def report(day: dict, label: str) -> None:
    rows = split(day)
    wall = day["wall"]
    tasks = sum(r["task"] for r in rows.values())
    first = min(day["tis"][t]["start"] for t in rows)
    last = max(day["tis"][t]["end"] for t in rows)
    pct = lambda s: f"{100 * s / wall:3.0f}%"  # noqa: E731
    print(
        f"\n{label} {day['day']}: airflow dags test {wall:.1f} s; tasks {tasks:.1f} s ({pct(tasks).strip()}),"
        f" Airflow outside them {wall - tasks:.1f} s ({pct(wall - tasks).strip()})"
    )
    print(f"  {'task':<10} {'task s':>6} {'share':>5}  " + " ".join(f"{title:>17}" for _, title in COLUMNS))
    for task, r in [*rows.items(), ("all tasks", {k: sum(r[k] for r in rows.values()) for k in ("task", *dict(COLUMNS))})]:
        print(f"  {task:<10} {r['task']:6.2f} {pct(r['task']):>5}  " + " ".join(f"{r[k]:17.2f}" for k, _ in COLUMNS))
    outside = [
        ("CLI start to its first log line (imports, config)", day["first_log"] - day["t0"]),
        ("then to the first task (DAG parse, DB, the run)", first - day["first_log"]),
        ("between tasks", (last - first) - tasks),
        ("after the last task (run end, process exit)", day["t1"] - last),
    ]
    for name, seconds in outside:
        print(f"  Airflow, {name:<50} {seconds:6.2f} s {pct(seconds)}")
    print(f"  (render waited {day['chromium']:.2f} s for Chromium)")


def container_floor(image: str) -> tuple[float, float]:
    """Median of 5: a no-op container, and `chatcast --help` in one (container + Node start-up)."""
    def timed(*args: str) -> float:
        started = time.monotonic()
        sh("docker", "run", "--rm", *args)
        return time.monotonic() - started

    noop = statistics.median(timed("--entrypoint", "true", image) for _ in range(5))
    helped = statistics.median(timed(image, "--help") for _ in range(5))
    return noop, helped


def main() -> int:
    args = parse_args()
    unready = bench_unready("bench:airflow")
    if unready:
        print(unready, file=sys.stderr)
        return 2
    image = args.image or build_image()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (other work on it slows every figure)")
    first = date.fromisoformat(args.first)
    history = (first - timedelta(days=args.days), first - timedelta(days=1))
    with tempfile.TemporaryDirectory(prefix="chatcast-bench-airflow-") as tmp:
        root = Path(tmp)
        try:
            ws, remote = make_workspace(root, image, *history)
            started = time.monotonic()
            env = airflow_env(root, ws, remote, image, str(history[0]), chat=CHAT)
            print(f"airflow db migrate: {time.monotonic() - started:.1f} s")
            days = []
            for i in range(args.runs + 1):
                day = one_day(env, first + timedelta(days=i))
                print(f"{'warm-up' if i == 0 else f'run {i}  '} {day['day']}: airflow dags test {day['wall']:.1f} s")
                if i > 0:
                    days.append(day)
            for i, day in enumerate(days, 1):
                report(day, f"run {i}")
            noop, helped = container_floor(image)
        finally:
            cleanup_containers(CHAT)
            # The workspace belongs to the image's uid 10001: hand it back so the temp dir can go.
            sh("docker", "run", "--rm", "--user", "0", "-v", f"{root}:/bench-root", "--entrypoint", "chown", image,
               "-R", f"{os.getuid()}:{os.getgid()}", "/bench-root", check=False)

    measured = statistics.median_low(d["wall"] for d in days)
    mid = next(d for d in days if d["wall"] == measured)
    rows = split(mid)
    print(f"\nmedian of {len(days)} days ({mid['day']}), where the time goes:")
    parts = [
        ("containers running the CLI", sum(r["cli"] for r in rows.values())),
        ("Docker: operator→create→start, exit→task end", sum(r["operator"] + r["create"] + r["after"] for r in rows.values())),
        (f"Airflow starting each task (the first {rows[TASKS[0]]['airflow']:.1f} s)", sum(r["airflow"] for r in rows.values())),
        ("Airflow outside the tasks", mid["wall"] - sum(r["task"] for r in rows.values())),
    ]
    for name, seconds in parts:
        print(f"  {name:<46} {seconds:6.2f} s {100 * seconds / measured:4.0f}%")
    print(f"  for scale: `docker run --rm IMAGE` of a no-op {noop:.2f} s, of `chatcast --help` {helped:.2f} s (median of 5)")
    print(f"  load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    ok = measured <= TARGET_S
    print("\nmeasure                       measured     target   result")
    print(f"airflow dags test, one day  {measured:8.1f} s ≤ {TARGET_S:4.0f} s    {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
