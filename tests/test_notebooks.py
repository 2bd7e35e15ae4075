"""interp.notebooks: specs -> valid notebooks, parameter injection, headless execution, errors named.

The executing tests run real Jupyter kernels (nbclient + ipykernel) in quick mode: quick default
models in a tmp dir (trained on first use, a few seconds) and the quick instruments in a tmp cache
(trained once for the module, ~25 s). ``test_all_notebooks_execute_in_quick_mode`` is what CI relies
on for "the notebooks run": every notebook whose figure is registered, top to bottom.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

# (imports below need the optional notebook packages checked above)
from interp.cli.notebooks import main
from interp.notebooks.build import (
    PARAMETERS_TAG,
    ParameterError,
    build_notebook,
    declared_parameters,
    inject_parameters,
    parameters_cell_index,
)
from interp.notebooks.execute import NotebookFailed, execute_notebook, run_notebooks, skip_reason
from interp.notebooks.kit import fmt, metrics_markdown, project_root, ratio
from interp.notebooks.specs import FIG4, NotebookSpec, notebook_specs

SPECS = notebook_specs()
TIMEOUT = 600


def param_values(source: str) -> dict:
    """NAME -> value of every top-level ``NAME = literal`` of a parameters cell."""
    out = {}
    for node in ast.parse(source).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else node.target
        out[target.id] = ast.literal_eval(node.value)
    return out


def cell(nb, cell_id: str):
    return next(c for c in nb.cells if c.get("id") == cell_id)


def outputs_text(c) -> str:
    return "".join(o.get("text", "") for o in c.outputs if o.output_type == "stream")


def errors(nb) -> list[str]:
    return [f"{c.get('id')}: {o.ename}: {o.evalue}" for c in nb.cells if c.cell_type == "code"
            for o in c.outputs if o.output_type == "error"]


@pytest.fixture(autouse=True)
def jupyter_runtime(tmp_path, monkeypatch):
    """Kernel connection files in a tmp dir (CI homes may be read-only)."""
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "jupyter-runtime"))


@pytest.fixture(scope="module")
def quick_env(tmp_path_factory, session_cache):
    """Quick mode in a tmp world: the session's INTERP_CACHE_DIR (quick instruments trained once), quick
    default models under tmp (env overrides, inherited by the kernels), at most 2 CPU threads per kernel."""
    root = tmp_path_factory.mktemp("notebooks-quick")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INTERP_CACHE_DIR", str(session_cache))
        mp.setenv("INTERP_QUICK_ROOMS_RUN", str(root / "quick-rooms"))
        mp.setenv("INTERP_QUICK_FACES_RUN", str(root / "quick-faces"))
        mp.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", str(min(2, os.cpu_count() or 1))))
        yield root


# ----------------------------------------------------------------------------- build


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_every_spec_builds_a_valid_notebook(spec):
    nb = build_notebook(spec)
    nbformat.validate(nb)
    ids = [c.get("id") for c in nb.cells]
    middle = [x for sec in spec.sections for x in ([f"{sec.id}-help"] if sec.markdown else []) + [sec.id]] or ["run"]
    assert ids == ["title", "parameters", "setup", *middle, "reading", "verdict"]
    params = nb.cells[parameters_cell_index(nb)]
    assert params.metadata["tags"] == [PARAMETERS_TAG] and params.cell_type == "code"
    values = param_values(params.source)  # the defaults are plain literals
    assert {p.name: p.default for p in spec.params} == values and set(values) == set(declared_parameters(params.source))
    for c in nb.cells:
        if c.cell_type == "code":
            compile(c.source, f"{spec.name}:{c.id}", "exec")
    title = nb.cells[0].source
    assert title.startswith(f"# {spec.title}") and "What the paper showed" in title and "What we measure" in title
    if spec.figure:
        assert spec.figure in "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert nb.metadata["kernelspec"]["name"] == "python3" and nb.metadata["interp"]["notebook"] == spec.name


def test_build_cli_writes_readable_notebooks_and_skips_unregistered(tmp_path, capsys):
    assert main(["build", "--dir", str(tmp_path)]) == 0
    written = sorted(p.stem for p in tmp_path.glob("*.ipynb"))
    runnable = [s.name for s in SPECS if skip_reason(s) is None]
    assert written == sorted(runnable) and "fig4_latent_walk" in written
    for path in tmp_path.glob("*.ipynb"):
        nbformat.validate(nbformat.read(path, as_version=4))
    out = capsys.readouterr().out
    for s in SPECS:
        assert s.name in out
    assert main(["list"]) == 0 and "table1_probe" in capsys.readouterr().out
    assert main(["run", "--only", "fig99_nope"]) == 2
    assert "fig99_nope" in capsys.readouterr().err


def test_unregistered_figure_is_skipped_with_a_reason(tmp_path):
    missing = NotebookSpec(name="fig99_future", title="t", claim="c", measure="m", figure="fig99",
                           module="interp.figures.not_written_yet", verdict="print(1)")
    assert "not registered yet" in skip_reason(missing) and "not_written_yet" in skip_reason(missing)
    orphan = NotebookSpec(name="fig98", title="t", claim="c", measure="m", figure="fig98", verdict="print(1)")
    assert "not registered" in skip_reason(orphan)
    logs: list[str] = []
    outcomes = run_notebooks([missing, orphan], {}, out_dir=tmp_path, log=logs.append, progress=False)
    assert [o.status for o in outcomes] == ["skipped", "skipped"] and not list(tmp_path.iterdir())
    assert "fig99_future: skipped" in logs[0]


# ----------------------------------------------------------------------------- parameters


def test_inject_parameters_replaces_values_and_records_them():
    nb = build_notebook(FIG4)
    before = nb.cells[1].source.splitlines()
    unknown = inject_parameters(nb, {"QUICK": True, "OUT": Path("/tmp/x"), "OPTIONS": {"fig4": {"n": 2}}})
    assert unknown == []
    src = nb.cells[1].source
    scope = param_values(src)
    assert scope["QUICK"] is True and scope["OUT"] == "/tmp/x" and scope["OPTIONS"] == {"fig4": {"n": 2}}
    assert scope["SEED"] == 0 and scope["CHECKPOINT"] is None  # untouched
    after = src.splitlines()
    assert len(after) == len(before)
    assert [a for a, b in zip(after, before, strict=True) if a != b] == [line for line in after if "# injected" in line]
    assert any(line.startswith("QUICK = True") and "# injected; tiny default models" in line for line in after)
    assert nb.metadata["interp"]["injected_parameters"] == {"QUICK": True, "OUT": "/tmp/x",
                                                            "OPTIONS": {"fig4": {"n": 2}}}
    with pytest.raises(ParameterError, match="NOPE.*declares"):
        inject_parameters(nb, {"NOPE": 1})
    assert inject_parameters(nb, {"NOPE": 1, "SEED": 3}, strict=False) == ["NOPE"]
    with pytest.raises(ParameterError, match="plain literal"):
        inject_parameters(nb, {"SEED": object()})


def test_inject_handles_multiline_values_and_requires_one_parameters_cell():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("A = [\n    1,\n    2,\n]\nB: int = 3  # b\nC = 'c'", metadata={"tags": ["parameters"]}),
    ])
    inject_parameters(nb, {"A": [5], "B": 4})
    scope = param_values(nb.cells[0].source)
    assert (scope["A"], scope["B"], scope["C"]) == ([5], 4, "c")
    with pytest.raises(ParameterError, match="exactly one"):
        inject_parameters(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("A = 1")]), {"A": 2})


def test_kit_helpers(tmp_path):
    assert fmt(None) == "n/a" and fmt(float("nan")) == "n/a" and fmt(0.12345) == "0.123" and fmt(200) == "200"
    assert fmt(0.5, ".0%") == "50%" and fmt("rooms") == "rooms" and fmt(True) == "True"
    assert ratio(3.0, 2.0) == 1.5 and ratio(None, 1.0) is None and ratio(1.0, 0.0) is None
    table = metrics_markdown({"fd": 1.23456, "seed": 0, "per_walk": [1, 2], "note": "a|b"})
    assert "| `fd` | 1.235 |" in table and "| `seed` | 0 |" in table and "1 list-valued keys" in table
    assert "a/b" in table
    (tmp_path / "proj" / "interp").mkdir(parents=True)
    (tmp_path / "proj" / "pyproject.toml").write_text("")
    (tmp_path / "proj" / "notebooks").mkdir()
    assert project_root(tmp_path / "proj" / "notebooks") == (tmp_path / "proj").resolve()
    from interp.notebooks.kit import against_paper

    assert against_paper({"in_domain": True}, True, "as in the paper", "unlike") == "as in the paper"
    assert against_paper({}, False, "as in the paper", "unlike") == "unlike"
    out = against_paper({"in_domain": False, "domain_distance": 0.93}, True, "as in the paper", "unlike")
    assert out.startswith("No verdict: 93% of the samples") and "paper." in out and "as in the paper" not in out
    from interp.notebooks.kit import aims_markdown

    aims = {"nn_ratio": {"aim": "within [0.95, 1.05]", "value": 1.2, "met": False},
            "other": {"aim": ">= 1", "value": None, "met": None}}
    md = aims_markdown({"aims": aims})
    assert md.startswith("**Aims**") and "- `nn_ratio` within [0.95, 1.05]: **missed** (1.2)" in md and "other" not in md
    assert aims_markdown({"fd": 1.0}) == ""


# ----------------------------------------------------------------------------- execution


def test_broken_notebook_fails_naming_notebook_and_cell(tmp_path):
    broken = NotebookSpec(name="broken_on_purpose", title="Broken", claim="c", measure="m", figure=None,
                          run="x = 1\nraise RuntimeError('deliberately broken')", verdict="print('never')")
    logs: list[str] = []
    outcomes = run_notebooks([broken], {"QUICK": True, "PROGRESS": False}, out_dir=tmp_path, cwd=tmp_path,
                             timeout=TIMEOUT, progress=False, log=logs.append)
    (o,) = outcomes
    assert o.status == "failed"
    assert "broken_on_purpose" in o.message and "cell 4 of 6 (id 'run': x = 1)" in o.message
    assert "RuntimeError: deliberately broken" in o.message
    assert not (tmp_path / "broken_on_purpose.ipynb").exists()  # a failed run leaves the old file alone
    assert any("deliberately broken" in line for line in logs)
    nb = build_notebook(broken)
    with pytest.raises(NotebookFailed) as info:
        execute_notebook(nb, "broken_on_purpose", cwd=tmp_path, timeout=TIMEOUT, progress=False)
    assert info.value.cell_index == 3 and info.value.name == "broken_on_purpose"
    assert "never" not in outputs_text(cell(nb, "verdict"))


def test_fig4_notebook_executes_on_a_tiny_checkpoint(quick_env, tmp_path):
    from interp.figures import read_metrics
    from interp.train.defaults import ensure_default_model

    ck = ensure_default_model("rooms", quick=True, progress=False) / "checkpoints" / "final.safetensors"
    figs, out = tmp_path / "figs", tmp_path / "nb"
    values = {"CHECKPOINT": str(ck), "QUICK": True, "OUT": str(figs), "PROGRESS": False}
    (o,) = run_notebooks([FIG4], values, out_dir=out, timeout=TIMEOUT, progress=False)
    assert o.status == "ok", o.message
    nb = nbformat.read(out / "fig4_latent_walk.ipynb", as_version=4)
    nbformat.validate(nb)
    assert errors(nb) == []
    assert nb.metadata["interp"]["injected_parameters"]["CHECKPOINT"] == str(ck)
    run = cell(nb, "run")
    assert any({"image/png", "image/jpeg"} & set(x.get("data", {})) for x in run.outputs)
    assert "largest single step" in outputs_text(cell(nb, "verdict"))
    m = read_metrics(figs / "metrics.json")["fig4"]
    assert m["checkpoint"] == str(ck) and m["quick"] is True and m["max_step_ratio"] >= 1.0


@pytest.mark.slow
def test_all_notebooks_execute_in_quick_mode(quick_env, tmp_path, capsys):
    """CI: every notebook whose figure is registered runs top to bottom on the quick models."""
    from interp.figures import read_metrics

    figs, out = tmp_path / "figs", tmp_path / "nb"
    code = main(["run", "--quick", "--out", str(out), "--figures-out", str(figs), "--no-progress",
                 "--timeout", str(TIMEOUT)])
    log = capsys.readouterr().out
    assert code == 0, log
    runnable = [s for s in SPECS if skip_reason(s) is None]
    assert {p.stem for p in out.glob("*.ipynb")} == {s.name for s in runnable}
    metrics = read_metrics(figs / "metrics.json")
    for s in runnable:
        nb = nbformat.read(out / f"{s.name}.ipynb", as_version=4)
        assert errors(nb) == [], s.name
        assert outputs_text(cell(nb, "verdict")).strip(), f"{s.name}: the closing cell printed nothing"
        assert nb.metadata["interp"]["injected_parameters"]["QUICK"] is True
        if s.figure is not None:  # the explorer draws no registered figure
            assert metrics[s.figure]["quick"] is True


def test_probe_parameter_comments_match_the_figure_defaults():
    from interp.figures.probe_table import SIZES
    from interp.notebooks.specs import PROBE_PARAMS

    comments = {p.name: p.comment for p in PROBE_PARAMS}
    for param, key in (("N_TRAIN", "n_train"), ("N_TEST", "n_test"), ("DRAWS", "draws")):
        assert f"None: {SIZES[False][key]} ({SIZES[True][key]} if QUICK)" in comments[param]


def test_committed_notebooks_match_their_specs():
    """Every committed notebook is its spec, executed: same cells (the parameters cell may hold injected
    values), executed top to bottom, no error outputs."""
    from pathlib import Path

    import nbformat

    from interp.notebooks.build import build_notebook
    from interp.notebooks.specs import notebook_specs

    root = Path(__file__).resolve().parents[1] / "notebooks"
    for spec in notebook_specs():
        committed = nbformat.read(root / f"{spec.name}.ipynb", as_version=4)
        built = build_notebook(spec)
        assert [c.id for c in committed.cells] == [c.id for c in built.cells], spec.name
        for mine, theirs in zip(committed.cells, built.cells, strict=True):
            if mine.id != "parameters":
                assert mine.source == theirs.source, f"{spec.name}: cell {mine.id} is stale (python -m interp.notebooks run)"
        counts = [c.execution_count for c in committed.cells if c.cell_type == "code"]
        assert None not in counts and counts == sorted(counts), f"{spec.name}: not executed top to bottom"
        assert not [o for c in committed.cells if c.cell_type == "code" for o in c.outputs
                    if o.output_type == "error"], spec.name
