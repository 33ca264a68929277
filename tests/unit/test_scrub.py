"""The scrubber: what an outside text keeps (SEI's words, protocolos, process numbers) and what
it loses (personal data, credentials, our secrets, anything past the bound)."""

from __future__ import annotations

import time

import pytest

from sei_bridge import scrub

SIGRC_TOKEN = "tok-sigrc-quarenta"


@pytest.mark.parametrize(
    "text",
    [
        "Processo [99990.000001/2026-53] não encontrado.",
        "Processo [6016.2026/0001234-5] não está aberto na unidade [TESTE].",
        "Processo [23000.012345/2026-11] não encontrado.",
        "Anexo X vazio.",
        "Documento [0000002] não encontrado.",
        "Unidade [110000123] não possui acesso ao processo [99990000001202653].",
        "Existe um processo utilizando este número [SP156-2026-01234567].",
        "Especificação possui tamanho superior a 100 caracteres.\\nHipótese Legal não informada.",
        "Serviço [[secure]] do sistema [ADAPTER] não encontrado.",
        "Chave de Acesso inválida para o serviço [[secure]] do sistema [ADAPTER].",
        "Documento possui conteúdo não permitido (0004869).",
        "Token inválido para a operação.",
        "Erro processando requisição: Deadlock found when trying to get lock.",
        "Nenhuma operação configurada para [gerarProcedimento] no serviço [[secure]] com tipo "
        "de processo [Comunicação: Pedido] na unidade [TESTE].",
    ],
)
def test_ordinary_texts_come_out_unchanged(text: str) -> None:
    assert scrub.scrub(text, secrets=[SIGRC_TOKEN]) == text


@pytest.mark.parametrize(
    ("text", "leaked", "shown"),
    [
        ("Interessado CPF 123.456.789-09 inválido", "123.456.789-09", "CPF [CPF] inválido"),
        ("Interessado CPF 12345678909 inválido", "12345678909", "CPF [CPF] inválido"),
        ("CNPJ 12.345.678/0001-95.", "12.345.678/0001-95", "CNPJ [CNPJ]."),
        ("CNPJ [12345678000195]", "12345678000195", "CNPJ [[CNPJ]]"),
        ("Authorization: Bearer eyJhbGciOi.J9abc-x_y", "eyJhbGciOi", "Bearer [secure]"),
        ("Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz", "Basic [secure]"),
        ("?token=abc123&x=1", "abc123", "token=[secure]&x=1"),
        ("senha: hunter22 ok", "hunter22", "senha: [secure] ok"),
        ("escreva a maria.silva@example.com.br", "maria.silva", "a [e-mail]"),
        ("hash 0123456789abcdef0123456789abcdef01 fim", "0123456789abcdef", "hash [secure] fim"),
        ("blob QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo= fim", "QUJDREVG", "blob [secure] fim"),
        (f"eco {SIGRC_TOKEN} eco", SIGRC_TOKEN, "eco [secure] eco"),
        ("linha\nforjada\r\x1b[31m", "\n", "linha forjada  [31m"),
    ],
)
def test_personal_data_credentials_and_secrets_are_masked(
    text: str, leaked: str, shown: str
) -> None:
    out = scrub.scrub(text, secrets=[SIGRC_TOKEN])
    assert leaked not in out
    assert shown in out


def test_short_secrets_are_not_searched_for() -> None:
    assert scrub.mask("Sistema [X] não encontrado.", secrets=["X", ""]) == (
        "Sistema [X] não encontrado."
    )


def test_a_secret_holding_another_is_masked_whole() -> None:
    assert scrub.mask("a abcdef-ghijkl b", secrets=["abcdef", "abcdef-ghijkl"]) == ("a [secure] b")


def test_long_texts_are_cut_saying_how_much() -> None:
    out = scrub.scrub("Falha: " + "x" * 2000)
    assert out == "Falha: " + "x" * (scrub.DEFAULT_LIMIT - 7) + "…[1507 characters cut]"
    assert scrub.truncate("curto", 10) == "curto"


def test_a_secret_straddling_the_cut_is_not_half_shown() -> None:
    text = "y" * (scrub.DEFAULT_LIMIT - 5) + SIGRC_TOKEN
    out = scrub.scrub(text, secrets=[SIGRC_TOKEN])
    assert SIGRC_TOKEN[:5] not in out


def test_a_hostile_megabyte_is_scrubbed_in_linear_time() -> None:
    # runs that would make naive patterns quadratic: long local parts, digit runs, tokens
    texts = ["a" * 1_000_000, "Aa" * 500_000, "1" * 1_000_000, "a." * 500_000, "@a" * 500_000]
    started = time.monotonic()
    for text in texts:
        assert len(scrub.scrub(text, secrets=[SIGRC_TOKEN])) <= scrub.DEFAULT_LIMIT + 40
    assert time.monotonic() - started < 10
