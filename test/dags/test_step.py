"""ChatcastStep's failure path without Docker: a mocked Docker API client plays the container. The
exit code decides between failing at once and retrying; the container is removed however the step
ends (`docker inspect` of a kept one shows its secrets), after its output reached the task log."""

from __future__ import annotations

from unittest import mock

import pytest
from airflow.providers.docker.operators import docker as provider
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowTaskTimeout
from docker.errors import NotFound

from chatcast_common import Chat, ChatcastStep

SAID = "chatcast pull: Step pull found the workspace at day 2024-03-30, not 2024-03-31"


def make_step(monkeypatch, *, exit_code: int, output=(b"pulling\n", f"{SAID}\n".encode())):
    """A pull step whose container prints `output` and exits with `exit_code`; `events` records the
    client's calls and the task log's lines in the order they happen."""
    events = mock.Mock()
    client = events.client
    client.images.return_value = [{"Id": "sha256:image"}]
    client.create_container.return_value = {"Id": "c0ffee"}
    client.attach.return_value = iter(output)
    client.wait.return_value = {"Error": None, "StatusCode": exit_code}
    monkeypatch.setattr(ChatcastStep, "log", property(lambda self: events.log))
    step = ChatcastStep(chat=Chat(id="t", timezone="UTC", workspace="/w"), step="pull")
    step.__dict__["hook"] = mock.Mock(api_client=client, client_created=True)
    return step, events


@pytest.fixture(params=["as the provider words it", "reworded"])
def wording(request, monkeypatch):
    """The exit code must not depend on the provider's wording of its exception."""
    if request.param == "reworded":

        class Reworded(provider.DockerContainerFailedException):
            def __init__(self, message=None, logs=None):
                super().__init__("Docker container failed", logs=logs)

        monkeypatch.setattr(provider, "DockerContainerFailedException", Reworded)
    return request.param


@pytest.mark.parametrize(("code", "name"), [(2, "USAGE"), (3, "CONFIG"), (4, "INPUT"), (5, "WORKSPACE"), (6, "STATE")])
def test_bad_input_or_state_fails_the_task_without_retry(monkeypatch, wording, code, name):
    step, events = make_step(monkeypatch, exit_code=code)
    with pytest.raises(AirflowFailException) as raised:
        step.execute({})
    assert str(raised.value) == f"{SAID} (exit {code}, {name}: not retried)"


@pytest.mark.parametrize(("code", "suffix"), [(7, "(exit 7, EXTERNAL: retryable)"), (1, "(exit 1: retryable)"), (137, "(exit 137: retryable)")])
def test_an_external_failure_or_a_crash_is_retried(monkeypatch, wording, code, suffix):
    step, events = make_step(monkeypatch, exit_code=code)
    with pytest.raises(AirflowException) as raised:
        step.execute({})
    assert not isinstance(raised.value, AirflowFailException)
    assert str(raised.value) == f"{SAID} {suffix}"
    assert raised.value.logs == ["pulling", SAID]


def test_a_container_that_says_nothing_still_fails_with_its_exit_code(monkeypatch):
    step, events = make_step(monkeypatch, exit_code=6, output=())
    with pytest.raises(AirflowFailException, match=r"^The container failed \(exit 6, STATE: not retried\)$"):
        step.execute({})


@pytest.mark.parametrize("code", [0, 6, 7])
def test_the_container_is_removed_however_it_ends_after_its_output_is_in_the_task_log(monkeypatch, code):
    step, events = make_step(monkeypatch, exit_code=code)
    try:
        step.execute({})
    except AirflowException:
        pass
    calls = [c for c in events.mock_calls if c[0] in ("log.info", "client.wait", "client.remove_container")]
    assert calls[-4:] == [
        mock.call.log.info("%s", "pulling"),
        mock.call.log.info("%s", SAID),
        mock.call.client.wait("c0ffee"),
        mock.call.client.remove_container("c0ffee", force=True),
    ]


def test_a_step_stopped_by_its_timeout_removes_its_container_and_on_kill_finds_it_gone(monkeypatch):
    """Airflow raises AirflowTaskTimeout inside execute (here: while the output streams), then calls
    on_kill: the container is gone already, which is no error."""

    def hangs():
        yield b"rendering\n"
        raise AirflowTaskTimeout("Timeout")

    step, events = make_step(monkeypatch, exit_code=0, output=hangs())
    with pytest.raises(AirflowTaskTimeout):
        step.execute({})
    events.client.remove_container.assert_called_once_with("c0ffee", force=True)
    events.client.wait.assert_not_called()
    events.client.stop.side_effect = NotFound("No such container: c0ffee")
    step.on_kill()
    events.client.stop.assert_called_once_with("c0ffee")


def test_secrets_reach_the_container_only_through_its_environment_at_run_time(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_TG_T",
        '{"conn_type": "generic", "login": "12345", "password": "api-hash", "extra": {"session": "1BVts"}}',
    )
    events = mock.Mock()
    client = events.client
    client.images.return_value = [{"Id": "sha256:image"}]
    client.create_container.return_value = {"Id": "c0ffee"}
    client.attach.return_value = iter([b"ingested\n"])
    client.wait.return_value = {"Error": None, "StatusCode": 0}
    step = ChatcastStep(chat=Chat(id="t", timezone="UTC", workspace="/w", connections={"mtproto": "tg_t"}), step="ingest")
    step.__dict__["hook"] = mock.Mock(api_client=client, client_created=True)
    step.execute({})
    environment = client.create_container.call_args.kwargs["environment"]
    assert environment["TELEGRAM_SESSION"] == "1BVts"
    assert "TELEGRAM_SESSION" not in step.environment
    client.remove_container.assert_called_once_with("c0ffee", force=True)
