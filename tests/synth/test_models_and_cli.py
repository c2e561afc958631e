"""The true models' building blocks, hospital effects off, the in-memory API and the CLI."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from vbhc.cli import app, main
from vbhc.core.codelists import load_codelists
from vbhc.synth import FEATURES, design_matrix, generate_registry, model_parameters
from vbhc.synth._catalogue import check_background_codes
from vbhc.synth._outcomes import bivariate_normal_cdf, expected_oxford, los_pmf, prob_oxford_at_least


def test_bivariate_normal_matches_scipy():
    h = np.array([-2.0, -1.2, 0.3, 1.5, -0.01])
    k = np.array([-1.7, 0.4, -0.8, 2.0, 0.02])
    for rho in (0.55, -0.3, 0.0):
        ref = [stats.multivariate_normal([0, 0], [[1, rho], [rho, 1]]).cdf([a, b]) for a, b in zip(h, k)]
        np.testing.assert_allclose(bivariate_normal_cdf(h, k, rho), ref, atol=1e-6)


def test_expected_oxford_is_the_mean_of_the_censored_rounded_score():
    rng = np.random.default_rng(1)
    eta, sigma = np.array([12.0, 38.0, 46.0]), 7.0
    draws = np.clip(np.rint(eta[:, None] + sigma * rng.standard_normal((3, 400_000))), 0, 48)
    np.testing.assert_allclose(expected_oxford(eta, sigma), draws.mean(axis=1), atol=0.03)
    np.testing.assert_allclose(prob_oxford_at_least(np.array([20.0, 45.5, 49.0]), eta, sigma),
                               [(draws[0] >= 20).mean(), (draws[1] >= 46).mean(), 0.0], atol=0.003)


def test_length_of_stay_distribution_has_the_glm_mean():
    mu = np.array([0.6, 1.3, 2.2, 6.0])
    pmf = los_pmf(mu)
    np.testing.assert_allclose(pmf.sum(axis=1), 1.0)
    np.testing.assert_allclose(pmf @ np.arange(pmf.shape[1]), mu, rtol=1e-9)


def test_features_are_documented_and_computed():
    ep = {
        "joint": np.array(["hip", "knee"], dtype=object), "arthroplasty_type": np.array(["total", "partial"], dtype=object),
        "age": np.array([65.0, 75.0]), "sex": np.array(["F", "M"], dtype=object), "bmi": np.array([30.0, 35.0]),
        "asa_class": np.array([2, 3]), "smoking": np.array(["never", "current"], dtype=object),
        "alcohol_units_week": np.array([0.0, 20.0]), "charlson_index": np.array([0.0, 2.0]),
        "anxiety_depression": np.array([False, True]), "indication": np.array(["primary_osteoarthritis", "other"],
                                                                              dtype=object),
        "operation_year": np.array([2016.0, 2018.0]), "bilateral_same_day": np.array([False, False]),
        "oxford_pre": np.array([20.0, 10.0]), "employment_status": np.array(["employed", "sick_listed"], dtype=object),
        "sickness_benefit_weeks_1y": np.array([0.0, 10.0]),
    }
    x = design_matrix(ep)
    assert set(x) == set(FEATURES)
    assert x["age_c"].tolist() == [0.0, 1.0] and x["bmi_c"].tolist() == [0.0, 1.0]
    assert x["oxford_pre_c"].tolist() == [0.0, -1.0] and x["sick_listed"].tolist() == [0.0, 1.0]
    for spec in model_parameters()["outcomes"].values():
        assert set(spec["coefficients"]) <= set(FEATURES)


def test_ordinary_life_codes_are_not_pathway_codes():
    assert check_background_codes(load_codelists()) == []


def test_hospital_effects_off():
    reg = generate_registry(persons=400, seed=3, hospital_effect_scale=0, dirty_rate=0.0)
    effects = reg.truth["hospitals"].filter(like="effect_")
    assert (effects.fillna(0) == 0).all().all()
    assert all(v == 0 for h in reg.parameters["hospitals"].values() for k, v in h.items() if k.startswith("effect_"))
    assert len(reg.truth["dirt"]) == 0 and len(reg.truth["episodes"]) > 250


def test_generate_registry_returns_schema_typed_tables():
    reg = generate_registry(persons=150, seed=4)
    assert reg.tables["contacts"].start_time.dtype.kind == "M"
    assert str(reg.tables["patients"].region_code.dtype) == "Int16"
    assert reg.extract["extract_date"] == "2020-12-31" and reg.parameters["run"]["persons"] == 150
    assert reg.truth["episodes"].expected_oxford_12m.notna().all()


def test_cli_help_and_bad_input(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(sys, "argv", ["vbhc", "generate", "--help"])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code in (0, None)
    out = capsys.readouterr().out
    for option in ("--persons", "--seed", "--start-year", "--end-year", "--hospitals", "--dirty-rate",
                   "--hospital-effect-scale", "--workers"):
        assert option in out
    assert "default 0.02" in out and "default 2010" in out
    for option, value, word in (("--hospitals", "3", "hospitals"), ("--end-year", "2011", "end_year"),
                                ("--dirty-rate", "0.5", "dirty_rate")):
        monkeypatch.setattr(sys, "argv", ["vbhc", "generate", "--out", str(tmp_path / "x"), "--persons", "10",
                                          "--seed", "1", option, value])
        with pytest.raises(SystemExit) as done:
            main()
        err = capsys.readouterr().err
        assert done.value.code == 2 and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1 and word in err
    assert not (tmp_path / "x").exists()


def test_cli_writes_the_registry(tmp_path):
    result = CliRunner().invoke(app, ["generate", "--out", str(tmp_path / "raw"), "--persons", "120", "--seed", "2",
                                      "--end-year", "2016", "--hospitals", "6", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "true episodes" in result.output
    assert (tmp_path / "raw" / "truth" / "parameters.json").is_file()
    import json

    from vbhc.core.io import read_parquet

    assert json.loads((tmp_path / "raw" / "extract.json").read_text())["extract_date"] == "2016-12-31"
    hospitals = read_parquet(tmp_path / "raw" / "truth" / "hospitals.parquet")
    assert len(hospitals) == 6 and hospitals.hospital_id.is_unique
    registry = read_parquet(tmp_path / "raw" / "arthroplasty_registry.parquet")
    assert set(registry.hospital_id) <= set(hospitals.hospital_id)
    assert read_parquet(tmp_path / "raw" / "patients.parquet").person_id.nunique() == 120


@pytest.mark.parametrize("persons", [1, 2])
def test_tiny_registries(persons):
    reg = generate_registry(persons=persons, seed=5)
    assert reg.tables["patients"].person_id.nunique() == persons
    assert len(reg.truth["hospitals"]) == 20


def test_a_last_block_of_one_or_two_persons(tmp_path, monkeypatch):
    """Blocks of 40 persons: 41 and 42 persons leave a last block of 1 and 2 persons."""
    import pyarrow.parquet as pq

    from vbhc.synth import GeneratorConfig, _registry, write_registry

    monkeypatch.setattr(_registry, "BLOCK_PERSONS", 40)
    for persons in (41, 42):
        write_registry(tmp_path / str(persons), GeneratorConfig(persons=persons, seed=8, dirty_rate=0.0))
        patients = pq.ParquetFile(tmp_path / str(persons) / "patients.parquet")
        assert patients.metadata.num_row_groups == 2 and patients.metadata.num_rows == persons


def test_a_non_default_window_of_years():
    reg = generate_registry(persons=150, seed=6, start_year=2014, end_year=2019, hospitals=8)
    t, ep = reg.tables, reg.truth["episodes"]
    assert reg.extract["extract_date"] == "2019-12-31"
    assert set(t["drg_tariffs"].tariff_year) == set(range(2014, 2020))
    start, end = pd.Timestamp("2014-01-01"), pd.Timestamp("2019-12-31")
    assert len(ep) > 50 and ep.operation_date.between(pd.Timestamp("2016-01-01"), pd.Timestamp("2018-12-31")).all()
    dirt = reg.truth["dirt"]
    clean = t["contacts"][~t["contacts"].contact_id.isin(dirt.row_key)]
    assert clean.start_time.between(start, end + pd.Timedelta(days=1)).all()
    costs = t["costs"][~t["costs"].cost_id.isin(dirt.row_key)]
    assert costs.tariff_year.between(2014, 2019).all()


def test_end_year_must_be_priced(tmp_path, capsys):
    from cli_helpers import run_vbhc

    from vbhc.core.config import parse_config
    from vbhc.synth import GeneratorConfig

    assert parse_config(dict(persons=1, seed=1, end_year=2025), GeneratorConfig, source="t").end_year == 2025
    code, _, err = run_vbhc("generate", "--out", tmp_path / "x", "--persons", "5", "--seed", "1", "--end-year", "2026",
                            capsys=capsys)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "end_year (2026) must be at most 2025" in err and "pipelines/prices.yaml" in err
    code, _, err = run_vbhc("generate", "--out", tmp_path / "x", "--persons", "5", "--seed", "1", "--start-year", "2005",
                            "--end-year", "2012", capsys=capsys)
    assert code == 2 and "start_year (2005) is before 2008" in err
    assert not (tmp_path / "x").exists()


def test_hospital_effect_scale_multiplies_every_effect():
    one = generate_registry(persons=60, seed=3, dirty_rate=0.0)
    two = generate_registry(persons=60, seed=3, dirty_rate=0.0, hospital_effect_scale=2)
    h1, h2 = (r.truth["hospitals"].set_index("hospital_id") for r in (one, two))
    glm = [f"effect_{o}" for o in one.parameters["outcomes"]]
    assert len(glm) == 8
    np.testing.assert_allclose(h2[glm], 2 * h1[glm], rtol=1e-12, atol=1e-15)
    assert (h1[glm].abs().to_numpy() > 0).all()
    for code, effects in two.parameters["hospitals"].items():
        for k, v in effects.items():
            if k.startswith("effect_"):
                assert v == pytest.approx(2 * one.parameters["hospitals"][code][k], rel=1e-12)
