"""The call deadlines and response caps: defaults, start-up validation with one line naming the
variable, and that the clients built from settings use them."""

from __future__ import annotations

import pytest

from sei_bridge import config, errors
from sei_bridge.sei.client import SeiClient
from sei_bridge.sigrc.client import SigrcClient

_BASE = {
    "SEI_BRIDGE_SEI_URL": "http://127.0.0.1:1/sei/ws/SeiWS.php",
    "SEI_BRIDGE_SEI_SIGLA_SISTEMA": "S",
    "SEI_BRIDGE_SEI_IDENTIFICACAO_SERVICO": "servico",
    "SEI_BRIDGE_SIGRC_URL": "http://127.0.0.1:1/sigrc",
    "SEI_BRIDGE_SIGRC_TOKEN": "token",
}


def test_the_defaults_bound_every_call() -> None:
    settings = config.load_settings({})
    assert settings.sei_call_deadline == 120.0
    assert settings.sei_max_response_bytes == 16 * 1024 * 1024
    assert settings.sigrc_call_deadline == 120.0
    assert settings.sigrc_max_response_bytes == 32 * 1024 * 1024


@pytest.mark.parametrize("variable", ["SEI_CALL_DEADLINE", "SIGRC_CALL_DEADLINE"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-5", "0.5", "86401", "1e400"])
def test_a_deadline_out_of_range_is_one_line_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(errors.ConfigurationError) as caught:
        config.load_settings({f"SEI_BRIDGE_{variable}": value})
    text = str(caught.value)
    assert text.startswith(f"SEI_BRIDGE_{variable}="), text
    assert text.endswith("set it to a number at least 1 and at most 86400"), text
    assert "\n" not in text


@pytest.mark.parametrize("variable", ["SEI_MAX_RESPONSE_BYTES", "SIGRC_MAX_RESPONSE_BYTES"])
@pytest.mark.parametrize("value", ["0", "-1", "65535", str(1024**3 + 1)])
def test_a_response_cap_out_of_range_is_one_line_naming_the_variable(
    variable: str, value: str
) -> None:
    with pytest.raises(errors.ConfigurationError) as caught:
        config.load_settings({f"SEI_BRIDGE_{variable}": value})
    text = str(caught.value)
    assert text.startswith(f"SEI_BRIDGE_{variable}="), text
    assert text.endswith("set it to a whole number from 65536 to 1073741824"), text


def test_a_response_cap_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(errors.ConfigurationError, match="SEI_BRIDGE_SEI_MAX_RESPONSE_BYTES"):
        config.load_settings({"SEI_BRIDGE_SEI_MAX_RESPONSE_BYTES": "16MiB"})


def test_the_clients_from_settings_use_them() -> None:
    settings = config.load_settings(
        {
            **_BASE,
            "SEI_BRIDGE_SEI_CALL_DEADLINE": "45",
            "SEI_BRIDGE_SEI_MAX_RESPONSE_BYTES": "1048576",
            "SEI_BRIDGE_SIGRC_CALL_DEADLINE": "30",
            "SEI_BRIDGE_SIGRC_MAX_RESPONSE_BYTES": "2097152",
        }
    )
    sei = SeiClient.from_settings(settings)
    assert (sei.transport.call_deadline, sei.transport.max_response_bytes) == (45.0, 1048576)
    sigrc = SigrcClient.from_settings(settings)
    assert (sigrc._deadline, sigrc._max_bytes) == (30.0, 2097152)
