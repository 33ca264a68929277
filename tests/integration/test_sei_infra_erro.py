"""The sandbox's ``infra_erro`` fault reaches the client as the retryable SEI fault class."""

from __future__ import annotations

from typing import Any

import pytest

from sei_bridge import errors
from sei_bridge.sandboxes.sei import FaultConfig, rules
from sei_bridge.sei.client import SeiClient


def test_injected_infra_erro_is_an_infrastructure_fault_and_creates_nothing(
    sei_sandbox: Any, sei_client: SeiClient
) -> None:
    sei_sandbox.faults.configure(FaultConfig(infra_erro=1.0))
    with pytest.raises(errors.SeiInfrastructureFault) as caught:
        sei_client.listar_unidades()
    assert caught.value.fault == rules.INFRA_ERRO_INJECTED
    assert caught.value.operation == "listarUnidades"
    assert not isinstance(caught.value, errors.SeiValidationFault)
    sei_sandbox.faults.clear()
    assert sei_client.listar_unidades()  # the same call succeeds once SEI recovers


def test_infra_erro_parses_from_the_cli_spec() -> None:
    config = FaultConfig.parse("infra_erro=0.05,reset=0.01")
    assert config.infra_erro == pytest.approx(0.05)
    assert "infra_erro=0.05" in config.describe()
