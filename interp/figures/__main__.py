"""``python -m interp.figures``: the same command as ``interp figures`` (:mod:`interp.cli.figures`)."""

from interp.cli.figures import main

if __name__ == "__main__":
    raise SystemExit(main())
