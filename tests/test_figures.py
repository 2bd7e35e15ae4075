"""interp.figures: registry, CLI, metrics.json merging, Fig. 4 walks, nn_ratio, FD fields, end to end.

Everything runs on tiny random generators at 32 px and a random (untrained) quick-size segmenter
patched in for the instrument (training the real quick segmenter costs ~25 s on a shared CPU);
the data cache is a tmp dir."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from interp.analysis.memorization import nn_ratio
from interp.analysis.samples import compute_samples
from interp.analysis.walks import compute_latent_walks, lerp, slerp, walk_latents
from interp.cli.figures import main
from interp.core.config import ModelConfig
from interp.core.models import Discriminator, Generator
from interp.figures import (
    FIGURES,
    FigureContext,
    list_figures,
    read_metrics,
    register_figure,
    update_metrics,
)
from interp.figures import context as fctx
from interp.instruments import FaceAttributeNet, RoomSegmenter
from interp.io.checkpoint import LoadedGAN, load_gan, save_checkpoint


@pytest.fixture
def fake_instrument(monkeypatch, stand_in_domain):
    """A random quick-size segmenter stands in for the trained instrument (exercises the code path)."""
    torch.manual_seed(0)
    seg = RoomSegmenter(n_classes=11, widths=(8, 16, 32)).eval()
    att = FaceAttributeNet(widths=(8, 16, 24, 32)).eval()  # for the faces figures (Figs. 7, 8)
    calls = []

    def get(name, *, quick=False, progress=True):
        calls.append((name, quick))
        assert name in ("room_segmenter", "face_attributes")
        return seg if name == "room_segmenter" else att

    monkeypatch.setattr(fctx, "get_instrument", get)
    monkeypatch.setattr(fctx, "get_domain", stand_in_domain({"room_segmenter": seg, "face_attributes": att}))
    return calls


def tiny_gan(seed: int = 0, distribution: str = "normal"):
    cfg = ModelConfig.from_preset("examples", 32, ngf=8, ndf=8, z_distribution=distribution)
    torch.manual_seed(seed)
    return Generator(cfg).eval(), Discriminator(cfg).eval(), cfg


@pytest.fixture
def tiny_run(tmp_path):
    """A run directory with epoch_001, epoch_005 and final checkpoints 'trained' on rooms."""
    run = tmp_path / "run"
    meta = {"dataset": {"name": "rooms", "world": "rooms", "seed": 0, "split": "train", "num_images": 10000,
                        "num_images_used": 128, "image_size": 32}, "seed": 0}
    for i, name in ((1, "epoch_001"), (5, "epoch_005"), (5, "final")):
        G, D, cfg = tiny_gan(seed=i)
        save_checkpoint(run / "checkpoints" / name, G, D, cfg, {**meta, "epoch": i, "step": 10 * i})
    return run


# ----------------------------------------------------------------------------- registry / CLI


def test_registry_lists_paper_figures():
    names = list_figures()
    assert names[:3] == ["fig2", "fig3", "fig4"] and "memorization" in names
    assert all(FIGURES[n].world == "rooms" for n in ("fig2", "fig3", "fig4", "memorization"))
    with pytest.raises(ValueError, match="already registered"):
        register_figure("fig4")(lambda ctx: None)


def test_cli_list_and_unknown_name(capsys):
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    assert "fig4" in out and "memorization" in out
    assert main(["--only", "fig4", "fig99"]) == 2
    err = capsys.readouterr().err
    assert "fig99" in err and "fig2, fig3, fig4" in err
    assert main([]) == 2


# ----------------------------------------------------------------------------- metrics.json


def test_update_metrics_merges_sections_and_fixed_keys(tmp_path):
    path = tmp_path / "m" / "metrics.json"
    prov = {"checkpoint": "a.safetensors", "data": "rooms", "seed": 3, "quick": True}
    update_metrics(path, "fig2", {"fd": 1.5, "fd_floor": np.float32(0.25)}, provenance=prov)
    update_metrics(path, "fig4", {"max_step_ratio": float("nan"), "extra": np.arange(2)}, provenance=prov)
    data = json.loads(path.read_text())
    assert set(data) == {"fig2", "fig4"}
    assert data["fig2"] == {**prov, "fd": 1.5, "fd_floor": 0.25}
    assert data["fig4"]["max_step_ratio"] is None and "max_step_ratio" in data["fig4"]["note"]
    assert data["fig4"]["extra"] == [0, 1]
    update_metrics(path, "memorization", {"note": "no ground truth"}, provenance=prov)
    data = read_metrics(path)
    assert data["memorization"]["nn_ratio"] is None and data["memorization"]["note"] == "no ground truth"
    assert data["fig2"]["fd"] == 1.5  # other sections kept
    update_metrics(path, "fig2", {"fd": 2.0, "fd_floor": 0.3}, provenance=prov)
    assert read_metrics(path)["fig2"]["fd"] == 2.0 and "fig4" in read_metrics(path)
    with pytest.raises(ValueError, match="provenance"):
        update_metrics(path, "fig2", {"fd": 1.0})
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


# ----------------------------------------------------------------------------- Fig. 4


def test_walk_endpoints_steps_and_ratio():
    G, _, cfg = tiny_gan()
    data = compute_latent_walks(G, cfg, n_rows=2, n_points=4, steps=2, measure_steps=4, seed=1)
    assert data.frames.shape == (2, 3 * 2 + 1, 3, 32, 32) and data.frames.dtype == np.uint8
    assert data.z.shape == (2, 3 * 4 + 1, cfg.nz) and data.step_l2.shape == (2, 12)
    assert torch.equal(data.z[:, ::4], data.anchors)  # walks pass exactly through the anchors
    with torch.no_grad():
        direct = G(data.anchors.reshape(-1, cfg.nz)).view(2, 4, 3, 32, 32)
    torch.testing.assert_close(data.anchor_images, direct, rtol=0, atol=1e-5)
    assert data.max_step_ratio >= 1.0 and np.all(data.step_ratio >= 1.0)
    assert data.max_step_ratio == pytest.approx(float(data.step_ratio.max()))


def test_lerp_and_slerp_endpoints_and_norms():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(100, generator=g), 2.5 * torch.randn(100, generator=g)
    t = torch.linspace(0, 1, 11)
    for fn in (lerp, slerp):
        path = fn(a, b, t)
        assert torch.equal(path[0], a) and torch.equal(path[-1], b)
    norms = slerp(a, b, t).norm(dim=1)
    lo, hi = sorted((a.norm().item(), b.norm().item()))
    assert torch.all(norms >= lo - 1e-4) and torch.all(norms <= hi + 1e-4)
    assert torch.all(torch.diff(norms) > 0)  # monotone between the endpoint norms
    assert lerp(a, b, t).norm(dim=1).min() < lo - 1  # linear cuts through the inside (the reason for slerp)
    z = walk_latents(torch.stack([a, b, a])[None], steps=5, method="slerp")
    assert z.shape == (1, 11, 100)
    with pytest.raises(ValueError):
        walk_latents(torch.stack([a, b])[None], steps=2, method="cubic")


# ----------------------------------------------------------------------------- memorisation / FD


def test_nn_ratio_detects_copies(cache):
    from interp.data import open_dataset

    train = open_dataset("rooms", split="train", n=200, image_size=32).uint8_images()
    held = open_dataset("rooms", split="test", n=200, image_size=32).uint8_images()
    fresh = open_dataset("rooms", split="val", n=60, image_size=32).uint8_images()
    honest = nn_ratio(fresh, train, held)
    assert 0.8 < honest["nn_ratio"] < 1.25, honest["nn_ratio"]
    rng = np.random.default_rng(0)
    copies = np.clip(train[:60].astype(int) + rng.integers(-3, 4, size=train[:60].shape), 0, 255).astype(np.uint8)
    memorised = nn_ratio(copies, train, held)
    assert memorised["nn_ratio"] < 0.2, memorised["nn_ratio"]
    assert np.array_equal(memorised["i_train"], np.arange(60))
    with pytest.raises(ValueError, match="same size"):
        nn_ratio(fresh, train, held[:100])


def test_fd_fields_present_or_null_with_note(cache):
    G, D, cfg = tiny_gan()


    gan = LoadedGAN(G, D, cfg, {"epoch": 1})
    seg = RoomSegmenter(widths=(8, 16, 32)).eval()
    d = compute_samples(gan, "rooms", seg, n=32, n_show=16, n_real_a=64)
    assert d.images.shape == (16, 3, 32, 32)
    assert isinstance(d.fd, float) and isinstance(d.fd_floor, float) and d.fd >= 0 and d.fd_floor >= 0
    d2 = compute_samples(gan, None, None, n=16, n_show=16)
    assert d2.fd is None and d2.fd_floor is None and "no ground truth" in d2.note


# ----------------------------------------------------------------------------- end to end


def test_cli_fig4_end_to_end(tmp_path, tiny_run, cache, fake_instrument):
    out = tmp_path / "figs"
    ck = tiny_run / "checkpoints" / "final.safetensors"
    assert main(["--only", "fig4", "--quick", "--checkpoint", str(ck), "--out", str(out), "--no-progress"]) == 0
    assert (out / "fig4_latent_walk.png").stat().st_size > 10_000
    m = read_metrics(out / "metrics.json")["fig4"]
    assert m["max_step_ratio"] >= 1.0 and m["checkpoint"] == str(ck) and m["data"] == "rooms"
    assert m["seed"] == 0 and m["quick"] is True and len(m["window_range_per_walk"]) == 6
    assert fake_instrument == [("room_segmenter", True)]


def test_all_figures_from_run_dir(tmp_path, tiny_run, cache, fake_instrument, monkeypatch):
    """--checkpoint replaces the default model of EVERY figure: Figs. 7-8 (faces figures) draw the given
    rooms model too, with their faces-only numbers null and a note; no default model is touched."""
    out = tmp_path / "figs"
    monkeypatch.setenv("INTERP_QUICK_FACES_RUN", str(tmp_path / "must-not-be-used"))
    assert main(["--all", "--quick", "--checkpoint", str(tiny_run), "--out", str(out), "--no-progress"]) == 0
    m = read_metrics(out / "metrics.json")
    assert {"fig2", "fig3", "fig4", "memorization", "fig7", "fig8"} <= set(m)
    assert not (tmp_path / "must-not-be-used").exists()
    for s in ("fig4", "fig7", "fig8"):
        assert m[s]["data"] == "rooms" and m[s]["checkpoint"].startswith(str(tiny_run)), s
    assert m["fig7"]["success"] is None and "no attribute classifier" in m["fig7"]["note"]
    assert m["fig8"]["spearman"] is None and "no yaw regressor" in m["fig8"]["note"]
    assert m["fig2"]["checkpoint"].endswith("epoch_001.safetensors") and m["fig2"]["epoch"] == 1
    assert m["fig3"]["checkpoint"].endswith("epoch_005.safetensors") and m["fig3"]["epoch"] == 5
    for s in ("fig2", "fig3"):  # an untrained generator is farther from real renders than real is from real
        assert m[s]["fd"] > m[s]["fd_floor"] >= 0, m[s]
        assert 0 <= m[s]["near_duplicate_share"] <= 1 and m[s]["nn_distance_ratio"] >= 0, m[s]
    # nothing memorised: nearest training and held-out images (same size, same law) are about as far
    assert 0.8 < m["memorization"]["nn_ratio"] < 1.25 and m["memorization"]["n_reference"] == 128
    # every measured claim is judged against its aim in the section (and the figure's title)
    aim = m["memorization"]["aims"]["nn_ratio"]
    assert aim["value"] == m["memorization"]["nn_ratio"] and aim["met"] == (0.95 <= aim["value"] <= 1.05)
    assert "aims" not in m["fig7"] and "aims" not in m["fig4"]  # nothing measured / no claim
    summary = (out / "summary.md").read_text()  # the tables beside metrics.json
    assert "## Paper figures" in summary and f"| {m['memorization']['nn_ratio']:.3f} |" in summary
    for name in ("fig2_samples_epoch1.png", "fig3_samples_epoch5.png", "fig4_latent_walk.png", "memorization_nn.png"):
        assert (out / name).is_file()
    # a checkpoint on non-world data: numbers null with a note, PNG still drawn
    G, D, cfg = tiny_gan()
    other = save_checkpoint(tmp_path / "other", G, D, cfg, {"dataset": {"name": "cifar10"}, "epoch": 1})
    ctx = FigureContext(out=out, quick=True, checkpoint=other, progress=False)
    from interp.figures import run_figure

    res = run_figure("fig2", ctx)
    assert res.metrics["fd"] is None and "no ground truth" in res.metrics["note"]
    assert "epoch-1 checkpoint" in res.metrics["note"]
    assert load_gan(other).meta["epoch"] == 1


def test_figures_cli_user_errors_are_one_line(tmp_path, capsys):
    """A refused pickle says so in one line (no traceback, not "not a readable safetensors file"), and
    nothing is announced as written when nothing was."""
    import os

    class Evil:
        def __reduce__(self):
            return (os.system, ("true",))

    evil = tmp_path / "netG_epoch_3.pth"
    torch.save({"main.0.weight": Evil()}, evil)
    out = tmp_path / "figs"
    code = main(["--only", "fig4", "--quick", "--checkpoint", str(evil), "--out", str(out), "--no-progress"])
    captured = capsys.readouterr()
    assert code == 1 and "Traceback" not in captured.err
    assert "refused" in captured.err and "safetensors" not in captured.err
    assert "nothing was written" in captured.err and "metrics" not in captured.out
    assert not (out / "metrics.json").exists()
    with pytest.raises(SystemExit):
        main(["--only", "fig4", "--seed", "-1"])
    assert "argument --seed: must be >= 0" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert main(["--only", "fig4", "--device", "cuda", "--out", str(out)]) == 2
        assert "--device cuda: CUDA is not available" in capsys.readouterr().err


def test_checkpoint_replaces_the_model_of_every_figure_and_data_may_not_contradict(tmp_path, fake_instrument, capsys):
    """fig4 with a faces checkpoint draws THAT model (it used to draw the rooms default model), and a
    --data that contradicts the checkpoint's metadata is an error naming the flag."""
    G, D, cfg = tiny_gan(seed=3)
    faces = save_checkpoint(tmp_path / "faces_model", G, D, cfg, {"dataset": {"name": "faces"}, "epoch": 4})
    out = tmp_path / "figs"
    assert main(["--only", "fig4", "--quick", "--checkpoint", str(faces), "--out", str(out), "--no-progress"]) == 0
    m = read_metrics(out / "metrics.json")["fig4"]
    assert m["checkpoint"] == str(faces) and m["data"] == "faces"
    assert f"model: {faces} (data: faces)" in capsys.readouterr().out  # the run says which model each figure drew
    code = main(["--only", "fig4", "--quick", "--checkpoint", str(faces), "--data", "rooms", "--out",
                 str(tmp_path / "o2"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and "--data rooms" in err and "'faces'" in err and "Traceback" not in err


def test_titles_name_the_file_when_the_epoch_is_unknown(tmp_path):
    G, D, cfg = tiny_gan()
    gan = LoadedGAN(G, D, cfg, {"dataset": {"name": "rooms"}}, tmp_path / "netG_epoch_24.pth")
    ctx = FigureContext(out=tmp_path, quick=True, gan_override=gan, progress=False)
    assert ctx.model_label(gan) == "rooms, netG_epoch_24.pth"
    gan.meta["epoch"] = 7
    assert ctx.model_label(gan) == "rooms, epoch 7"


# ----------------------------------------------------------------------------- robustness across models


def test_claims_hand_computed():
    from interp.analysis.robustness import collect_numbers, evaluate_claims

    per_model = [
        {"fig5": {"object_energy_trained": 0.6, "object_energy_random": 0.3, "seed": 0},
         "fig6": {"window_removed": 0.7, "window_removed_random_control": -0.25, "other_classes_abs_change": 0.01},
         "fig8": {"spearman": -0.95}, "memorization": {"nn_ratio": 1.1, "note": "text"}},
        {"fig6": {"window_removed": 0.5, "window_removed_random_control": 0.1, "other_classes_abs_change": None},
         "fig8": {"spearman": 0.85}, "memorization": {"nn_ratio": 0.97, "flag": True}},
    ]
    claims = evaluate_claims(per_model)
    assert claims["fig5.trained_over_random_object_energy"] == {
        "figure": "fig5", "aim": ">= 1.5", "aim_levels": [1.5], "values": [2.0, None], "meets": [True, None],
        "holds": 1, "of": 1}
    assert claims["fig6.window_removed"]["meets"] == [True, False] and claims["fig6.window_removed"]["holds"] == 1
    assert claims["fig6.window_removed_random_control"]["meets"] == [False, True]
    assert claims["fig6.other_classes_abs_change"]["of"] == 1
    assert claims["fig8.abs_spearman"]["values"] == [0.95, 0.85] and claims["fig8.abs_spearman"]["holds"] == 1
    assert claims["memorization.nn_ratio"]["meets"] == [False, True]
    assert "fig7.success" not in claims  # measured on no model
    # a value read by an instrument outside its domain counts for neither side
    ood = evaluate_claims([{"fig8": {"spearman": -0.95, "in_domain": False}}, {"fig8": {"spearman": -0.5}}])
    assert ood["fig8.abs_spearman"]["meets"] == [None, False] and ood["fig8.abs_spearman"]["of"] == 1
    assert ood["fig8.abs_spearman"]["holds"] == 0 and ood["fig8.abs_spearman"]["out_of_domain"] == [0]
    numbers = collect_numbers(per_model)
    assert numbers["fig6"]["window_removed"] == [0.7, 0.5]
    assert numbers["fig6"]["other_classes_abs_change"] == [0.01, None]
    assert numbers["fig5"] == {"object_energy_random": [0.3, None], "object_energy_trained": [0.6, None]}
    assert set(numbers["memorization"]) == {"nn_ratio"}  # no bool, no text, no seed


def test_table1_on_a_world_model_uses_the_solver_asked_for(tmp_path, tiny_run, cache):
    """--option table1.solver=torch reaches the rooms probe (it used to be accepted and ignored) and agrees
    with the default liblinear solver."""
    from interp.figures import run_figure

    got = {}
    for solver in ("liblinear", "torch"):
        ctx = FigureContext(out=tmp_path / solver, quick=True, checkpoint=tiny_run, progress=False,
                            options={"table1": {"solver": solver, "draws": 1}})
        got[solver] = run_figure("table1", ctx).metrics
    assert got["liblinear"]["solver"].startswith("LinearSVC") and got["torch"]["solver"].startswith("TorchLinearSVM")
    assert abs(got["liblinear"]["accuracy"] - got["torch"]["accuracy"]) <= 0.05


def test_summary_tables_by_hand():
    from interp.figures.summary import summary_markdown

    metrics = {
        "fig6": {"window_removed": 0.71, "window_removed_random_control": 0.05, "other_classes_abs_change": 0.02,
                 "checkpoint": "zoo/rooms/checkpoints/final.safetensors"},
        "fig8": {"spearman": -0.95, "spearman_random_direction": 0.1, "in_domain": False, "checkpoint": "x.safetensors"},
        "directions": {"attributes": ["smiling"], "instrument": "face_attributes", "n_pool": 10, "n_walk": 2,
                       "methods": {"sefa": {"smiling": {"relative_effect": 0.5, "monotonicity": 0.6,
                                                        "relative_entanglement": 0.1, "outside_change": None}},
                                   "exemplar_mean": {}, "random": {}},
                       "best_method": {"smiling": "sefa"}, "not_found": []},
        "dissection": {"layer": "up2.act", "n_units": 64, "n_fit": 3, "n_eval": 4, "counts": [1, 2],
                       "ablated_classes": ["bed"],
                       "classes": {"bed": {"share_before": 0.1, "top_units": [7], "top_iou": [0.25],
                                           "removed_ranked": [0.3, 0.5], "removed_random": [0.0, 0.1],
                                           "removed_ranked_ci": [[0.2, 0.4], [0.4, 0.6]]}},
                       "windows": {"removed": {"iou": [0.1, 0.2], "random": [0.0, 0.01]}}},
        "robustness": {"models": [{"label": "rooms-s0"}, {"label": "rooms-s1"}],
                       "claims": {"fig6.window_removed": {"aim": ">= 0.6", "values": [0.71, 0.5], "meets": [True, False],
                                                          "holds": 1, "of": 2}}},
    }
    text = summary_markdown(metrics)
    assert "| `fig6` | window pixels removed (random maps; other classes' mean abs change) | 0.71 (0.05; 0.020) |" in text
    assert "| meets | `rooms` |" in text  # all three fig6 aims met, drawn from the shipped rooms model
    assert "no verdict (out of the instrument's domain) | `x.safetensors` |" in text  # fig8 is out of domain
    assert "| `sefa` | 0.50 / +0.60 / 0.10 |" in text and "| `random` | — |" in text and "smiling: `sefa`" in text
    assert "| bed | 10.0% | 7 (0.250) | 0.30 [0.20, 0.40] (0.00) | 0.50 [0.40, 0.60] (0.10) |" in text
    assert "| `iou` | 0.10 | 0.20 |" in text
    assert text.index("`sefa`") < text.index("`exemplar_mean`") < text.index("| `random` | —")  # the figure's order
    assert "| `fig6.window_removed` | >= 0.6 | 0.71 ✓ | 0.5 ✗ | 1/2 |" in text
    assert "##" not in summary_markdown({}).split("\n", 2)[2]  # no sections, no tables


def test_one_models_verdicts_go_into_its_section_and_title():
    from interp.analysis.robustness import claim_verdicts
    from interp.figures.context import aims_title

    v = claim_verdicts("fig6", {"window_removed": 0.51, "window_removed_random_control": 0.04})
    assert v["window_removed"] == {"aim": ">= 0.6", "value": 0.51, "met": False}
    assert v["window_removed_random_control"]["met"] is True
    assert v["other_classes_abs_change"] == {"aim": "<= 0.05", "value": None, "met": None}
    line = aims_title(v)
    assert "window removed 0.51 (MISSES the aim >= 0.6)" in line and "other classes" not in line
    assert aims_title(claim_verdicts("fig7", {"success": None})) == "" and claim_verdicts("fig4", {}) == {}
    # measured by an instrument outside its domain: no verdict either way
    ood = claim_verdicts("fig8", {"spearman": -0.95, "in_domain": False})
    assert ood["abs_spearman"]["met"] is None and ood["abs_spearman"]["out_of_domain"] is True
    assert "not judged" in aims_title(ood) and "meets" not in aims_title(ood)


def test_robustness_cli_draws_each_model_and_counts_claims(tmp_path, cache, fake_instrument):
    """--robustness: every chosen figure on each model (its own folder), one list per number aligned with
    the models, each claim counted, and the plot; a model of no world is refused in one line."""
    runs = []
    for seed in (1, 2):
        run = tmp_path / f"run{seed}"
        meta = {"dataset": {"name": "rooms", "world": "rooms", "seed": 0, "split": "train", "num_images": 10000,
                            "num_images_used": 128, "image_size": 32}, "seed": seed}
        for i, name in ((1, "epoch_001"), (5, "epoch_005"), (5, "final")):
            G, D, cfg = tiny_gan(seed=10 * seed + i)
            save_checkpoint(run / "checkpoints" / name, G, D, cfg, {**meta, "epoch": i, "step": 10 * i})
        runs.append(str(run))
    out = tmp_path / "figs"
    assert main(["--robustness", *runs, "--only", "fig2", "memorization", "fig7", "--quick", "--out", str(out),
                 "--no-progress"]) == 0
    r = read_metrics(out / "metrics.json")["robustness"]
    assert [m["label"] for m in r["models"]] == ["rooms-s1", "rooms-s2"]
    assert "fig7" not in r  # a faces figure is not drawn on a rooms model
    assert len(r["fig2"]["fd"]) == 2 and all(v > 0 for v in r["fig2"]["fd"])
    each = [read_metrics(out / "robustness" / label / "metrics.json") for label in ("rooms-s1", "rooms-s2")]
    assert r["fig2"]["fd"] == [e["fig2"]["fd"] for e in each]
    claim = r["claims"]["memorization.nn_ratio"]
    assert claim["values"] == [e["memorization"]["nn_ratio"] for e in each] and claim["of"] == 2
    assert claim["holds"] == sum(0.95 <= v <= 1.05 for v in claim["values"])
    assert (out / "robustness.png").stat().st_size > 5_000
    assert "| `memorization.nn_ratio` |" in (out / "summary.md").read_text()
    # the same in two worker processes: the same numbers (memorisation only: spawned workers do not see
    # this test's stand-in instrument, so their FDs come from the real quick feature net)
    assert main(["--robustness", *runs, "--only", "memorization", "--quick", "--out", str(tmp_path / "j2"),
                 "--no-progress", "--jobs", "2"]) == 0
    r2 = read_metrics(tmp_path / "j2" / "metrics.json")["robustness"]
    assert r2["memorization"] == r["memorization"] and r2["claims"] == r["claims"]
    G, D, cfg = tiny_gan()
    other = save_checkpoint(tmp_path / "other", G, D, cfg, {"dataset": {"name": "cifar10"}, "epoch": 1})
    assert main(["--robustness", str(other), "--quick", "--out", str(out), "--no-progress"]) == 2


@pytest.mark.slow
def test_jobs_draw_the_same_figures_in_worker_processes(tmp_path, tiny_run, cache):
    """--jobs 2 (spawned workers, one thread each, models and instruments prepared first) writes the same
    sections and numbers as one process."""
    common = ["--only", "fig4", "memorization", "--quick", "--checkpoint", str(tiny_run), "--no-progress"]
    assert main([*common, "--out", str(tmp_path / "one")]) == 0
    assert main([*common, "--out", str(tmp_path / "two"), "--jobs", "2"]) == 0
    one, two = read_metrics(tmp_path / "one" / "metrics.json"), read_metrics(tmp_path / "two" / "metrics.json")
    for section in ("fig4", "memorization"):
        assert one[section]["max_step_ratio" if section == "fig4" else "nn_ratio"] == pytest.approx(
            two[section]["max_step_ratio" if section == "fig4" else "nn_ratio"], rel=1e-4)
        assert set(one[section]) == set(two[section])
    assert (tmp_path / "two" / "fig4_latent_walk.png").is_file()


def test_metrics_record_paths_inside_the_working_directory_relative(tmp_path, monkeypatch):
    """A shipped model is recorded as zoo/rooms/..., not as one machine's absolute path; a path outside
    the working directory stays as given."""
    from interp.figures.context import recorded_path

    (tmp_path / "zoo" / "rooms").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert recorded_path(tmp_path / "zoo" / "rooms" / "final.safetensors") == "zoo/rooms/final.safetensors"
    assert recorded_path("runs/x/final.safetensors") == "runs/x/final.safetensors"
    assert recorded_path("/elsewhere/final.safetensors") == "/elsewhere/final.safetensors"
    assert recorded_path(None) is None
