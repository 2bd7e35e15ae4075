"""The directions explorer in a real browser: JupyterLab on localhost, headless Chromium moves a slider with
the keyboard and the samples are re-generated (the image and the instrument readout change).

Needs Debian's ``chromium`` and ``chromium-driver``, selenium, JupyterLab and ipywidgets; skips otherwise
(see ``test_annotation_browser.py``, whose page helpers it shares).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

pytestmark = pytest.mark.slow

pytest.importorskip("ipywidgets", reason="needs ipywidgets")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from test_annotation_browser import NB, Lab, _wait, browser, serve_notebook  # noqa: E402, F401  (fixture)

from interp.core.config import ModelConfig  # noqa: E402
from interp.core.models import build_gan  # noqa: E402
from interp.io.checkpoint import save_checkpoint  # noqa: E402
from interp.notebooks.build import build_notebook, inject_parameters  # noqa: E402
from interp.notebooks.specs import notebook_specs  # noqa: E402


@pytest.fixture
def lab(tmp_path: Path, session_cache: Path) -> Iterator[dict[str, Any]]:
    """A JupyterLab server serving the explorer notebook, set up for a tiny faces model in quick mode."""
    torch.manual_seed(0)
    cfg = ModelConfig.from_preset("examples", 64, ngf=8, ndf=8)
    G, D = build_gan(cfg)
    ckpt = save_checkpoint(tmp_path / "tiny_faces", G, D, cfg, {"dataset": {"name": "faces", "world": "faces"},
                                                                 "epoch": 1})
    spec = next(s for s in notebook_specs() if s.name == "directions_explorer")
    nb = build_notebook(spec)
    inject_parameters(nb, {"CHECKPOINT": str(ckpt), "QUICK": True, "OUT": str(tmp_path / "figs"), "N_SAMPLES": 4,
                           "PROGRESS": False})
    with serve_notebook(nb, tmp_path, session_cache) as served:
        yield {**served, "work": tmp_path / "figs"}


def _explore_cell(page: Lab) -> str:
    i = page.cell_ids().index("explore")
    return NB + f"const cell = nb.content.widgets[{i}].node;"


def test_a_slider_regenerates_the_samples_in_jupyterlab(lab: dict[str, Any], browser: Any) -> None:  # noqa: F811
    page = Lab(browser, lab)
    try:
        page.open()
        page.run("title", "explore")
        head = _explore_cell(page)
        src0 = _wait("the explorer's image", lambda: page.js(
            head + "const img = cell.querySelector('.widget-image, img'); return img && img.src;"))
        text0 = page.js(head + "return cell.innerText;")
        assert "smiling" in text0 and "SeFa 1" in text0, text0
        handles = _wait("the sliders", lambda: [h for h in browser.find_elements(By.CSS_SELECTOR, ".noUi-handle")
                                                if h.is_displayed()])
        handle = handles[1]  # the second slider: "smiling"
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", handle)
        handle.click()
        for _ in range(4):  # 4 steps of 0.25: smiling at +1.00
            handle.send_keys(Keys.ARROW_RIGHT)
            time.sleep(0.2)
        src1 = _wait("a new image", lambda: (lambda s: s if s and s != src0 else None)(page.js(
            head + "const img = cell.querySelector('.widget-image, img'); return img && img.src;")), timeout=60)
        assert src1 != src0
        text1 = page.js(head + "return cell.innerText;")
        assert "1.00" in text1 and text1 != text0, text1
    except BaseException:
        shot = page.evidence("explorer-failure")
        print(f"screenshot: {shot}\nlab log: {lab['tmp'] / 'lab.log'}")
        raise
