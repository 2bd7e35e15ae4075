"""``interp forget``: Fig. 6 on a model of your own (e.g. LSUN bedrooms), from boxes you draw.

    interp forget sheet --checkpoint RUN --out boxes_work/     # numbered samples to annotate
    interp forget run --checkpoint RUN --boxes boxes_work/boxes.csv --out fig6_out/

The procedure itself is :mod:`interp.analysis.forget`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from interp.analysis.forget import NEGATIVES, PAPER_LAYER, REPLACEMENTS, ForgetConfig, generate


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="interp forget", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog="""\
examples:
  interp forget sheet --checkpoint runs/my-lsun --out boxes_work
      # writes boxes_work/sheet.png (numbered samples), samples/sample_0000.png ... (4x enlarged),
      # boxes_template.json (COCO, for CVAT/labelme) and boxes.csv (header only)
  interp forget run --checkpoint runs/my-lsun --boxes boxes_work/boxes.csv --out fig6_out
      # fits the window classifier, drops the maps, writes fig6_forget_windows.png and forget.json
""")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name, helptext in (("sheet", "write the numbered samples to annotate"),
                           ("run", "fit, drop the window maps and draw the rows")):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("--checkpoint", required=True, help="checkpoint file or run directory (any format interp loads)")
        s.add_argument("--n", type=int, default=150, help="number of annotated samples (default 150, the paper's)")
        s.add_argument("--seed", type=int, default=0, help="latent seed of the annotated samples (default 0)")
        s.add_argument("--out", required=True, help="output directory")
        s.add_argument("--device", default="cpu")
    s = sub.choices["sheet"]
    s.add_argument("--cols", type=int, default=10, help="samples per sheet row (default 10)")
    s.add_argument("--scale", type=int, default=4, help="enlargement of the exported samples (default 4)")
    r = sub.choices["run"]
    r.add_argument("--boxes", required=True, help="window boxes: .csv (image,x0,y0,x1,y1) or COCO .json")
    r.add_argument("--layer", default=PAPER_LAYER,
                   help="generator layer: second_highest (default, up2.act at 64 px), penultimate, or a dotted name")
    r.add_argument("--negatives", choices=NEGATIVES, default="outside")
    r.add_argument("--C", type=float, default=1.0, help="inverse regularisation strength (default 1)")
    r.add_argument("--threshold", type=float, default=0.0, help="drop maps with weight > this (default 0)")
    r.add_argument("--replacement", choices=REPLACEMENTS, default="zero")
    r.add_argument("--show", type=int, default=10, help="samples per row of the figure (default 10)")
    r.add_argument("--measure", type=int, default=0, metavar="N",
                   help="rooms models only: measure window pixel shares with the rooms segmenter on N fresh "
                        "samples (e.g. 500), with the ranked-ablation curve")
    return p


def _sheet(args: argparse.Namespace) -> int:
    from interp.analysis.sample_sheet import write_annotation_kit
    from interp.core.latent import sample_z
    from interp.data.base import to_uint8_image
    from interp.io.checkpoint import load_gan

    gan = load_gan(args.checkpoint, device=args.device)
    z = sample_z(args.n, gan.config, seed=args.seed)
    images = to_uint8_image(generate(gan.generator, z)).numpy()
    info = {"checkpoint": str(gan.path), "n": args.n, "seed": args.seed, "image_size": gan.config.image_size}
    paths = write_annotation_kit(Path(args.out), images, info, cols=args.cols, scale=args.scale)
    for k, v in paths.items():
        print(f"wrote {k}: {v}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from interp.analysis.annotations import boxes_per_image, read_boxes
    from interp.analysis.forget import compute_fig6
    from interp.core.latent import sample_z
    from interp.figures.forget_windows import fig6_title, plot_fig6
    from interp.figures.plotting import save_figure
    from interp.io.checkpoint import load_gan

    gan = load_gan(args.checkpoint, device=args.device)
    size = gan.config.image_size
    per_image = boxes_per_image(read_boxes(args.boxes, image_size=size), args.n, size, path=args.boxes)
    cfg = ForgetConfig(layer=args.layer, negatives=args.negatives, C=args.C, threshold=args.threshold,
                       replacement=args.replacement)
    n_eval = max(args.show, args.measure)
    z_all = sample_z(args.n + n_eval, gan.config, seed=args.seed)   # fresh samples follow the annotated ones
    z_annot, z_eval = z_all[: args.n], z_all[args.n :]
    meter = None
    if args.measure:
        from interp.analysis.forget import ClassMeter
        from interp.instruments import get_instrument
        from interp.worlds.rooms import CLASS_NAMES

        meter = ClassMeter(get_instrument("room_segmenter"), CLASS_NAMES)
    data = compute_fig6(gan.generator, z_annot, per_image, z_eval, cfg, meter, n_show=args.show,
                        box_source=f"imported from {Path(args.boxes).name}")
    out = Path(args.out)
    path = gan.path if gan.path is not None else Path(args.checkpoint)
    model = f"{path.parent.parent.name}/{path.name}" if path.parent.name == "checkpoints" else path.name
    png = save_figure(plot_fig6(data, fig6_title(data, model)), out / "fig6_forget_windows.png")
    from interp.figures.metrics import jsonable
    from interp.io.atomic import atomic_write_text

    numbers = {"checkpoint": str(gan.path), "boxes": str(args.boxes), "seed": args.seed, **data.numbers}
    atomic_write_text(out / "forget.json", json.dumps(jsonable(numbers), indent=2) + "\n")
    print(f"maps dropped: {data.result.maps_dropped} of {data.result.n_channels} ({data.result.layer}); "
          f"held-out AUC {data.result.classifier.auc:.3f}")
    print(f"wrote {png}\nwrote {out / 'forget.json'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _sheet(args) if args.cmd == "sheet" else _run(args)
    except ValueError as exc:  # AnnotationError, CheckpointError, bad settings: one clear line
        print(f"error: {exc}", file=sys.stderr)
        return 2
