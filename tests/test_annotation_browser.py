"""The hand-annotation notebook in a real browser: JupyterLab on localhost, driven by headless Chromium.

Run the notebook to the widget, draw a box with the mouse, run the fit; restart the kernel, run it
again, draw a second box, run the fit: both boxes are in ``boxes.csv`` and the fit used both.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them), selenium and
JupyterLab; skips with the reason otherwise. On failure a screenshot and the page's text are saved
beside the test's tmp folder (the path is printed).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import torch

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
if not (CHROMIUM and CHROMEDRIVER):
    pytest.skip("needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)",
                allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (pip install selenium)")
pytest.importorskip("jupyterlab", reason="needs JupyterLab")
pytest.importorskip("jupyter_bbox_widget", reason="needs jupyter-bbox-widget")

from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

from interp.analysis.annotations import read_boxes  # noqa: E402
from interp.analysis.sample_sheet import SheetLayout  # noqa: E402
from interp.core.config import ModelConfig  # noqa: E402
from interp.core.models import build_gan  # noqa: E402
from interp.io.checkpoint import save_checkpoint  # noqa: E402
from interp.notebooks.build import build_notebook, inject_parameters, write_notebook  # noqa: E402
from interp.notebooks.specs import notebook_specs  # noqa: E402

N = 12          # samples on the sheet (10 per row, 64 px samples shown at 2x)
TIMEOUT = 300   # seconds for a cell (the first setup trains the quick segmenter when the cache is empty)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(what: str, fn: Callable[[], Any], timeout: float = TIMEOUT, every: float = 0.5) -> Any:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            value = fn()
        except Exception:  # noqa: BLE001 -- not there yet
            value = None
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


@contextmanager
def serve_notebook(nb: Any, tmp_path: Path, session_cache: Path) -> Iterator[dict[str, Any]]:
    """JupyterLab on localhost serving notebook ``nb`` as ``hand.ipynb`` (the page helpers open that name)."""
    root = tmp_path / "lab"
    write_notebook(nb, root / "hand.ipynb")
    port, token = _free_port(), "interp-browser-test"
    env = dict(os.environ, INTERP_CACHE_DIR=str(session_cache), OMP_NUM_THREADS="1",
               JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"), JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"))
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
         "--ServerApp.disable_check_xsrf=True", *(["--allow-root"] if os.geteuid() == 0 else [])],
        env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "lab.log", "w"))
    base = f"http://127.0.0.1:{port}"
    try:
        _wait("JupyterLab to start", lambda: urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2).status == 200,
              timeout=120)
        yield {"base": base, "token": token, "tmp": tmp_path}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture
def lab(tmp_path: Path, session_cache: Path) -> Iterator[dict[str, Any]]:
    """A JupyterLab server on localhost serving the hand-annotation notebook, set up for a tiny model."""
    torch.manual_seed(0)
    cfg = ModelConfig.from_preset("examples", 64, ngf=8, ndf=8)
    G, D = build_gan(cfg)
    ckpt = save_checkpoint(tmp_path / "tiny_rooms", G, D, cfg, {"dataset": {"name": "rooms"}, "epoch": 1})
    spec = next(s for s in notebook_specs() if s.name == "fig6_annotate_by_hand")
    nb = build_notebook(spec)
    work = tmp_path / "work"
    inject_parameters(nb, {"CHECKPOINT": str(ckpt), "N": N, "WORK": str(work), "QUICK": True})
    with serve_notebook(nb, tmp_path, session_cache) as served:
        yield {**served, "work": work}


@pytest.fixture
def browser(lab: dict[str, Any]) -> Iterator[Any]:
    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1600,1200", f"--user-data-dir={lab['tmp'] / 'chrome-profile'}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


#: the notebook panel (``shell.currentWidget`` follows focus, which a headless page does not have)
NB = "const nb = Array.from(window.jupyterapp.shell.widgets('main')).find(w => w.content && w.sessionContext);"


class Lab:
    """The notebook page: run cells through JupyterLab's own commands, draw with the real mouse."""

    def __init__(self, driver: Any, lab: dict[str, Any]) -> None:
        self.d, self.lab = driver, lab

    def open(self) -> None:
        self.d.get(f"{self.lab['base']}/lab/tree/hand.ipynb?token={self.lab['token']}")
        _wait("the notebook and its kernel", lambda: self.js(
            NB + "return !!(nb && nb.sessionContext.session && nb.sessionContext.session.kernel"
            " && nb.sessionContext.session.kernel.status === 'idle');"), timeout=180)

    def js(self, code: str) -> Any:
        return self.d.execute_script(code)

    def cell_ids(self) -> list[str]:
        return self.js(NB + "return nb.content.widgets.map(c => c.model.id);")

    def run(self, first: str, last: str | None = None) -> None:
        """Run the cells from ``first`` through ``last`` (default: just ``first``), each to completion."""
        ids = self.cell_ids()
        for i in range(ids.index(first), ids.index(last or first) + 1):
            self.js(NB + f"nb.content.activeCellIndex = {i}; window.jupyterapp.commands.execute('notebook:run-cell');")
            _wait(f"cell {ids[i]} to finish", lambda i=i: self.js(
                NB + f"const c = nb.content.widgets[{i}]; const k = nb.sessionContext.session.kernel;"
                "return c.model.type !== 'code' || (c.model.executionCount !== null && k.status === 'idle');"))

    def outputs(self, cell_id: str) -> str:
        i = self.cell_ids().index(cell_id)
        return self.js(NB + f"return nb.content.widgets[{i}].node.innerText;")

    def restart_kernel(self) -> None:
        self.js(NB + "nb.sessionContext.session.kernel.restart();")
        time.sleep(2)
        _wait("the restarted kernel", lambda: self.js(NB + "return nb.sessionContext.session.kernel.status === 'idle';"))

    def draw(self, layout: SheetLayout, sample: int, box: tuple[float, float, float, float]) -> None:
        """Drag the mouse over ``box`` (x0, y0, x1, y1 in sample pixels) of sample ``sample`` on the widget."""
        img = _wait("the widget's sheet image", lambda: [i for i in self.d.find_elements(
            By.CSS_SELECTOR, "img[alt='annotate me']") if i.is_displayed() and i.size["width"] > 0][-1:])[0]
        self.d.execute_script("arguments[0].scrollIntoView({block: 'center'});", img)
        natural = self.d.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight];", img)
        scale = img.size["width"] / natural[0]
        ox, oy = layout.origin(sample)
        x0, y0, x1, y1 = (ox + box[0] * layout.scale, oy + box[1] * layout.scale,
                          ox + box[2] * layout.scale, oy + box[3] * layout.scale)
        w, h = img.size["width"], img.size["height"]  # selenium offsets are from the element's centre
        start = (x0 * scale - w / 2, y0 * scale - h / 2)
        step = (round((x1 - x0) * scale / 2), round((y1 - y0) * scale / 2))
        # pauses: the widget creates the box on mousedown and resizes it only once it is mounted
        (ActionChains(self.d).move_to_element_with_offset(img, round(start[0]), round(start[1])).click_and_hold()
         .pause(0.3).move_by_offset(*step).pause(0.2).move_by_offset(*step).pause(0.2).release().perform())
        time.sleep(1.0)  # the widget syncs its bboxes to the kernel

    def evidence(self, name: str) -> Path:
        out = self.lab["tmp"] / f"{name}.png"
        self.d.save_screenshot(str(out))
        (self.lab["tmp"] / f"{name}.txt").write_text(self.d.find_element(By.TAG_NAME, "body").text)
        return out


