"""Benchmark: N chats' daily DAGs for one day on one Airflow (issue 12): a real scheduler (`airflow
standalone`: scheduler, dag-processor, API server, triggerer) with the LocalExecutor and `parallelism`
P, Postgres metadata (the stand-in image, as docker/compose.yaml runs it; `--db sqlite` for the SQLite
the end-to-end test uses), every chat with its own workspace and DVC folder remote. All N daily runs
are triggered for the same day at once, as N chats in one time zone fire at 00:05; the figures come from
the metadata DB's task instances: wall time (first task queued → last task ended), each task's queue
wait (queued → started: waiting for an executor slot), the scheduler's gap between a task and the next,
failed and retried tasks, chat-days per hour and what that makes in one night. Targets: every run
succeeds and the N days take at most 6 h (daily runs fire at 00:05 and the reports at 09:00, which
leaves the rest of the night for retries), and no task waits in the queue longer than Airflow's
[scheduler] task_queued_timeout (600 s), the lifetime of the token a queued task starts with. Exit
code 1 when either is missed.

Uses the image as it is (`--image`, default chatcast:bench: `npm run bench:airflow` builds it), the
Airflow venv, the Postgres stand-in image ($POSTGRES_IMAGE, else chatcast-standin/postgres:15, built
from test/docker/standins/postgres when missing) and Postgres' Python drivers, installed with pip into
the temp dir (the venv is not changed). Everything lives in a temp dir; the Airflow processes, the
Postgres container and any chatcast container of the bench's chats are removed at the end, also on a
failure, Ctrl-C or SIGTERM.
Run: npm run bench:many [-- --chats N --parallelism P --history-days D --db postgres|sqlite]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "test" / "dags"))
from e2e_support import AIRFLOW, ZONE, airflow_env, bench_unready, cleanup_containers, ensure_base_image, free_port, sh  # noqa: E402

# bench/airflow.py builds a workspace with simulated history in the image; its module name would
# shadow the `airflow` package, so it is loaded under another one.
_spec = importlib.util.spec_from_file_location("bench_airflow", Path(__file__).with_name("airflow.py"))
bench_airflow = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_airflow)

TARGET_HOURS = 6.0
# Airflow's [scheduler] task_queued_timeout, default 600 s: also the lifetime of the token a queued
# task authenticates to the Execution API with. Airflow 3.3.2's LocalExecutor never counts a task it
# handed to its workers in `running`, so the scheduler queues up to `parallelism` more tasks on every
# loop (one per waiting chat at most) and they wait in the executor's FIFO queue for one of the
# `parallelism` worker processes: the longest queue wait grows with the number of chats.
QUEUED_TIMEOUT_S = 600.0
PREFIX = "many_"
STEPS = ["pull", "ingest", "aggregate", "evaluate", "train", "forecast", "render", "push", "track"]
# What docker/compose.yaml's POSTGRES_IMAGE is in test/dags/test_compose.py: Debian's PostgreSQL 15 with
# the official image's POSTGRES_* contract, built from test/docker/standins/postgres when missing.
POSTGRES_IMAGE = os.environ.get("POSTGRES_IMAGE") or "chatcast-standin/postgres:15"
# The drivers test/docker/standins/airflow installs for Postgres (psycopg2 for the ORM, asyncpg for
# Airflow's async engine), with the same pins.
PG_DRIVERS = ["psycopg2-binary==2.9.13", "asyncpg==0.32.0"]
# Triggers every run in one process, the way `airflow dags trigger` does it (the CLI's local client),
# instead of N CLI start-ups of several seconds each on a 2-core machine.
TRIGGER = """
import sys
from airflow.api.client.local_client import Client
client = Client()
day = sys.argv[1]
for dag_id in sys.argv[2:]:
    run = client.trigger_dag(dag_id=dag_id, conf={"day": day})
    print(dag_id, run["dag_run_id"], flush=True)
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=50, help="how many chats (default 50)")
    parser.add_argument("--parallelism", type=int, default=4,
                        help="Airflow's core.parallelism, the LocalExecutor's task slots (default 4: measured best of 2, 4, 8 on 2 cores)")
    parser.add_argument("--history-days", type=int, default=30, help="days of simulated history per chat (default 30)")
    parser.add_argument("--day", default="2026-01-01", help="the day every chat's run processes (history ends the day before)")
    parser.add_argument("--image", default="chatcast:bench", help="the chatcast image, used as it is (default chatcast:bench)")
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres", help="metadata DB (default postgres)")
    parser.add_argument("--task-queued-timeout", type=float, default=QUEUED_TIMEOUT_S,
                        help="Airflow's [scheduler] task_queued_timeout in seconds (default Airflow's 600)")
    parser.add_argument("--timeout-hours", type=float, default=TARGET_HOURS + 1, help="give up waiting after this long")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, workspaces) and print its path")
    return parser.parse_args()


