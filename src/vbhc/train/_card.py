"""Model cards (TRIPOD items) as Markdown and HTML, and the calibration plot.

:func:`model_card` turns a :class:`TrainingResult` into the files of
``OUT/<model>/``: ``model_card.md``, ``model_card.html``, ``calibration.svg`` and
``coefficients.csv``.  Tables describing fewer than 5 patients are withheld.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

from vbhc import __version__
from vbhc.core.privacy import MIN_CELL_SIZE, suppress_small_cells
from vbhc.report import Section, figure_html, render_report, table_html
from vbhc.train._fit import TrainingResult

_HEADLINE = {
    "continuous": ["n", "r2", "rmse", "mae", "calibration_intercept", "calibration_slope", "coverage", "interval_width"],
    "binary": ["n", "events", "auc", "auc_lower", "auc_upper", "brier", "scaled_brier", "calibration_intercept",
               "calibration_slope", "ici", "e90"],
}
_CANDIDATE_LABEL = {"glm": "GLM (transparent)", "hgb": "gradient boosting", "comparator": "pre-op score only"}


def performance_table(metrics: dict[str, Any], part: str = "test") -> pd.DataFrame:
    """One row per candidate with the headline metrics of ``part`` (``test`` or ``cv``)."""
    cols = _HEADLINE[metrics["kind"]]
    rows = []
    for cand, values in metrics[part].items():
        label = _CANDIDATE_LABEL[cand] + (" (selected)" if cand == metrics["selected"] else "")
        rows.append({"model": label, **{c: values.get(c) for c in cols if c in values}})
    return pd.DataFrame(rows)


def reference_table(metrics: dict[str, Any]) -> pd.DataFrame | None:
    """The model beside an external reference model on the same test patients.

    Continuous: R², RMSE, MAE and bias (mean observed - predicted, outcome units).
    Binary: AUC with 95 % CI, and on the model's row the paired difference in AUC
    (model - reference, DeLong, with 95 % CI).
    """
    ref = metrics.get("reference")
    if not ref:
        return None
    binary = metrics["kind"] == "binary"
    keys = ["auc", "auc_lower", "auc_upper"] if binary else ["r2", "rmse", "mae", "calibration_intercept"]
    rows = []
    for who, label in (("model", f"vbhc {metrics['model']}"), ("reference", ref["label"])):
        rows.append({"model": label, "n": ref["n"], **{k: ref[who].get(k) for k in keys}})
    if binary and ref.get("auc_difference"):
        diff = ref["auc_difference"]
        rows[0].update(auc_difference=diff.get("estimate"), auc_difference_lower=diff.get("lower"),
                       auc_difference_upper=diff.get("upper"))
    out = pd.DataFrame(rows)
    return out.rename(columns={"calibration_intercept": "bias (observed - predicted)"})


def calibration_figure(calib: pd.DataFrame, kind: str, title: str):
    """Observed against predicted by deciles of the prediction, with 95 % CIs and the ideal line."""
    from matplotlib.figure import Figure

    calib = calib[calib["n"] >= MIN_CELL_SIZE]
    fig = Figure(figsize=(5.2, 4.6))
    ax = fig.add_subplot(1, 1, 1)
    pred, obs = calib["predicted"].to_numpy(float), calib["observed"].to_numpy(float)
    lo = np.clip(obs - calib["observed_lower"].to_numpy(float), 0, None)
    hi = np.clip(calib["observed_upper"].to_numpy(float) - obs, 0, None)
    scale = 100.0 if kind == "binary" else 1.0
    ax.errorbar(pred * scale, obs * scale, yerr=np.vstack([lo, hi]) * scale, fmt="o", color="#1f5fa0",
                ecolor="#8aa9c9", capsize=3, label="decile of predicted (95 % CI)")
    both = np.concatenate([pred, obs]) * scale
    span = [float(np.nanmin(both)), float(np.nanmax(both))]
    pad = (span[1] - span[0]) * 0.08 or 1.0
    line = [span[0] - pad, span[1] + pad]
    ax.plot(line, line, "--", color="#777777", linewidth=1, label="ideal calibration")
    unit = "%" if kind == "binary" else "outcome units"
    ax.set_xlabel(f"predicted ({unit})")
    ax.set_ylabel(f"observed ({unit})")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buf.getvalue()


def _md_cell(v: object, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)) or v is pd.NA:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        return f"{v:,.{digits}f}"
    if isinstance(v, (int, np.integer)):
        return f"{v:,}"
    return str(v).replace("|", "\\|").replace("\n", " ")


def markdown_table(df: pd.DataFrame, *, count_column: str | None = None, digits: int = 3) -> str:
    """A Markdown table; rows with ``count_column`` < 5 show ``<5`` instead of their figures."""
    frame = df.copy()
    suppressed = np.zeros(len(frame), dtype=bool)
    if count_column is not None and count_column in frame:
        frame = suppress_small_cells(frame, count_column=count_column)
        suppressed = frame.pop("suppressed").to_numpy(dtype=bool)
    elif "suppressed" in frame:
        suppressed = frame.pop("suppressed").to_numpy(dtype=bool)
    lines = ["| " + " | ".join(str(c) for c in frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    for i, row in enumerate(frame.itertuples(index=False)):
        cells = []
        for col, v in zip(frame.columns, row, strict=True):
            text = _md_cell(v, digits)
            if suppressed[i] and text == "" and col != count_column:
                text = f"<{MIN_CELL_SIZE}"
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _estimator_text(result: TrainingResult) -> str:
    spec, m = result.spec, result.metrics
    if m["selected"] == "glm":
        link = spec.glm.link or {"gaussian": "identity", "binomial": "logit"}.get(spec.glm.family, "log")
        text = f"statsmodels GLM, family {spec.glm.family}, link {link}"
        if spec.glm.splines:
            text += "; cubic splines for " + ", ".join(f"{k} ({n} knots)" for k, n in spec.glm.splines.items())
        text += _penalty_text(m.get("glm_penalty"))
    else:
        text = f"scikit-learn HistGradientBoosting, loss {spec.hgb.loss}, learning rate {spec.hgb.learning_rate}"
    if m["recalibrated"]:
        text += "; logistic recalibration on out-of-fold predictions"
    if spec.kind == "continuous":
        text += f"; split-conformal {spec.validation.interval_coverage:.0%} prediction intervals"
    return text


def _penalty_text(penalty: dict[str, Any] | None) -> str:
    """``; ridge (L2) penalty λ = ... (how chosen; effective parameters)`` or empty."""
    if not penalty or not penalty["l2"] > 0:
        return "" if not penalty else "; no ridge penalty (cross-validation chose none)"
    return (f"; ridge (L2) penalty λ = {penalty['l2']:.4g} on standardised predictors, {penalty['chosen_by']}; "
            f"{penalty['edf']:.1f} effective parameters of {penalty['n_terms']}")


def _coefficient_section(result: TrainingResult) -> tuple[str, pd.DataFrame]:
    """Text and table of the transparent model's coefficients; a penalised GLM has no CIs."""
    model, penalty = result.model, result.metrics.get("glm_penalty")
    if penalty and penalty["l2"] > 0:
        text = (f"Ridge-penalised GLM estimates on the {model.explanation_scale} scale{_penalty_text(penalty)}. "
                "The penalty shrinks the coefficients towards 0 to curb over-fitting (few events per parameter); "
                "a shrunken estimate is biased, so no standard errors, confidence intervals or p-values are given "
                "(a Wald interval around it would not have its nominal coverage). Per-patient contributions "
                "(coefficient × (value − training mean)) explain individual predictions.")
        empty = [c for c in result.coefficients.columns if result.coefficients[c].isna().all()]
        return text, result.coefficients.drop(columns=empty)
    text = (f"GLM estimates with 95 % CIs on the {model.explanation_scale} scale; per-patient contributions "
            "(coefficient × (value − training mean)) explain individual predictions.")
    return text, result.coefficients


