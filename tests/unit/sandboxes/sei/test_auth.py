"""The sandbox authenticates as SEI 4.1 does (docs/sei-authentication.md): by identificação from
an allowed host or by Chave de Acesso, with SEI's texts and kinds. No I/O."""

from __future__ import annotations

import argparse

import pytest

from sei_bridge import errors
from sei_bridge.sandboxes.sei import SandboxConfig, cli
from sei_bridge.sandboxes.sei.auth import (
    Client,
    generate_access_key,
    host_allowed,
    is_access_key,
    key_crc,
    reverse_dns,
)
from sei_bridge.sandboxes.sei.rules import INFRA_ERRO
from tests.fixtures.sei import SEI_TEST_SERVICO, SEI_TEST_SIGLA
from tests.unit.sandboxes.sei.conftest import Harness

#: A key of serviço 2 (its CRC is the one a real SEI 4.1.0 gave its serviço 2).
KEY = "1ad5be0d" + "0123456789abcdef" * 4
FAR = Client("203.0.113.9")  # a client that is not localhost


def test_a_key_is_72_characters_without_a_space_with_a_digit_or_lower_case_letter() -> None:
    assert is_access_key(KEY)
    assert not is_access_key(KEY[:71])
    assert not is_access_key(KEY + " ")
    assert not is_access_key(KEY[:70] + " x")
    assert not is_access_key("ABCDEF" * 12)  # SeiUtilWS's pattern needs one of [0-9a-z] ...
    assert is_access_key("ABCDEF" * 11 + "ABCDEz")  # ... anywhere: it is not anchored


def test_keys_are_made_as_seis_ui_makes_them() -> None:
    assert key_crc(2) == "1ad5be0d"  # seen on SEI 4.1.0
    key = generate_access_key(2)
    assert key.startswith("1ad5be0d") and is_access_key(key)
    assert all(ch in "0123456789abcdef" for ch in key[8:])
    assert key != generate_access_key(2)


def test_loopback_is_localhost_like_seis_reverse_dns() -> None:
    for address in ("127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"):
        assert reverse_dns(address) == "localhost"
    assert reverse_dns("10.1.2.3") == "10.1.2.3"
    assert reverse_dns("nome") == "nome"


@pytest.mark.parametrize(
    ("entry", "admitted"),  # each as seen on SEI 4.1.0 for a call from 127.0.0.1
    [
        ("127.0.0.1", False),
        ("localhost", True),
        ("local*", True),
        ("*host", True),
        ("*", True),
        ("127.0.0.*", False),
        ("LOCALHOST", False),
        ("localhost.localdomain", False),
    ],
)
def test_hosts_match_as_infrautil_matches_them(entry: str, admitted: bool) -> None:
    assert host_allowed("localhost", [entry]) is admitted


# --- by identificação (address) ------------------------------------------------------------------


def test_by_default_the_identificacao_works_from_any_host() -> None:
    harness = Harness()
    assert harness.call("listarSeries", client=FAR)


def test_sistema_and_identificacao_compare_as_seis_collation_does() -> None:
    harness = Harness()
    assert harness.call("listarSeries", SiglaSistema=SEI_TEST_SIGLA.lower())
    assert harness.call("listarSeries", IdentificacaoServico=SEI_TEST_SERVICO.upper() + "  ")
    fault = harness.fault("listarSeries", SiglaSistema="NAOEXISTE")
    assert (fault.message, fault.kind) == ("Sistema [NAOEXISTE] não encontrado.", INFRA_ERRO)


def test_a_host_outside_the_allow_list_is_refused() -> None:
    harness = Harness(allowed_hosts=("localhost",))
    assert harness.call("listarSeries")  # 127.0.0.1 is localhost
    fault = harness.fault("listarSeries", client=FAR)
    assert (fault.message, fault.kind) == ("Acesso negado.", INFRA_ERRO)
    only_ip = Harness(allowed_hosts=("127.0.0.1",))  # SEI compares the name, not the address
    assert only_ip.fault("listarSeries").message == "Acesso negado."


def test_x_forwarded_for_is_trusted_as_seis_is() -> None:
    harness = Harness(allowed_hosts=("10.1.2.3",))
    assert harness.call("listarSeries", client=Client("127.0.0.1", "10.1.2.3"))
    assert harness.call("listarSeries", client=Client("127.0.0.1", "198.51.100.1,10.1.2.3"))
    fault = harness.fault("listarSeries", client=Client("127.0.0.1", "198.51.100.1, 10.1.2.3"))
    assert fault.message == "Acesso negado."  # entries are not trimmed


