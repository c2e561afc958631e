"""The clinicians' page in a real browser: Playwright driving Debian's Chromium against a
live ``vbhc serve`` on loopback (fill the form, submit, read the result, switch language)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
RISKS = ("complication_90d", "readmission_90d", "reoperation_2y", "death_90d")
_LABELS = json.loads((Path(__file__).resolve().parents[2] / "src/vbhc/serve/static/i18n.json").read_text(encoding="utf-8"))
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
    """Path of Debian's chromium, installed by the test set-up when missing; the test
    fails (never skips) when it is missing and cannot be installed."""
    if not CHROMIUM.exists():
        reason = _install_chromium()
        if reason:
            pytest.fail(
                f"Debian chromium ({CHROMIUM}) is missing and the test set-up cannot install it ({reason}); "
                "install it with: sudo apt-get install chromium",
                pytrace=False,
            )
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


def _fmt(x: float, digits: int = 0, lang: str = "da") -> str:
    """A number as the page's Intl.NumberFormat writes it (half away from zero; da: 1.234,5)."""
    q = Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    text = f"{q:,.{digits}f}"
    return text.translate(str.maketrans({",": ".", ".": ","})) if lang == "da" else text


def _per100(p: float) -> int:
    return int(Decimal(repr(p * 100)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _chance(p: float, t: dict[str, str], lang: str) -> str:
    """The page's "x in 100" text (under 1 in 100: per 1,000)."""
    if _per100(p) < 1:
        per1000 = p * 1000
        return t["under_1_in_100"].format(x=_fmt(max(per1000, 0), 1 if per1000 < 1 else 0, lang))
    return t["in_100"].format(x=_per100(p))


def _band(score: float, t: dict[str, str]) -> str:
    from vbhc.proms import load_prom_settings

    label = [b.label for b in load_prom_settings().oxford_bands if score >= b.lower][-1]
    return t["band_" + label.replace(" ", "_")]


def _icons(page, selector: str) -> tuple[int, int]:
    """(filled, all) icons of the icon array beside the figure ``selector``."""
    return page.eval_on_selector(
        selector,
        "el => { const svg = el.closest('figure').querySelector('svg.icons');"
        " return [svg.querySelectorAll('circle.hit').length, svg.querySelectorAll('circle').length]; }",
    )


def _typical_icons(page, selector: str) -> tuple[int, int, str]:
    return page.eval_on_selector(
        selector,
        "el => { const fig = el.closest('.pair').querySelector('figure.typical');"
        " const svg = fig.querySelector('svg.icons');"
        " return [svg.querySelectorAll('circle.hit').length, svg.querySelectorAll('circle').length,"
        " fig.querySelector('strong').textContent]; }",
    )


def _check_result(page, api: dict, lang: str) -> None:
    """Every figure the page shows is the API's figure for the same request, in ``lang``."""
    t = _LABELS[lang]
    by = {o["outcome"]: o for o in api["outcomes"]}
    ox = by["oxford_12m"]
    assert int(page.text_content("#oxford-expected")) == round(ox["estimate"])
    level = ox["interval_level"]
    assert level == 0.9
    assert page.text_content("#oxford-interval") == t["oxford_interval"].format(
        x=9, n=10, low=_fmt(ox["lower"], 0, lang), high=_fmt(ox["upper"], 0, lang)
    )
    pre = api["pre_op"]["oxford_pre"]
    assert page.text_content("#oxford-before") == f"{t['oxford_before'].format(value=_fmt(pre, 0, lang))} · {_band(pre, t)}"
    assert page.text_content("#oxford-typical") == t["oxford_typical"].format(value=_fmt(ox["typical"]["estimate"], 0, lang))

    for name, selector in [("mic_12m", "#mic-chance"), *((n, f"#risk-{n}") for n in RISKS)]:
        o = by[name]
        assert page.text_content(selector) == _chance(o["estimate"], t, lang), name
        assert _icons(page, selector) == [_per100(o["estimate"]), 100], name  # N filled icons of 100
        hits, total, text = _typical_icons(page, selector)
        assert (hits, total, text) == (_per100(o["typical"]["estimate"]), 100, _chance(o["typical"]["estimate"], t, lang))

    los = by["los_days"]
    cells = page.locator("#more-los_days td").all_text_contents()
    assert cells[0] == f"{_fmt(los['estimate'], 1, lang)} {t['unit_days']} ({t['range_between'].format(low=_fmt(los['lower'], 1, lang), high=_fmt(los['upper'], 1, lang))})"
    assert cells[1].startswith(f"{_fmt(los['typical']['estimate'], 1, lang)} {t['unit_days']}")
    rtw = by["return_to_work_6m"]
    assert rtw["applicable"]
    cells = page.locator("#more-return_to_work_6m td").all_text_contents()
    assert cells[0] == _chance(rtw["estimate"], t, lang)
    typical_age = _fmt(rtw["typical_patient"]["age"], 0, lang)
    assert cells[1] == f"{_chance(rtw['typical']['estimate'], t, lang)} · {t['typical_employed'].format(age=typical_age)}"

    # factors for every outcome that applies, one line each, largest first
    for o in api["outcomes"]:
        box = page.locator(f"#factors-{o['outcome']}")
        assert box.count() == (1 if o["applicable"] else 0), o["outcome"]
        if o["applicable"]:
            lines = box.locator("li").all_text_contents()
            assert len(lines) == len(o["factors"]), o["outcome"]
            for line, f in zip(lines, o["factors"], strict=True):
                label = t.get(f["field"]) or t.get(f"field_{f['field']}") or f["field"].replace("_", " ")
                assert label in line and ("▲" if f["direction"] == "up" else "▼") in line, (o["outcome"], line)
    # cautions and the facts filled in, as the API lists them
    assert page.locator("#cautions li").count() == len(api["cautions"]) > 0
    assert [c["field"] for c in api["cautions"]] == ["alcohol_units_week"]
    assert t["alcohol_units_week"] in page.text_content("#cautions")
    imputed = page.eval_on_selector_all("#imputed li", "els => els.map((e) => e.dataset.field)")
    assert imputed == [i["field"] for i in api["imputed"]] and {"pain_pre", "eqvas_pre"} <= set(imputed)


def test_clinician_fills_the_form_reads_the_result_and_switches_language(page, live_server):
    page.goto(f"{live_server.base}/?lang=da#token={live_server.token}")
    page.wait_for_selector("body[data-ready=true]")
    assert page.input_value("#f-token") == live_server.token  # taken from the link, kept in the tab
    assert "#token" not in page.url

    page.check("input[name=joint][value=knee]")
    page.fill("#f-age", "56")
    page.check("input[name=sex][value=M]")
    page.fill("#f-bmi", "31,5")  # Danish decimal comma
    page.select_option("#f-smoking", "current")
    page.fill("#f-alcohol_units_week", "140")  # beyond the training data: a caution
    page.select_option("#f-employment_status", "employed")
    page.fill("#f-oxford_pre", "17")
    for dim, level in zip(("MO", "SC", "UA", "PD", "AD"), ("3", "1", "3", "4", "2"), strict=True):
        page.select_option(f"#f-eq-{dim}", level)
    with page.expect_request(f"{live_server.base}/v1/predictions") as sent:
        page.click("#submit")
    page.wait_for_selector("#oxford-expected")

    # the page sends the form's facts with its defaults, and shows what the API says for them
    body = sent.value.post_data_json
    assert body == {
        "joint": "knee", "age": 56, "sex": "M", "bmi": 31.5, "alcohol_units_week": 140, "asa_class": 2,
        "operation_year": dt.date.today().year, "smoking": "current", "indication": "primary_osteoarthritis",
        "employment_status": "employed", "arthroplasty_type": "total", "anxiety_depression": False,
        "bilateral_same_day": False, "oxford_pre": 17, "eq5d_items": {"MO": 3, "SC": 1, "UA": 3, "PD": 4, "AD": 2},
    }
    api = httpx.post(f"{live_server.base}/v1/predictions", json=body, headers=live_server.auth).json()
    assert page.text_content("#result h2") == "Hvad patienten kan forvente"
    _check_result(page, api, "da")
    assert "Rygning" in page.text_content("#card-factors")

    page.click("#lang-en")
    assert page.get_attribute("html", "lang") == "en"
    assert page.text_content("#result h2") == "What this patient can expect"
    assert page.text_content("#submit") == "Show prediction"
    _check_result(page, api, "en")

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
