"""One module per ``sei-bridge`` subcommand, each with ``add_arguments`` and ``run``."""
