"""The gate's report: one self-contained HTML page and ``results.json`` in a folder.

The page opens with the verdict and a summary table, then a table per suite with its
failures first, in red, each naming the column, the expectation, what was expected and what
was observed, with a sample of offending rows. No scripts, no external assets.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from components.storage import Root, resolve
from components.validate.results import JsonScalar, Outcome, SuiteResult, ValidationRun, fmt_count

log = logging.getLogger(__name__)

REPORT_FILE = "report.html"
RESULTS_FILE = "results.json"

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1d232a}
h1{font-size:1.5rem;margin:0 0 .3rem}h2{font-size:1.15rem;margin:2rem 0 .3rem}
.meta{color:#5b6570;margin:.2rem 0 1rem}
table{border-collapse:collapse;width:100%;margin:.4rem 0 1rem}
th,td{border:1px solid #d8dde3;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f5f7}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.failed td{background:#fde8e8}tr.failed td.status{color:#b42318;font-weight:600}
tr.skipped td{background:#f6f6f6;color:#5b6570}tr.passed td.status{color:#067647}
.verdict{display:inline-block;padding:.1rem .6rem;border-radius:.3rem;color:#fff;font-weight:600}
.verdict.pass{background:#067647}.verdict.fail{background:#b42318}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}ul.rows{margin:0;padding-left:1rem}
""".strip()


def _run(results: Sequence[SuiteResult] | ValidationRun, title: str) -> ValidationRun:
    if isinstance(results, ValidationRun):
        return results
    return ValidationRun(title=title, generated_at=datetime.now(UTC), suites=list(results))


def write_report(
    results: Sequence[SuiteResult] | ValidationRun,
    path: Path,
    title: str = "TinyWorld data validation",
) -> Path:
    """Write ``report.html`` and ``results.json`` into the local folder ``path``; return the page's path."""
    publish_report(results, resolve(str(path)), title)
    return path / REPORT_FILE


def publish_report(
    results: Sequence[SuiteResult] | ValidationRun,
    folder: Root,
    title: str = "TinyWorld data validation",
) -> str:
    """Write ``report.html`` and ``results.json`` under ``folder`` (a path or object-store root); return the page."""
    run = _run(results, title)
    folder.makedirs()
    folder.join(RESULTS_FILE).write_text(run.model_dump_json(indent=2) + "\n")
    page = folder.join(REPORT_FILE)
    page.write_text(render_html(run))
    log.info("validation report written to %s", page)
    return page.url


def render_html(run: ValidationRun) -> str:
    """The report page of a run."""
    failed = [s for s in run.suites if not s.success]
    verdict = _verdict(run.success, "PASSED" if run.success else f"FAILED: {len(failed)} of {len(run.suites)} suites")
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(run.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(run.title)} {verdict}</h1>",
        f'<p class="meta">generated {escape(run.generated_at.isoformat(timespec="seconds"))}; '
        "row-level expectations run in Great Expectations, whole-data checks (counts, freshness, "
        "uniqueness, types) in pyarrow</p>",
        _summary(run.suites),
    ]
    ordered = sorted(run.suites, key=lambda s: s.success)  # failing suites first
    parts += [_suite(s) for s in ordered]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _verdict(ok: bool, text: str) -> str:
    return f'<span class="verdict {"pass" if ok else "fail"}">{escape(text)}</span>'


def _summary(suites: Sequence[SuiteResult]) -> str:
    head = "<tr><th>suite</th><th>rows</th><th>rows checked</th><th>expectations</th><th>failed</th>"
    head += "<th>skipped</th><th>result</th><th>seconds</th></tr>"
    rows = []
    for s in suites:
        status = "passed" if s.success else "failed"
        rows.append(
            f'<tr class="{status}"><td><a href="#suite-{escape(s.name)}">{escape(s.name)}</a></td>'
            f'<td class="num">{fmt_count(s.rows)}</td><td class="num">{fmt_count(s.rows_checked)}</td>'
            f'<td class="num">{len(s.outcomes)}</td><td class="num">{len(s.failed)}</td>'
            f'<td class="num">{len(s.skipped)}</td><td class="status">{status}</td>'
            f'<td class="num">{s.seconds:.1f}</td></tr>'
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _suite(suite: SuiteResult) -> str:
    sampled = "" if suite.rows_checked >= suite.rows else f" (a sample of {fmt_count(suite.rows_checked)})"
    counts = ", ".join(f"{k}: {fmt_count(v)}" for k, v in suite.row_counts.items() if k != "rows")
    header = (
        f'<h2 id="suite-{escape(suite.name)}">{escape(suite.name)} '
        f"{_verdict(suite.success, 'passed' if suite.success else f'{len(suite.failed)} failed')}</h2>"
        f'<p class="meta">source <code>{escape(suite.source)}</code>; {fmt_count(suite.rows)} rows{sampled}'
        f"{'; rows per day ' + escape(counts) if counts else ''}; {suite.seconds:.1f} s</p>"
    )
    head = (
        "<tr><th>status</th><th>column</th><th>expectation</th><th>expected</th><th>observed</th>"
        "<th>offending rows (sample)</th><th>why / note</th></tr>"
    )
    return f"{header}<table>{head}{''.join(_row(o) for o in suite.sorted_outcomes())}</table>"


def _row(o: Outcome) -> str:
    engine = "" if o.engine == "great_expectations" else f" <small>({escape(o.engine)})</small>"
    return (
        f'<tr class="{o.status}"><td class="status">{o.status}</td>'
        f"<td><code>{escape(o.column or '(table)')}</code></td>"
        f"<td><code>{escape(o.expectation)}</code>{engine}</td>"
        f"<td>{escape(o.expected)}</td><td>{escape(o.observed)}</td>"
        f"<td>{_sample(o.unexpected_sample)}</td><td>{escape(o.note)}</td></tr>"
    )


def _sample(rows: list[dict[str, JsonScalar]]) -> str:
    if not rows:
        return ""
    lines = [", ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in r.items()) for r in rows]
    return '<ul class="rows">' + "".join(f"<li><code>{escape(line)}</code></li>" for line in lines) + "</ul>"