def _filters(filters: dict[str, Any]) -> str:
    return ", ".join(f"`{k}` = {v}" for k, v in filters.items()) or "none"


def _sections(result: TrainingResult, registration: dict[str, Any] | None) -> list[tuple[str, str, list[tuple[str, pd.DataFrame, str | None]]]]:
    """Card content as (title, text, [(caption, table, count column)]) shared by Markdown and HTML."""
    spec, m = result.spec, result.metrics
    from vbhc.schemas import load_schema

    coefficient_text, coefficient_table = _coefficient_section(result)

    outcome_def = load_schema(spec.table).column(spec.outcome).description
    reg = registration or {}
    details = pd.DataFrame([
        {"item": "registered name", "value": spec.registered_name},
        {"item": "version / alias", "value": f"{reg.get('version', 'not registered')} / {reg.get('alias', '-')}"},
        {"item": "outcome", "value": f"{spec.outcome} ({spec.kind}; {spec.unit or 'no unit'})"},
        {"item": "joint", "value": "both (pooled)" if spec.joint == "all" else spec.joint},
        {"item": "selected estimator", "value": _estimator_text(result)},
        {"item": "training years / test year", "value": f"{m['train_years'][0]}-{m['train_years'][-1]} / {m['test_year']}"},
        {"item": "specification hash", "value": m["spec_hash"][:16]},
        {"item": "vbhc version", "value": __version__},
    ])
    sections = [
        ("Model details", spec.description.strip(), [("", details, None)]),
        (
            "Intended use and limits",
            "Predicts, before surgery, this outcome for a patient with the given case-mix treated at an average "
            "hospital (no hospital term): for shared decision-making in the consultation and as the expected value "
            "in risk-adjusted provider comparison and payment. It supports, never replaces, clinical judgement. "
            "It is valid only for patients like those in the training data (see the predictors' ranges and the "
            "population below); predictions outside that range carry a caution. Associations are not causal "
            "effects: changing a predictor need not change the outcome.",
            [],
        ),
        (
            "Source of data and participants (TRIPOD 4-5, 13)",
            f"Table `{spec.table}`; population: {_filters(spec.population)}; outcome ascertained when "
            f"{_filters(spec.ascertainment)}. Temporal validation: operation years "
            f"{m['train_years'][0]}-{m['train_years'][-1]} train, {m['test_year']} tests.",
            [("Flow of episodes", result.attrition, "n")],
        ),
        ("Outcome (TRIPOD 6)", f"`{spec.outcome}`: {outcome_def}", []),
        (
            "Predictors and missing data (TRIPOD 7, 9)",
            "All predictors are known before surgery. Missing values: numeric and yes/no predictors are imputed "
            "with the training median / most common value plus a missing indicator (GLM), or handled natively "
            "(gradient boosting); a missing category is its own level. All preprocessing is fitted on training rows "
            "only, again inside every cross-validation fold.",
            [("Predictors", result.predictors, None)],
        ),
    ]
    if result.nonresponse is not None:
        weighting = "inverse-probability-of-response weights (stabilised, capped)" if m["ipw"] else "no weighting"
        sections.append((
            "PROM non-response",
            f"The outcome is a patient-reported measure; patients who did not respond have no outcome. "
            f"Responders against non-responders in the training and test years (|SMD| > 0.1 is a notable "
            f"difference); the model uses {weighting}.",
            [("Responders vs non-responders", result.nonresponse, None)],
        ))
    sections += [
        (
            "Model development (TRIPOD 10)",
            f"Candidates: {_CANDIDATE_LABEL['glm']}, {_CANDIDATE_LABEL['hgb']} and the comparator "
            f"'{_CANDIDATE_LABEL['comparator']}' ({', '.join(spec.comparator)}). Selected by "
            f"{m['cv_folds']}-fold cross-validation in the training years on {m['metric']}; boosting is chosen only "
            f"if it beats the GLM by more than {spec.validation.prefer_glm_within}. Selected: {m['selected']}.",
            [("Cross-validation (training years)", performance_table(m, "cv"), None)],
        ),
        (
            "Performance on the test year (TRIPOD 10d, 16)",
            f"Estimator: {_estimator_text(result)}. Calibration intercept: mean observed minus predicted "
            "(continuous, outcome units) or logit offset (binary); slope from regressing observed on predicted "
            "(binary: on the logit).",
            [("Test year", performance_table(m, "test"), None), ("Calibration by decile of predicted", result.calibration, "n")],
        ),
        ("Subgroups", "Performance of the selected model in the test year by sex, age band and hospital.",
         [("Subgroups", result.subgroups, None)]),
        ("Transparent model coefficients", coefficient_text, [("Coefficients", coefficient_table, None)]),
    ]
    ref = reference_table(m)
    if ref is not None:
        sections.append(("External reference", f"Same test patients scored by {m['reference']['label']}.",
                         [("Model vs reference", ref, None)]))
    sections.append((
        "Limitations",
        "Registry data carry coding errors and missing values; PROM outcomes describe responders; "
        "the test year shows performance on the next year's patients of the same hospitals, not in other "
        "countries or settings. Recalibrate when case-mix or care pathways change.",
        [],
    ))
    return sections


