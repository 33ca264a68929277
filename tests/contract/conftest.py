"""Every contract case runs against the SEI sandbox and, when one is configured, a real SEI
(see :mod:`tests.contract.targets`); the same assertions hold on both."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contract.targets import Target, real_sei_missing, real_target, sandbox_target


@pytest.fixture(scope="module")
def sandbox_sei() -> Iterator[Target]:
    with sandbox_target() as target:
        yield target


@pytest.fixture(params=["sandbox", "real"])
def sei(request: pytest.FixtureRequest) -> Target:
    """The SEI under contract: the sandbox, then the real one (skipped with the reason when
    none is configured)."""
    if request.param == "sandbox":
        target: Target = request.getfixturevalue("sandbox_sei")
        return target
    missing = real_sei_missing()
    if missing:
        pytest.skip(missing)
    return real_target()
