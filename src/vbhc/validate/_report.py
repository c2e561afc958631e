"""The data-quality report as HTML (through :mod:`vbhc.report`), from the report dict.

Counts, rates with 95 % Wilson intervals and example row numbers only: never an
identifier or any other value of a row.  The counts are of registrations failing a
rule, not statistics about patients, so small-cell suppression does not apply (a
withheld count would hide which rows need fixing, while revealing nothing less).
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from vbhc.report import Section, render_report, table_html


def _pct(x: float | None) -> float | None:
    return None if x is None else 100 * x


def _table_summary(report: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for name, t in report["tables"].items():
        rows.append(
            {
                "table": name,
                "rows": t["rows_in"],
                "accepted": t["rows_accepted"],
                "quarantined": t["rows_quarantined"],
                **_rate_cells(t, "quarantined %"),
            }
        )
    return pd.DataFrame(rows)


def _rate_cells(entry: dict[str, Any], label: str) -> dict[str, Any]:
    """A rate in percent with its 95 % Wilson interval, as report cells."""
    lo, hi = entry["rate_ci95"] or (None, None)
    return {label: _pct(entry["rate"]), "95% CI low %": _pct(lo), "95% CI high %": _pct(hi)}


def _rule_table(t: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for rule, r in sorted(t["rules"].items(), key=lambda kv: (-kv[1]["rows"], kv[0])):
        if r["rows"] == 0:
            continue
        rows.append(
            {
                "rule": rule,
                "checks that": r["description"],
                "rows": r["rows"],
                **_rate_cells(r, "% of rows"),
                "example rows": ", ".join(str(i) for i in r["example_rows"]),
            }
        )
    return pd.DataFrame(rows)


def _warning_table(report: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for table, kinds in report.get("warnings", {}).items():
        for kind, w in kinds.items():
            rows.append(
                {
                    "table": table,
                    "kind": kind,
                    "what it is": w["description"],
                    "rows": w["rows"],
                    **_rate_cells(w, "% of accepted rows"),
                }
            )
    return pd.DataFrame(rows)


def render_html(report: dict[str, Any]) -> str:
    """``report.html``: summary per table, then the broken rules of each table."""
    totals = report["totals"]
    intro = (
        f"Extract date {report['extract_date']} ({report.get('extract_date_source', 'given')}). "
        f"{totals['rows_in']:,} input rows: {totals['rows_accepted']:,} accepted, "
        f"{totals['rows_quarantined']:,} quarantined; {totals.get('warnings', 0):,} warnings (accepted). "
        + ("Person identifiers were re-pseudonymised. " if report["pseudonymised"] else "")
    )
    notes = [
        "Accepted rows are in accepted/<table>.parquet (schema types); rejected rows, as read, in "
        "quarantine/<table>.parquet with row_number (0-based input row), rule (all broken rules, ';'-separated) "
        "and reason.",
        "Rates are shares of the table's input rows with 95 % Wilson score intervals; one row can break "
        "several rules.",
        "Rows referring to a quarantined row of another table are quarantined too (rule parent_quarantined:<table>).",
        "Split or overlapping contacts and register dates a few days off are kept: they are counted under "
        "Warnings, and the episode builder joins or matches them.",
        "Counts are of input rows (registrations), not of patients, and describe no patient characteristic; "
        "they are shown in full so that every rejected row can be traced. No identifier or value of a row is shown.",
    ]
    sections = [
        Section(
            title="Tables",
            intro=intro,
            html=table_html(_table_summary(report), float_digits=2),
            notes=notes,
            anchor="tables",
        )
    ]
    warnings = _warning_table(report)
    sections.append(
        Section(
            title="Warnings",
            intro="Accepted rows that the episode builder cleans (it joins split stays and matches register dates "
            "within the tolerance); they are not rejected.",
            html=table_html(warnings, float_digits=2) if len(warnings) else "<p>No warnings were checked.</p>",
            notes=["Rates are shares of the table's accepted rows with 95 % Wilson score intervals."],
            anchor="warnings",
        )
    )
    for name, t in report["tables"].items():
        broken = _rule_table(t)
        passed = sorted(r for r, v in t["rules"].items() if v["rows"] == 0)
        notes = [f"Rules passed by every row: {', '.join(passed)}."] if passed else []
        if t["ignored_columns"]:
            notes.append(f"Columns not in the schema (kept in quarantine only): {', '.join(t['ignored_columns'])}.")
        notes += [f"Not checked: {s}." for s in t["skipped_checks"]]
        body = (
            table_html(broken, float_digits=2)
            if len(broken)
            else "<p>Every row passed every rule.</p>"
        )
        sections.append(
            Section(
                title=f"{name}",
                intro=f"{t['rows_in']:,} rows; {t['rows_quarantined']:,} quarantined.",
                html=body,
                notes=notes,
                anchor=f"table-{html.escape(name)}",
            )
        )
    return render_report(
        "Data-quality report",
        sections,
        subtitle="vbhc validate: raw extract checked against data_schemas/",
    )
