"""`mailtriage report --html FILE` seen in a real browser (issue 17).

The page is for managers: it must show its charts when opened, offline, and tell nobody it
was opened. So the page `report --html` writes from a real store is rendered by headless
Chromium (installed by `make chromium`, which `make test-plain` depends on), and the
screenshot is read back: the places where the page puts its charts must hold the charts'
own colours, and the header above them none. Chromium runs with every network request sent
to a proxy that is only a listening socket in this test: the page must make it see nothing.
A control page with one remote image proves the socket would have seen a request.

These tests start a browser, so they run in the plain run only (not marked integration).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image

from mailtriage.service.reportpage import CHART_HEIGHT, CHART_WIDTH, HEADER_HEIGHT
from tests.support.clock import local
from tests.support.figures import Builder

# What Chromium itself still contacts at start-up whatever the flags (component updates,
# account capabilities): exact host names, so a page reaching any other host of the same
# companies (fonts.googleapis.com, say) is still caught.
CHROMIUM_OWN = frozenset({"update.googleapis.com", "accounts.google.com", "clients2.google.com"})
WINDOW = (CHART_WIDTH, HEADER_HEIGHT + 2 * CHART_HEIGHT + 300)
# Colours the charts draw with (outgoing/charts.py): "open" grey, "fixed" green; the median
# bar blue and the promise line orange.
OUTCOME_COLOURS = {(0x99, 0x99, 0x99), (0x00, 0x9E, 0x73)}
ASSESSMENT_COLOURS = {(0x00, 0x72, 0xB2), (0xD5, 0x5E, 0x00)}


class Listener:
    """A TCP socket standing in for the network: it notes what each client asks for (the
    proxy request line: `CONNECT host:443` or `GET http://host/...`) and answers nothing."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.requests: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(2)
            try:
                first = conn.recv(4096).split(b"\r\n", 1)[0]
            except OSError:
                first = b""
            self.requests.append(first.decode("latin-1"))
            conn.close()

    def page_requests(self) -> list[str]:
        """The request lines for hosts other than Chromium's own."""
        return [r for r in self.requests if _host(r) not in CHROMIUM_OWN]

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


def _host(request_line: str) -> str:
    """The host a proxy request line names: `CONNECT h:443 ...` or `GET http://h/... ...`."""
    parts = request_line.split()
    target = parts[1] if len(parts) > 1 else ""
    return urlsplit(target if "//" in target else "//" + target).hostname or ""


@pytest.fixture
def network() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.close()


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is missing: run `make chromium` (make test-plain does)"
    return found


def screenshot(page: Path, out: Path, proxy_port: int, profile: Path) -> Image.Image:
    """`page` as headless Chromium draws it, every network request sent to the proxy."""
    command = [
        chromium(),
        "--headless",
        "--disable-gpu",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        # Quieten Chromium's own traffic (network time, hints, translation), which goes to the
        # same proxy; what these flags do not stop is left out by host (CHROMIUM_OWN).
        "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,"
        "OptimizationGuideModelDownloading,Translate,MediaRouter,AutofillServerCommunication",
        "--disable-client-side-phishing-detection",
        "--disable-domain-reliability",
        "--no-pings",
        "--disable-breakpad",
        "--allow-browser-signin=false",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        f"--proxy-server=http://127.0.0.1:{proxy_port}",
        "--proxy-bypass-list=<-loopback>",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        f"--screenshot={out}",
        page.as_uri(),
    ]
    if os.geteuid() == 0:
        command.insert(1, "--no-sandbox")  # Chromium refuses root without it (CI runs as root)
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    return Image.open(out).convert("RGB")


def colours_in(image: Image.Image, box: tuple[int, int, int, int]) -> set[tuple[int, int, int]]:
    return {colour for _, colour in image.crop(box).getcolors(maxcolors=1 << 20) or []}


def ink(image: Image.Image, box: tuple[int, int, int, int]) -> float:
    """The share of pixels in `box` that are not white."""
    region = image.crop(box)
    pixels = region.width * region.height
    white = sum(
        count
        for count, colour in region.getcolors(maxcolors=1 << 20) or []
        if colour == (255, 255, 255)
    )
    return 1 - white / pixels


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "srcset", "action")]


@pytest.fixture
def page(tmp_path: Path) -> Path:
    b = Builder(tmp_path)
    b.case(local(2026, 10, 5, 9, 0), ack_minutes=2, answered=local(2026, 10, 7, 9, 0),
           closed=local(2026, 10, 20, 9, 0), reason="fixed")  # fmt: skip
    b.case(local(2026, 10, 12, 9, 0), ack_minutes=1, answered=local(2026, 10, 22, 9, 0))
    b.case(local(2026, 11, 3, 9, 0), ack_minutes=3, answered=local(2026, 11, 4, 9, 0))
    b.case(local(2026, 11, 10, 9, 0), ack_minutes=1)
    out = tmp_path / "report.html"
    b.report("--html", str(out))
    return out


def test_the_page_shows_both_charts_where_it_puts_them(
    page: Path, tmp_path: Path, network: Listener
) -> None:
    shot = screenshot(page, tmp_path / "shot.png", network.port, tmp_path / "profile")
    assert shot.width == WINDOW[0]
    header = (0, 0, CHART_WIDTH, HEADER_HEIGHT)
    outcomes = (0, HEADER_HEIGHT, CHART_WIDTH, HEADER_HEIGHT + CHART_HEIGHT)
    assessment = (0, HEADER_HEIGHT + CHART_HEIGHT, CHART_WIDTH, HEADER_HEIGHT + 2 * CHART_HEIGHT)
    assert colours_in(shot, outcomes) >= OUTCOME_COLOURS
    assert colours_in(shot, assessment) >= ASSESSMENT_COLOURS
    # Grey is also in the header's anti-aliased text; the chart hues are not.
    hues = {(0x00, 0x9E, 0x73), *ASSESSMENT_COLOURS}
    assert not hues & colours_in(shot, header)
    for box in (outcomes, assessment):
        assert ink(shot, box) > 0.05  # bars, not a blank box with a title
    assert network.page_requests() == []


def test_the_page_names_nothing_outside_itself(page: Path) -> None:
    html = page.read_text(encoding="utf-8")
    links = Links()
    links.feed(html)
    assert len(links.urls) == 2
    assert all(url.startswith("data:image/png;base64,") for url in links.urls)
    assert not re.search(r"(?i)\b(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html)
    assert "default-src 'none'" in html  # and the browser is told to load nothing anyway


def test_the_listener_would_have_seen_a_page_reaching_out(
    tmp_path: Path, network: Listener
) -> None:
    leaky = tmp_path / "leaky.html"
    leaky.write_text('<img src="http://charts.example.test/x.png">', encoding="utf-8")
    screenshot(leaky, tmp_path / "leaky.png", network.port, tmp_path / "profile")
    assert {_host(r) for r in network.page_requests()} == {"charts.example.test"}
