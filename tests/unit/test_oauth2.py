"""The token source's promises that need no server: a secret never shows in a repr, an
exception or a log line; a token is reused while fresh and renewed before it runs out; a
failure is one scrubbed line without the library's exception chained to it."""

from __future__ import annotations

import datetime as dt
import logging
import pickle
import time
import traceback

import pytest

from mailtriage.mailbox.oauth2 import (
    CachedTokenSource,
    Issued,
    Secret,
    TokenError,
    _issued_from_response,
    scrub,
    xoauth2_string,
)
from tests.support.clock import FakeClock

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def test_a_secret_hides_itself_from_repr_str_formatting_and_pickle() -> None:
    secret = Secret("hunter2-Xk9")
    for text in (repr(secret), str(secret), f"{secret}", f"{secret} {secret!r}"):
        assert "hunter2" not in text
    assert secret.reveal() == "hunter2-Xk9"
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_scrub_hides_known_secrets_tokens_keys_and_bearer_headers() -> None:
    text = (
        'failed: {"access_token": "opaque-123456", "client_secret": "s3cr3t"} '
        "Authorization: Bearer abc.def.ghi eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln "
        "-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY----- my-own-secret"
    )
    clean = scrub(text, ["my-own-secret"])
    for fragment in ("opaque-123456", "s3cr3t", "abc.def.ghi", "eyJhbGci", "MIIEv", "my-own"):
        assert fragment not in clean
    assert "\n" not in clean


def fake_fetch(lifetimes: list[float]) -> tuple[list[str], object]:
    handed: list[str] = []

    def fetch() -> Issued:
        token = f"token-{len(handed)}-Qw7"
        handed.append(token)
        return Issued(Secret(token), lifetimes[min(len(handed) - 1, len(lifetimes) - 1)])

    return handed, fetch


def test_a_token_is_reused_while_fresh_and_renewed_when_a_tenth_of_its_life_is_left() -> None:
    handed, fetch = fake_fetch([1.0])
    source = CachedTokenSource(fetch, FakeClock(NOW), describe="test")  # type: ignore[arg-type]
    first = source.token()
    assert source.token() == first and len(handed) == 1
    assert source.expires_at() == NOW + dt.timedelta(seconds=1)
    time.sleep(0.92)  # within the last tenth of the 1-second life
    assert source.token() != first and len(handed) == 2
    assert source.token(force_refresh=True) != handed[1] and len(handed) == 3


def test_a_long_lived_token_is_renewed_at_most_a_minute_early() -> None:
    recorded: list[dt.datetime] = []
    _, fetch = fake_fetch([3600.0])
    source = CachedTokenSource(
        fetch,  # type: ignore[arg-type]
        FakeClock(NOW),
        describe="test",
        on_new_token=recorded.append,
    )
    source.token()
    assert source._renew_at - time.monotonic() > 3600 - 61
    assert recorded == [NOW + dt.timedelta(hours=1)]


def test_a_failure_is_one_scrubbed_line_with_no_chained_library_exception(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    def fetch() -> Issued:
        try:
            raise ConnectionError("POST with client_secret=s3cr3t-Zp1 failed")
        except ConnectionError as exc:
            raise TokenError("endpoint said client_secret=s3cr3t-Zp1", kind="unreachable") from exc

    source = CachedTokenSource(fetch, FakeClock(NOW), describe="OAuth2 token (test)")
    with pytest.raises(TokenError) as caught:
        source.token()
    assert caught.value.reason.startswith("OAuth2 token (test): ")
    formatted = "".join(traceback.format_exception(caught.value))
    assert "s3cr3t" not in formatted
    assert "s3cr3t" not in caplog.text


@pytest.mark.parametrize(
    ("status", "body", "kind", "words"),
    [
        (401, '{"error": "invalid_client"}', "refused", "check oauth2.client_id"),
        (400, '{"error": "unauthorized_client"}', "refused", "may not use this grant"),
        (503, "<html>down</html>", "unreachable", "HTTP 503"),
        (200, '{"token_type": "Bearer"}', "invalid", "no access_token"),
        (200, '{"access_token": "x", "token_type": "mac"}', "invalid", "not Bearer"),
    ],
)
def test_token_endpoint_answers_per_rfc_6749_section_5(
    status: int, body: str, kind: str, words: str
) -> None:
    with pytest.raises(TokenError) as caught:
        _issued_from_response(status, body, "https://idp.example.nl/token")
    assert caught.value.kind == kind and words in caught.value.reason


def test_a_token_answer_gives_its_lifetime_or_an_hour() -> None:
    issued = _issued_from_response(200, '{"access_token": "a", "expires_in": 20}', "x")
    assert issued.lifetime_seconds == 20 and issued.token.reveal() == "a"
    assert _issued_from_response(200, '{"access_token": "a"}', "x").lifetime_seconds == 3600


def test_the_xoauth2_string_is_the_documented_one() -> None:
    assert xoauth2_string("a@example.nl", "t") == "user=a@example.nl\x01auth=Bearer t\x01\x01"
