"""report.page and report.html: the page's content from a summary and a ranking, and the
rendered report.html, which escapes every value a user logged (a hostile param value,
title, warning) and never shows a store's credentials."""

from __future__ import annotations

from types import SimpleNamespace

from mlflow_sweep_plugin.report.best import rank
from mlflow_sweep_plugin.report.html import png_size, render_html
from mlflow_sweep_plugin.report.matrix import cells, runs_table
from mlflow_sweep_plugin.report.options import ReportOptions
from mlflow_sweep_plugin.report.page import matrix_context, page_context, race_context, source_text
from mlflow_sweep_plugin.report.stats import summarize
from report_test_helpers import table

HOSTILE = '<script>alert("x")</script>'


def page(title=None, source=None):
    rows = [{"run": f"{opt[:3]}{seed}", "params": {"opt": opt, "seed": seed},
             "metrics": {"loss": base + seed / 100}}
            for opt, base in ((HOSTILE, 0.5), ("plain", 0.3)) for seed in range(3)]
    rows.append({"run": "crash", "status": "FAILED", "params": {"opt": "plain", "seed": 3}})
    summary = summarize(table(rows))
    best = rank(summary, "metrics.loss", "min")
    runs = runs_table(summary, best)
    context = page_context(summary, best, ReportOptions(objective="metrics.loss", title=title), source,
                           ["a note"], [f"warning about {HOSTILE}"], ["report.html"], summary.metrics)
    context["matrix"] = matrix_context(runs, cells(runs)[3], None)
    context["race"] = race_context(None)
    context["best"]["decided"] = ""
    return context


def test_the_page_names_the_best_configuration_and_the_runs_left_out():
    context = page()
    assert context["best"]["label"] == "opt=plain" and context["best"]["n"] == 3
    assert [t["in_set"] for t in context["best"]["tied"]] == ["best", "no"]
    assert [r["cls"] for r in context["table_rows"]] == ["best", ""]
    assert context["matrix"]["considered"] == 7 and context["matrix"]["used"] == 6
    assert [r["run_id"] for r in context["matrix"]["left"]] == ["crash"]
    assert context["matrix"]["missing"] == [f"opt={HOSTILE}, seed 3 (missing)", "opt=plain, seed 3 (failed)"]
    assert context["title"] == "Sweep report" and context["source"] == "from a table"


def test_report_html_escapes_a_hostile_value_title_and_warning():
    html = render_html(page(title='<img src=x onerror="alert(1)">'))
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html


def test_the_source_line_redacts_the_stores_credentials():
    source = SimpleNamespace(experiments=["exp"], tracking_uri="http://alice:s3cret@mlflow.example:5000",
                             filter_string="params.opt = 'a'", parser_names=["hamming"], artifact_patterns=[])
    text = source_text(source)
    assert "s3cret" not in text and "mlflow.example:5000" in text
    assert text.startswith("experiments exp · store ") and text.endswith("filter params.opt = 'a' · parsers hamming")
    html = render_html({**page(source=source)})
    assert "s3cret" not in html and "Sweep report: exp" in html


def test_png_size_reads_the_header_and_refuses_other_bytes():
    header = b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + (640).to_bytes(4, "big") + (480).to_bytes(4, "big")
    assert png_size(header) == (640, 480)
    assert png_size(b"GIF89a" + b"\0" * 20) == (0, 0)
