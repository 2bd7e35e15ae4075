"""``interp zoo``: the models and instruments shipped in the repository (``zoo/``).

    interp zoo list                                            # what is shipped, with its provenance
    interp zoo export runs/ref-rooms-s0 --name rooms           # a finished run -> zoo/rooms (fp16)
    interp zoo instruments                                     # the full instruments -> zoo/instruments

``export`` measures the run's final G on ``--n`` samples with the world's instrument (FD and its floor,
what it draws), checks that the fp16 copy measures the same (else it ships fp32), and writes
``provenance.json`` with the command that reproduces the run, its git revision, hardware, wall time
and steps. ``load_gan("rooms")`` and the figures then use the shipped model.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

from interp.cli.options import USER_ERRORS, error_line, positive_int

EXAMPLES = """examples:
  interp zoo list
  interp zoo export runs/ref-rooms-s0 --name rooms --hardware "2-core CPU, 1 thread"
  interp zoo instruments
"""

#: an fp16 copy "loses nothing measurable" when its FD to the real renders moves by less than this (relative)
FD_TOLERANCE = 0.02


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="interp zoo", description=__doc__.split("\n\n", 1)[0],
                                epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="shipped models and instruments")
    e = sub.add_parser("export", help="ship a finished run as a zoo model")
    e.add_argument("run", help="a finished run directory (checkpoints/final.safetensors, epoch_001, epoch_005)")
    e.add_argument("--name", required=True, help="the model's zoo name (e.g. rooms); load_gan(NAME) returns it")
    e.add_argument("--n", type=positive_int, default=500, help="samples measured for the metrics (default 500)")
    e.add_argument("--hardware", help="where the run trained, if its checkpoint does not record it")
    e.add_argument("--fp32", action="store_true", help="ship fp32 weights (default: fp16 unless that changes the FD)")
    e.add_argument("--metrics", metavar="FILE:SECTION",
                   help="also record a section of a metrics.json measured elsewhere (e.g. figures/metrics.json:"
                        "table1_cifar10 for a D trained on CIFAR-10, which no world instrument measures)")
    i = sub.add_parser("instruments", help="copy the full world instruments (trained or cached) into zoo/instruments")
    i.add_argument("--no-progress", dest="progress", action="store_false")
    p.add_argument("--debug", action="store_true", help="full tracebacks of errors")
    return p


def _measure(path: Path, n: int) -> dict[str, Any] | None:
    from interp.analysis.measure import measure_generator
    from interp.io.checkpoint import load_gan
    from interp.worlds import world_of

    gan = load_gan(path)
    if world_of(gan.meta) is None:
        return None
    return measure_generator(gan, n=n, seed=0, progress=False)


def _metrics_section(spec: str) -> dict[str, Any]:
    """``FILE:SECTION`` -> that section of a metrics.json, under its own name."""
    file, sep, section = spec.rpartition(":")
    if not sep or not file or not section:
        raise ValueError(f"--metrics: expected FILE:SECTION (e.g. figures/metrics.json:table1_cifar10), got {spec!r}")
    path = Path(file)
    if not path.is_file():
        raise FileNotFoundError(f"--metrics: no file {path}")
    data = json.loads(path.read_text())
    if section not in data:
        raise ValueError(f"--metrics: {path} has no section {section!r} (it has {sorted(data)})")
    return {section: data[section]}


def _fp16_check(run: Path, fp16_dir: Path, n: int) -> dict[str, Any]:
    """Pixel differences of fixed-z samples and the FD of the fp32 and fp16 generators."""
    from interp.core.generation import sample_images
    from interp.io.checkpoint import load_gan

    g32, g16 = load_gan(run).generator, load_gan(fp16_dir).generator
    a, b = sample_images(g32, 64, seed=0), sample_images(g16, 64, seed=0)
    diff = (a - b).abs()
    m32, m16 = _measure(run, n), _measure(fp16_dir, n)
    check: dict[str, Any] = {"max_abs_pixel_diff": round(float(diff.max()), 5),
                             "mean_abs_pixel_diff": round(float(diff.mean()), 6), "n_images_pixels": 64}
    if m32 is not None and m16 is not None:
        check.update(fd_fp32=m32["fd"], fd_fp16=m16["fd"])
        check["fp16_loses_nothing"] = abs(m16["fd"] - m32["fd"]) <= FD_TOLERANCE * max(m32["fd"], 1e-6)
    else:
        check["fp16_loses_nothing"] = bool(diff.max() < 2 / 255)
    return check


def export(args: argparse.Namespace) -> int:
    from interp.cli.train import train_command
    from interp.io.checkpoint import hardware_info, load_gan
    from interp.io.zoo_export import export_run

    run = Path(args.run)
    extra = _metrics_section(args.metrics) if args.metrics else None  # a wrong --metrics fails before any work
    config_file = run / "train_config.json"
    train_config = json.loads(config_file.read_text()) if config_file.is_file() else None
    provenance: dict[str, Any] = {"command": train_command(train_config) if train_config else None}
    meta_env = (load_gan(run).meta.get("environment") or {})
    if args.hardware:
        provenance["hardware"] = {"description": args.hardware, "export_machine": hardware_info()}
    elif meta_env.get("hardware"):
        provenance["hardware"] = meta_env["hardware"]
    else:
        provenance["hardware"] = {"description": "not recorded by the run; the machine that exported it",
                                  **hardware_info()}
    dtype = torch.float32
    if not args.fp32:
        with tempfile.TemporaryDirectory() as tmp:
            print(f"[zoo] checking that fp16 weights measure the same ({args.n} samples) ...", flush=True)
            trial = export_run(run, args.name, root=Path(tmp), dtype=torch.float16)
            check = _fp16_check(run, trial, args.n)
        provenance["fp16_check"] = check
        dtype = torch.float16 if check["fp16_loses_nothing"] else torch.float32
    out = export_run(run, args.name, provenance=provenance, dtype=dtype)
    print(f"[zoo] measuring the shipped model ({args.n} samples) ...", flush=True)
    metrics = _measure(out, args.n)
    if extra:
        metrics = {**(metrics or {}), **extra}
    export_run(run, args.name, provenance={**provenance, "metrics": metrics}, dtype=dtype)
    size = sum(f.stat().st_size for f in out.rglob("*.safetensors"))
    print(f"[zoo] {out}: {str(dtype).replace('torch.', '')}, {size / 1e6:.1f} MB of weights"
          + (f"; FD {metrics['fd']} (floor {metrics['fd_floor']})" if metrics and "fd" in metrics else ""))
    return 0


def instruments(args: argparse.Namespace) -> int:
    """Copy every full instrument, and the 64 px domain of each measuring instrument, into zoo/instruments."""
    from interp.instruments.registry import (
        NAMES,
        WORLD_INSTRUMENTS,
        domain_file,
        get_domain,
        get_instrument,
        instrument_config,
        instrument_file,
    )
    from interp.io.zoo import zoo_dir

    dest = zoo_dir() / "instruments"
    dest.mkdir(parents=True, exist_ok=True)
    measuring = {m for m, _ in WORLD_INSTRUMENTS.values()}
    for name in NAMES:
        get_instrument(name, progress=args.progress)
        files = [instrument_file(name, instrument_config(name))]
        if name in measuring:
            get_domain(name, image_size=64, progress=args.progress)
            files.append(domain_file(name, instrument_config(name), 64))
        for src in files:
            if src.parent.resolve() == dest.resolve():
                print(f"[zoo] {src} (already shipped)")
                continue
            for suffix in (".safetensors", ".json"):
                shutil.copyfile(src.with_suffix(suffix), (dest / src.name).with_suffix(suffix))
            print(f"[zoo] {dest / src.name}")
    return 0


def list_zoo() -> int:
    from interp.io.zoo import provenance, shipped_models, zoo_dir

    root = zoo_dir()
    print(f"zoo: {root}")
    for name in shipped_models():
        rec = provenance(name)
        m = rec.get("metrics") or {}
        if "fd" in m:
            headline = f"FD {m['fd']} (floor {m.get('fd_floor')})"
        elif "table1_cifar10" in m:
            t = m["table1_cifar10"]
            headline = f"Table 1 probe {t['accuracy']:.1%} (random D {t['random_d_accuracy']:.1%})"
        else:
            headline = "not measured"
        print(f"  {name:<8} {rec.get('dtype')}, {rec.get('steps')} steps ({rec.get('epochs')} epochs), "
              f"{headline}; {rec.get('command')}")
    for f in sorted((root / "instruments").glob("*.safetensors")) if (root / "instruments").is_dir() else []:
        print(f"  instrument {f.name} ({f.stat().st_size / 1e6:.1f} MB)")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "list":
            return list_zoo()
        if args.command == "export":
            return export(args)
        return instruments(args)
    except USER_ERRORS as exc:
        if args.debug:
            raise
        print(f"error: {error_line(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
