"""report.html in a real headless Chromium (Debian's ``chromium``; ``.ci/run`` installs it):
it loads with no errors, every image decodes, the tables are there, and a screenshot of the
page is not blank. Skipped, with the reason, where no Chromium is installed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from mlflow_sweep_plugin.report.build import ReportOptions, build_report
from report_test_helpers import globals_heads

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         "--disable-dev-shm-usage"]

# Injected first in <head> of a copy of the page: records every error (scripts, and images
# or other resources failing to load, which do not bubble), then on load writes what it saw
# into the DOM, which --dump-dom prints.
PROBE = """<script>
window.__errors = [];
window.addEventListener("error", function (e) {
  window.__errors.push(String(e.message || (e.target && (e.target.src || e.target.href)) || "error").slice(0, 200));
}, true);
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var out = {
    errors: window.__errors,
    images: imgs.length,
    decoded: imgs.filter(function (i) { return i.complete && i.naturalWidth > 0 && i.naturalHeight > 0; }).length,
    sizes: imgs.map(function (i) { return [i.naturalWidth, i.naturalHeight]; }),
    tables: Array.prototype.map.call(document.querySelectorAll("table"), function (t) {
      return [t.id, t.rows.length]; }),
    title: document.getElementById("title") && document.getElementById("title").textContent
  };
  var pre = document.createElement("pre");
  pre.id = "probe-result";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def browser():
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium installed (apt-get install chromium; .ci/run installs it): "
                "report.html was not checked in a browser")


def run(chrome, tmp_path, *args, timeout=90):
    cmd = [chrome, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
           *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def test_report_html_in_headless_chromium(tmp_path):
    chrome = browser()
    report = build_report(globals_heads(), str(tmp_path / "rep"),
                          ReportOptions(objective="metrics.val_loss", max_plots=0,  # a line, bars, a heatmap
                                        plot=("globals_beta", "phase1.latent_space",
                                              "globals_beta,phase1.latent_space")))
    page = tmp_path / "rep" / "report.html"
    html = page.read_text()
    probed = tmp_path / "rep" / "probe.html"
    probed.write_text(html.replace("<head>", "<head>" + PROBE, 1))

    proc = run(chrome, tmp_path, "--virtual-time-budget=10000", "--dump-dom", probed.as_uri())
    assert proc.returncode == 0, proc.stderr[-3000:]
    m = re.search(r'<pre id="probe-result">(.*?)</pre>', proc.stdout, re.S)
    assert m, proc.stdout[-2000:] + proc.stderr[-2000:]
    got = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert got["errors"] == []
    assert got["images"] == len(report.plots) + 1 == 4 and got["decoded"] == got["images"], got  # + run matrix
    assert all(w >= 300 and h >= 200 for w, h in got["sizes"]), got["sizes"]
    tables = dict(got["tables"])
    assert tables["counts"] == 6 and tables["summary"] == 1 + 9  # header + the 9 configurations
    assert got["title"].startswith("Sweep report")
    console_errors = [line for line in proc.stderr.splitlines()
                      if "CONSOLE" in line and ("ERROR" in line or "Uncaught" in line)]
    assert console_errors == []

    shot = tmp_path / "shot.png"
    proc = run(chrome, tmp_path, "--window-size=1280,3000", f"--screenshot={shot}", page.as_uri())
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-3000:]
    import matplotlib.image as mpimg
    import numpy as np

    pixels = mpimg.imread(str(shot))[..., :3]
    assert pixels.shape[:2] == (3000, 1280)
    not_white = (pixels < 0.95).any(axis=2).mean()
    assert not_white > 0.03, not_white  # text, tables and plots, not an empty page
    assert pixels.std() > 0.05
    q = (pixels[::4, ::4] * 15).round().astype(int).reshape(-1, 3)
    assert len(np.unique(q[:, 0] * 256 + q[:, 1] * 16 + q[:, 2])) > 20  # the plots' colours
