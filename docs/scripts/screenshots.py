"""Real screenshots of the demo's report for the documentation (docs/images/*.png).

Runs ``mlflow-sweep demo`` (the causal-discovery demo) in a temporary directory (its own sqlite store and cache),
reports the demo sweep with an objective (so the best configuration and its tied set
are shown), and photographs ``report.html`` with headless Chromium: the top of the page,
and each section the docs show on its own (the best configuration, the summary table,
and the run matrix and status table when the report has them). A section is cut out of
the page into a page of its own with the report's own stylesheet, so the picture is
exactly what the report shows.

    python docs/scripts/screenshots.py [--chromium /usr/bin/chromium] [--out docs/images]

Re-run it whenever the report's look changes, and commit the PNGs it writes.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
#: (file name, a pattern of the section's <h2> title, window width x height)
SECTIONS = [
    ("report-best.png", r"Best configuration", (1100, 520)),
    ("report-summary.png", r"Summary", (1100, 700)),
    ("report-plots.png", r"Plots", (1100, 900)),
    ("report-matrix.png", r"[Rr]un matrix", (1100, 800)),
    ("report-status.png", r"[Ss]tatus", (1100, 600)),
]
PAGE = ("report.png", (1100, 1400))
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--no-first-run", "--hide-scrollbars"]
#: the demo and the report the pictures show: the causal-discovery demo (it has seeds,
#: so the best configuration has a confidence interval and a tied set), ranked by eshd
DEMO_ARGS = ["--kind", "causal", "--runs", "16"]
REPORT_ARGS = ["--objective", "eshd", "--mode", "min", "--title",
               "mlflow-sweep demo: causal discovery sweep"]


def run(cmd: list[str], cwd: pathlib.Path, env: dict) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        sys.exit(f"screenshots: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc.stderr


def make_report(work: pathlib.Path) -> pathlib.Path:
    """The demo, then its report with an objective; the report directory."""
    env = dict(os.environ, MLFLOW_SWEEP_CACHE_DIR=str(work / "cache"),
               MLFLOW_TRACKING_URI=f"sqlite:///{work / 'mlflow.db'}")
    exe = [sys.executable, "-m", "mlflow_sweep_plugin"]
    run(exe + ["demo", *DEMO_ARGS], work, env)
    run(exe + ["report", "--experiment-name", "mlflow-sweep-demo", "-o", str(work / "report")]
        + REPORT_ARGS, work, env)
    return work / "report"


def section_page(html: str, title: str) -> str | None:
    """The report's page with only the section under the ``<h2>`` matching ``title``."""
    style = re.search(r"<style>.*?</style>", html, re.S)
    heads = list(re.finditer(r"<h2[^>]*>(.*?)</h2>", html, re.S))
    for i, head in enumerate(heads):
        if re.search(title, re.sub(r"<[^>]+>", "", head.group(1))):
            end = heads[i + 1].start() if i + 1 < len(heads) else html.find("</body>")
            body = html[head.start():end]
            return (f"<!doctype html><html><head><meta charset='utf-8'>{style.group(0) if style else ''}"
                    f"</head><body>{body}</body></html>")
    return None


def shoot(chromium: str, page: pathlib.Path, png: pathlib.Path, size: tuple[int, int]) -> None:
    subprocess.run([chromium, *CHROMIUM_FLAGS, f"--screenshot={png}", f"--window-size={size[0]},{size[1]}",
                    page.as_uri()], check=True, capture_output=True, timeout=120)
    if not png.exists():
        sys.exit(f"screenshots: chromium wrote no {png}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--out", type=pathlib.Path, default=ROOT / "docs" / "images")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mlflow-sweep-screens-") as tmp:
        work = pathlib.Path(tmp)
        report = make_report(work)
        page = report / "report.html"
        shoot(args.chromium, page, args.out / PAGE[0], PAGE[1])
        written = [PAGE[0]]
        html = page.read_text(encoding="utf-8")
        for name, title, size in SECTIONS:
            part = section_page(html, title)
            if part is None:
                continue  # this report has no such section (yet)
            cut = report / f"_{name}.html"
            cut.write_text(part, encoding="utf-8")
            shoot(args.chromium, cut, args.out / name, size)
            written.append(name)
    for name in written:
        size = (args.out / name).stat().st_size
        print(f"screenshots: {args.out / name} ({size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
