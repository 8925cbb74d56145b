"""The Graph client's guards, and the Graph config keys, without any server.

The behaviour against Graph's shapes is tested end to end in
tests/integration/test_graph.py (a local stand-in). What is tested here are the decisions no
well-behaved server would provoke: a next link to another host, a Retry-After longer than
the desk should wait, an HTTP date in Retry-After, a sendMail whose answer was lost.
Requests are answered by `httpx.MockTransport`, httpx's own in-process transport.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import httpx
import pytest

from mailtriage.config import ConfigError, parse_config
from mailtriage.mailbox.graphapi import GraphClient, GraphError
from mailtriage.outgoing.transport.base import DeliveryError
from mailtriage.outgoing.transport.graph import GraphTransport
from mailtriage.service.cli import main

NOW = dt.datetime(2026, 11, 24, 6, 30, tzinfo=dt.UTC)
BASE = "https://graph.example.test/v1.0"


class Tokens:
    def token(self, *, force_refresh: bool = False) -> str:
        return "token-1"

    def expires_at(self) -> dt.datetime | None:
        return None


def client(handler: httpx.MockTransport, waits: list[float]) -> GraphClient:
    return GraphClient(
        BASE, "security@example.nl", Tokens(), lambda: NOW, sleep=waits.append, transport=handler
    )


def test_a_next_link_to_another_host_is_refused_and_gets_no_token() -> None:
    hosts: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        link = "https://attacker.example.test/v1.0/users/x/messages?$skip=1"
        return httpx.Response(200, json={"value": [{"id": "a"}], "@odata.nextLink": link})

    graph = client(httpx.MockTransport(answer), [])
    with pytest.raises(GraphError, match="another host"):
        list(graph.pages("/mailFolders/inbox/messages", {"$select": "id"}))
    assert hosts == ["graph.example.test"]


def test_retry_after_as_a_date_is_counted_from_the_desks_clock() -> None:
    answers = iter(
        [
            httpx.Response(
                503,
                headers={"Retry-After": email.utils.format_datetime(NOW + dt.timedelta(seconds=7))},
            ),
            httpx.Response(200, json={"id": "inbox"}),
        ]
    )
    waits: list[float] = []
    graph = client(httpx.MockTransport(lambda request: next(answers)), waits)
    assert graph.get_json("/mailFolders/inbox") == {"id": "inbox"}
    assert waits == [7.0]


def test_a_wait_longer_than_the_bound_ends_the_call_as_temporary() -> None:
    waits: list[float] = []
    graph = client(
        httpx.MockTransport(lambda request: httpx.Response(429, headers={"Retry-After": "900"})),
        waits,
    )
    with pytest.raises(GraphError, match="900") as caught:
        graph.get_json("/mailFolders/inbox")
    assert caught.value.transient and waits == []


def test_sendmail_is_not_repeated_when_its_answer_was_lost() -> None:
    sent: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.content)
        raise httpx.ReadTimeout("no answer", request=request)

    graph = client(httpx.MockTransport(answer), [])
    with pytest.raises(GraphError) as caught:
        graph.request("POST", "/sendMail", content=b"TUlNRQ==", resend_when_unsure=False)
    assert caught.value.transient
    assert len(sent) == 1


MINIMAL = {
    "mailbox": {"source": "graph", "username": "security@example.nl"},
    "smtp": {"transport": "graph", "from_address": "security@example.nl"},
}


def test_graph_config_defaults_to_the_global_endpoint(tmp_path: Path) -> None:
    config = parse_config(MINIMAL, base_dir=tmp_path)
    assert config.mailbox.graph_url == "https://graph.microsoft.com/v1.0"


@pytest.mark.parametrize(
    ("mailbox", "message"),
    [
        ({"source": "graph"}, "mailbox.username"),
        ({"graph_url": "http://graph.example.test/v1.0"}, "mailbox.graph_url"),
        ({"graph_url": "ftp://graph.example.test/"}, "mailbox.graph_url"),
    ],
)
def test_graph_config_mistakes_name_the_key(
    tmp_path: Path, mailbox: dict[str, str], message: str
) -> None:
    data = {**MINIMAL, "mailbox": {**MINIMAL["mailbox"], **mailbox}}
    if "username" not in mailbox and mailbox.get("source") == "graph":
        data["mailbox"].pop("username")
    with pytest.raises(ConfigError, match=message):
        parse_config(data, base_dir=tmp_path)


def test_http_is_accepted_for_a_loopback_stand_in(tmp_path: Path) -> None:
    data = {**MINIMAL, "mailbox": {**MINIMAL["mailbox"], "graph_url": "http://127.0.0.1:8/v1.0"}}
    assert parse_config(data, base_dir=tmp_path).mailbox.graph_url.startswith("http://")


def test_graph_without_oauth2_is_one_clear_configuration_error(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[mailbox]\nsource = "graph"\nusername = "security@example.nl"\n'
        '[smtp]\ntransport = "graph"\nfrom_address = "security@example.nl"\n'
        f'[store]\nurl = "sqlite:///{tmp_path / "store.sqlite"}"\n',
        encoding="utf-8",
    )
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        code = main(["--config", str(config), "check"])
    assert code == 2
    assert "graph needs [oauth2]" in err.getvalue()


def test_sendmail_refuses_a_mail_whose_headers_name_someone_else() -> None:
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(202)

    transport = GraphTransport(client(httpx.MockTransport(answer), []))
    raw = (
        b"From: security@example.nl\r\nTo: alice@example.test\r\n"
        b"Bcc: mallory@example.test\r\nSubject: x\r\n\r\nbody\r\n"
    )
    with pytest.raises(DeliveryError) as caught:
        transport.send(
            sender="security@example.nl", recipient="alice@example.test", raw=raw, key="k"
        )
    assert caught.value.permanent and caught.value.this_message_only
    assert requests == []

    fine = b"From: security@example.nl\r\nTo: Alice <Alice@Example.test>\r\nSubject: x\r\n\r\nb\r\n"
    transport.send(sender="security@example.nl", recipient="alice@example.test", raw=fine, key="k")
    assert [r.headers["Content-Type"] for r in requests] == ["text/plain"]
    assert base64.b64decode(requests[0].content) == fine
