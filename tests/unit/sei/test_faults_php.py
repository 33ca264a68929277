"""PHP ext/soap's own fault for an operation the server does not have."""

from __future__ import annotations

from sei_bridge import errors
from sei_bridge.sei import faults


def test_php_missing_operation_is_a_configuration_error_not_a_retry() -> None:
    exc = faults.classify_fault("excluirProcesso", "Procedure 'excluirProcesso' not present", None)
    assert isinstance(exc, errors.SeiEndpointError)
    assert isinstance(exc, errors.ConfigurationError)
    assert "SEI_BRIDGE_SEI_WSDL" in str(exc)
