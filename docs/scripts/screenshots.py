"""Real screenshots of the demo's report and of a status table for the documentation
(docs/images/*.png).

Runs ``mlflow-sweep demo`` (the default, seeded ``sae`` demo) in a temporary directory
(its own sqlite store and cache), reports the demo sweep with its objective (so the best
configuration and its best set are shown), and photographs ``report.html`` with headless
Chromium: the top of the page, and each section the docs show on its own (the run
matrix, the best configuration, the summary table, the learning curves, the plots). A
section is cut out of the page into a page of its own with the report's own stylesheet,
so the picture is exactly what the report shows.

Then it runs a small grid through ``mlflow run examples/sweep_project --backend sweep``
(one point fails, as a diverging run would), prints ``mlflow-sweep status`` of it, records
that output with rich (``Console(record=True).export_html``) and photographs it.

    python docs/scripts/screenshots.py [--chromium /usr/bin/chromium] [--out docs/images]

Re-run it whenever the report's look changes, and commit the PNGs it writes.
"""

from __future__ import annotations

import argparse
import io
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
    ("report-matrix.png", r"^Run matrix", (1100, 700)),
    ("report-best.png", r"^Best configuration", (1100, 620)),
    ("report-summary.png", r"^Summary", (1100, 520)),
    ("report-curves.png", r"^Learning curves", (1100, 900)),
    ("report-plots.png", r"^Plots", (1100, 900)),
]
STATUS = "status.png"
PAGE = ("report.png", (1100, 1400))
MAX_BYTES = 300 * 1024  # each picture is committed: keep them small
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--no-first-run", "--hide-scrollbars"]
#: the demo and the report the pictures show: the default demo (sae: 2 x 2 configurations
#: x 3 seeds, val_loss per epoch, one run crashing), ranked by its objective as the demo does
DEMO_ARGS: list[str] = []
REPORT_ARGS = ["--objective", "metrics.val_loss", "--mode", "min", "--title",
               "mlflow-sweep demo: a seeded SAE training sweep"]
#: the sweep the status picture shows: lr 0.5 with 2 layers fails (lr * layers > max_lr)
STATUS_CONFIG = ('{"grid": {"lr": [0.1, 0.3, 0.5], "layers": [1, 2]}, "max_parallel": 2, '
                 '"sweep_name": "lr-layers", "objective": {"metric": "loss", "mode": "min"}}')


def run(cmd: list[str], cwd: pathlib.Path, env: dict, ok=(0,)) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode not in ok:
        sys.exit(f"screenshots: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def store_env(work: pathlib.Path) -> dict:
    env = dict(os.environ, MLFLOW_SWEEP_CACHE_DIR=str(work / "cache"),
               MLFLOW_TRACKING_URI=f"sqlite:///{work / 'mlflow.db'}")
    # the sweep's children run `python` from PATH: this interpreter's
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def make_report(work: pathlib.Path) -> pathlib.Path:
    """The demo, then its report with an objective; the report directory."""
    env = store_env(work)
    exe = [sys.executable, "-m", "mlflow_sweep_plugin"]
    run(exe + ["demo", *DEMO_ARGS], work, env)
    run(exe + ["report", "--experiment-name", "mlflow-sweep-demo", "-o", str(work / "report")]
        + REPORT_ARGS, work, env)
    return work / "report"


def status_page(work: pathlib.Path) -> tuple[pathlib.Path, int]:
    """A grid with a failing point, its ``mlflow-sweep status`` recorded by rich as HTML;
    the page and its number of lines."""
    from rich.console import Console
    from rich.text import Text

    env = store_env(work)
    project = shutil.copytree(ROOT / "examples" / "sweep_project", work / "sweep_project")
    run([sys.executable, "-m", "mlflow", "run", str(project), "--env-manager", "local", "--backend", "sweep",
         "--experiment-name", "status-demo", "--backend-config", STATUS_CONFIG], work, env, ok=(0, 1))
    text = run([sys.executable, "-m", "mlflow_sweep_plugin", "status", "--experiment-name", "status-demo"],
               work, env)
    text = text.replace(str(work) + os.sep, "")  # no temporary paths in the picture
    console = Console(record=True, width=130, file=io.StringIO(), color_system="truecolor")
    console.print("$ mlflow-sweep status --experiment-name status-demo", style="bold")
    console.print(Text(text.rstrip("\n")))
    page = work / "status.html"
    page.write_text(console.export_html(inline_styles=True), encoding="utf-8")
    return page, text.count("\n") + 2


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
    trim(png)


def trim(png: pathlib.Path, margin: int = 16) -> None:
    """Cut the blank space below the content (the window is sized for the tallest case)."""
    from PIL import Image, ImageChops  # Pillow comes with matplotlib

    with Image.open(png) as img:
        rgb = img.convert("RGB")
    background = Image.new("RGB", rgb.size, rgb.getpixel((rgb.width - 1, rgb.height - 1)))
    box = ImageChops.difference(rgb, background).getbbox()
    if box and box[3] + margin < rgb.height:
        rgb.crop((0, 0, rgb.width, box[3] + margin)).save(png, optimize=True)


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
        page, n_lines = status_page(work)
        shoot(args.chromium, page, args.out / STATUS, (1150, 60 + 20 * n_lines))
        written.append(STATUS)
    for name in written:
        size = (args.out / name).stat().st_size
        print(f"screenshots: {args.out / name} ({size // 1024} KB)")
        if size > MAX_BYTES:
            sys.exit(f"screenshots: {name} is over {MAX_BYTES // 1024} KB: make its window smaller")
    return 0


if __name__ == "__main__":
    sys.exit(main())
