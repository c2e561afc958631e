"""The clinicians' page in a real browser: Playwright driving Debian's Chromium against a
live ``vbhc serve`` on loopback (fill the form, submit, read the result, switch language)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
# Flags known to work on this kind of machine: no sandbox as root, no background
# networking (the network is closed), no GPU.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _install_chromium() -> str | None:
    """Install Debian's chromium with apt-get; the reason it failed, or None."""
    if shutil.which("apt-get") is None:
        return "apt-get is not available"
    if os.geteuid() != 0:
        return "installing packages needs root"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run = subprocess.run(["apt-get", "install", "-y", "chromium"], env=env, capture_output=True, text=True, timeout=1200)
    if run.returncode != 0:  # package lists may be missing on a fresh machine
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, text=True, timeout=600)
        run = subprocess.run(["apt-get", "install", "-y", "chromium"], env=env, capture_output=True, text=True, timeout=1200)
    if run.returncode != 0 or not CHROMIUM.exists():
        tail = (run.stderr or run.stdout).strip().splitlines()[-1:] or ["no output"]
        return f"apt-get install chromium failed: {tail[0]}"
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of Debian's chromium, installed when missing (skips only if that is impossible)."""
    if not CHROMIUM.exists():
        reason = _install_chromium()
        if reason:
            pytest.skip(f"Debian chromium is not installed and cannot be installed here: {reason}")
    return str(CHROMIUM)


@pytest.fixture
def page(chromium, live_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        page.console_errors = []
        page.foreign_requests = []
        # script errors count; the browser's own note on a 4xx answer (expected here) does not
        page.on(
            "console",
            lambda m: m.type == "error" and "the server responded with a status of 4" not in m.text
            and page.console_errors.append(m.text),
        )
        page.on("pageerror", lambda e: page.console_errors.append(str(e)))
        page.on("request", lambda r: r.url.startswith(live_server.base) or page.foreign_requests.append(r.url))
        yield page
        browser.close()


def test_clinician_fills_the_form_reads_the_result_and_switches_language(page, live_server):
    page.goto(f"{live_server.base}/?lang=da#token={live_server.token}")
    page.wait_for_selector("body[data-ready=true]")
    assert page.input_value("#f-token") == live_server.token  # taken from the link, kept in the tab
    assert "#token" not in page.url

    page.check("input[name=joint][value=knee]")
    page.fill("#f-age", "66")
    page.check("input[name=sex][value=M]")
    page.fill("#f-bmi", "31,5")  # Danish decimal comma
    page.select_option("#f-smoking", "current")
    page.fill("#f-oxford_pre", "17")
    for dim, level in zip(("MO", "SC", "UA", "PD", "AD"), ("3", "1", "3", "4", "2"), strict=True):
        page.select_option(f"#f-eq-{dim}", level)
    page.click("#submit")
    page.wait_for_selector("#oxford-expected")

    # the page shows what the API says for the same patient
    body = {
        "joint": "knee", "age": 66, "sex": "M", "bmi": 31.5, "asa_class": 2, "smoking": "current",
        "indication": "primary_osteoarthritis", "anxiety_depression": False, "employed": False,
        "oxford_pre": 17, "eq5d_items": {"MO": 3, "SC": 1, "UA": 3, "PD": 4, "AD": 2},
    }
    api = httpx.post(f"{live_server.base}/v1/predictions", json=body, headers=live_server.auth).json()
    by = {o["outcome"]: o for o in api["outcomes"]}
    assert int(page.text_content("#oxford-expected")) == round(by["oxford_12m"]["estimate"])
    risk = page.text_content("#risk-complication_90d")
    per100 = round(by["complication_90d"]["estimate"] * 100)
    assert risk == (f"{per100} ud af 100" if per100 >= 1 else risk)
    assert "ud af 100" in page.text_content("#card-mic")
    assert page.text_content("#result h2") == "Hvad patienten kan forvente"
    assert "Rygning" in page.text_content("#card-factors")

    page.click("#lang-en")
    assert page.get_attribute("html", "lang") == "en"
    assert page.text_content("#result h2") == "What this patient can expect"
    assert "in 100" in page.text_content("#card-risks")
    assert page.text_content("#submit") == "Show prediction"
    assert int(page.text_content("#oxford-expected")) == round(by["oxford_12m"]["estimate"])

    page.fill("#f-bmi", "90")
    page.click("#submit")
    page.wait_for_selector("#form-errors:not([hidden])")
    assert "bmi: must be between 12 and 80 (kg/m²)" in page.text_content("#form-errors")
    assert page.get_attribute("#f-bmi", "aria-invalid") == "true"

    assert page.console_errors == []
    assert page.foreign_requests == []  # nothing fetched from outside the app


def test_page_asks_for_the_access_key_when_it_is_wrong(page, live_server):
    page.goto(f"{live_server.base}/?lang=en")
    page.wait_for_selector("body[data-ready=true]")
    page.fill("#f-token", "not-the-token-at-all")
    page.fill("#f-age", "70")
    page.check("input[name=sex][value=F]")
    page.click("#submit")
    page.wait_for_selector("#form-errors:not([hidden])")
    assert "access key is missing or wrong" in page.text_content("#form-errors")
    assert page.is_hidden("#result")
