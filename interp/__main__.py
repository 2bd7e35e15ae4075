"""``python -m interp COMMAND ...``: the same as the ``interp`` console script."""

from interp.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
