"""Each `[oauth2]` provider gets a token the way its real service hands one out, from the
local OAuth2 stand-in (tests/support/oauth2_server.py), through the provider's own library:

- microsoft: msal's ConfidentialClientApplication over https (a test CA in `ca_file`), reading
  the OpenID configuration and signing a client assertion with the certificate's key (the
  stand-in verifies the signature with the certificate's public key), or with a client secret;
- google: google-auth's service account signing a JWT bearer grant for the mailbox user
  (domain-wide delegation), verified with the service account's public key;
- generic: a client-credentials POST with HTTP Basic client authentication.

The stand-in is not Entra ID or Google: what is proven is that the libraries are driven
correctly and that their failures become one scrubbed line; not that Microsoft or Google
accept this exact app registration.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailtriage.config import ConfigError, parse_config
from mailtriage.mailbox.oauth2 import (
    GOOGLE_MAIL_SCOPES,
    MICROSOFT_MAIL_SCOPES,
    TokenError,
    mail_scopes,
    token_source,
)
from tests.support.clock import FakeClock
from tests.support.oauth2_server import (
    Client,
    TokenServer,
    make_client_certificate,
    make_service_account,
)

pytestmark = pytest.mark.integration

DESK = "security@example.nl"
TENANT = "8f0e4b1c-0000-4000-8000-00000000c0de"
APP_ID = "3b7c9d2e-0000-4000-8000-0000000a9911"


@pytest.fixture
def https_idp(tmp_path: Path) -> Iterator[TokenServer]:
    with TokenServer(lifetime=20, tls_dir=tmp_path / "idp-tls") as server:
        yield server


def config_with(oauth2: dict[str, Any], tmp_path: Path, **smtp: Any) -> Any:
    return parse_config(
        {
            "mailbox": {"source": "imap", "username": DESK, "auth": "oauth2"},
            "smtp": {"from_address": DESK, "username": DESK, "auth": "oauth2", **smtp},
            "oauth2": oauth2,
        },
        base_dir=tmp_path,
    )


def clock() -> FakeClock:
    return FakeClock(dt.datetime.now(dt.UTC))


def test_microsoft_with_a_certificate_gets_an_exchange_token_through_msal(
    https_idp: TokenServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    pem, public_key = make_client_certificate(tmp_path)
    https_idp.add_client(Client(APP_ID, public_key=public_key, subject=DESK))
    assert https_idp.ca_file is not None
    config = config_with(
        {
            "provider": "microsoft",
            "client_id": APP_ID,
            "tenant_id": TENANT,
            "certificate_file": str(pem),
            "authority": https_idp.base_url,
            "ca_file": str(https_idp.ca_file),
        },
        tmp_path,
    )
    assert mail_scopes(config) == MICROSOFT_MAIL_SCOPES
    tokens = token_source(config, clock(), mail_scopes(config))
    first = tokens.token()
    assert first in https_idp.token_values()
    assert https_idp.issued[-1].scope == "https://outlook.office365.com/.default"
    assert tokens.token() == first  # held, not fetched again
    assert tokens.token(force_refresh=True) != first
    assert tokens.expires_at() is not None
    key_body = pem.read_text().split("-----")[2].strip().splitlines()[1]
    assert key_body not in caplog.text
    assert not any(t in caplog.text for t in https_idp.token_values())


def test_microsoft_with_a_wrong_secret_says_invalid_client_in_one_line(
    https_idp: TokenServer, tmp_path: Path
) -> None:
    https_idp.add_client(Client(APP_ID, secret="the-right-one-Hq3", subject=DESK))
    secret = tmp_path / "secret"
    secret.write_text("a-wrong-one-Kd8\n")
    assert https_idp.ca_file is not None
    config = config_with(
        {
            "provider": "microsoft",
            "client_id": APP_ID,
            "tenant_id": TENANT,
            "client_secret_file": str(secret),
            "authority": https_idp.base_url,
            "ca_file": str(https_idp.ca_file),
        },
        tmp_path,
    )
    tokens = token_source(config, clock(), MICROSOFT_MAIL_SCOPES)
    with pytest.raises(TokenError) as caught:
        tokens.token()
    assert caught.value.kind == "refused"
    assert "invalid_client" in caught.value.reason
    assert "a-wrong-one" not in caught.value.reason and "\n" not in caught.value.reason
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_microsoft_without_the_test_ca_refuses_the_endpoint_as_untrusted(
    https_idp: TokenServer, tmp_path: Path
) -> None:
    pem, public_key = make_client_certificate(tmp_path)
    https_idp.add_client(Client(APP_ID, public_key=public_key, subject=DESK))
    config = config_with(
        {
            "provider": "microsoft",
            "client_id": APP_ID,
            "tenant_id": TENANT,
            "certificate_file": str(pem),
            "authority": https_idp.base_url,
        },
        tmp_path,
    )
    with pytest.raises(TokenError) as caught:
        token_source(config, clock(), MICROSOFT_MAIL_SCOPES).token()
    assert caught.value.kind == "unreachable"
    assert "TLS" in caught.value.reason


def test_google_service_account_acts_as_the_mailbox_user(tmp_path: Path) -> None:
    with TokenServer(lifetime=20) as idp:
        key_file, public_key, email = make_service_account(tmp_path, idp.token_url)
        idp.add_client(Client(email, public_key=public_key, subject=DESK))
        config = config_with(
            {"provider": "google", "service_account_file": str(key_file)}, tmp_path
        )
        tokens = token_source(config, clock(), mail_scopes(config))
        token = tokens.token()
        assert token in idp.token_values()
        issued = idp.issued[-1]
        assert issued.subject == DESK  # domain-wide delegation: the token is the mailbox user's
        assert issued.scope == GOOGLE_MAIL_SCOPES[0]
        assert tokens.expires_at() is not None


def test_google_without_delegation_for_this_user_is_refused_clearly(tmp_path: Path) -> None:
    with TokenServer(lifetime=20) as idp:
        key_file, public_key, email = make_service_account(tmp_path, idp.token_url)
        idp.add_client(Client(email, public_key=public_key, subject="someone-else@example.nl"))
        config = config_with(
            {"provider": "google", "service_account_file": str(key_file)}, tmp_path
        )
        with pytest.raises(TokenError) as caught:
            token_source(config, clock(), GOOGLE_MAIL_SCOPES).token()
        assert caught.value.kind == "refused"
        assert "unauthorized_client" in caught.value.reason
        assert "domain-wide delegation" in caught.value.reason


@pytest.mark.timed_waits  # waits for a real 1-second token to run out
def test_generic_renews_a_token_before_it_runs_out(tmp_path: Path) -> None:
    with TokenServer(lifetime=1) as idp:
        idp.add_client(Client("desk", secret="s3cret-Lp0", subject=DESK))
        secret = tmp_path / "secret"
        secret.write_text("s3cret-Lp0")
        config = config_with(
            {
                "provider": "generic",
                "client_id": "desk",
                "client_secret_file": str(secret),
                "token_url": idp.token_url,
            },
            tmp_path,
        )
        tokens = token_source(config, clock(), ())
        first = tokens.token()
        assert tokens.token() == first
        import time

        time.sleep(1.0)  # the 1-second token is spent: the next call must not hand it out
        assert tokens.token() != first
        assert len(idp.issued) == 2


@pytest.mark.parametrize(
    ("oauth2", "named"),
    [
        (
            {"provider": "generic", "client_id": "x", "token_url": "https://idp.example.nl/t"},
            "oauth2.client_secret_file: required",
        ),
        ({"provider": "microsoft", "client_id": "x", "tenant_id": "t"}, "give exactly one of them"),
        (
            {
                "provider": "microsoft",
                "client_id": "x",
                "tenant_id": "t",
                "client_secret_file": "missing-file",
            },
            "is not a readable file",
        ),
        (
            {
                "provider": "generic",
                "client_id": "x",
                "client_secret_file": "SECRET",
                "token_url": "http://idp.example.nl/token",
            },
            "http:// only for a loopback host",
        ),
        (
            {"provider": "google", "service_account_file": "SECRET", "token_url": "https://a.b/t"},
            "oauth2.token_url: not used with provider 'google'",
        ),
        ({"provider": "okta"}, "oauth2.provider: must be one of"),
    ],
)
def test_a_bad_oauth2_section_names_the_key(
    tmp_path: Path, oauth2: dict[str, Any], named: str
) -> None:
    (tmp_path / "SECRET").write_text("x")
    with pytest.raises(ConfigError, match=named.replace("(", r"\(").replace(".", r"\.")):
        config_with(oauth2, tmp_path)


def test_oauth2_auth_without_the_section_or_with_a_password_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r'mailbox\.auth: "oauth2" needs an \[oauth2\] section'):
        parse_config(
            {
                "mailbox": {"source": "imap", "username": DESK, "auth": "oauth2"},
                "smtp": {"from_address": DESK},
            },
            base_dir=tmp_path,
        )
    (tmp_path / "SECRET").write_text("x")
    generic = {
        "provider": "generic",
        "client_id": "x",
        "client_secret_file": "SECRET",
        "token_url": "http://127.0.0.1:9/token",
    }
    with pytest.raises(ConfigError, match=r"smtp\.password: not used"):
        config_with(generic, tmp_path, password="hunter2")
