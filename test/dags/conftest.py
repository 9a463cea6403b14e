"""Airflow for the DAG tests: a throw-away AIRFLOW_HOME with SQLite, the repository's dags folder,
and the dags folder on sys.path as Airflow puts it there when it parses DAG files."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"

_home = tempfile.mkdtemp(prefix="chatcast-airflow-")
os.environ.setdefault("AIRFLOW_HOME", _home)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
if str(DAGS) not in sys.path:
    sys.path.insert(0, str(DAGS))


@pytest.fixture(scope="session")
def image() -> str:
    """The chatcast image built from this checkout, once per session (end-to-end tests only)."""
    from e2e_support import build_image

    return build_image()