def test_a_serviço_without_address_authentication_refuses_its_identificacao() -> None:
    harness = Harness(address_auth=False, access_key=KEY)
    fault = harness.fault("listarSeries", IdentificacaoServico="SANDBOX-KEY")
    assert (fault.message, fault.kind) == (
        "Serviço [SANDBOX-KEY] do sistema [SEI_BRIDGE] não possui autenticação por Endereço.",
        INFRA_ERRO,
    )


# --- by Chave de Acesso -------------------------------------------------------------------------


def test_the_key_works_from_any_host_whatever_the_allow_list() -> None:
    harness = Harness(access_key=KEY, allowed_hosts=("sei-bridge.invalid",))
    assert harness.call("listarSeries", IdentificacaoServico=KEY, client=FAR)
    assert harness.fault("listarSeries", client=FAR).message == "Acesso negado."


def test_a_wrong_key_names_the_serviço_and_sistema_as_sei_has_them() -> None:
    harness = Harness(access_key=KEY)
    wrong = KEY[:8] + "0" * 64
    for sigla in (SEI_TEST_SIGLA, SEI_TEST_SIGLA.lower()):
        fault = harness.fault("listarSeries", SiglaSistema=sigla, IdentificacaoServico=wrong)
        assert (fault.message, fault.kind) == (
            "Chave de Acesso inválida para o serviço [sandbox-key] do sistema [SEI_BRIDGE].",
            INFRA_ERRO,
        )
    upper = harness.fault("listarSeries", IdentificacaoServico=KEY.upper())
    assert upper.message.startswith("Chave de Acesso inválida")  # the CRC matched, not the rest


def test_a_key_of_no_serviço_and_a_key_where_there_is_none() -> None:
    expected = ("Serviço do sistema [sei_bridge] não encontrado.", INFRA_ERRO)  # as sent
    harness = Harness(access_key=KEY)
    fault = harness.fault("listarSeries", SiglaSistema="sei_bridge", IdentificacaoServico="f" * 72)
    assert (fault.message, fault.kind) == expected
    fault = Harness().fault("listarSeries", SiglaSistema="sei_bridge", IdentificacaoServico=KEY)
    assert (fault.message, fault.kind) == expected


def test_a_key_for_a_serviço_whose_key_authentication_is_off() -> None:
    harness = Harness(access_key=KEY, key_auth=False)
    fault = harness.fault("listarSeries", IdentificacaoServico=KEY)
    assert (fault.message, fault.kind) == (
        "Serviço [sandbox-key] do sistema [SEI_BRIDGE] não possui autenticação por Chave de "
        "Acesso.",
        INFRA_ERRO,
    )
    assert harness.call("listarSeries")  # the identificação still works


def test_a_key_one_character_short_is_taken_for_an_identificacao() -> None:
    harness = Harness(access_key=KEY)
    fault = harness.fault("listarSeries", IdentificacaoServico=KEY[:71])
    assert fault.message == f"Serviço [{KEY[:71]}] do sistema [SEI_BRIDGE] não encontrado."


# --- configuration ------------------------------------------------------------------------------


def test_a_key_in_the_clients_variable_makes_a_key_only_serviço() -> None:
    servico = SandboxConfig().servico(environ={"SEI_BRIDGE_SEI_IDENTIFICACAO_SERVICO": KEY})
    assert (servico.access_key, servico.key_auth, servico.address_auth) == (KEY, True, False)
    assert KEY not in repr(servico)


def test_the_key_never_shows_in_reprs_and_a_malformed_one_is_refused_unquoted() -> None:
    config = SandboxConfig(access_key=KEY)
    assert KEY not in repr(config) and KEY not in repr(Harness(config).ops.authenticator)
    with pytest.raises(errors.ConfigurationError) as caught:
        SandboxConfig(access_key=KEY[:71])
    assert KEY[:71] not in str(caught.value)


def test_command_options_set_the_authentication() -> None:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(
        ["--access-key", KEY, "--allowed-hosts", "localhost, *.sp.gov.br", "--no-address-auth",
         "--operations", "listarSeries+gerarProcedimento"]
    )  # fmt: skip
    config = cli._config(args)
    assert config.access_key == KEY and not config.address_auth
    assert config.allowed_hosts == ("localhost", "*.sp.gov.br")
    assert config.allowed_operations == {"listarSeries", "gerarProcedimento"}
    defaults = cli._config(parser.parse_args([]))
    assert (defaults.allowed_hosts, defaults.address_auth) == (("*",), True)
    assert (defaults.access_key, defaults.allowed_operations) == (None, None)
    assert KEY not in cli._describe(config)
