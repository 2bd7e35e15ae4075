"""Fig. 6 (forgetting to draw windows): ablation arithmetic on the generator, box → feature-cell
mapping, dataset assembly, the logistic fit, and the whole procedure end to end.

The end-to-end generator is a tiny 32-px DCGAN with HAND-SET weights (BN statistics calibrated on a
batch): map ``PAINTER`` of the second-highest block fires in sparse, smooth blobs, map ``PAINTER`` of
the penultimate block relays it, and only the relay paints blue; a stand-in "segmenter" calls blue
pixels windows. The procedure must find that map,
and dropping it must remove the windows while as many random maps do not."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from interp.analysis.annotations import Box, read_boxes, write_boxes
from interp.analysis.forget import (
    ClassMeter,
    ForgetConfig,
    assemble_dataset,
    automatic_boxes,
    box_cell_mask,
    compute_fig6,
    curve_counts,
    find_window_maps,
    fit_window_classifier,
    generate,
    layer_features,
    random_map_sets,
    select_maps,
)
from interp.cli.forget import main as forget_main
from interp.core.config import ModelConfig
from interp.core.hooks import ablate, channel_means, record
from interp.core.latent import sample_z
from interp.core.models import Discriminator, Generator
from interp.figures import FigureContext, read_metrics, run_figure
from interp.figures import context as fctx
from interp.figures.forget_windows import fig6_title, plot_fig6
from interp.figures.plotting import save_figure
from interp.io.checkpoint import LoadedGAN, save_checkpoint
from interp.worlds.rooms import CLASS_NAMES

PAINTER = 5
WINDOW_ID = CLASS_NAMES.index("window")


def n_hooks(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in model.modules())


class BlueIsWindow(nn.Module):
    """Stand-in segmenter: class 'window' where the blue channel > 0.3, else 'wall'."""

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))  # apply_batched asks for a device

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.full((x.shape[0], len(CLASS_NAMES), *x.shape[-2:]), -10.0)
        logits[:, 0] = 0.0
        logits[:, WINDOW_ID] = 20 * (x[:, 2] - 0.3)
        return logits


def _calibrate_bn(G: Generator, cfg: ModelConfig) -> None:
    """Running BN statistics := the statistics of one batch (then eval mode)."""
    for m in G.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    G.train()
    G(torch.randn(256, cfg.nz, generator=torch.Generator().manual_seed(1)))
    G.eval()


def painter_gan() -> tuple[Generator, ModelConfig]:
    """32 px, ngf 8: map PAINTER of up1 (the second-highest block) fires in sparse smooth blobs; map
    PAINTER of up2 (the penultimate block) relays it; only that relay paints blue."""
    cfg = ModelConfig.from_preset("examples", 32, ngf=8, ndf=8)
    torch.manual_seed(0)
    G = Generator(cfg)
    with torch.no_grad():
        k1 = G.get_layer("up1.conv").weight           # (C_in, C_out, 4, 4): a flat kernel -> smooth blobs
        k1[:, PAINTER] = k1[:, PAINTER].mean((1, 2), keepdim=True).expand_as(k1[:, PAINTER]).clone()
        k2 = G.get_layer("up2.conv").weight
        k2[:, PAINTER] = 0.0
        k2[PAINTER, PAINTER] = 0.5                    # the relay sees the painter only
        _calibrate_bn(G, cfg)
        bn1 = G.get_layer("up1.bn")
        bn1.weight.fill_(1.0)
        bn1.bias.zero_()
        bn1.bias[PAINTER] = -1.0                      # sparse: a few blobs per sample
        _calibrate_bn(G, cfg)                         # up1's stats are unchanged; later layers follow
        bn2 = G.get_layer("up2.bn")
        bn2.weight.fill_(1.0)
        bn2.bias.zero_()
        bn2.bias[PAINTER] = -0.5
        w = G.get_layer("out.conv").weight            # (C_in = 8, 3, 4, 4)
        w.zero_()
        w[:, 0] = 0.15                                # every map paints a little red ...
        w[:, 2] = -0.1                                # ... and no blue
        w[PAINTER, 2] = 1.5                           # except the relay: blue windows
        w[PAINTER, 0] = -1.0
    return G, cfg


@pytest.fixture(scope="module")
def painter():
    return painter_gan()


@pytest.fixture(scope="module")
def meter():
    return ClassMeter(BlueIsWindow().eval(), CLASS_NAMES)


# ------------------------------------------------------------------------------------ ablation arithmetic


def test_empty_mask_changes_nothing(painter):
    G, cfg = painter
    z = sample_z(6, cfg, seed=2)
    ref = generate(G, z)
    assert torch.equal(generate(G, z, "penultimate", []), ref)
    with torch.no_grad(), ablate(G, "penultimate", mask=torch.zeros(8, 16, 16), replacement="mean",
                                 means=torch.ones(8)):
        assert torch.equal(G(z), ref)
    assert n_hooks(G) == 0


def test_full_mask_gives_the_replacement(painter):
    G, cfg = painter
    z = sample_z(4, cfg, seed=3)
    r = torch.linspace(-1, 1, 8)
    with torch.no_grad(), ablate(G, "penultimate", mask=torch.ones(8), replacement=r), \
            record(G, ["penultimate"]) as rec:
        G(z)
    assert torch.equal(rec["penultimate"], r.view(1, 8, 1, 1).expand(4, 8, 16, 16))
    means = channel_means(G, "penultimate", z)
    with torch.no_grad(), ablate(G, "penultimate", channels=list(range(8)), replacement="mean", means=means), \
            record(G, ["penultimate"]) as rec:
        G(z)
    assert torch.allclose(rec["penultimate"], means.view(1, 8, 1, 1).expand(4, 8, 16, 16))
    # per-location: only cell (3, 4) of map 2 is replaced
    plain = layer_features(G, z)
    mask = torch.zeros(8, 16, 16)
    mask[2, 3, 4] = 1
    with torch.no_grad(), ablate(G, "penultimate", mask=mask, replacement="zero"), record(G, ["penultimate"]) as rec:
        G(z)
    diff = (rec["penultimate"] != plain).any(0)
    assert rec["penultimate"][:, 2, 3, 4].eq(0).all() and diff.sum() == int(diff[2, 3, 4])
    assert n_hooks(G) == 0


def test_no_hooks_left_also_on_error(painter):
    G, cfg = painter
    flags = [m.training for m in G.modules()]
    with pytest.raises(IndexError, match="out of range"):
        generate(G, sample_z(2, cfg), "penultimate", [99])
    assert n_hooks(G) == 0 and [m.training for m in G.modules()] == flags
    with pytest.raises(RuntimeError, match="boom"):
        with ablate(G, "penultimate", channels=[1]):
            raise RuntimeError("boom")
    assert n_hooks(G) == 0


# ------------------------------------------------------------------------------------ box -> cells


def test_box_cell_mask_centre_rule():
    # 64-px image, 32x32 cells (s = 2): centres at 1, 3, 5, ...
    m = box_cell_mask(np.array([[4, 6, 10, 12]]), (32, 32), 64)
    assert np.argwhere(m).tolist() == [[i, j] for i in (3, 4, 5) for j in (2, 3, 4)]
    # x1 / y1 exclusive: a box ending exactly on a centre does not take that cell
    assert np.argwhere(box_cell_mask([[0, 0, 3, 3]], (32, 32), 64)).tolist() == [[0, 0]]
    # 16x16 cells (s = 4): box [5, 13) x [0, 64) holds centres 6 and 10
    m = box_cell_mask([[5, 0, 13, 64]], (16, 16), 64)
    assert m.all(0).tolist() == [j in (1, 2) for j in range(16)] and m.sum() == 32
    # a box holding no centre marks the cell with its own centre; two boxes are OR-ed
    m = box_cell_mask([[8.2, 8.2, 8.8, 8.8], [60, 60, 64, 64]], (16, 16), 64)
    assert np.argwhere(m).tolist() == [[2, 2], [15, 15]]
    assert box_cell_mask([[0, 0, 64, 64]], (8, 8), 64).all()
    assert not box_cell_mask(np.zeros((0, 4)), (8, 8), 64).any()


def test_assemble_dataset_negatives():
    rng = np.random.default_rng(0)
    f = rng.random((4, 3, 8, 8)).astype(np.float32)
    boxes = [np.array([[0, 0, 16, 16]]), np.zeros((0, 4)), np.array([[32, 32, 64, 64], [0, 56, 8, 64]]),
             np.array([[0, 0, 64, 64]])]                          # s = 8
    ds = assemble_dataset(f, boxes, 64, "outside", seed=1)
    assert set(ds.image.tolist()) == {0, 2, 3}                    # an image without boxes adds nothing
    assert ds.y[ds.image == 3].tolist() == [1] * 64               # all box: no cell left for negatives
    for i in (0, 2):
        inside = box_cell_mask(boxes[i], (8, 8), 64)
        rows = ds.image == i
        assert ds.y[rows].sum() == inside.sum() == (ds.y[rows] == 0).sum()
        cells = ds.cell[rows]
        assert inside[cells[:, 0], cells[:, 1]].tolist() == (ds.y[rows] == 1).tolist()   # negatives outside
        assert np.array_equal(ds.X[rows], f[i][:, cells[:, 0], cells[:, 1]].T)
    again = assemble_dataset(f, boxes, 64, "outside", seed=1)
    assert np.array_equal(again.cell, ds.cell)
    rnd = assemble_dataset(f, boxes, 64, "random", seed=1)
    assert (rnd.image == 3).sum() == 128 and rnd.y[rnd.image == 3].sum() == 64   # any cell may be a negative
    with pytest.raises(ValueError, match="no boxes"):
        assemble_dataset(f, [np.zeros((0, 4))] * 4, 64)
    with pytest.raises(ValueError, match="negatives"):
        assemble_dataset(f, boxes, 64, "inside")


def test_fit_split_by_image_and_selection():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(40, 6, 8, 8)).astype(np.float32)
    boxes = [np.array([[rng.integers(0, 40), rng.integers(0, 40), 0, 0]]) + [0, 0, 24, 24] for _ in range(40)]
    for i, b in enumerate(boxes):  # map 4 fires on windows, map 1 avoids them
        m = box_cell_mask(b, (8, 8), 64)
        f[i, 4][m] += 3.0
        f[i, 1][m] -= 1.5
    ds = assemble_dataset(f, boxes, 64, "outside", seed=0)
    clf = fit_window_classifier(ds, seed=0)
    assert clf.auc > 0.95 and clf.n_train_images + clf.n_test_images == 40 and clf.n_test_images == 10
    assert np.argmax(clf.weights) == 4 and np.argmin(clf.weights) == 1
    assert ((clf.decision_function(ds.X) > 0) == ds.y).mean() > 0.8
    sel = select_maps(clf.weights)
    assert sel[0] == 4 and 1 not in sel and (clf.weights[sel] > 0).all()
    assert select_maps(np.array([0.1, -1, 0.5, 0.0])).tolist() == [2, 0]
    assert select_maps(np.array([0.1, -1, 0.5]), threshold=0.2).tolist() == [2]


def test_random_sets_and_curve_counts():
    a = random_map_sets(32, 10, 3, seed=4)
    assert a[0].tolist() == random_map_sets(32, 10, 3, seed=4)[0].tolist()
    assert all(len(set(s.tolist())) == 10 and s.max() < 32 for s in a)
    assert a[0].tolist() != a[1].tolist()
    assert curve_counts(32, 17, 6) == [1, 2, 4, 8, 17, 32]          # 16 is within 15 % of 17
    assert curve_counts(32, 0, 6) == [1, 2, 4, 8, 16, 32]
    assert curve_counts(8, 3, 4) == [1, 2, 3, 4, 8]


def test_config_validation():
    with pytest.raises(ValueError, match="negatives"):
        ForgetConfig(negatives="x")
    with pytest.raises(ValueError, match="replacement"):
        ForgetConfig(replacement="noise")


# ------------------------------------------------------------------------------------ end to end


def test_procedure_finds_the_painter_and_drop_removes_windows(painter, meter, tmp_path):
    G, cfg = painter
    z = sample_z(150 + 96, cfg, seed=0)
    za, ze = z[:150], z[150:]
    boxes = automatic_boxes(meter, generate(G, za))
    assert sum(len(b) > 0 for b in boxes) > 100
    pen = find_window_maps(G, za, boxes, 32, ForgetConfig(layer="penultimate", n_random=2))
    assert pen.layer == "up2.act" and pen.n_channels == 8 and pen.feature_hw == (16, 16)
    assert pen.ranking[0] == PAINTER and pen.classifier.auc > 0.8
    res = find_window_maps(G, za, boxes, 32, ForgetConfig(n_random=2))   # default: the second-highest block
    assert res.layer == "up1.act" and res.n_channels == 16 and res.feature_hw == (8, 8)
    assert res.ranking[0] == PAINTER and PAINTER in res.dropped.tolist()
    assert res.classifier.auc > 0.7 and 0 < res.maps_dropped < 16
    data = compute_fig6(G, za, boxes, ze, ForgetConfig(n_random=2), meter, n_show=6, n_curve=48, curve_points=4)
    n = data.numbers
    assert n["window_frac_before"] > 0.05
    assert n["window_frac_after"] < 0.5 * n["window_frac_before"]
    assert n["window_frac_after"] <= n["window_frac_random_control"]
    assert n["maps_dropped"] == res.maps_dropped and n["auc"] == pytest.approx(res.classifier.auc)
    assert set(n["other_classes_change"]) == {"bed", "wall", "floor"} and n["other_classes_abs_change"] >= 0
    assert data.rows.shape == (3, 6, 3, 32, 32) and data.rows.dtype == np.uint8
    assert np.array_equal(data.rows[0], (((generate(G, ze[:6]).clamp(-1, 1) + 1) * 127.5).round()).byte().numpy())
    c = data.curve
    assert c.counts[0] == 1 and c.counts[-1] == 16 and res.maps_dropped in c.counts
    assert c.ranked[0] < 0.1 * c.base            # the top-ranked map alone removes the windows ...
    assert c.random[0] > 0.8 * c.base            # ... one random map does not
    png = save_figure(plot_fig6(data, fig6_title(data, "painter")), tmp_path / "fig6.png")
    assert png.stat().st_size > 20_000
    assert n_hooks(G) == 0


def test_fig6_registered_figure_writes_metrics(painter, tmp_path, monkeypatch):
    G, cfg = painter
    monkeypatch.setattr(fctx, "get_instrument", lambda name, **kw: BlueIsWindow().eval())
    gan = LoadedGAN(G, None, cfg, {"dataset": {"name": "rooms"}, "epoch": 1})
    ctx = FigureContext(out=tmp_path, quick=True, gan_override=gan, progress=False)
    res = run_figure("fig6", ctx)
    m = read_metrics(tmp_path / "metrics.json")["fig6"]
    for key in ("window_frac_before", "window_frac_after", "window_frac_random_control", "other_classes_abs_change",
                "maps_dropped", "auc"):
        assert m[key] is not None, key
    assert m["window_frac_after"] < m["window_frac_before"] and m["seed"] == 0 and m["data"] == "rooms"
    assert res.png_paths[0].name == "fig6_forget_windows.png" and res.png_paths[0].is_file()
    # a model of other data: no segmenter; without boxes nothing is measured, with boxes the fit is
    other = LoadedGAN(G, None, cfg, {"dataset": {"name": "lsun_bedroom"}})
    ctx = FigureContext(out=tmp_path / "o", quick=True, gan_override=other, progress=False)
    m = run_figure("fig6", ctx).metrics
    assert m["maps_dropped"] is None and "boxes" in m["note"]
    meter = ClassMeter(BlueIsWindow().eval(), CLASS_NAMES)
    boxes = automatic_boxes(meter, generate(G, sample_z(150, cfg, seed=0)))
    csv = write_boxes(tmp_path / "boxes.csv", [Box(i, *b) for i, arr in enumerate(boxes) for b in arr.tolist()])
    from interp.figures.forget_windows import fig6

    res = fig6(ctx, boxes=csv)
    m = res.metrics
    assert m["maps_dropped"] >= 1 and m["auc"] > 0.7 and m["window_frac_before"] is None
    assert "segmenter" in m["note"] and m["boxes"] == str(csv) and res.png_paths[0].is_file()
    # no segmenter: measured on the held-out quarter of the annotated samples, inside vs outside their boxes;
    # the painter's window maps change the boxed windows far more selectively than random maps (which may hit it)
    assert m["n_heldout_annotated"] == 150 // 4 and "held-out" in m["heldout_measure"]
    assert m["heldout_box_change_ratio"] > 2 * m["heldout_box_change_ratio_random_control"], m
    # and a window classifier fitted downstream (the penultimate block) sees the windows go, not the random drop
    assert m["heldout_classifier_layer"] == "up2.act" and m["heldout_classifier_auc"] > 0.8
    before, after = m["heldout_classifier_window_prob_before"], m["heldout_classifier_window_prob_after"]
    assert after < 0.5 * before and m["heldout_classifier_window_prob_random_control"] > after


def test_cli_sheet_then_run(painter, tmp_path, capsys):
    G, cfg = painter
    ck = save_checkpoint(tmp_path / "ck" / "final", G, Discriminator(cfg), cfg, {"dataset": {"name": "lsun"}})
    assert forget_main(["sheet", "--checkpoint", str(ck), "--n", "40", "--out", str(tmp_path / "kit")]) == 0
    assert (tmp_path / "kit" / "sheet.png").is_file() and (tmp_path / "kit" / "samples" / "sample_0039.png").is_file()
    meter = ClassMeter(BlueIsWindow().eval(), CLASS_NAMES)
    boxes = automatic_boxes(meter, generate(G, sample_z(40, cfg, seed=0)))
    csv = tmp_path / "kit" / "boxes.csv"
    write_boxes(csv, [Box(i, *b) for i, arr in enumerate(boxes) for b in arr.tolist()])
    out = tmp_path / "out"
    assert forget_main(["run", "--checkpoint", str(ck), "--n", "40", "--boxes", str(csv), "--out", str(out),
                        "--show", "5"]) == 0
    assert "maps dropped" in capsys.readouterr().out
    assert (out / "fig6_forget_windows.png").is_file() and (out / "forget.json").is_file()
    csv.write_text("image,x0,y0,x1,y1\n0,1,1,zz,3\n")
    assert forget_main(["run", "--checkpoint", str(ck), "--n", "40", "--boxes", str(csv), "--out", str(out)]) == 2
    assert "boxes.csv, line 2" in capsys.readouterr().err


# ------------------------------------------------------------------------------------ hand annotation


class FakeWidget:
    def __init__(self, bboxes):
        self.bboxes = bboxes


def test_hand_annotation_session_and_fallbacks(painter, tmp_path, capsys):
    from interp.notebooks.annotation import AnnotationSession

    G, cfg = painter
    s = AnnotationSession.create(G, cfg, n=12, seed=0, work=tmp_path / "w", segmenter=BlueIsWindow().eval(),
                                 class_names=CLASS_NAMES, cols=4)
    assert s.sheet_path.is_file() and s.layout.rows == 3
    auto = s.collect()                                           # nothing drawn, no file: the segmenter's boxes
    assert "automatic" in s.source and len(auto) == 12 and not s.boxes_path.exists()
    ox, oy = s.layout.origin(7)
    s._widget = FakeWidget([{"x": ox + 2, "y": oy + 4, "width": 10, "height": 6, "label": "window"}])
    drawn = s.collect()                                          # drawn boxes win and are saved
    assert "drawn" in s.source and drawn[7].tolist() == [[1, 2, 6, 5]] and sum(map(len, drawn)) == 1
    assert s.boxes_path.is_file() and (tmp_path / "w" / "boxes.json").is_file()
    s._widget = None
    again = s.collect()                                          # headless re-run: the saved CSV
    assert "drawn earlier" in s.source and again[7].tolist() == [[1, 2, 6, 5]]
    other = write_boxes(tmp_path / "mine.csv", [Box(3, 0, 0, 8, 8)])
    assert s.collect(other)[3].tolist() == [[0, 0, 8, 8]] and "imported" in s.source
    bare = AnnotationSession.create(G, cfg, n=4, work=tmp_path / "bare")
    with pytest.raises(ValueError, match="no window boxes"):
        bare.collect()


def test_hand_annotation_survives_a_kernel_restart(painter, tmp_path, capsys):
    """A new session on the same work folder (what a kernel restart gives) shows the saved boxes on the
    widget; drawing one more box keeps the earlier ones (merged, old file backed up); only clear()
    removes saved boxes, and never without a backup. Imported or automatic boxes never touch the file."""
    pytest.importorskip("jupyter_bbox_widget")
    from interp.notebooks.annotation import AnnotationSession

    G, cfg = painter
    work = tmp_path / "w"
    first = AnnotationSession.create(G, cfg, n=12, work=work, cols=4)
    ox, oy = first.layout.origin(7)
    first.widget().bboxes = [{"x": ox + 2, "y": oy + 4, "width": 10, "height": 6, "label": "window"}]
    first.collect()
    assert read_boxes(first.boxes_path) == [Box(7, 1, 2, 6, 5)]

    second = AnnotationSession.create(G, cfg, n=12, work=work, cols=4)   # after the restart
    w = second.widget()
    assert len(w.bboxes) == 1 and second.layout.to_sample(**{k: w.bboxes[0][k] for k in ("x", "y", "width", "height")}) \
        == Box(7, 1, 2, 6, 5)
    ox, oy = second.layout.origin(2)
    w.bboxes = [*w.bboxes, {"x": ox, "y": oy, "width": 8, "height": 8, "label": "window"}]
    per = second.collect()
    assert sorted(read_boxes(second.boxes_path), key=lambda b: b.image) == [Box(2, 0, 0, 4, 4), Box(7, 1, 2, 6, 5)]
    assert per[2].tolist() == [[0, 0, 4, 4]] and per[7].tolist() == [[1, 2, 6, 5]]
    assert read_boxes(work / "boxes.bak1.csv") == [Box(7, 1, 2, 6, 5)]
    assert "1 new, 1 saved earlier" in second.source
    w.bboxes = []                                    # deleting on the widget does not delete saved boxes ...
    second.collect()
    assert len(read_boxes(second.boxes_path)) == 2
    other = write_boxes(tmp_path / "mine.csv", [Box(3, 0, 0, 8, 8)])
    second.collect(other)                             # ... nor does an import
    assert len(read_boxes(second.boxes_path)) == 2
    backup = second.clear()                           # only this does, with a backup
    assert not second.boxes_path.exists() and len(read_boxes(backup)) == 2 and w.bboxes == []


def test_hand_annotation_notebook_builds():
    """The hand-annotation notebook comes from the one notebook builder: a tagged parameters cell
    that takes injected values, the drawing and fitting sections, valid Python everywhere."""
    import ast

    import nbformat

    from interp.notebooks.build import ParameterError, build_notebook, inject_parameters
    from interp.notebooks.specs import notebook_specs

    spec = next(s for s in notebook_specs() if s.name == "fig6_annotate_by_hand")
    nb = build_notebook(spec)
    nbformat.validate(nb)
    assert [c.id for c in nb.cells] == ["title", "parameters", "setup", "draw-help", "draw", "fit-help", "fit",
                                        "reading", "verdict"]
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    inject_parameters(nb, {"QUICK": True, "CHECKPOINT": "runs/x"})
    assert "QUICK = True" in tagged[0].source and "CHECKPOINT = 'runs/x'" in tagged[0].source
    for c in nb.cells:
        if c.cell_type == "code":
            ast.parse(c.source)
    with pytest.raises(ParameterError, match="NOPE"):
        inject_parameters(nb, {"NOPE": 1})
