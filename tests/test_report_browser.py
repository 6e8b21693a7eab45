"""The HTML readiness report in a real headless browser (Debian's chromium; .ci/run installs it).

The page is loaded with every network request refused, so anything it needed from
outside would be missing; the screenshot is decoded and must show the bottleneck box
of the capacity chain in its highlight colour.
"""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import pytest

from prodlint.report import Report
from prodlint.report.readiness import render

from conftest import lint_project

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
BOTTLENECK = bytes((0xE1, 0x1D, 0x48))  # the bottleneck box's stroke, #e11d48, used nowhere else
LINK = bytes((0x63, 0x66, 0xF1))  # the other boxes' stroke, #6366f1
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND", "--hide-scrollbars")


def _browser() -> str:
    found = next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)
    if found is None:
        pytest.skip("no headless browser could be installed here (chromium not on PATH; .ci/run installs Debian's "
                    "chromium with apt-get): the HTML report was not checked in a browser")
    return found


def _chromium(browser: str, *args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=120, check=False)


def _pixels(png: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB(A) rows of an 8-bit truecolour PNG (what chromium writes)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks, header = 8, [], None
    while offset < len(png):
        length, kind = struct.unpack(">I4s", png[offset:offset + 8])
        data = png[offset + 8:offset + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", data)
        elif kind == b"IDAT":
            chunks.append(data)
        offset += 12 + length
    width, height, depth, colour, *_ = header
    assert depth == 8 and colour in (2, 6)
    size = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * size
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - size] if x >= size else 0
            up, corner = previous[x], previous[x - size] if x >= size else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                estimate = left + up - corner
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, [bytes(row[i:i + 3]) for row in rows for i in range(0, len(row), size)]


def test_html_report_renders_in_a_headless_browser(tmp_path) -> None:
    browser = _browser()
    analysis = lint_project(EXAMPLES)
    stream = io.StringIO()
    render(Report(analysis, analysis.reported), stream, "html", target=250)
    page = tmp_path / "readiness.html"
    page.write_text(stream.getvalue(), encoding="utf-8")

    dom = _chromium(browser, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<h1>Production readiness report</h1>" in dom.stdout
    assert dom.stdout.count("<svg") == 2  # one capacity chain per service: api and notifications
    assert "api: 5 concurrent requests, bottleneck" in dom.stdout

    screenshot = tmp_path / "readiness.png"
    shot = _chromium(browser, "--window-size=1200,1100", f"--screenshot={screenshot}", page.as_uri())
    assert shot.returncode == 0 and screenshot.is_file(), shot.stderr[-2000:]
    width, height, pixels = _pixels(screenshot.read_bytes())
    assert (width, height) == (1200, 1100)
    highlighted = sum(1 for pixel in pixels if pixel == BOTTLENECK)
    others = sum(1 for pixel in pixels if all(abs(a - b) <= 24 for a, b in zip(pixel, LINK)))
    # api's chain: proxy, http and database boxes in the link colour, the pool box (the bottleneck) highlighted.
    assert highlighted > 500, f"the bottleneck box is not drawn ({highlighted} highlight pixels)"
    assert others > 3 * 200, f"the other boxes of the chain are not drawn ({others} pixels)"
