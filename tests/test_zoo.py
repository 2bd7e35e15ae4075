"""The model zoo: export of a finished run, loading by name, the figures' default models, and every
model and instrument shipped in the repository (loaded, provenance and shapes checked)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
import torch

from interp.cli.train import build_parser, config_from_args, train_command
from interp.cli.zoo import main as zoo_main
from interp.core.config import ModelConfig
from interp.core.generation import sample_images
from interp.core.models import Discriminator, Generator
from interp.figures import FigureContext
from interp.figures import context as fctx
from interp.instruments.registry import NAMES, build_model, instrument_config, instrument_file
from interp.io.checkpoint import CheckpointError, load_gan, read_checkpoint, save_checkpoint
from interp.io.instrument_files import load_instrument
from interp.io.zoo import resolve_model_name, shipped_models
from interp.io.zoo_export import export_run, log_summary
from interp.train.trainer import TrainConfig

REPO_ZOO = Path(__file__).resolve().parents[1] / "zoo"


def _run(tmp_path: Path, data: str = "rooms", name: str = "run") -> Path:
    """A finished run: final / epoch_001 / epoch_005 checkpoints, a log of two invocations, its config."""
    run = tmp_path / name
    cfg = ModelConfig.from_preset("examples", 32, ngf=8, ndf=8)
    meta = {"dataset": {"name": data, "world": data if data in ("rooms", "faces") else None}, "seed": 3,
            "steps_per_epoch": 10}
    for epoch, ck in ((1, "epoch_001"), (5, "epoch_005"), (6, "final")):
        torch.manual_seed(epoch)
        save_checkpoint(run / "checkpoints" / ck, Generator(cfg), Discriminator(cfg), cfg,
                        {**meta, "epoch": epoch, "step": 10 * epoch})
    rows = ["step,epoch,loss_d,loss_g,d_x,d_g_z1,d_g_z2,seconds"]
    rows += [f"{s},1,1,1,0.5,0.5,0.5,{2.0 * (s + 1)}" for s in range(30)]  # invocation 1: up to 60 s
    rows += [f"{s},4,1,1,0.5,0.5,0.5,{1.0 * (s - 29)}" for s in range(30, 60)]  # resumed: up to 30 s
    (run / "log.csv").write_text("\n".join(rows) + "\n")
    config = TrainConfig(data=data, preset="examples", image_size=32, ngf=8, ndf=8, epochs=6, seed=3, out=str(run))
    (run / "train_config.json").write_text(json.dumps(config.to_dict()))
    return run


def test_log_summary_sums_the_invocations(tmp_path):
    s = log_summary(_run(tmp_path) / "log.csv")
    assert s == {"logged_steps": 60, "train_seconds": 90.0, "invocations": 2}


def test_export_writes_fp16_g_and_d_epochs_g_only_and_provenance(tmp_path, monkeypatch):
    run = _run(tmp_path)
    root = tmp_path / "zoo"
    monkeypatch.setenv("INTERP_ZOO_DIR", str(root))
    out = export_run(run, "tiny", provenance={"command": "python -m interp.train ..."})
    assert out == root / "tiny" and shipped_models() == ["tiny"]
    tensors, meta = read_checkpoint(out / "checkpoints" / "final.safetensors")
    assert {k.split(".")[0] for k in tensors} == {"G", "D"} and "optimizers" not in meta
    assert all(v.dtype == torch.float16 for v in tensors.values() if v.is_floating_point())
    assert meta["zoo"]["dtype"] == "float16" and meta["zoo"]["source_step"] == 60
    epoch1, _ = read_checkpoint(out / "checkpoints" / "epoch_001.safetensors")
    assert {k.split(".")[0] for k in epoch1} == {"G"}
    rec = json.loads((out / "provenance.json").read_text())
    assert rec["steps"] == 60 and rec["train_seconds"] == 90.0 and rec["seed"] == 3
    assert rec["command"] == "python -m interp.train ..." and rec["environment"]["torch"]
    assert (out / "log.csv").read_text() == (run / "log.csv").read_text()
    # by name: the fp16 weights generate what the fp32 ones do, to fp16 precision
    gan, orig = load_gan("tiny"), load_gan(run)
    assert gan.D is not None and gan.path == out / "checkpoints" / "final.safetensors"
    a, b = sample_images(orig.generator, 16, seed=0), sample_images(gan.generator, 16, seed=0)
    assert 0 < float((a - b).abs().max()) < 0.02
    g1 = load_gan(out / "checkpoints" / "epoch_001.safetensors")
    assert g1.G is not None and g1.D is None


def test_export_refuses_an_unfinished_run(tmp_path, monkeypatch):
    run = _run(tmp_path)
    (run / "checkpoints" / "final.safetensors").unlink()
    monkeypatch.setenv("INTERP_ZOO_DIR", str(tmp_path / "zoo"))
    with pytest.raises(CheckpointError, match="has not finished"):
        export_run(run, "tiny")
    assert zoo_main(["export", str(run), "--name", "tiny"]) == 2


def test_names_resolve_to_the_zoo_only_when_no_such_path_exists(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_ZOO_DIR", str(tmp_path / "zoo"))
    export_run(_run(tmp_path), "tiny")
    monkeypatch.chdir(tmp_path)
    assert resolve_model_name("tiny") == tmp_path / "zoo" / "tiny"
    (tmp_path / "tiny").mkdir()
    assert resolve_model_name("tiny") == Path("tiny")  # a folder here wins over the zoo name
    with pytest.raises(CheckpointError, match="shipped model names: tiny"):
        load_gan("nonesuch")


def test_zoo_cli_export_and_list(tmp_path, monkeypatch, capsys):
    """A model of no embedded world: no instrument measures it, so fp16 is judged by pixels alone."""
    monkeypatch.setenv("INTERP_ZOO_DIR", str(tmp_path / "zoo"))
    run = _run(tmp_path, data="cifar10")
    assert zoo_main(["export", str(run), "--name", "c10", "--hardware", "test machine"]) == 0
    rec = json.loads((tmp_path / "zoo" / "c10" / "provenance.json").read_text())
    assert rec["fp16_check"]["fp16_loses_nothing"] is True and rec["dtype"] == "float16"
    assert rec["hardware"]["description"] == "test machine" and rec["metrics"] is None
    args = build_parser().parse_args(shlex.split(rec["command"])[3:])
    assert config_from_args(args) == TrainConfig.from_dict(json.loads((run / "train_config.json").read_text()))
    assert zoo_main(["list"]) == 0
    assert "c10" in capsys.readouterr().out
    # the probe numbers measured elsewhere go into its provenance, and zoo list shows them
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"table1_cifar10": {"accuracy": 0.6825, "random_d_accuracy": 0.61}}))
    assert zoo_main(["export", str(run), "--name", "c10", "--hardware", "test machine",
                     "--metrics", f"{metrics}:table1_cifar10"]) == 0
    rec = json.loads((tmp_path / "zoo" / "c10" / "provenance.json").read_text())
    assert rec["metrics"] == {"table1_cifar10": {"accuracy": 0.6825, "random_d_accuracy": 0.61}}
    capsys.readouterr()
    assert zoo_main(["list"]) == 0
    assert "Table 1 probe 68.2% (random D 61.0%)" in capsys.readouterr().out
    for bad, says in ((f"{metrics}:table2", "no section 'table2'"), (f"{tmp_path}/none.json:x", "no file"),
                      ("table1_cifar10", "FILE:SECTION")):
        assert zoo_main(["export", str(run), "--name", "c10", "--metrics", bad]) == 2
        assert says in capsys.readouterr().err


def test_train_command_reproduces_the_config():
    cfg = TrainConfig(data="faces", data_options={"n": 50000}, preset="examples", ngf=32, ndf=32, batch_size=64,
                      lr=5e-4, epochs=25, seed=2, out="runs/x", channels_last=False, keep_epochs=(1, 3),
                      progress=False, instance_noise=0.1, lr_schedule="linear")
    cmd = train_command(cfg)
    assert "--data-option n=50000" in cmd and "--no-channels-last" in cmd and "--keep-epochs 1,3" in cmd
    assert "--lr-schedule linear" in cmd
    assert config_from_args(build_parser().parse_args(shlex.split(cmd)[3:])) == cfg


def test_figures_draw_the_shipped_model_unless_told_to_train(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_ZOO_DIR", str(tmp_path / "zoo"))
    export_run(_run(tmp_path), "rooms")
    trained = []
    monkeypatch.setattr(fctx, "ensure_default_model",
                        lambda world, quick=False, progress=True, reference=False: trained.append((world, quick)) or tmp_path / "run")
    ctx = FigureContext(out=tmp_path / "f", progress=False)
    assert ctx.gan("rooms").path == tmp_path / "zoo" / "rooms" / "checkpoints" / "final.safetensors"
    g1, note = ctx.gan_at_epoch("rooms", 1)
    assert g1.path.name == "epoch_001.safetensors" and note is None and trained == []
    assert FigureContext(out=tmp_path / "f", train=True).run_dir("rooms") == tmp_path / "run"
    assert FigureContext(out=tmp_path / "f", quick=True).run_dir("rooms") == tmp_path / "run"
    assert FigureContext(out=tmp_path / "f").run_dir("faces") == tmp_path / "run"  # nothing shipped for faces
    assert trained == [("rooms", False), ("rooms", True), ("faces", False)]


# ------------------------------------------------------------------- what the repository ships


def test_shipped_models_load_with_provenance_and_shapes():
    names = shipped_models(REPO_ZOO)
    for name in names:
        rec = json.loads((REPO_ZOO / name / "provenance.json").read_text())
        for key in ("command", "environment", "hardware", "train_seconds", "steps", "metrics", "dtype"):
            assert rec.get(key) is not None, (name, key)
        assert rec["environment"]["git_revision"] and rec["command"].startswith("python -m interp.train")
        assert (REPO_ZOO / name / "log.csv").is_file()
        gan = load_gan(REPO_ZOO / name)
        size = gan.config.image_size
        z = torch.zeros(2, gan.config.nz, 1, 1)
        assert gan.generator(z).shape == (2, 3, size, size)
        assert gan.D is not None and gan.D(gan.generator(z)).numel() == 2
        for epoch in (1, 5):
            g = load_gan(REPO_ZOO / name / "checkpoints" / f"epoch_{epoch:03d}.safetensors")
            assert g.G is not None and g.meta["epoch"] == epoch


def test_shipped_weights_fit_the_cap_and_instruments_match_their_config():
    files = [f for f in REPO_ZOO.rglob("*.safetensors") if "wip" not in f.relative_to(REPO_ZOO).parts]
    assert sum(f.stat().st_size for f in files) <= 30e6
    shipped = {f.name for f in (REPO_ZOO / "instruments").glob("*.safetensors")} if (REPO_ZOO / "instruments").is_dir() else set()
    for name in NAMES:
        file = instrument_file(name, instrument_config(name)).name
        if file not in shipped:
            continue
        state, stored = load_instrument(REPO_ZOO / "instruments" / file)
        assert stored["metrics"] and stored["train_seconds"] > 0
        model = build_model(name, stored["model"])
        model.load_state_dict(state)
        assert {k: v for k, v in stored.items() if k not in ("metrics", "train_seconds", "torch_threads")} \
            == instrument_config(name)
