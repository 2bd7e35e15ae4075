"""Command layer: the ``interp`` console script and its subcommands (see :mod:`interp.cli.main`)."""