def model_card(result: TrainingResult, registration: dict[str, Any] | None = None) -> dict[str, str]:
    """The model card files: ``{"model_card.md": ..., "model_card.html": ..., "calibration.svg": ..., "coefficients.csv": ...}``."""
    spec = result.spec
    title = f"Model card: {spec.registered_name}"
    fig_title = f"{spec.model_name}: calibration in test year {result.metrics['test_year']}"
    svg = _svg(calibration_figure(result.calibration, spec.kind, fig_title))
    md = [f"# {title}", ""]
    html_sections = []
    for heading, text, tables in _sections(result, registration):
        md += [f"## {heading}", "", text, ""]
        parts = []
        for caption, table, count in tables:
            if caption:
                md += [f"**{caption}**", ""]
            md += [markdown_table(table, count_column=count), ""]
            parts.append(table_html(table.drop(columns=["suppressed"], errors="ignore") if count else _with_markers(table),
                                    count_column=count, caption=caption or None, float_digits=3))
        if heading.startswith("Performance on the test year"):
            md += ["![Calibration plot](calibration.svg)", ""]
            fig = calibration_figure(result.calibration, spec.kind, fig_title)
            parts.append(figure_html(fig, alt=f"Calibration plot of {spec.model_name}", caption="Observed against predicted by decile."))
        html_sections.append(Section(title=heading, html="".join(parts), intro=text))
    html = render_report(title, html_sections, subtitle=spec.description.strip())
    return {
        "model_card.md": "\n".join(md),
        "model_card.html": html,
        "calibration.svg": svg,
        "coefficients.csv": result.coefficients.to_csv(index=False),
    }


def _with_markers(table: pd.DataFrame) -> pd.DataFrame:
    """Tables already suppressed upstream: show the withheld cells as '<5'."""
    if "suppressed" not in table:
        return table
    out = table.drop(columns="suppressed").astype(object)
    mask = table["suppressed"].to_numpy(dtype=bool)
    for col in out.columns:
        if col in ("variable", "level", "feature", "n"):
            continue
        out.loc[mask & out[col].isna().to_numpy(), col] = f"<{MIN_CELL_SIZE}"
    return out