def test_boxes_survive_a_kernel_restart_in_jupyterlab(lab: dict[str, Any], browser: Any) -> None:
    page = Lab(browser, lab)
    csv = lab["work"] / "boxes.csv"
    try:
        page.open()
        assert page.cell_ids()[4] == "draw", page.cell_ids()
        page.run("title", "draw")
        layout = SheetLayout(n=N, cols=10, image_size=64)
        page.draw(layout, 3, (5, 6, 25, 20))
        page.run("fit")
        first = _wait("boxes.csv with the first box", lambda: csv.is_file() and read_boxes(csv))
        assert [b.image for b in first] == [3]

        page.restart_kernel()
        page.run("title", "draw")
        assert "1 boxes saved earlier" in page.outputs("draw")   # the widget shows the saved box
        page.draw(layout, 8, (30, 10, 50, 40))
        page.run("fit")
        boxes = _wait("boxes.csv with both boxes", lambda: len(read_boxes(csv)) == 2 and read_boxes(csv))
        assert sorted(b.image for b in boxes) == [3, 8]
        b3 = next(b for b in boxes if b.image == 3)
        assert abs(b3.x0 - 5) <= 1.5 and abs(b3.y1 - 20) <= 1.5   # where the mouse drew it (sample pixels)
        text = page.outputs("fit")
        assert "1 new, 1 saved earlier" in text and "2 boxes on 2 of 12 samples" in text, text
        assert (lab["work"] / "boxes.bak1.csv").is_file()
    except BaseException:
        shot = page.evidence("browser-failure")
        print(f"screenshot: {shot}\nlab log: {lab['tmp'] / 'lab.log'}")
        metrics = lab["work"] / "metrics.json"
        if metrics.is_file():
            print(json.dumps(json.loads(metrics.read_text()).get("fig6", {}), indent=1)[:2000])
        raise
