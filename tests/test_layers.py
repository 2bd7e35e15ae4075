"""The layering rule of docs/ARCHITECTURE.md: a module imports only from its own layer or below.

Every ``import`` statement counts, including those inside functions (a lazy import is still a
dependency). ``__main__.py`` files are entry points of the command layer wherever they sit: they
exist so that ``python -m interp.<package>`` works, and only forward to :mod:`interp.cli`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "interp"

#: bottom to top; a module may import from its own layer and the ones before it
LAYERS: tuple[str, ...] = ("core", "io", "data", "worlds", "train", "instruments", "analysis", "figures",
                           "notebooks", "cli")


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "interp" or len(parts) < 2:
        return None
    return LAYERS.index(parts[1]) if parts[1] in LAYERS else None


def module_name(path: Path, root: Path = ROOT) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in ``path``, relative imports resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def violations(root: Path = ROOT) -> list[str]:
    bad = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "__main__.py":
            continue
        own = layer_of(module_name(path, root))
        if own is None:
            continue
        for line, target in imported_modules(path, root):
            other = layer_of(target)
            if other is not None and other > own:
                bad.append(f"{path.relative_to(root.parent)}:{line} imports {target} "
                           f"({LAYERS[other]} is above {LAYERS[own]})")
    return sorted(set(bad))


def test_top_level_holds_only_layers() -> None:
    loose = sorted(p.name for p in ROOT.glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    packages = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file())
    assert loose == []
    assert sorted(packages) == sorted(LAYERS)


def test_no_module_imports_from_a_layer_above() -> None:
    assert violations() == []


def test_the_check_catches_a_back_import(tmp_path: Path) -> None:
    """A planted upward import (core -> figures, lazily inside a function) is reported."""
    pkg = tmp_path / "interp"
    for layer in ("core", "figures"):
        (pkg / layer).mkdir(parents=True)
        (pkg / layer / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "core" / "bad.py").write_text("def f():\n    from ..figures import plotting\n")
    (pkg / "figures" / "ok.py").write_text("from interp.core import bad\n")
    found = violations(pkg)
    assert len(found) == 2 and all("interp/core/bad.py:2" in v for v in found)
    assert "figures is above core" in found[0]


@pytest.mark.parametrize("module", ["interp.train", "interp.figures", "interp.notebooks", "interp.instruments"])
def test_python_m_entry_points_exist(module: str) -> None:
    main = ROOT.parent / module.replace(".", "/") / "__main__.py"
    assert main.is_file(), f"python -m {module} needs {main}"
