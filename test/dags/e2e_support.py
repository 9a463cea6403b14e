"""Helpers the end-to-end tests share: shell calls, the Docker engine check, the chatcast image and a
workspace with simulated history made by that image."""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "chatcast:e2e"
BASE = "node:24-bookworm-slim"
HISTORY = [f"2024-03-{d}" for d in range(19, 29)]
ZONE = "Europe/Berlin"
AIRFLOW = str(ROOT / ".venv-airflow" / "bin" / "airflow")


def sh(*args: str, check: bool = True, timeout: float = 1800, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def require_docker() -> None:
    """Skips without a Docker engine, unless CHATCAST_REQUIRE_DOCKER=1 (CI), where that is a failure."""
    reason = None
    if not shutil.which("docker"):
        reason = "no docker client"
    else:
        probe = sh("docker", "info", "--format", "{{.ServerVersion}}", check=False, timeout=60)
        if probe.returncode != 0:
            reason = f"docker info failed: {probe.stderr.strip().splitlines()[:1]}"
    if reason:
        if os.environ.get("CHATCAST_REQUIRE_DOCKER") == "1":
            pytest.fail(f"CHATCAST_REQUIRE_DOCKER=1 but {reason}")
        pytest.skip(reason)


def bench_unready(bench: str) -> str | None:
    """Why a benchmark on Docker and Airflow cannot start here (what to do about it), or None."""
    if sh("docker", "info", "--format", "{{.ServerVersion}}", check=False, timeout=60).returncode != 0:
        return f"{bench}: the Docker engine does not answer (docker info failed): start dockerd"
    if not Path(AIRFLOW).exists():
        return f"{bench}: no {AIRFLOW}: run npm run venv:airflow"
    return None


def ensure_base_image() -> None:
    """The Dockerfile's FROM: pulled when a registry answers, else the local stand-in."""
    if sh("docker", "image", "inspect", BASE, check=False).returncode != 0:
        if sh("docker", "pull", BASE, check=False, timeout=600).returncode != 0:
            sh("bash", str(ROOT / "docker" / "base-image.sh"))


def build_image() -> str:
    require_docker()
    ensure_base_image()
    started = time.monotonic()
    sh("docker", "build", "--tag", IMAGE, str(ROOT))
    print(f"docker build {IMAGE}: {time.monotonic() - started:.1f} s")
    return IMAGE


def make_workspace(root: Path, image: str) -> tuple[Path, Path]:
    """A workspace with ten days of simulated history, made by the image itself (uid 10001 owns it)."""
    ws, remote = root / "workspace", root / "remote"
    for path in (ws, remote):
        path.mkdir(parents=True)
        path.chmod(0o777)
    mounts = ["-v", f"{ws}:/workspace", "-v", f"{remote}:/remote"]
    sh("docker", "run", "--rm", *mounts, image, "init", "--remote", "/remote")
    loop = " ".join(HISTORY)
    sh(
        "docker", "run", "--rm", *mounts, "--entrypoint", "sh", image, "-c",
        f"set -e; for d in {loop}; do chatcast ingest --date $d >/dev/null; chatcast aggregate --date $d >/dev/null; done; "
        f"chatcast push --date {HISTORY[-1]} >/dev/null",
    )
    return ws, remote


def git(ws: Path, *args: str) -> str:
    return sh("git", "-c", "safe.directory=*", "-C", str(ws), *args).stdout.strip()


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", data[16:24])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cleanup_containers(chat: str) -> None:
    """Removes any chatcast containers a chat's tasks left (a test that stopped mid-step)."""
    ids = sh("docker", "ps", "-aq", "--filter", f"label=chatcast.chat={chat}", check=False).stdout.split()
    if ids:
        sh("docker", "rm", "-f", *ids, check=False)


def airflow_env(root: Path, ws: Path, remote: Path, image: str, start_date: str, chat: str = "e2e") -> dict[str, str]:
    """A throw-away Airflow (SQLite under root/airflow, this checkout's DAGs) with one chat, `chat`, whose
    workspace is `ws`; the metadata DB is migrated. The environment to run `airflow` with."""
    home = root / "airflow"
    home.mkdir()
    chats = root / "chats.yaml"
    chats.write_text(
        "chats:\n"
        f"  - id: {chat}\n    timezone: {ZONE}\n    workspace: {ws}\n    remote: {remote}\n"
        f"    image: {image}\n    start_date: \"{start_date}\"\n    report_chat: \"@{chat}\"\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
        "PATH": f"{Path(AIRFLOW).parent}:{os.environ['PATH']}",
        "TZ": "UTC",
        "AIRFLOW_HOME": str(home),
        # SQLite with a busy timeout: the scheduler, the API server and a CLI call write at once.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db?timeout=60",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "CHATCAST_CHATS": str(chats),
    }
    sh(AIRFLOW, "db", "migrate", env=env)
    return env
