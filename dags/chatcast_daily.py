"""
### chatcast daily pipeline

Runs just after midnight in the chat's time zone for the day that has just ended:
`pull → ingest → aggregate → evaluate → train → forecast → render → push → track`, each task one step
of the chatcast image (DockerOperator). `track` sends the day to the chat's experiment trackers after
`push`, so a tracker that is down (the task fails and is retried) never holds up the day or its report. The day is the start of the run's data interval in the chat's zone
(`CronDataIntervalTimetable`), so reruns, backfills and `airflow dags test` process the same day the
scheduled run did; trigger with the `day` Param (YYYY-MM-DD) to process another day by hand (a
manual run with neither the Param nor a logical date processes the day before the trigger).

`push` records the day in the `chatcast_<chat>_daily` asset; the chat's report DAG waits for it.
One DAG per chat listed in `chats.yaml` (or `$CHATCAST_CHATS`).
"""

from __future__ import annotations

from airflow.sdk import DAG, chain

from chatcast_common import DAILY_STEPS, ChatcastStep, daily_asset, dag_settings, load_chats

for chat in load_chats():
    with DAG(**dag_settings(chat, "daily", chat.daily_at, __doc__)) as dag:
        steps = [
            ChatcastStep(chat=chat, step=step, outlets=[daily_asset(chat)] if step == "push" else [])
            for step in DAILY_STEPS
        ]
        chain(*steps)
    globals()[dag.dag_id] = dag
