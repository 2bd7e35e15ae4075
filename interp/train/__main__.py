"""``python -m interp.train``: the same command as ``interp train`` (:mod:`interp.cli.train`)."""

from interp.cli.train import main

if __name__ == "__main__":
    raise SystemExit(main())
