"""``python -m interp.instruments``: the same command as ``interp instruments`` (:mod:`interp.cli.instruments`)."""

from interp.cli.instruments import main

if __name__ == "__main__":
    raise SystemExit(main())
