"""Self-contained HTML reports (no network, no CDN): one template, sections of tables and figures.

Every stage's report (data quality, attrition, model cards, provider value,
settlement) is built from :class:`Section` objects and rendered by
:func:`render_report`.  Tables go through :func:`table_html`, which applies
small-cell suppression when told which column holds the patient count.
"""

from vbhc.report._render import Section, figure_html, render_report, table_html

__all__ = ["Section", "figure_html", "render_report", "table_html"]
