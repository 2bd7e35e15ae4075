"""``python -m interp.notebooks``: the same command as ``interp notebooks`` (:mod:`interp.cli.notebooks`)."""

from interp.cli.notebooks import main

if __name__ == "__main__":
    raise SystemExit(main())
