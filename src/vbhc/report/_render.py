"""Rendering helpers for vbhc's HTML reports."""

from __future__ import annotations

import datetime as dt
import html
import io
from dataclasses import dataclass, field

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from vbhc import __version__
from vbhc.core.privacy import MIN_CELL_SIZE, suppress_small_cells

_ENV = Environment(
    loader=PackageLoader("vbhc.report", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Section:
    """A titled part of a report; ``html`` is trusted markup built by the helpers here."""

    title: str
    html: str
    intro: str | None = None
    anchor: str | None = None
    notes: list[str] = field(default_factory=list)


def table_html(
    df: pd.DataFrame,
    *,
    count_column: str | None = None,
    threshold: int = MIN_CELL_SIZE,
    float_digits: int = 2,
    caption: str | None = None,
    index: bool = False,
) -> str:
    """An HTML table; rows with ``count_column < threshold`` have their figures withheld.

    Withheld cells show "<5" style markers (``suppressed``) instead of values.
    """
    frame = df.copy()
    if count_column is not None and count_column in frame:
        frame = suppress_small_cells(frame, count_column=count_column, threshold=threshold)
        marker = f"&lt;{threshold}"
        suppressed = frame.pop("suppressed").to_numpy()
    else:
        suppressed = None
        marker = ""

    def fmt(v: object) -> str:
        if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA or v is pd.NaT:
            return ""
        if isinstance(v, float):
            return f"{v:,.{float_digits}f}"
        if isinstance(v, int) and not isinstance(v, bool):
            return f"{v:,}"
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in ([frame.index.name or ""] if index else []) + list(frame.columns))
    rows = []
    for i, (idx, row) in enumerate(frame.iterrows()):
        cells = [f"<td>{fmt(idx)}</td>"] if index else []
        for col, v in row.items():
            text = fmt(v)
            if suppressed is not None and suppressed[i] and col != count_column and text == "":
                text = f'<span class="suppressed" title="fewer than {threshold} patients">{marker}</span>'
            cells.append(f"<td>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f'<table class="data">{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def figure_html(fig, *, alt: str, caption: str | None = None) -> str:
    """Embed a matplotlib figure as inline SVG (no external files) and close it."""
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.find("<svg") :]
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f'<figure role="img" aria-label="{html.escape(alt)}">{svg}{cap}</figure>'


def render_report(
    title: str,
    sections: list[Section],
    *,
    subtitle: str | None = None,
    generated: dt.datetime | None = None,
) -> str:
    """The complete HTML document (inline CSS, no scripts from elsewhere)."""
    template = _ENV.get_template("report.html.j2")
    return template.render(
        title=title,
        subtitle=subtitle,
        sections=sections,
        version=__version__,
        generated=(generated or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC"),
        min_cell=MIN_CELL_SIZE,
    )
