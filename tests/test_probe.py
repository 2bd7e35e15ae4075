"""The Tables 1-2 protocol: D features (4x4 max-pooled, concatenated) + a linear L2-SVM probe."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from interp.analysis.probe import ProbeError, discriminator_features, feature_dim, probe, resolve_labels, run_probe
from interp.cli.probe import main
from interp.core.config import ModelConfig
from interp.core.models import Discriminator, build_gan
from interp.io.checkpoint import save_checkpoint


def _tiny_D(size: int, ndf: int = 4, **kw) -> Discriminator:
    torch.manual_seed(0)
    return Discriminator(ModelConfig.from_preset("examples", size, ndf=ndf, **kw))


# --------------------------------------------------------------------------- features


@pytest.mark.parametrize("size, blocks", [(32, 1 + 2 + 4), (64, 1 + 2 + 4 + 8)])
def test_feature_dimension(size, blocks):
    ndf = 4
    D = _tiny_D(size, ndf)
    x = torch.rand(3, 3, size, size) * 2 - 1
    feats = discriminator_features(D, x, batch_size=2)
    assert feats.dtype == np.float32
    assert feats.shape == (3, 16 * ndf * blocks) == (3, feature_dim(D))


def test_paper_feature_dimension():
    """28672 = 16 * (256 + 512 + 1024): three 32-px blocks of a width-256 D."""
    cfg = ModelConfig.from_preset("paper", 32, ndf=256)
    assert feature_dim(Discriminator(cfg)) == 28672


def test_maxpool_grid_matches_manual():
    D = _tiny_D(32, 4)
    D.train()  # discriminator_features must switch to eval and restore the mode
    x = torch.rand(5, 3, 32, 32) * 2 - 1
    feats = discriminator_features(D, x, batch_size=2)
    assert D.training
    D.eval()
    with torch.no_grad():
        blocks = D.features(x)
        manual = torch.cat([F.adaptive_max_pool2d(h, 4).flatten(1) for h in blocks], 1)
        # by hand: the first block (16x16) in 4x4 windows of 4x4 pixels
        h = blocks[0]
        by_hand = h.reshape(5, h.shape[1], 4, 4, 4, 4).amax(dim=(3, 5)).flatten(1)
    np.testing.assert_allclose(feats, manual.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(feats[:, : by_hand.shape[1]], by_hand.numpy(), rtol=1e-5, atol=1e-6)


def test_known_feature_map_pools_to_grid():
    """A D whose single "block" is the identity: its features are the 4x4 max-pool of the image."""
    D = _tiny_D(16, 1)
    D.features = lambda x: [x]  # type: ignore[method-assign]
    img = torch.full((2, 3, 16, 16), -1.0)
    img[0, 1, 5, 9] = 0.5  # channel 1, grid cell (row 5 // 4, col 9 // 4) = (1, 2)
    img[1, 2, 15, 0] = 0.25  # channel 2, cell (3, 0)
    img[1, 2, 12, 3] = 0.75  # same cell: the max wins
    feats = discriminator_features(D, img, batch_size=1)
    assert feats.shape == (2, 3 * 16)
    grid = feats.reshape(2, 3, 4, 4)
    expected = np.full((2, 3, 4, 4), -1.0, np.float32)
    expected[0, 1, 1, 2] = 0.5
    expected[1, 2, 3, 0] = 0.75
    np.testing.assert_array_equal(grid, expected)


def test_uint8_and_float_inputs_agree():
    D = _tiny_D(32, 4)
    u8 = np.random.default_rng(0).integers(0, 256, (4, 3, 32, 32), dtype=np.uint8)
    f = torch.as_tensor(u8).float() / 127.5 - 1
    np.testing.assert_allclose(discriminator_features(D, u8), discriminator_features(D, f), rtol=1e-6, atol=1e-6)
    with pytest.raises(ProbeError):
        discriminator_features(D, u8[:, :, :16, :16])


# --------------------------------------------------------------------------- the probe


def _blobs(n_per_class: int, classes: int = 3, dim: int = 20, sep: float = 6.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 1, (classes, dim)) * sep
    y = np.repeat(np.arange(classes), n_per_class)
    X = centers[y] + rng.normal(0, 1, (len(y), dim))
    perm = rng.permutation(len(y))
    return X[perm].astype(np.float32), y[perm]


def test_separable_features_near_perfect():
    Xtr, ytr = _blobs(60)
    Xte, yte = _blobs(30, seed=0)
    res = probe(Xtr, ytr, Xte, yte, draws=2, Cs=(1e-2, 1.0))
    assert res.accuracy > 0.97
    assert res.feature_dim == 20 and res.n_test == 90 and len(res.accuracies) == 2


def test_random_labels_near_chance():
    rng = np.random.default_rng(1)
    Xtr, Xte = rng.normal(size=(400, 30)), rng.normal(size=(600, 30))
    ytr, yte = rng.integers(0, 4, 400), rng.integers(0, 4, 600)
    res = probe(Xtr, ytr, Xte, yte, draws=2, Cs=(1e-3, 1e-1))
    assert abs(res.accuracy - 0.25) < 0.08


def _record_fits(monkeypatch):
    """Patch the SVM fit to record which training rows each fit saw (by a row id in column 0)."""
    import interp.analysis.probe as P

    seen = []
    real = P._fit

    def spy(X, y, C, max_iter, seed, n_jobs=None):
        seen.append((C, len(y), np.bincount(y).tolist()))
        return real(X, y, C, max_iter, seed, n_jobs)

    monkeypatch.setattr(P, "_fit", spy)
    return seen


def test_labels_per_class_draws(monkeypatch):
    Xtr, ytr = _blobs(40, classes=4)
    Xte, yte = _blobs(10, classes=4, seed=0)
    seen = _record_fits(monkeypatch)
    res = probe(Xtr, ytr, Xte, yte, labels_per_class=5, draws=3, Cs=(1.0,), seed=7)
    assert res.n_train == [20, 20, 20]
    assert res.n_val == [140, 140, 140]  # the rest of the pool, disjoint from the labelled set
    assert all(counts == [5, 5, 5, 5] for _, _, counts in seen)

    # which examples were drawn: identify rows via a unique id feature
    def draws_of(seed):
        rows = []
        from sklearn.preprocessing import StandardScaler

        orig_fit = StandardScaler.fit

        def fit(self, X, y=None):
            rows.append(tuple(sorted(np.round(X[:, -1]).astype(int).tolist())))
            return orig_fit(self, X, y)

        monkeypatch.setattr(StandardScaler, "fit", fit)
        ids = np.arange(len(Xtr), dtype=np.float32)[:, None]
        probe(np.hstack([Xtr, ids]), ytr, np.hstack([Xte, np.zeros((len(Xte), 1), np.float32)]), yte,
              labels_per_class=5, draws=3, Cs=(1.0,), seed=seed)
        monkeypatch.setattr(StandardScaler, "fit", orig_fit)
        return rows

    a, b, c = draws_of(7), draws_of(7), draws_of(8)
    assert a == b  # reproducible from the seed
    assert len(set(a)) == 3  # the draws differ
    assert a != c
    for rows in a:
        assert sorted(np.bincount(ytr[list(rows)]).tolist()) == [5, 5, 5, 5]


def test_too_few_per_class_is_an_error():
    Xtr, ytr = _blobs(4)
    with pytest.raises(ProbeError, match="fewer"):
        probe(Xtr, ytr, Xtr, ytr, labels_per_class=10, draws=1)


def test_all_labels_mode_resamples_validation_and_refits():
    Xtr, ytr = _blobs(50)
    res = probe(Xtr, ytr, Xtr, ytr, draws=2, val_size=0.2, Cs=(0.1,))
    assert res.n_train == [150, 150] and res.n_val == [30, 30]


def _nuisance(n: int, seed: int):
    """Class signal hidden under a large shared nuisance: x0 = ±1 + n + small noise, x1 = n.

    Strong regularisation makes w ∝ the class-mean difference (≈ x0 alone: near chance); a
    large C finds x0 - x1 (near perfect). So the choice of C matters.
    """
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    nuis = rng.normal(0, 5, n)
    X = np.stack([2.0 * y - 1 + nuis + 0.1 * rng.normal(size=n), nuis, rng.normal(size=n)], 1)
    return X.astype(np.float32), y


def test_C_is_chosen_on_validation():
    Xtr, ytr = _nuisance(300, 0)
    Xte, yte = _nuisance(300, 1)
    small = probe(Xtr, ytr, Xte, yte, draws=1, Cs=(1e-6,))
    large = probe(Xtr, ytr, Xte, yte, draws=1, Cs=(10.0,))
    assert small.accuracy < 0.75 and large.accuracy > 0.95  # the grid matters
    res = probe(Xtr, ytr, Xte, yte, draws=2, Cs=(1e-6, 10.0))
    assert res.chosen_C == [10.0, 10.0] and res.accuracy > 0.95
    for table in res.val_accuracies:
        assert table[repr(10.0)] > table[repr(1e-6)]
    # the choice is made on validation accuracy, never on the test set: with test labels
    # flipped the same C is chosen
    flipped = probe(Xtr, ytr, Xte, 1 - yte, draws=2, Cs=(1e-6, 10.0))
    assert flipped.chosen_C == res.chosen_C and flipped.accuracy < 0.05


def test_resolve_labels_attribute_threshold():
    class Fake:
        name = "faces"
        attribute_names = ("male", "smiling", "eyeglasses", "yaw")
        @property
        def labels(self):
            return {"attributes": np.array([[0, 1, 0, -0.3], [1, 0, 1, 0.4]], np.float32),
                    "has_bed": np.array([True, False]), "size": np.array([0.1, 0.2], np.float32)}

    assert resolve_labels(Fake(), "attribute:smiling").tolist() == [1, 0]
    assert resolve_labels(Fake(), "attribute:yaw").tolist() == [0, 1]
    assert resolve_labels(Fake(), "has_bed").tolist() == [1, 0]
    with pytest.raises(ProbeError, match="unknown attribute"):
        resolve_labels(Fake(), "attribute:beard")
    with pytest.raises(ProbeError, match="continuous"):
        resolve_labels(Fake(), "size")
    with pytest.raises(ProbeError, match="available"):
        resolve_labels(Fake(), "class")


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    cfg = ModelConfig.from_preset("examples", 32, ngf=8, ndf=8)
    G, D = build_gan(cfg)
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.safetensors", G, D, cfg)


def test_run_probe_on_shapes(tiny_checkpoint):
    res = run_probe(tiny_checkpoint, "shapes", dataset_kwargs={"n": 600}, draws=1,
                    Cs=(1e-4, 1e-3), seed=0)
    json.dumps(res)  # JSON-able
    assert res["feature_dim"] == 16 * 7 * 8
    assert res["n_test"] == 600 and res["n_pool"] == 600 and res["dataset"] == "shapes"
    assert res["checkpoint"].endswith("tiny.safetensors") and not res["random_d"]
    for key in ("accuracy", "accuracy_std", "seed", "labels_per_class", "draws", "n_train", "per_draw"):
        assert key in res
    # random (untrained) D features already beat chance on shapes: this checks the plumbing
    assert res["accuracy"] > res["chance"] + 0.04, res


def test_run_probe_random_d_and_limits(tiny_checkpoint):
    res = run_probe(tiny_checkpoint, "shapes", random_d=True, limit_train=150, limit_test=90,
                    labels_per_class=10, draws=2, Cs=(1e-3,), seed=3)
    assert res["random_d"] and res["n_train"] == 30 and res["n_test"] == 90 and res["draws"] == 2
    assert len(res["per_draw"]) == 2


def test_cli(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "r.json"
    rc = main(["--checkpoint", str(tiny_checkpoint), "--data", "shapes", "--limit-train", "120",
               "--limit-test", "60", "--draws", "1", "--Cs", "1e-3", "--no-progress", "--out", str(out)])
    assert rc == 0
    printed = json.loads(capsys.readouterr().out)
    assert json.loads(out.read_text()) == printed and printed["n_test"] == 60


@pytest.mark.parametrize("argv, msg", [
    (["--data", "shapes"], "--checkpoint is required"),
    (["--checkpoint", "/nonexistent/ckpt.safetensors", "--data", "shapes"], "nonexistent"),
    (["--random-d", "--image-size", "32", "--data", "no-such-dataset"], "unknown dataset"),
    (["--random-d", "--image-size", "32", "--data", "shapes", "--label", "attribute:smiling",
      "--dataset-arg", "n=20"], "attributes"),
    (["--random-d", "--image-size", "32", "--data", "shapes", "--draws", "0"], "draws"),
])
def test_cli_bad_input_exits_2(argv, msg, capsys):
    assert main(argv + ["--no-progress"]) == 2
    assert msg in capsys.readouterr().err


def test_cli_help_mentions_protocol(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "82.8% " in text and "22.48% " in text and "%%" not in text and "--random-d" in text


def test_limit_takes_a_random_subset_of_class_sorted_data() -> None:
    """A class-sorted real dataset limited to N keeps every class (a prefix would keep only the first)."""
    from interp.analysis.probe import subsample

    labels = np.repeat(np.arange(10), 100)  # sorted by class, like a class-folder tree
    images = np.zeros((1000, 3, 4, 4), np.uint8)
    _, kept = subsample(images, labels, 200, seed=0)
    assert len(kept) == 200 and set(kept) == set(range(10))
    _, again = subsample(images, labels, 200, seed=0)
    assert np.array_equal(kept, again)
    _, first = subsample(images, labels, 200, seed=0, prefix=True)
    assert set(first) == {0, 1}


def test_parallel_one_vs_rest_fit_gives_the_serial_result():
    """--jobs fits the classes' binary SVMs in parallel: same accuracy and chosen C as serial."""
    rng = np.random.default_rng(3)
    W = rng.normal(size=(20, 3))
    X, Xt = rng.normal(size=(240, 20)).astype(np.float32), rng.normal(size=(90, 20)).astype(np.float32)
    y, yt = (X @ W).argmax(1), (Xt @ W).argmax(1)
    serial = probe(X, y, Xt, yt, draws=2, Cs=(1e-2, 1.0))
    parallel = probe(X, y, Xt, yt, draws=2, Cs=(1e-2, 1.0), n_jobs=2)
    assert parallel.chosen_C == serial.chosen_C
    assert parallel.accuracies == pytest.approx(serial.accuracies, abs=0.02)
    assert serial.accuracy > 0.6


