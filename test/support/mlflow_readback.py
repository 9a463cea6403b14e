"""Prints, as JSON, what an MLflow experiment holds, read through MLflow's own Python client.

Usage: mlflow_readback.py TRACKING_URI EXPERIMENT_NAME

The tracker tests send days with chatcast's REST client and check them here, with the client users
read runs with: every active run's tags, params, latest metrics, each metric's full history, the
artifacts (paths and md5 of the downloaded bytes) and the dataset inputs; and the ids of deleted runs.
"""

import hashlib
import json
import os
import sys
import tempfile

from mlflow import MlflowClient
from mlflow.entities import ViewType


def artifacts(client, run_id, path=None):
    out = []
    for item in client.list_artifacts(run_id, path):
        if item.is_dir:
            out.extend(artifacts(client, run_id, item.path))
        else:
            out.append(item.path)
    return out


def describe(client, run):
    run_id = run.info.run_id
    paths = sorted(artifacts(client, run_id))
    md5 = {}
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            local = client.download_artifacts(run_id, path, tmp)
            with open(local, "rb") as f:
                md5[path] = hashlib.md5(f.read()).hexdigest()
    return {
        "id": run_id,
        "name": run.info.run_name,
        "status": run.info.status,
        "start_time": run.info.start_time,
        "end_time": run.info.end_time,
        "artifact_uri": run.info.artifact_uri,
        "tags": run.data.tags,
        "params": run.data.params,
        "metrics": run.data.metrics,
        "history": {
            key: [
                {"step": m.step, "timestamp": m.timestamp, "value": m.value}
                for m in client.get_metric_history(run_id, key)
            ]
            for key in sorted(run.data.metrics)
        },
        "artifacts": paths,
        "artifact_md5": md5,
        "datasets": [
            {
                "name": d.dataset.name,
                "digest": d.dataset.digest,
                "source_type": d.dataset.source_type,
                "source": d.dataset.source,
                "tags": {t.key: t.value for t in d.tags},
            }
            for d in run.inputs.dataset_inputs
        ],
    }


def main(uri, name):
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        return {"experiment_id": None, "runs": [], "deleted_runs": []}
    ids = [experiment.experiment_id]
    active = client.search_runs(ids, run_view_type=ViewType.ACTIVE_ONLY, max_results=1000, order_by=["attributes.start_time ASC"])
    deleted = client.search_runs(ids, run_view_type=ViewType.DELETED_ONLY, max_results=1000)
    return {
        "experiment_id": experiment.experiment_id,
        "runs": [describe(client, run) for run in active],
        "deleted_runs": sorted(run.info.run_id for run in deleted),
    }


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    os.environ.setdefault("MLFLOW_TRACKING_URI", sys.argv[1])
    json.dump(main(sys.argv[1], sys.argv[2]), sys.stdout, indent=1, sort_keys=True)
