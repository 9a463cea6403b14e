"""
### chatcast report

At 09:00 in the chat's time zone, posts yesterday's report to the channel: the actual-vs-forecast
chart, today's forecast chart, the score, and the link to the day's run in the experiment tracker. It
first waits (a sensor in reschedule mode, so it holds no worker slot) until the chat's daily DAG has
pushed that day: the daily `push` task updates the `chatcast_<chat>_daily` asset with the day in the
event's extra. Then `pull → report → push → track`, each a step of the chatcast image; the last
`track` sends any day a tracker missed at midnight, after the post is out, so the post never waits on
a tracker. Trigger with the `day` Param (YYYY-MM-DD) to report another day.
"""

from __future__ import annotations

import re
from datetime import timedelta

from airflow.sdk import DAG, chain, task
from airflow.sdk.exceptions import AirflowFailException

from chatcast_common import DAY_TEMPLATE, REPORT_STEPS, ChatcastStep, daily_asset, dag_settings, load_chats


def _daily_pushed(day: str, asset, inlet_events) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day or ""):
        raise AirflowFailException(f'Invalid day "{day}": expected YYYY-MM-DD')
    recent = inlet_events[asset].ascending(False).limit(200)
    return any((event.extra or {}).get("day") == day for event in recent)


for chat in load_chats():
    asset = daily_asset(chat)
    with DAG(**dag_settings(chat, "report", chat.report_at, __doc__)) as dag:

        @task.sensor(
            task_id="wait_for_daily",
            mode="reschedule",
            poke_interval=timedelta(minutes=10),
            timeout=timedelta(hours=12),
            inlets=[asset],
        )
        def wait_for_daily(day: str, inlet_events=None, _asset=asset) -> bool:
            """Done when the daily DAG's push has recorded this day in the asset."""
            return _daily_pushed(day, _asset, inlet_events)

        chain(wait_for_daily(day=DAY_TEMPLATE), *[ChatcastStep(chat=chat, step=step) for step in REPORT_STEPS])
    globals()[dag.dag_id] = dag
