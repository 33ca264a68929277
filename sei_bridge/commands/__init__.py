"""One module per ``sei-bridge`` subcommand, each with ``add_arguments`` and ``run``.

``add_arguments`` needs only argparse and :mod:`~sei_bridge.commands._common`; ``run`` imports the
rest (the store, the engine, zeep, SQLAlchemy, the sandboxes) when it starts, so that
``sei-bridge COMMAND --help`` answers at once.
"""
