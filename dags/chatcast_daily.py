"""
### chatcast daily pipeline

Runs just after midnight in the chat's time zone for the day that has just ended:
`pull → ingest → aggregate → evaluate → train → forecast → render → push`, each task one step of the
chatcast image (DockerOperator). The day is the start of the run's data interval in the chat's zone
(`CronDataIntervalTimetable`), so reruns, backfills and `airflow dags test` process the same day the
scheduled run did; trigger with the `day` Param (YYYY-MM-DD) to process another day by hand.

`push` records the day in the `chatcast_<chat>_daily` asset; the chat's report DAG waits for it.
One DAG per chat listed in `chats.yaml` (or `$CHATCAST_CHATS`).
"""

from __future__ import annotations

from airflow.sdk import DAG, CronDataIntervalTimetable, Param, chain

from chatcast_common import DAILY_STEPS, DEFAULT_ARGS, ChatcastStep, daily_asset, load_chats, start_date

for chat in load_chats():
    with DAG(
        dag_id=f"chatcast_daily_{chat.id}",
        description=f"chatcast daily pipeline for chat {chat.id} ({chat.timezone})",
        doc_md=__doc__,
        schedule=CronDataIntervalTimetable(chat.daily_at, timezone=chat.timezone),
        start_date=start_date(chat),
        catchup=chat.catchup,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["chatcast", "daily", chat.id],
        params={
            "day": Param(
                None,
                type=["null", "string"],
                title="Day",
                description="Process this day (YYYY-MM-DD, chat time zone) instead of the data interval's day.",
            )
        },
    ) as dag:
        steps = [
            ChatcastStep(chat=chat, step=step, outlets=[daily_asset(chat)] if step == "push" else [])
            for step in DAILY_STEPS
        ]
        chain(*steps)
    globals()[dag.dag_id] = dag
