"""``report.html``: one self-contained file (plots embedded as base64 PNG, inline CSS,
no script, nothing fetched), so it opens from disk and in the MLflow UI's artifact viewer.
"""

from __future__ import annotations

import base64

#: rows of the summary table embedded in the page (every group is in summary.csv)
MAX_ROWS = 200

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1200px; padding: 0 1em; color: #1f2328; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.25em; margin-top: 1.6em;
     border-bottom: 1px solid #d0d7de; padding-bottom: 0.2em; }
.meta { color: #57606a; font-size: 0.9em; }
table { border-collapse: collapse; font-size: 0.88em; margin: 0.6em 0; }
th, td { border: 1px solid #d0d7de; padding: 0.25em 0.6em; text-align: left; }
th { background: #f6f8fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.best td { background: #dafbe1; } tr.tied td { background: #f0fff4; }
.best-box { background: #dafbe1; border: 1px solid #4ac26b; border-radius: 6px; padding: 0.8em 1em; }
.warn { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 0.5em 1em; }
.warn li, .notes li { margin: 0.2em 0; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; max-width: 100%; }
figure img { max-width: 100%; height: auto; border: 1px solid #d0d7de; }
figcaption { font-size: 0.82em; color: #57606a; max-width: 640px; }
code { background: #f6f8fa; padding: 0 0.25em; border-radius: 3px; }
.scroll { overflow-x: auto; max-width: 100%; }
</style>
</head>
<body>
<h1 id="title">{{ title }}</h1>
<p class="meta">{{ source }} · generated {{ generated }} · mlflow-sweep {{ version }}</p>

<h2>Runs</h2>
<table id="counts">
<tr><th>runs selected</th><td class="num">{{ counts.runs }}</td></tr>
<tr><th>runs summarised</th><td class="num">{{ counts.runs_used }}</td></tr>
<tr><th>FAILED / KILLED {{ "kept (--include-failed)" if counts.failed_included else "left out" }}</th><td class="num">{{ counts.failed }}</td></tr>
<tr><th>sweep parents and superseded retries left out</th><td class="num">{{ counts.parents + counts.superseded + left_out }}</td></tr>
<tr><th>duplicate (configuration, seed) runs left out</th><td class="num">{{ counts.duplicates }}</td></tr>
<tr><th>groups (configurations)</th><td class="num">{{ counts.groups }}</td></tr>
</table>
<p>Grouped by {% if by %}{% for b in by %}<code>{{ b }}</code>{{ ", " if not loop.last }}{% endfor %}{% else %}nothing (one group){% endif %};
{% if over %}averaged over <code>{{ over }}</code>{% else %}no seed column: every run is its own unit{% endif %}.
{% for kept, twins in aliases %}<code>{{ kept }}</code> stands for {% for t in twins %}<code>{{ t }}</code>{{ ", " if not loop.last }}{% endfor %} (the same grouping). {% endfor %}</p>

<h2>Run matrix</h2>
<div id="matrix">
<p>{{ matrix.used }} of {{ matrix.considered }} runs contribute (runs.csv lists every run with its configuration, seed, status and why it does not contribute).</p>
{% if matrix.picture %}<figure><img src="data:image/png;base64,{{ matrix.picture.data }}" alt="run matrix" width="{{ matrix.picture.width }}" height="{{ matrix.picture.height }}">
<figcaption>{{ matrix.picture.caption }} (<a href="{{ matrix.picture.png }}">png</a>, <a href="{{ matrix.picture.svg }}">svg</a>)</figcaption></figure>{% endif %}
{% if matrix.left %}<table id="left-out">
<tr><th>run</th><th>name</th><th>configuration</th><th>seed</th><th>status</th><th>why not used</th></tr>
{% for r in matrix.left %}<tr><td><code>{{ r.run_id }}</code></td><td>{{ r.name }}</td><td>{{ r.configuration }}</td><td>{{ r.seed }}</td><td>{{ r.status }}</td><td>{{ r.reason }}</td></tr>
{% endfor %}</table>{% if matrix.left_more %}<p>{{ matrix.left_more }} more in runs.csv.</p>{% endif %}{% endif %}
{% if matrix.missing %}<p id="missing">Missing (configuration, seed) pairs: {% for m in matrix.missing %}<code>{{ m }}</code>{{ "; " if not loop.last }}{% endfor %}{% if matrix.missing_more %} and {{ matrix.missing_more }} more{% endif %}.</p>{% endif %}
</div>

{% if best %}
<h2>Best configuration</h2>
<div class="best-box" id="best">
<p><strong>{{ best.label }}</strong> — <code>{{ best.objective }}</code> ({{ best.mode }}):
<strong>{{ best.value }}</strong> (n = {{ best.n }}{% if best.ci %}, 95 % CI {{ best.ci }}{% endif %})</p>
<p>{{ best.test_text }}</p>
{% if best.decided %}<p id="decided">{{ best.decided }}</p>{% endif %}
</div>
{% if best.tied|length > 1 %}
<table id="tied">
<tr><th>configuration</th><th>n</th><th>mean ± std</th><th>in best set</th><th>seeds shared</th><th>test</th><th>difference from best [95 % CI]</th><th>p</th><th>p adjusted</th><th>MDE (80 %)</th></tr>
{% for t in best.tied %}<tr{% if t.cls %} class="{{ t.cls }}"{% endif %}><td>{{ t.label }}</td><td class="num">{{ t.n }}</td><td class="num">{{ t.mean }}</td><td>{{ t.in_set }}</td><td class="num">{{ t.shared }}</td><td>{{ t.test }}</td><td class="num">{{ t.diff }}</td><td class="num">{{ t.p }}</td><td class="num">{{ t.p_adj }}</td><td class="num">{{ t.mde }}</td></tr>
{% endfor %}</table>
{% endif %}
{% elif objective_note %}
<h2>Best configuration</h2><p>{{ objective_note }}</p>
{% endif %}

{% if race %}
<h2>{{ race.title }}</h2>
<div id="race">
<p>{{ race.rounds }} round(s); candidates compared with the best after each round by the best-set rule (α = {{ race.alpha }}); the last round's seeds: {{ race.seeds }}.</p>
<table id="race-lines">
<tr><th>candidate</th><th>outcome</th></tr>
{% for r in race.lines %}<tr{% if r.cls %} class="{{ r.cls }}"{% endif %}><td>{{ r.label }}</td><td>{{ r.text }}</td></tr>
{% endfor %}</table>
</div>
{% endif %}

{% if warnings %}
<h2>Warnings</h2>
<ul class="warn" id="warnings">{% for w in warnings %}<li>{{ w }}</li>{% endfor %}</ul>
{% endif %}
{% if notes %}
<h2>What this report could not do</h2>
<ul class="notes" id="notes">{% for n in notes %}<li>{{ n }}</li>{% endfor %}</ul>
{% endif %}

<h2>Summary</h2>
{% if table_rows %}
<div class="scroll"><table id="summary">
<tr>{% for h in table_header %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in table_rows %}<tr{% if row.cls %} class="{{ row.cls }}"{% endif %}>{% for c in row.cells %}<td{% if c.num %} class="num"{% endif %}>{% if c.bold %}<strong>{{ c.text }}</strong>{% else %}{{ c.text }}{% endif %}</td>{% endfor %}</tr>
{% endfor %}</table></div>
<p class="meta">Mean ± std (sample, n − 1){% if over %} over {{ over }}{% endif %}; † fewer {{ over or "run" }} values than the most complete group.
{% if rows_left %}{{ rows_left }} more group(s) in summary.csv. {% endif %}{% if metrics_left %}{{ metrics_left }} more metric(s) in summary.csv.{% endif %}</p>
{% else %}
<p id="summary-empty">Nothing to summarise.</p>
{% endif %}

{% if curves %}
<h2>Learning curves</h2>
<div id="curves">
{% for p in curves %}<figure><img src="data:image/png;base64,{{ p.data }}" alt="{{ p.title }}" width="{{ p.width }}" height="{{ p.height }}">
<figcaption><strong>{{ p.title }}</strong> — {{ p.caption }} (<a href="{{ p.png }}">png</a>, <a href="{{ p.svg }}">svg</a>)</figcaption></figure>
{% endfor %}</div>
{% endif %}

{% if plots %}
<h2>Plots</h2>
<div id="plots">
{% for p in plots %}<figure><img src="data:image/png;base64,{{ p.data }}" alt="{{ p.title }}" width="{{ p.width }}" height="{{ p.height }}">
<figcaption><strong>{{ p.title }}</strong> — {{ p.caption }} (<a href="{{ p.png }}">png</a>, <a href="{{ p.svg }}">svg</a>)</figcaption></figure>
{% endfor %}</div>
{% endif %}

<h2>Files</h2>
<ul>{% for f in files %}<li><a href="{{ f }}">{{ f }}</a></li>{% endfor %}</ul>
<p class="meta">Statistics: mean, sample std (n − 1), sem = std/√n, 95 % CI = mean ± t<sub>0.975, n−1</sub>·sem; NaN values left out and counted (<code>n_nan</code> in summary.csv).</p>
</body>
</html>
"""


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return 0, 0
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def render_html(context: dict, plots=()) -> str:
    """The page for ``context`` (see :mod:`.build`) with ``plots`` embedded (learning
    curves in their own section)."""
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    embedded: dict = {"curves": [], "plots": []}
    for p in plots:
        w, h = png_size(p.png_bytes)
        embedded["curves" if p.spec.kind == "curve" else "plots"].append(
            {"title": p.title, "caption": p.caption, "png": p.png, "svg": p.svg,
             "data": base64.b64encode(p.png_bytes).decode("ascii"), "width": w, "height": h})
    return env.from_string(TEMPLATE).render(**embedded, **context)
