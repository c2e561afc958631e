"""The clinicians' page and the API docs: served by the app, no network, both languages complete."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from vbhc.proms import load_prom_settings
from vbhc.serve import OUTCOMES
from vbhc.serve._page import form_fields
from vbhc.serve._request import OXFORD_ITEMS, EQ5DAnswers

STATIC = Path(__file__).resolve().parents[2] / "src" / "vbhc" / "serve" / "static"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"


class _Refs(HTMLParser):
    """Collects asset references and translation keys of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.keys: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for name in ("src", "href", "action"):
            if a.get(name):
                self.refs.append(a[name])
        for name in ("data-i18n", "data-i18n-placeholder"):
            if a.get(name):
                self.keys.add(a[name])


def parse(html: str) -> _Refs:
    p = _Refs()
    p.feed(html)
    return p


def labels() -> dict[str, dict[str, str]]:
    return json.loads((STATIC / "i18n.json").read_text(encoding="utf-8"))


def test_page_is_danish_by_default_and_english_on_request(client):
    da = client.get("/")
    assert da.status_code == 200 and da.headers["content-type"].startswith("text/html")
    assert '<html lang="da">' in da.text and "Beslutningsstøtte før hofte- og knæalloplastik" in da.text
    en = client.get("/", params={"lang": "en"}).text
    assert '<html lang="en">' in en and "Decision support before hip and knee replacement" in en
    assert '<html lang="da">' in client.get("/", params={"lang": "xx"}).text


def test_page_and_docs_load_nothing_from_outside_the_app(client):
    for path in ("/", "/docs"):
        refs = parse(client.get(path).text).refs
        assert refs, path
        for ref in refs:
            assert ref.startswith(("/", "#")) and not ref.startswith("//"), (path, ref)
            if ref.startswith("/static/"):
                assert client.get(ref).status_code == 200, ref
    for asset in STATIC.iterdir():
        text = asset.read_text(encoding="utf-8")
        assert set(re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"')]*", text)) <= {SVG_NAMESPACE}, asset.name
        assert "@import" not in text and "url(" not in text, asset.name


def test_both_languages_label_everything_the_page_shows(client):
    table = labels()
    assert set(table) == {"da", "en"}
    assert set(table["da"]) == set(table["en"])
    for lang in ("da", "en"):
        assert all(v.strip() for v in table[lang].values()), lang
    keys = parse(client.get("/").text).keys
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    keys |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_]+)["']""", script))
    # keys the script builds from data: outcomes, answers, bands, field labels
    keys |= {f"outcome_{o}" for o in OUTCOMES}
    keys |= {f"item_{i}" for items in OXFORD_ITEMS.values() for i in items}
    keys |= {f"dim_{d}" for d in EQ5DAnswers.model_fields}
    keys |= {"band_" + b.label.replace(" ", "_") for b in load_prom_settings().oxford_bands}
    for name, spec in form_fields().items():
        keys |= {f"{name}_{option}" for option in spec["options"]}
    missing = sorted(keys - set(table["en"]))
    assert not missing, missing


@pytest.mark.parametrize("lang", ["da", "en"])
def test_the_two_languages_differ_where_they_should(lang):
    table = labels()
    other = "en" if lang == "da" else "da"
    same = [k for k in table[lang] if table[lang][k] == table[other][k] and re.search(r"[a-zæøå]{5}", table[lang][k])]
    # a few words are the same in both languages (Patient, BMI); most labels are translated
    assert len(same) < 0.08 * len(table[lang]), same


def test_form_ranges_come_from_the_request_model(client):
    html = client.get("/").text
    assert 'name="bmi"' in html and 'data-min="12"' in html and 'data-max="80"' in html
    assert 'name="age"' in html and "required" in html


class _Form(HTMLParser):
    """Inputs (value, placeholder), selects (selected option) and the unit label of each field."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: dict[str, dict[str, str | None]] = {}
        self.selects: dict[str, str] = {}
        self.units: dict[str, str] = {}
        self._select: str | None = None
        self._label: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("inputmode") == "decimal":
            self.inputs[a["name"]] = {"value": a.get("value"), "placeholder": a.get("data-i18n-placeholder")}
        elif tag == "select":
            self._select = a["name"]
            self.selects.setdefault(self._select, "")
        elif tag == "option" and self._select and "selected" in a:
            self.selects[self._select] = a["value"]
        elif tag == "label" and a.get("for", "").startswith("f-"):
            self._label = a["for"][2:]
        elif tag == "span" and self._label and "unit" in (a.get("class") or "").split():
            self.units[self._label] = a["data-i18n"]

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "label":
            self._label = None


def test_every_number_field_shows_its_unit_and_starts_empty_unless_neutral(client):
    import datetime as dt

    from vbhc.serve._request import field_unit

    form = _Form()
    form.feed(client.get("/?lang=en").text)
    en = labels()["en"]
    numbers = {"age", "bmi", "alcohol_units_week", "charlson_index", "oxford_pre", "eq5d_pre", "eqvas_pre", "pain_pre",
               "operation_year"}
    assert set(form.inputs) == numbers
    for name in numbers:
        unit = en[form.units[name]]
        assert unit, name
        if field_unit(name):  # the unit the episodes schema gives, translated
            assert unit == field_unit(name), name
    assert en[form.units["operation_year"]] == "calendar year" and en[form.units["eq5d_pre"]] == "index"
    # only the planned year has a default; the others start empty and say how they are filled in
    assert form.inputs["operation_year"]["value"] == str(dt.date.today().year)
    for name in numbers - {"operation_year", "age"}:
        assert form.inputs[name] == {"value": None, "placeholder": "optional"}, name
    assert en["optional"] == "not known: leave empty (filled in as in training)"
    answers = {k: v for k, v in form.selects.items() if k.startswith(("oxford_item_", "eq5d_item_"))}
    assert len(answers) == len(set(OXFORD_ITEMS["hip"]) | set(OXFORD_ITEMS["knee"])) + 5
    assert set(answers.values()) == {""}  # not answered
    # defaults only where the commonest answer is the neutral one; the rest "not known"
    assert {k: v for k, v in form.selects.items() if k not in answers} == {
        "asa_class": "2", "smoking": "never", "indication": "primary_osteoarthritis", "anxiety_depression": "false",
        "employment_status": "", "arthroplasty_type": "total", "bilateral_same_day": "false",
        "prior_contralateral": "",
    }


def test_the_form_asks_for_every_fact_the_request_takes(client):
    from vbhc.serve import PredictionRequest

    html = client.get("/").text
    names = set(re.findall(r'\bname="([a-z0-9_]+)"', html))
    # employed is derived from the work status; the answers have their own inputs
    wanted = set(PredictionRequest.model_fields) - {"employed", "oxford_items", "eq5d_items"}
    assert wanted <= names, sorted(wanted - names)
    for field in ("arthroplasty_type", "bilateral_same_day", "prior_contralateral", "pain_pre", "employment_status"):
        for lang in ("da", "en"):
            assert labels()[lang][field], (lang, field)


def test_docs_describe_the_api_from_its_openapi_schema(client):
    r = client.get("/docs")
    assert r.status_code == 200
    for text in ("/v1/predictions", "/v1/models", "/health", "PredictionRequest", "Authorization: Bearer", "422"):
        assert text in r.text
    assert client.get("/openapi.json").json()["paths"]["/v1/predictions"]["post"]["security"]