# ----------------------------------------------------------------------------- the torch solver


def _class_blobs(n: int, k: int = 4, d: int = 60, seed: int = 0):
    rng = np.random.default_rng(seed)
    means = np.random.default_rng(99).normal(0, 1, (k, d))
    y = rng.integers(0, k, n)
    return (means[y] * 0.4 + rng.normal(0, 1, (n, d))).astype(np.float32), y


@pytest.mark.parametrize("k", [2, 4])
def test_torch_svm_agrees_with_linearsvc(k):
    """The same objective: test accuracy within 0.5 points and >= 99 % of test predictions equal, per C."""
    from sklearn.svm import LinearSVC

    from interp.analysis.svm import TorchLinearSVM

    X, y = _class_blobs(1200, k)
    Xt, yt = _class_blobs(2000, k, seed=1)
    mu, sd = X.mean(0), X.std(0)
    X, Xt = (X - mu) / sd, (Xt - mu) / sd
    Cs = [0.001, 0.1, 1.0]
    model = TorchLinearSVM.fit(X, y, Cs, max_iter=1000)
    assert model.converged
    for i, C in enumerate(Cs):
        ref = LinearSVC(C=C, loss="squared_hinge", dual="auto", max_iter=20_000).fit(X, y).predict(Xt)
        ours = model.predict(Xt, i)
        assert abs((ours == yt).mean() - (ref == yt).mean()) <= 0.005, C
        assert (ours == ref).mean() >= 0.99, C