def ts(value) -> float | None:
    """A DB timestamp (datetime from psycopg2, text from SQLite, both UTC) as Unix seconds."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()


class Meta:
    """Read-only queries on the metadata DB."""

    def __init__(self, kind: str, url: str) -> None:
        self.kind, self.url = kind, url

    def rows(self, sql: str) -> list[tuple]:
        if self.kind == "sqlite":
            import sqlite3

            with sqlite3.connect(self.url, timeout=60) as db:
                return db.execute(sql).fetchall()
        import psycopg2

        db = psycopg2.connect(self.url)
        try:
            with db.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall()
        finally:
            db.close()


class CpuMeter:
    """Share of the machine's CPU time that was busy between two readings of /proc/stat."""

    @staticmethod
    def read() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]
        return sum(fields) - idle, sum(fields)

    def __init__(self) -> None:
        self.start = self.read()

    def busy(self) -> float:
        busy, total = self.read()
        return (busy - self.start[0]) / max(1, total - self.start[1])


def start_postgres(root: Path, name: str) -> tuple[str, Path]:
    """The stand-in Postgres in a container on a free local port; its Python drivers into root/pylib."""
    pylib = root / "pylib"
    if sh("docker", "image", "inspect", POSTGRES_IMAGE, check=False).returncode != 0:
        ensure_base_image()
        sh("docker", "build", "--tag", POSTGRES_IMAGE, str(ROOT / "test" / "docker" / "standins" / "postgres"))
    sh(str(Path(AIRFLOW).with_name("pip")), "install", "--quiet", "--disable-pip-version-check", "--target", str(pylib), *PG_DRIVERS)
    sys.path.insert(0, str(pylib))
    port = free_port()
    sh("docker", "run", "-d", "--name", name, "--label", "chatcast.bench=many", "-p", f"127.0.0.1:{port}:5432",
       "-e", "POSTGRES_USER=airflow", "-e", "POSTGRES_PASSWORD=airflow", "-e", "POSTGRES_DB=airflow",
       POSTGRES_IMAGE, "postgres", "-c", "max_connections=300")
    deadline = time.monotonic() + 120
    # Over TCP: during its first start the image runs a socket-only server to create the database.
    while sh("docker", "exec", name, "pg_isready", "-h", "127.0.0.1", "-U", "airflow", check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise SystemExit(sh("docker", "logs", name, check=False).stderr[-3000:])
        time.sleep(1)
    return f"postgresql+psycopg2://airflow:airflow@127.0.0.1:{port}/airflow", pylib


def chats_yaml(root: Path, chats: list[str], image: str) -> Path:
    """dags/chats.yaml for N chats, each with its own workspace and remote. A start_date in the future:
    the scheduler makes no runs of its own, only the ones triggered here (as test/dags/test_compose.py)."""
    lines = ["chats:"]
    for chat in chats:
        lines += [
            f"  - id: {chat}",
            f"    timezone: {ZONE}",
            f"    workspace: {root / 'chats' / chat / 'workspace'}",
            f"    remote: {root / 'chats' / chat / 'remote'}",
            f"    image: {image}",
            '    start_date: "2099-01-01"',
            f'    report_chat: "@{chat}"',
        ]
    path = root / "chats.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    args = parse_args()
    unready = bench_unready("bench:many")
    if unready:
        print(unready, file=sys.stderr)
        return 2
    if sh("docker", "image", "inspect", args.image, check=False).returncode != 0:
        print(f"bench:many: no image {args.image}: npm run bench:airflow builds chatcast:bench", file=sys.stderr)
        return 2
    # Ctrl-C and a SIGTERM both unwind through the finally below.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    chats = [f"{PREFIX}{i:02d}" for i in range(1, args.chats + 1)]
    dag_ids = [f"chatcast_daily_{chat}" for chat in chats]
    day = date.fromisoformat(args.day)
    first, last = day - timedelta(days=args.history_days), day - timedelta(days=1)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; {args.chats} chats, parallelism"
          f" {args.parallelism}, {args.history_days} days of history, image {args.image}, {args.db} metadata")
    tmp = tempfile.mkdtemp(prefix="chatcast-bench-many-")
    root = Path(tmp)
    pg_name = f"chatcast-bench-many-{os.getpid()}"
    standalone = None
    try:
        # One workspace with history, copied for every chat with its remote: nothing in a workspace
        # names its chat (the DAG passes CHATCAST_CHAT_ID) and the remote is /remote in the container.
        template, _ = bench_airflow.make_workspace(root / "template", args.image, first, last)
        started = time.monotonic()
        for chat in chats:
            (root / "chats" / chat).mkdir(parents=True)
            sh("cp", "-a", str(template), str(root / "chats" / chat / "workspace"))
            sh("cp", "-a", str(root / "template" / "remote"), str(root / "chats" / chat / "remote"))
        print(f"{args.chats} copies of the workspace and its remote: {time.monotonic() - started:.1f} s")

        started = time.monotonic()
        env = airflow_env(root, template, root / "template" / "remote", args.image, "2099-01-01", chat="template")
        env["CHATCAST_CHATS"] = str(chats_yaml(root, chats, args.image))
        home = Path(env["AIRFLOW_HOME"])
        if args.db == "postgres":
            url, pylib = start_postgres(root, pg_name)
            env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = url
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pylib), env.get("PYTHONPATH")]))
            sh(AIRFLOW, "db", "migrate", env=env)
            meta = Meta("postgres", url.replace("postgresql+psycopg2", "postgresql"))
        else:
            meta = Meta("sqlite", str(home / "airflow.db"))
        port = free_port()
        env.update({
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{port}/execution/",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(args.parallelism),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": str(args.task_queued_timeout),
        })
        log = root / "standalone.log"
        standalone = subprocess.Popen([AIRFLOW, "standalone"], env=env, stdout=open(log, "w"),
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 600
        like = f"dag_id LIKE 'chatcast_daily_{PREFIX}%'"
        while True:
            if standalone.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"airflow standalone did not come up:\n{log.read_text()[-4000:]}")
            if "Airflow is ready" in log.read_text():
                try:
                    parsed = meta.rows(f"SELECT count(*) FROM serialized_dag WHERE {like}")[0][0]
                except Exception:  # noqa: BLE001 (tables still being made)
                    parsed = 0
                if parsed == args.chats:
                    break
            time.sleep(2)
        print(f"Airflow up ({args.db}, migrated, {args.chats} daily DAGs parsed): {time.monotonic() - started:.1f} s")

        cpu = CpuMeter()
        triggered = time.time()
        out = sh(str(Path(AIRFLOW).with_name("python")), "-c", TRIGGER, str(day), *dag_ids, env=env).stdout
        run_ids = dict(line.split()[:2] for line in out.splitlines() if line.startswith("chatcast_daily_"))
        assert len(run_ids) == args.chats, out
        print(f"triggered {args.chats} daily runs for {day} in {time.time() - triggered:.1f} s")

        pairs = " OR ".join(f"(dag_id = '{d}' AND run_id = '{r}')" for d, r in run_ids.items())
        deadline = time.monotonic() + args.timeout_hours * 3600
        loads, shown = [], 0.0
        while True:
            states = [s for (s,) in meta.rows(f"SELECT state FROM dag_run WHERE {pairs}")]
            done = [s for s in states if s in ("success", "failed")]
            loads.append(os.getloadavg()[0])
            if time.monotonic() - shown >= 60 or len(done) == args.chats:
                shown = time.monotonic()
                tis = dict(meta.rows(f"SELECT state, count(*) FROM task_instance WHERE {like} GROUP BY state"))
                print(f"  {time.time() - triggered:6.0f} s: runs done {len(done)}/{args.chats}"
                      f" (failed {states.count('failed')}); tasks running {tis.get('running', 0)}, queued"
                      f" {tis.get('queued', 0)}, scheduled {tis.get('scheduled', 0)}, up_for_retry"
                      f" {tis.get('up_for_retry', 0)}; load {loads[-1]:.1f}", flush=True)
            if len(done) == args.chats:
                break
            if standalone.poll() is not None:
                raise SystemExit(f"airflow standalone exited {standalone.returncode}:\n{log.read_text()[-4000:]}")
            if time.monotonic() > deadline:
                raise SystemExit(f"not done after {args.timeout_hours} h: {len(done)}/{args.chats} runs finished")
            time.sleep(5)
        busy = cpu.busy()

        tis = meta.rows(
            "SELECT dag_id, task_id, state, try_number, queued_dttm, start_date, end_date FROM task_instance"
            f" WHERE {pairs}"
        )
        runs = meta.rows(f"SELECT dag_id, state, start_date, end_date FROM dag_run WHERE {pairs}")
    except KeyboardInterrupt:
        print("bench:many: interrupted, cleaning up", file=sys.stderr)
        return 130
    finally:
        if standalone is not None and standalone.poll() is None:
            os.killpg(standalone.pid, signal.SIGTERM)
            try:
                standalone.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(standalone.pid, signal.SIGKILL)
                standalone.wait()
        sh("docker", "rm", "-f", "-v", pg_name, check=False)
        for chat in ["template", *chats]:
            cleanup_containers(chat)
        # The workspaces belong to the image's uid 10001: hand them back so the temp dir can go.
        sh("docker", "run", "--rm", "--user", "0", "-v", f"{root}:/bench-root", "--entrypoint", "chown", args.image,
           "-R", f"{os.getuid()}:{os.getgid()}", "/bench-root", check=False)
        if args.keep:
            print(f"kept {root}")
        else:
            sh("rm", "-rf", str(root), check=False)

    # Figures from the task instances (the last try of each: queued_dttm and start_date are that try's).
    rows = [
        {"dag": d, "task": t, "state": s, "try": n, "queued": ts(q), "start": ts(b), "end": ts(e)}
        for d, t, s, n, q, b, e in tis
    ]
    by = {(r["dag"], r["task"]): r for r in rows}
    ok_runs = sum(1 for r in runs if r[1] == "success")
    failed_tasks = [f"{r['dag'].removeprefix('chatcast_daily_')}.{r['task']}" for r in rows if r["state"] != "success"]
    retried = [f"{r['dag'].removeprefix('chatcast_daily_')}.{r['task']} (try {r['try']})" for r in rows if (r["try"] or 1) > 1]
    ran = [r for r in rows if r["queued"] and r["start"] and r["end"]]
    waits = [(r["start"] - r["queued"], r) for r in ran]
    gaps = []  # upstream task ended → this one queued: the scheduler's part
    for r in ran:
        i = STEPS.index(r["task"])
        up = by.get((r["dag"], STEPS[i - 1])) if i else None
        if up and up["end"]:
            gaps.append(r["queued"] - up["end"])
    wall = max(r["end"] for r in ran) - min(r["queued"] for r in ran)
    since_trigger = max(r["end"] for r in ran) - triggered
    run_spans = [ts(e) - ts(b) for _, _, b, e in runs if b and e]
    longest_wait, longest = max(waits, key=lambda w: w[0])
    per_hour = args.chats / wall * 3600
    print(f"\n{args.chats} chats' daily runs for {day}, LocalExecutor parallelism {args.parallelism}, {args.db},"
          f" {args.history_days} days of history, image {args.image}")
    print(f"  runs succeeded            {ok_runs}/{args.chats}")
    print(f"  tasks                     {len(rows)} ({len(failed_tasks)} not successful"
          f"{': ' + ', '.join(failed_tasks[:10]) if failed_tasks else ''}; {len(retried)} retried"
          f"{': ' + ', '.join(retried[:10]) if retried else ''})")
    print(f"  wall, first queued → last ended  {wall:8.1f} s ({wall / 60:.1f} min); from the trigger {since_trigger:.1f} s")
    print(f"  one chat's run (dag_run)  min {min(run_spans):.0f} s, median {statistics.median(run_spans):.0f} s, max {max(run_spans):.0f} s")
    print(f"  queue wait (queued → started)  longest {longest_wait:.1f} s ({longest['dag'].removeprefix('chatcast_daily_')}."
          f"{longest['task']}), p95 {quantile([w for w, _ in waits], 0.95):.1f} s, median {statistics.median(w for w, _ in waits):.1f} s")
    if gaps:
        print(f"  scheduler gap (task ended → next queued)  median {statistics.median(gaps):.1f} s, max {max(gaps):.1f} s")
    print("  task duration (started → ended), median over chats / max:")
    for step in STEPS:
        spans = [r["end"] - r["start"] for r in ran if r["task"] == step]
        if spans:
            print(f"    {step:<10} {statistics.median(spans):6.1f} s / {max(spans):6.1f} s")
    print(f"  CPU busy {100 * busy:.0f}% of {os.cpu_count()} CPUs; load average mean {statistics.mean(loads):.1f}, max {max(loads):.1f}")
    print(f"  throughput                {per_hour:.0f} chat-days per hour ({wall / args.chats:.1f} s per chat-day)")
    print(f"  one night ({TARGET_HOURS:.0f} h) at this rate ≈ {int(per_hour * TARGET_HOURS)} chats (linear extrapolation)")
    limit = args.task_queued_timeout
    night_ok = ok_runs == args.chats and wall <= TARGET_HOURS * 3600
    queue_ok = longest_wait <= limit
    table = [
        ("measure", "measured", "target", "result"),
        (f"{args.chats} chats' daily runs, one day", f"{ok_runs}/{args.chats} ok, {wall / 60:.1f} min",
         f"all ok, ≤ {TARGET_HOURS * 60:.0f} min", "PASS" if night_ok else "FAIL"),
        ("longest queue wait", f"{longest_wait:.1f} s", f"≤ {limit:.0f} s (task_queued_timeout)", "PASS" if queue_ok else "FAIL"),
    ]
    print()
    for row in table:
        print(f"{row[0]:<34} {row[1]:>20}   {row[2]:<32} {row[3]}")
    return 0 if night_ok and queue_ok else 1


if __name__ == "__main__":
    sys.exit(main())
