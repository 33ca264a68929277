"""What each entry point imports, in a fresh interpreter.

- ``sei-bridge --help`` imports no command's module; ``sei-bridge COMMAND --help`` imports that
  command's only; neither imports the sandboxes, the engine, the store, zeep or SQLAlchemy.
- No production module needs the sandboxes: importing every module outside
  ``sei_bridge/sandboxes/`` (and ``commands/demo.py``, which runs them) loads none of them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sei_bridge import cli

PACKAGE = Path(cli.__file__).resolve().parent

#: run ``sei_bridge.cli.main(ARGS)``, then print the names of the modules loaded, as JSON
CLI_SCRIPT = """
import contextlib, io, json, sys
from sei_bridge import cli
with contextlib.redirect_stdout(io.StringIO()):
    try:
        cli.main(sys.argv[1:])
    except SystemExit:
        pass
print(json.dumps(sorted(sys.modules)))
"""
#: import every module named in ARGS, then print the names of the modules loaded, as JSON
IMPORT_SCRIPT = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""
#: what a --help must not pay for
HEAVY = (
    "zeep",
    "sqlalchemy",
    "alembic",
    "requests",
    "waitress",
    "sei_bridge.engine",
    "sei_bridge.store",
    "sei_bridge.sandboxes",
)


def _loaded(script: str, *args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return set(json.loads(done.stdout))


def _within(modules: set[str], package: str) -> set[str]:
    return {m for m in modules if m == package or m.startswith(package + ".")}


def _heavy(modules: set[str]) -> set[str]:
    return set().union(*(_within(modules, package) for package in HEAVY))


@pytest.mark.parametrize("args", [["--help"], ["sandbox", "--help"]])
def test_the_command_list_imports_no_command(args: list[str]) -> None:
    modules = _loaded(CLI_SCRIPT, *args)
    assert _within(modules, "sei_bridge.commands") == set()
    assert _heavy(modules) == set()


@pytest.mark.parametrize(("name", "module"), [(name, module) for name, module, _ in cli.COMMANDS])
def test_a_commands_help_imports_that_command_only(name: str, module: str) -> None:
    modules = _loaded(CLI_SCRIPT, name, "--help")
    assert module in modules
    shared = {"sei_bridge.commands", "sei_bridge.commands._common"}
    assert _within(modules, "sei_bridge.commands") - shared == {module}
    assert _heavy(modules) == set()


#: what each sandbox command may not load: the other stand-in (the proxy reuses the SEI
#: sandbox's server and fault model, never the SIGRC one)
_NOT_LOADED = {
    "sei": "sei_bridge.sandboxes.sigrc",
    "sigrc": "sei_bridge.sandboxes.sei",
    "proxy": "sei_bridge.sandboxes.sigrc",
}


@pytest.mark.parametrize(
    ("name", "module"), [(name, module) for name, module, _ in cli.SANDBOX_COMMANDS]
)
def test_a_sandboxs_help_imports_that_sandbox_only(name: str, module: str) -> None:
    modules = _loaded(CLI_SCRIPT, "sandbox", name, "--help")
    assert module in modules
    assert _within(modules, _NOT_LOADED[name]) == set()
    assert _within(modules, "sei_bridge.commands") == set()
    assert _within(modules, "sqlalchemy") == set()


def test_no_production_module_imports_the_sandboxes() -> None:
    parts = [path.relative_to(PACKAGE).with_suffix("").parts for path in PACKAGE.rglob("*.py")]
    production = sorted(
        ".".join(("sei_bridge", *p)).removesuffix(".__init__")
        for p in parts
        # Alembic's migration scripts run only under Alembic
        if p[0] != "sandboxes" and "migrations" not in p and p != ("commands", "demo")
    )
    assert {"sei_bridge.app", "sei_bridge.cli", "sei_bridge.commands.run"} <= set(production)
    modules = _loaded(IMPORT_SCRIPT, *production)
    assert _within(modules, "sei_bridge.sandboxes") == set()