def test_probe_with_the_torch_solver_matches_liblinear():
    X, y = _class_blobs(1000)
    Xt, yt = _class_blobs(1000, seed=1)
    a = probe(X, y, Xt, yt, draws=2, Cs=(0.01, 0.1, 1.0))
    b = probe(X, y, Xt, yt, draws=2, Cs=(0.01, 0.1, 1.0), solver="torch")
    assert abs(a.accuracy - b.accuracy) <= 0.005 and a.chosen_C == b.chosen_C
    with pytest.raises(ProbeError, match="solver"):
        probe(X, y, Xt, yt, solver="sgd")


def test_table1_cifar10_section_from_written_batches(tmp_path, capsys, monkeypatch):
    """``--only table1 --data cifar10 --data-root DIR`` probes the given D on CIFAR-format batches (written
    here in the official pickle layout) with the torch solver and the random-D control, into the
    ``table1_cifar10`` section; the features are the paper's layout for a 32 px D (16 · 7 · ndf)."""
    from test_data_loaders import write_cifar_batches

    from interp.cli.figures import main as figures_main
    from interp.figures import read_metrics

    write_cifar_batches(tmp_path / "c10", n=40)  # 200 train, 40 test images
    cfg = ModelConfig.from_preset("examples", 32, ngf=8, ndf=8)
    torch.manual_seed(0)
    G, D = build_gan(cfg)
    ck = save_checkpoint(tmp_path / "cifar-d", G, D, cfg, {"dataset": {"name": "cifar10"}, "epoch": 2})
    out = tmp_path / "figs"
    argv = ["--only", "table1", "--data", "cifar10", "--data-root", str(tmp_path / "c10"), "--checkpoint", str(ck),
            "--quick", "--out", str(out), "--no-progress", "--option", "table1.Cs=[0.01,1.0]"]
    assert figures_main(argv) == 0
    m = read_metrics(out / "metrics.json")["table1_cifar10"]
    assert "table1" not in read_metrics(out / "metrics.json")
    assert m["n_train"] == 200 and m["n_test"] == 40 and m["n_val"] == 40 and m["draws"] == 2
    assert m["feature_dim"] == 16 * 7 * 8 and len(m["C"]) == 2 and set(m["C"]) <= {0.01, 1.0}
    assert 0 <= m["accuracy"] <= 1 and 0 <= m["random_d_accuracy"] <= 1 and m["solver"].startswith("TorchLinearSVM")
    assert m["paper_accuracy"] == 0.828 and m["trained_on"] == "cifar10" and m["epoch"] == 2
    assert (out / "table1_cifar10.png").is_file()
    # without --data-root, or without a D: one line naming what is missing
    capsys.readouterr()
    assert figures_main(["--only", "table1", "--data", "cifar10", "--checkpoint", str(ck), "--out", str(out),
                         "--no-progress"]) == 1
    assert "--data-root" in capsys.readouterr().err
    monkeypatch.setenv("INTERP_ZOO_DIR", str(tmp_path / "empty-zoo"))  # no shipped cifar10 model to fall back on
    assert figures_main(["--only", "table1", "--data", "cifar10", "--data-root", str(tmp_path / "c10"), "--out",
                         str(out), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "--checkpoint" in err and "Traceback" not in err


def test_preconditioning_changes_the_steps_not_the_minimiser():
    """W = S·U with S from the top eigenpairs of XᵀX/N: the same SVMs as plain LBFGS, in fewer evaluations on
    correlated features (a few strong directions, as a network's features have)."""
    from interp.analysis.svm import Preconditioner, TorchLinearSVM

    rng = np.random.default_rng(5)
    X, y = _class_blobs(1500, 4, d=80)
    X = X @ (np.eye(80) + 3 * rng.normal(size=(80, 4)) @ rng.normal(size=(4, 80)) / 4).astype(np.float32)
    X = (X - X.mean(0)) / X.std(0)
    plain = TorchLinearSVM.fit(X, y, [0.1], max_iter=3000, tol=1e-7, precondition=0)
    pre = TorchLinearSVM.fit(X, y, [0.1], max_iter=3000, tol=1e-7, precondition=16)
    assert plain.converged and pre.converged
    def objective(model) -> float:  # Σ over classes of ½‖w‖² + C Σ max(0, 1 − t·(w·[x, 1]))², in float64
        W = model.weights[0].double()
        t = -np.ones((len(y), 4))
        t[np.arange(len(y)), y] = 1
        margin = 1 - torch.from_numpy(t) * (torch.from_numpy(X).double() @ W[:-1] + W[-1])
        return float(0.5 * W.pow(2).sum() + 0.1 * margin.clamp_min(0).pow(2).sum())

    assert objective(pre) == pytest.approx(objective(plain), rel=1e-5)
    assert (pre.predict(X) == plain.predict(X)).mean() >= 0.995
    assert pre.n_iter < plain.n_iter / 2
    # the estimate itself: the top eigenvalues of XᵀX/N
    est = Preconditioner.estimate(torch.from_numpy(X), rank=8)
    exact = np.sort(np.linalg.eigvalsh(X.T.astype(np.float64) @ X / len(X)))[::-1]
    assert np.allclose(est.lam.numpy()[:4], exact[:4], rtol=0.02)
    assert est.tail == pytest.approx(exact[8:].mean(), rel=0.1)


def test_warm_start_from_the_solution_takes_few_steps():
    from interp.analysis.svm import TorchLinearSVM

    X, y = _class_blobs(800, 3)
    X = (X - X.mean(0)) / X.std(0)
    cold = TorchLinearSVM.fit(X, y, [0.05], max_iter=1000)
    warm = TorchLinearSVM.fit(X, y, [0.05], max_iter=1000, init=cold)
    assert warm.n_iter <= 5 and warm.n_iter * 4 < cold.n_iter
    assert (warm.predict(X) == cold.predict(X)).all()
    with pytest.raises(ValueError, match="init"):
        TorchLinearSVM.fit(X[:, :10], y, [0.05], init=cold)


def test_batched_fit_equals_fitting_each_problem_alone():
    """fit_batch: problems on different rows, each standardised on its own rows (an affine map of the pool's
    standardisation), at different Cs, in one LBFGS run: the SVMs of fitting each alone on its own features."""
    from sklearn.preprocessing import StandardScaler

    from interp.analysis.svm import Subproblem, TorchLinearSVM

    X, y = _class_blobs(900, 3, d=40)
    X = X * np.linspace(0.5, 3, 40, dtype=np.float32) + 2  # features of unequal scale and non-zero mean
    pool = StandardScaler().fit(X)
    X0 = pool.transform(X).astype(np.float32)
    rng = np.random.default_rng(0)
    problems, alone = [], []
    for C in (0.003, 0.05, 0.05):
        rows = np.sort(rng.choice(len(X), 600, replace=False))
        sc = StandardScaler().fit(X[rows])
        problems.append(Subproblem(C, rows=rows, scale=pool.scale_ / sc.scale_,
                                   shift=(pool.mean_ - sc.mean_) / sc.scale_))
        alone.append((C, rows, sc))
    problems.append(Subproblem(0.02))  # all rows, the pool's own standardisation
    alone.append((0.02, np.arange(len(X)), pool))
    batched = TorchLinearSVM.fit_batch(X0, y, problems, max_iter=2000, tol=1e-7, precondition=8)
    for model, (C, rows, sc) in zip(batched, alone, strict=True):
        Z = sc.transform(X).astype(np.float32)
        ref = TorchLinearSVM.fit(Z[rows], y[rows], [C], max_iter=2000, tol=1e-7, precondition=8)
        assert model.converged and ref.converged and model.Cs == (C,)
        assert torch.allclose(model.weights, ref.weights, atol=2e-3), C
        assert (model.predict(Z) == ref.predict(Z)).mean() >= 0.995
    # a problem must see both classes; the affine map must match the features
    with pytest.raises(ValueError, match="single class"):
        TorchLinearSVM.fit_batch(X0, y, [Subproblem(0.1, rows=np.flatnonzero(y == 0))])
    with pytest.raises(ValueError, match="shape"):
        TorchLinearSVM.fit_batch(X0, y, [Subproblem(0.1, scale=np.ones(3))])


@pytest.mark.parametrize("solver", ["liblinear", "torch"])
def test_progress_bar_over_the_fits_changes_nothing(solver, capsys):
    X, y = _class_blobs(400, 3)
    Xt, yt = _class_blobs(200, 3, seed=1)
    quiet = probe(X, y, Xt, yt, draws=2, Cs=(0.01, 0.1), solver=solver)
    capsys.readouterr()
    loud = probe(X, y, Xt, yt, draws=2, Cs=(0.01, 0.1), solver=solver, progress=True)
    err = capsys.readouterr().err
    assert "L2-SVM fits" in err and "validation" in err
    assert loud.accuracies == quiet.accuracies and loud.val_accuracies == quiet.val_accuracies


@pytest.mark.parametrize("solver", ["liblinear", "torch"])
def test_c_sweep_stops_after_patience_cs_below_the_best(solver):
    """Ascending C: once `c_patience` Cs in a row score no better than the best on validation the sweep stops; the
    Cs tried are the keys of val_accuracies; None tries the whole grid and chooses the same C here."""
    X, y = _class_blobs(600, 3, d=200)  # more dimensions than a third of the points: large C overfits
    Xt, yt = _class_blobs(600, 3, d=200, seed=1)
    Cs = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
    full = probe(X, y, Xt, yt, draws=1, Cs=Cs, solver=solver, c_patience=None)
    early = probe(X, y, Xt, yt, draws=1, Cs=Cs, solver=solver, c_patience=1)
    table = full.val_accuracies[0]
    assert list(table) == [repr(c) for c in Cs]
    tried = list(early.val_accuracies[0])
    best = max(table.values())
    # the early sweep stopped right after the first C that scored below the best so far
    first_drop = next(i for i in range(1, len(Cs))
                      if not table[repr(Cs[i])] > max(table[repr(c)] for c in Cs[:i]))  # no better than before
    assert tried == [repr(c) for c in Cs[: first_drop + 1]]
    if max(early.val_accuracies[0].values()) == best:
        assert early.chosen_C == full.chosen_C
    with pytest.raises(ProbeError, match="c_patience"):
        probe(X, y, Xt, yt, draws=1, Cs=Cs, c_patience=0)
