"""The real-data fixture skips only without ../shared; missing data under it is a failure."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"


@pytest.fixture
def fake_shared(monkeypatch, tmp_path, pytestconfig):
    """Point tests/conftest.py's ../shared paths at ``tmp_path/shared`` (not created)."""
    conftest = next(  # conftest modules are registered as plugins (their module names may clash)
        m for m in pytestconfig.pluginmanager.get_plugins() if Path(getattr(m, "__file__", None) or "/").resolve() == CONFTEST
    )
    shared = tmp_path / "shared"
    nhs = shared / "realdata" / "nhs-proms"
    monkeypatch.setattr(conftest, "SHARED", shared)
    monkeypatch.setattr(conftest, "NHS_PROMS", nhs)
    return shared, nhs


def _outcome(request) -> tuple[str, str]:
    """("skip" | "fail" | "ok", message) of requesting the fixture (a skip must not hide a failure)."""
    try:
        request.getfixturevalue("nhs_proms_dir")
    except pytest.skip.Exception as exc:
        return "skip", str(exc)
    except pytest.fail.Exception as exc:
        return "fail", str(exc)
    return "ok", ""


def _files(nhs: Path, names: list[str], present: list[str]) -> None:
    nhs.mkdir(parents=True)
    (nhs / "SHA256SUMS").write_text("".join(f"{'0' * 64}  ./{n}\n" for n in names))
    for n in present:
        (nhs / n).parent.mkdir(parents=True, exist_ok=True)
        (nhs / n).write_bytes(b"x")


def test_skips_with_reason_only_when_shared_is_absent(fake_shared, request):
    kind, message = _outcome(request)
    assert kind == "skip" and "../shared is absent" in message


def test_fails_when_shared_exists_but_the_nhs_folder_does_not(fake_shared, request):
    fake_shared[0].mkdir()
    kind, message = _outcome(request)
    assert kind == "fail" and message.endswith("nhs-proms is missing although ../shared exists")


def test_fails_without_the_manifest(fake_shared, request):
    fake_shared[1].mkdir(parents=True)
    kind, message = _outcome(request)
    assert kind == "fail" and "SHA256SUMS is missing" in message


def test_fails_naming_a_missing_file(fake_shared, request):
    names = ["record-level/2016-17/Hip Replacement Provider 1617.csv.zip", "derived/england.csv"]
    _files(fake_shared[1], names, present=names[:1])
    kind, message = _outcome(request)
    assert kind == "fail" and message.endswith("1 files listed in SHA256SUMS are missing: ['./derived/england.csv']")


def test_returns_the_folder_when_complete(fake_shared, request):
    names = ["record-level/2016-17/Hip Replacement Provider 1617.csv.zip", "derived/england.csv"]
    _files(fake_shared[1], names, present=names)
    assert request.getfixturevalue("nhs_proms_dir") == fake_shared[1]
