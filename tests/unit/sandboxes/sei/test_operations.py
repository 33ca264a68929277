"""SEI's rules as the sandbox enforces them, with SEI's exact fault texts and kinds."""

from __future__ import annotations

import base64

import pytest

from sei_bridge.sandboxes.sei import nup
from sei_bridge.sandboxes.sei.catalog import (
    HIPOTESE_SEGREDO_JUSTICA,
    SERIE_ANEXO,
    SERIE_DESPACHO,
    SERIE_INTERACAO,
    UNIDADE_DEMAP,
    UNIDADE_DIVCAD,
)
from sei_bridge.sandboxes.sei.rules import INFRA_ERRO, INFRA_VALIDACAO, SeiFault
from tests.unit.sandboxes.sei.conftest import Harness, field, items, procedimento, text


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _recebido(protocolo: str, **changes: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "Tipo": "R",
        "ProtocoloProcedimento": protocolo,
        "IdSerie": SERIE_ANEXO,
        "Data": "20/11/2026",
        "Descricao": "Anexo 1",
        "NomeArquivo": "comprovante.pdf",
        "Conteudo": _b64(b"%PDF-1.4 comprovante"),
    }
    doc.update(changes)
    return doc


# --- credentials and lookups ---------------------------------------------------------------------


def test_unknown_sistema_and_servico_are_refused_with_seis_words(sandbox: Harness) -> None:
    fault = sandbox.fault("listarSeries", SiglaSistema="NAOEXISTE")
    assert (fault.message, fault.kind) == ("Sistema [NAOEXISTE] não encontrado.", INFRA_ERRO)
    fault = sandbox.fault("listarSeries", IdentificacaoServico="errada")
    assert fault.message == "Serviço [errada] do sistema [SEI_BRIDGE] não encontrado."


def test_an_operation_missing_from_the_servico_is_refused_where_sei_checks_it() -> None:
    # SEI has no "deny" list: an operation the serviço lacks answers "Nenhuma operação
    # configurada ..." (SEI 4.1.0, tests/contract); the others still work
    harness = Harness(allowed_operations=frozenset({"listarHipotesesLegais"}))
    fault = harness.fault("gerarProcedimento", Procedimento=procedimento())
    assert fault.message.startswith("Nenhuma operação configurada para [gerarProcedimento]")
    assert fault.kind == INFRA_VALIDACAO
    assert harness.call("listarHipotesesLegais")
    assert harness.call("listarSeries")  # SEI checks no operation for it


def _nenhuma(op: str, rest: str) -> str:
    return f"Nenhuma operação configurada para [{op}] no serviço [sandbox-key]{rest}."


def test_operations_not_configured_answer_with_seis_three_templates(sandbox: Harness) -> None:
    protocolo = sandbox.gerar()
    # the same processo, seen by a serviço with one operation
    harness = Harness(state=sandbox.state, allowed_operations=frozenset({"listarContatos"}))
    fault = harness.fault("gerarProcedimento", Procedimento=procedimento())
    assert (fault.message, fault.kind) == (
        _nenhuma(
            "gerarProcedimento",
            " com tipo de processo [IPTU: Revisão do valor venal] na unidade [SF/DIVCAD]",
        ),
        INFRA_VALIDACAO,
    )
    fault = harness.fault(
        "incluirDocumento",
        Documento={"Tipo": "G", "ProtocoloProcedimento": protocolo, "IdSerie": SERIE_INTERACAO},
    )
    assert fault.message == _nenhuma(
        "incluirDocumento",
        " com tipo de processo [IPTU: Revisão do valor venal] e tipo de documento "
        "[Interação SP156] na unidade [SF/DIVCAD]",
    )
    fault = harness.fault("consultarProcedimento", ProtocoloProcedimento=protocolo)
    assert fault.message.startswith("Nenhuma operação configurada para [consultarProcedimento]")
    fault = harness.fault("listarHipotesesLegais")
    assert fault.message == _nenhuma("listarHipotesesLegais", " na unidade [SF/DIVCAD]")
    assert harness.call("listarContatos")
    for unchecked in ("listarUnidades", "listarTiposProcedimento", "listarSeries"):
        assert harness.call(unchecked)  # SEI never checks these


def test_seis_own_lookups_come_before_the_operation_check() -> None:
    harness = Harness(allowed_operations=frozenset())
    fault = harness.fault("gerarProcedimento", Procedimento=procedimento(IdTipoProcedimento="1"))
    assert fault.message == "Tipo de procedimento [1] não encontrado."
    fault = harness.fault("consultarProcedimento", ProtocoloProcedimento="99999.999999/2099-99")
    assert fault.message == "Processo [99999.999999/2099-99] não encontrado."


def test_the_documents_of_a_new_processo_need_incluir_documento() -> None:
    harness = Harness(allowed_operations=frozenset({"gerarProcedimento"}))
    assert harness.gerar()
    fault = harness.fault(
        "gerarProcedimento",
        Procedimento=procedimento(),
        Documentos=[{"Tipo": "G", "IdSerie": SERIE_INTERACAO, "Conteudo": "PHA+PC9wPg=="}],
    )
    assert fault.message == _nenhuma(
        "incluirDocumento",
        " com tipo de processo [IPTU: Revisão do valor venal] e tipo de documento "
        "[Interação SP156] na unidade [SF/DIVCAD]",
    )
    assert len(harness.state.processes()) == 1


def test_unknown_ids_are_named_in_the_fault(sandbox: Harness) -> None:
    assert sandbox.fault(
        "gerarProcedimento", IdUnidade="999", Procedimento=procedimento()
    ).message == ("Unidade [999] não encontrada.")
    fault = sandbox.fault("gerarProcedimento", Procedimento=procedimento(IdTipoProcedimento="1"))
    assert (fault.message, fault.kind) == ("Tipo de procedimento [1] não encontrado.", INFRA_ERRO)
    fault = sandbox.fault(
        "gerarProcedimento", Procedimento=procedimento(Assuntos=[{"CodigoEstruturado": "999.9"}])
    )
    assert fault.message == "Assunto [999.9] não encontrado."
    protocolo = sandbox.gerar()
    assert (
        sandbox.fault(
            "incluirDocumento",
            Documento={"Tipo": "G", "ProtocoloProcedimento": protocolo, "IdSerie": "99"},
        ).message
        == "Tipo de documento [99] não encontrado."
    )
    fault = sandbox.fault("concluirProcesso", ProtocoloProcedimento="99990.999999/2026-00")
    assert (fault.message, fault.kind) == (
        "Processo [99990.999999/2026-00] não encontrado.",
        INFRA_ERRO,
    )


# --- access level and hipótese legal --------------------------------------------------------------


def test_restrito_needs_an_applicable_hipotese_legal(sandbox: Harness) -> None:
    fault = sandbox.fault("gerarProcedimento", Procedimento=procedimento(IdHipoteseLegal=None))
    assert (fault.message, fault.kind) == ("Hipótese Legal não informada.", INFRA_VALIDACAO)
    fault = sandbox.fault(
        "gerarProcedimento", Procedimento=procedimento(IdHipoteseLegal=HIPOTESE_SEGREDO_JUSTICA)
    )
    assert fault.message == "Hipótese Legal não aplicável ao Nível de Acesso do protocolo."
    fault = sandbox.fault("gerarProcedimento", Procedimento=procedimento(IdHipoteseLegal="999"))
    assert (fault.message, fault.kind) == ("Hipótese Legal não encontrada.", INFRA_VALIDACAO)
    fault = sandbox.fault("gerarProcedimento", Procedimento=procedimento(NivelAcesso="7"))
    assert fault.message.split("\\n") == [
        "Nível de acesso local inválido.",
        "Nível de acesso não permitido para este tipo de processo.",
    ]
    assert sandbox.state.processos == {}
    # a hipótese sent with público is dropped, as a real SEI 4.1.0 does
    protocolo = sandbox.gerar(NivelAcesso="0")
    assert sandbox.state.process(protocolo).id_hipotese_legal is None


SIGILOSO_PROCESSO = (
    "Não é permitida a geração de processo sigiloso através de Web Services porque nenhum "
    "usuário terá credencial de acesso."
)
SIGILOSO_DOCUMENTO = (
    "A inclusão de documento sigiloso através de Web Services só é permitida se o processo "
    "também for sigiloso."
)


@pytest.mark.parametrize(
    "changes",
    [
        {"IdHipoteseLegal": HIPOTESE_SEGREDO_JUSTICA},  # a hipótese for sigiloso
        {"IdHipoteseLegal": None},
        {"IdHipoteseLegal": "999"},
        {"Especificacao": "x" * 150, "Interessados": [{"Sigla": "SEM-NOME"}]},
    ],
)
def test_a_sigiloso_processo_is_refused_with_seis_words_before_other_checks(
    sandbox: Harness, changes: dict[str, object]
) -> None:
    fault = sandbox.fault(
        "gerarProcedimento", Procedimento=procedimento(NivelAcesso="2", **changes)
    )
    assert (fault.message, fault.kind) == (SIGILOSO_PROCESSO, INFRA_VALIDACAO)
    assert sandbox.state.processos == {} and sandbox.state.contatos == {}


def test_an_unknown_assunto_is_reported_before_sigiloso(sandbox: Harness) -> None:
    fault = sandbox.fault(
        "gerarProcedimento",
        Procedimento=procedimento(NivelAcesso="2", Assuntos=[{"CodigoEstruturado": "999.999"}]),
    )
    assert (fault.message, fault.kind) == ("Assunto [999.999] não encontrado.", INFRA_ERRO)


def test_a_sigiloso_documento_needs_a_sigiloso_processo(sandbox: Harness) -> None:
    protocolo = sandbox.gerar()
    for hipotese in (HIPOTESE_SEGREDO_JUSTICA, None):
        with pytest.raises(SeiFault) as caught:
            sandbox.incluir(protocolo, NivelAcesso="2", IdHipoteseLegal=hipotese)
        assert (caught.value.message, caught.value.kind) == (SIGILOSO_DOCUMENTO, INFRA_VALIDACAO)
    fault = sandbox.fault(
        "gerarProcedimento",
        Procedimento=procedimento(),
        Documentos=[
            {
                "Tipo": "G",
                "IdSerie": SERIE_INTERACAO,
                "NivelAcesso": "2",
                "Conteudo": "PHA+PC9wPg==",
            }
        ],
    )
    assert (fault.message, fault.kind) == (SIGILOSO_DOCUMENTO, INFRA_VALIDACAO)
    (processo,) = sandbox.state.processes()
    assert processo.documents == ()


def test_without_enforcement_restrito_needs_no_hipotese() -> None:
    harness = Harness(enforce_hipotese_legal=False)
    assert harness.gerar(IdHipoteseLegal=None)


def test_documents_inherit_the_processos_access_level(sandbox: Harness) -> None:
    protocolo = sandbox.gerar()
    sandbox.incluir(protocolo)
    (processo,) = sandbox.state.processes()
    assert [(d.nivel_acesso, d.id_hipotese_legal) for d in processo.documents] == [(1, "34")]


# --- lengths --------------------------------------------------------------------------------------


def test_field_lengths_count_characters_outside_latin1_as_references(sandbox: Harness) -> None:
    assert sandbox.gerar(Especificacao="x" * 100)
    # 92 + len("&#128512;") = 101
    fault = sandbox.fault(
        "gerarProcedimento", Procedimento=procedimento(Especificacao="x" * 92 + "😀")
    )
    assert fault.message == "Especificação possui tamanho superior a 100 caracteres."


def test_several_validation_messages_are_joined_by_a_literal_backslash_n(sandbox: Harness) -> None:
    fault = sandbox.fault(
        "gerarProcedimento",
        Procedimento=procedimento(
            Especificacao="x" * 101,
            Observacao="y" * 1001,
            NumeroProtocolo="SP156-9",
            DataAutuacao="01/01/2099",
        ),
    )
    # (SEI 4.1.0, tests/contract): ProtocoloRN's messages in its order; the observação is
    # checked after them, so it is not named
    assert fault.message == (
        "Data do protocolo não pode estar no futuro.\\n"
        "Especificação possui tamanho superior a 100 caracteres."
    )
    protocolo = sandbox.gerar()
    fault = sandbox.fault(
        "incluirDocumento",
        Documento={
            "Tipo": "G",
            "ProtocoloProcedimento": protocolo,
            "IdSerie": SERIE_INTERACAO,
            "Descricao": "d" * 251,
        },
    )
    assert fault.message == "Descrição possui tamanho superior a 250 caracteres."


# --- documentos -----------------------------------------------------------------------------------


def test_tipo_g_and_r_date_rules(sandbox: Harness) -> None:
    protocolo = sandbox.gerar()
    fault = sandbox.fault(
        "incluirDocumento",
        Documento={
            "Tipo": "G",
            "ProtocoloProcedimento": protocolo,
            "IdSerie": SERIE_INTERACAO,
            "Data": "20/11/2026",
        },
    )
    assert fault.message == "Não é possível informar a data para um documento gerado."
    fault = sandbox.fault("incluirDocumento", Documento=_recebido(protocolo, Data=None))
    assert fault.message == "Data do documento não informada."
    sandbox.call("incluirDocumento", Documento=_recebido(protocolo))
    (processo,) = sandbox.state.processes()
    assert processo.documents[0].data == "20/11/2026"


def test_an_external_document_has_exactly_one_content_source(sandbox: Harness) -> None:
    protocolo = sandbox.gerar()
    # (SEI 4.1.0, tests/contract)
    both = _recebido(protocolo, ConteudoMTOM=_b64(b"%PDF-1.4 outro"))
    fault = sandbox.fault("incluirDocumento", Documento=both)
    assert (fault.message, fault.kind) == (
        "Não é possível enviar documento externo utilizando os elementos Conteudo (Base64) e "
        "ConteudoMTOM (Binário) ao mesmo tempo.",
        INFRA_ERRO,
    )
    assert sandbox.state.processes()[0].documents == ()
    # with a NomeArquivo SEI takes the inline content and ignores an IdArquivo beside it
    sandbox.call("incluirDocumento", Documento=_recebido(protocolo, IdArquivo="1"))
    (document,) = sandbox.state.processes()[0].documents
    assert document.content == b"%PDF-1.4 comprovante"


def test_an_external_document_may_have_no_file_but_content_needs_a_name(
    sandbox: Harness,
) -> None:
    protocolo = sandbox.gerar()
    # (SEI 4.1.0, tests/contract)
    fault = sandbox.fault("incluirDocumento", Documento=_recebido(protocolo, NomeArquivo=None))
    assert (fault.message, fault.kind) == (
        "Nome do arquivo não informado para o conteúdo do documento externo.",
        INFRA_ERRO,
    )
    sandbox.call(
        "incluirDocumento", Documento=_recebido(protocolo, NomeArquivo=None, Conteudo=None)
    )
    (document,) = sandbox.state.processes()[0].documents
    assert (document.nome_arquivo, document.content) == (None, b"")


def test_extensions_outside_the_allow_list_are_refused(sandbox: Harness) -> None:
    protocolo = sandbox.gerar()
    fault = sandbox.fault(
        "incluirDocumento", Documento=_recebido(protocolo, NomeArquivo="foto.PNG")
    )
    assert fault.message == 'Tipo do arquivo ".png" não autorizado para inclusão via serviços.'
    sandbox.call("incluirDocumento", Documento=_recebido(protocolo, NomeArquivo="foto.JPG"))


def test_external_documents_above_the_size_limit_are_refused() -> None:
    harness = Harness(max_external_mb=1)
    protocolo = harness.gerar()
    big = _b64(b"x" * (1024 * 1024 + 1))
    fault = harness.fault("incluirDocumento", Documento=_recebido(protocolo, Conteudo=big))
    assert fault.message == "O tamanho máximo geral permitido para documentos externos é 1Mb."
    harness.call(
        "incluirDocumento", Documento=_recebido(protocolo, Conteudo=_b64(b"x" * 1024 * 1024))
    )


def test_numero_on_a_serie_without_numbering(sandbox: Harness) -> None:
    protocolo = sandbox.gerar()
    fault = sandbox.fault(
        "incluirDocumento",
        Documento={
            "Tipo": "G",
            "ProtocoloProcedimento": protocolo,
            "IdSerie": SERIE_DESPACHO,
            "Numero": "12",
        },
    )
    assert fault.message == "Documento com número preenchido mas o tipo Despacho não tem numeração."


def test_generated_html_is_stored_as_sei_stores_it_losing_what_utf8_decode_loses(
    sandbox: Harness,
) -> None:
    protocolo = sandbox.gerar()
    sandbox.incluir(protocolo, Conteudo=_b64("<p>😀 olá</p>".encode()))  # UTF-8 sent
    sandbox.incluir(protocolo, Conteudo=_b64(b"<p>&#128512; ol\xe1</p>"))  # Latin-1 sent
    sandbox.incluir(protocolo, Conteudo=_b64(b"<p>&#128512; ol&#225;</p>"))  # ASCII sent
    first, second, third = sandbox.state.processes()[0].documents
    assert first.content == b"<p>? ol&aacute;</p>"  # utf8_decode, then converterHTML
    assert second.content == b"<p>&#128512; ol?</p>"  # 0xE1 alone is not UTF-8
    assert third.html == "<p>&#128512; ol&#225;</p>"  # kept as sent


def test_string_fields_keep_characters_outside_latin1_as_references(sandbox: Harness) -> None:
    protocolo = sandbox.gerar(Especificacao="Revisão 😀")
    sandbox.incluir(protocolo, Descricao="<script>😀")
    (processo,) = sandbox.state.processes()
    assert processo.especificacao == "Revisão &#128512;"
    assert processo.documents[0].descricao == "<script>&#128512;"  # markup kept as typed


@pytest.mark.parametrize(
    ("html", "message"),
    [
        (
            b"<p>a</p><script>alert(1)</script>",
            "Documento possui código de script oculto no conteúdo.",
        ),
        (b"<p>a</p><SCRIPT src=x>", "Documento possui código de script oculto no conteúdo."),
        (
            b"<html><body><p>&lt;script&gt;alert(1)</p></body></html>",
            # SEI names the number it gave the refused documento (the processo has 0000001)
            "Documento possui conteúdo não permitido (0000002).",
        ),
    ],
)
def test_the_script_filter(sandbox: Harness, html: bytes, message: str) -> None:
    protocolo = sandbox.gerar()
    assert (
        sandbox.fault(
            "incluirDocumento",
            Documento={
                "Tipo": "G",
                "ProtocoloProcedimento": protocolo,
                "IdSerie": SERIE_INTERACAO,
                "Conteudo": _b64(html),
            },
        ).message
        == message
    )


def test_escaped_script_text_in_a_fragment_is_accepted(sandbox: Harness) -> None:
    protocolo = sandbox.gerar()
    sandbox.incluir(protocolo, Conteudo=_b64(b"<p>&lt;script&gt;alert(1)</p>"))
    assert len(sandbox.state.processes()[0].documents) == 1


# --- gerarProcedimento ----------------------------------------------------------------------------


def test_process_numbers_carry_nup_check_digits_and_never_repeat(sandbox: Harness) -> None:
    assert nup("99990", 1, 2026) == "99990.000001/2026-53"
    numbers = [sandbox.gerar() for _ in range(3)]
    assert numbers[0] == "99990.000001/2026-53"
    assert len(set(numbers)) == 3


def test_at_most_five_documents_per_gerar_procedimento(sandbox: Harness) -> None:
    docs = [{"Tipo": "G", "IdSerie": SERIE_INTERACAO, "Conteudo": _b64(b"<p>x</p>")}] * 6
    fault = sandbox.fault("gerarProcedimento", Procedimento=procedimento(), Documentos=docs)
    assert fault.message == (
        "O número máximo de documentos para inclusão ao gerar um processo por web services é 5."
    )
    answer = sandbox.call("gerarProcedimento", Procedimento=procedimento(), Documentos=docs[:5])
    assert len(items(field(answer, "RetornoInclusaoDocumentos"))) == 5


def test_gerar_procedimento_is_all_or_nothing(sandbox: Harness) -> None:
    docs = [
        {"Tipo": "G", "IdSerie": SERIE_INTERACAO, "Conteudo": _b64(b"<p>x</p>")},
        {
            "Tipo": "R",
            "IdSerie": SERIE_ANEXO,
            "Data": "20/11/2026",
            "NomeArquivo": "a.png",
            "Conteudo": _b64(b"png"),
        },
    ]
    sandbox.fault("gerarProcedimento", Procedimento=procedimento(), Documentos=docs)
    assert sandbox.state.processes() == []
    assert sandbox.state.contacts() == []
    assert sandbox.gerar() == "99990.000001/2026-53"  # no number was used up


def test_the_types_suggested_assunto_is_always_added(sandbox: Harness) -> None:
    sandbox.gerar(Assuntos=[{"CodigoEstruturado": "052.5"}])
    assert sandbox.state.processes()[0].assuntos == ("052.5", "052.1")


def test_numero_protocolo_is_a_lookup_key_but_not_idempotent(sandbox: Harness) -> None:
    first = sandbox.gerar(NumeroProtocolo="SP156-2026-00123456", DataAutuacao="20/11/2026")
    assert first == "SP156-2026-00123456"
    found = sandbox.call("consultarProcedimento", ProtocoloProcedimento="sp156 2026/00123456")
    assert text(found, "ProcedimentoFormatado") == first
    assert text(found, "DataAutuacao") == "20/11/2026"
    # Sent again, the same number silently gives a SECOND processo with a generated number.
    second = sandbox.gerar(NumeroProtocolo="SP156-2026-00123456", DataAutuacao="20/11/2026")
    assert second == "99990.000001/2026-53"
    again = sandbox.call("consultarProcedimento", ProtocoloProcedimento=first)
    assert text(again, "IdProcedimento") == text(found, "IdProcedimento")
    fault = sandbox.fault("gerarProcedimento", Procedimento=procedimento(NumeroProtocolo="SP156-X"))
    assert (fault.message, fault.kind) == (  # (SEI 4.1.0, tests/contract)
        "Número do Protocolo somente deve ser informado em conjunto com a Data de Autuação.",
        INFRA_ERRO,
    )


# --- interessados and contatos --------------------------------------------------------------------


def test_an_interessado_with_only_a_new_sigla_has_no_name(sandbox: Harness) -> None:
    fault = sandbox.fault(
        "gerarProcedimento", Procedimento=procedimento(Interessados=[{"Sigla": "so-sigla-nova"}])
    )
    assert (fault.message, fault.kind) == ("Nome do Interessado vazio ou nulo.", INFRA_ERRO)


def test_interessados_are_matched_before_a_contact_is_created(sandbox: Harness) -> None:
    sandbox.gerar(Interessados=[{"Sigla": "SP156-1", "Nome": "Pessoa Um"}])
    sandbox.gerar(Interessados=[{"Sigla": "sp156-1", "Nome": "Pessoa Um"}])  # Sigla+Nome
    sandbox.gerar(Interessados=[{"Sigla": "SP156-1"}])  # Sigla alone
    sandbox.gerar(Interessados=[{"Sigla": "SP156-9", "Nome": "Pessoa Um"}])  # temporary by Nome
    sandbox.gerar(Interessados=[{"Nome": "Pessoa Dois", "Cpf": "123.456.789-09"}])
    sandbox.gerar(Interessados=[{"Nome": "Outro nome", "Cpf": "12345678909"}])  # by CPF
    contacts = sandbox.state.contacts()
    assert [c.sigla for c in contacts] == ["SP156-1", None]
    ids = [p.interessados[0].id_contato for p in sandbox.state.processes()]
    assert ids == [contacts[0].id_contato] * 4 + [contacts[1].id_contato] * 2


def test_listar_contatos_without_page_size_answers_one_record(sandbox: Harness) -> None:
    sandbox.gerar(Interessados=[{"Sigla": "SP156-1", "Nome": "Pessoa Um"}])
    sandbox.gerar(Interessados=[{"Sigla": "SP156-2", "Nome": "Pessoa Dois"}])
    assert len(items(sandbox.call("listarContatos", PaginaRegistros=None))) == 1
    assert len(items(sandbox.call("listarContatos", PaginaRegistros="10"))) == 2
    found = items(sandbox.call("listarContatos", PaginaRegistros="10", Sigla="sp156-2"))
    assert [text(c, "Nome") for c in found] == ["Pessoa Dois"]
    assert items(sandbox.call("listarContatos", PaginaRegistros="10", Sigla="SP156-3")) == ()


# --- where a processo is open ---------------------------------------------------------------------


def test_concluir_twice_is_refused_and_incluir_reopens_in_the_unit(sandbox: Harness) -> None:
    protocolo = sandbox.gerar()
    assert sandbox.call("concluirProcesso", ProtocoloProcedimento=protocolo) == "1"
    fault = sandbox.fault("concluirProcesso", ProtocoloProcedimento=protocolo)
    assert (fault.message, fault.kind) == (
        f"Processo {protocolo} não está aberto na unidade.",
        INFRA_VALIDACAO,
    )
    sandbox.incluir(protocolo)
    (processo,) = sandbox.state.processes()
    assert processo.unidades_abertas == (UNIDADE_DIVCAD,)
    assert [a.id_tarefa for a in processo.andamentos] == ["1", "28", "29", "2"]


def test_a_unit_the_processo_never_went_through_cannot_add_to_it(sandbox: Harness) -> None:
    protocolo = sandbox.gerar()
    fault = sandbox.fault(
        "incluirDocumento",
        IdUnidade=UNIDADE_DEMAP,
        Documento={"Tipo": "G", "ProtocoloProcedimento": protocolo, "IdSerie": SERIE_INTERACAO},
    )
    assert (fault.message, fault.kind) == (
        f"Unidade SF/DEMAP não possui acesso ao processo {protocolo}.",
        INFRA_ERRO,
    )
    sandbox.call(
        "enviarProcesso",
        ProtocoloProcedimento=protocolo,
        UnidadesDestino=[UNIDADE_DEMAP],
        SinManterAbertoUnidade="N",
    )
    sandbox.incluir(protocolo, unidade=UNIDADE_DEMAP)
    assert sandbox.state.processes()[0].unidades_abertas == (UNIDADE_DEMAP,)


def test_reabrir_only_where_it_was_concluded(sandbox: Harness) -> None:
    protocolo = sandbox.gerar()
    fault = sandbox.fault("reabrirProcesso", ProtocoloProcedimento=protocolo)
    assert fault.message == "Processo já está aberto na unidade atual."
    sandbox.call("concluirProcesso", ProtocoloProcedimento=protocolo)
    assert sandbox.call("reabrirProcesso", ProtocoloProcedimento=protocolo) == "1"


# --- history --------------------------------------------------------------------------------------


def test_consultar_procedimento_history_fields(sandbox: Harness) -> None:
    protocolo = sandbox.gerar()
    sandbox.clock.advance(10)
    sandbox.incluir(protocolo)
    flags = {
        name: "S"
        for name in (
            "SinRetornarUltimoAndamento",
            "SinRetornarAndamentoConclusao",
            "SinRetornarAndamentoGeracao",
            "SinRetornarUnidadesProcedimentoAberto",
        )
    }
    open_answer = sandbox.call("consultarProcedimento", ProtocoloProcedimento=protocolo, **flags)
    # Documents do not change UltimoAndamento (seen on SEI 4.1.0).
    assert text(field(open_answer, "UltimoAndamento"), "Descricao") == "Processo restrito gerado"
    assert field(open_answer, "AndamentoConclusao").__class__.__name__ == "Nil"
    sandbox.call("concluirProcesso", ProtocoloProcedimento=protocolo)
    closed = sandbox.call("consultarProcedimento", ProtocoloProcedimento=protocolo, **flags)
    assert text(field(closed, "AndamentoConclusao"), "Descricao") == (
        "Conclusão do processo na unidade"
    )
    assert items(field(closed, "UnidadesProcedimentoAberto")) == ()
    assert len(items(field(open_answer, "UnidadesProcedimentoAberto"))) == 1


def test_listar_andamentos_needs_a_criterion_and_lists_newest_first(sandbox: Harness) -> None:
    protocolo = sandbox.gerar()
    sandbox.incluir(protocolo)
    sandbox.call("incluirDocumento", Documento=_recebido(protocolo))
    fault = sandbox.fault("listarAndamentos", ProtocoloProcedimento=protocolo, Tarefas=[])
    assert (fault.message, fault.kind) == (
        "Nenhum critério informado para pesquisa de andamentos.",
        INFRA_ERRO,
    )
    listed = items(
        sandbox.call(
            "listarAndamentos",
            ProtocoloProcedimento=protocolo,
            SinRetornarAtributos="S",
            Tarefas=["2", "13"],
        )
    )
    assert [text(a, "IdTarefa") for a in listed] == ["13", "2"]
    atributos = items(field(listed[0], "Atributos"))
    assert (text(atributos[0], "Nome"), text(atributos[0], "Valor")) == ("DOCUMENTO", "0000003")


def test_lancar_andamento_accepts_tarefa_65_only_among_seis_own(sandbox: Harness) -> None:
    protocolo = sandbox.gerar()
    answer = sandbox.call(
        "lancarAndamento",
        ProtocoloProcedimento=protocolo,
        IdTarefa="65",
        Atributos=[{"Nome": "DESCRICAO", "Valor": "Atualizado pelo SP156", "IdOrigem": None}],
    )
    assert text(answer, "Descricao") == "Atualizado pelo SP156"
    fault = sandbox.fault("lancarAndamento", ProtocoloProcedimento=protocolo, IdTarefa="2")
    # (SEI 4.1.0, tests/contract)
    assert (fault.message, fault.kind) == ("Identificador de tarefa [2] reservado.", INFRA_ERRO)


# --- chunked upload -------------------------------------------------------------------------------


def _upload(harness: Harness, data: bytes, chunks: int, *, md5: str | None = None) -> str:
    import hashlib

    size = -(-len(data) // chunks)
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    id_arquivo = str(
        harness.call(
            "adicionarArquivo",
            Nome="laudo.pdf",
            Tamanho=str(len(data)),
            Hash=md5 or hashlib.md5(data).hexdigest(),
            Conteudo=_b64(pieces[0]),
        )
    )
    for piece in pieces[1:]:
        assert (
            harness.call("adicionarConteudoArquivo", IdArquivo=id_arquivo, Conteudo=_b64(piece))
            == "1"
        )
    return id_arquivo


def test_chunked_upload_fails_at_incluir_documento_like_sei_4_1_0(sandbox: Harness) -> None:
    protocolo = sandbox.gerar()
    id_arquivo = _upload(sandbox, b"%PDF" * 1000, 3)
    doc = _recebido(protocolo, Conteudo=None, NomeArquivo="anexo.pdf", IdArquivo=id_arquivo)
    fault = sandbox.fault("incluirDocumento", Documento=doc)
    assert (fault.message, fault.kind) == ("Anexo anexo.pdf vazio.", INFRA_VALIDACAO)
    doc = _recebido(protocolo, Conteudo=None, NomeArquivo=None, IdArquivo=id_arquivo)
    fault = sandbox.fault("incluirDocumento", Documento=doc)  # (SEI 4.1.0, tests/contract)
    assert (fault.message, fault.kind) == ("Atributo [IdAnexo] não recebeu valor.", INFRA_ERRO)
    assert sandbox.state.processes()[0].documents == ()


def test_working_chunked_upload_becomes_the_documento() -> None:
    harness = Harness(chunked_upload="working")
    protocolo = harness.gerar()
    data = bytes(range(256)) * 40
    id_arquivo = _upload(harness, data, 4)
    doc = _recebido(protocolo, Conteudo=None, NomeArquivo=None, IdArquivo=id_arquivo)
    harness.call("incluirDocumento", Documento=doc)
    (document,) = harness.state.processes()[0].documents
    assert (document.content, document.nome_arquivo) == (data, "laudo.pdf")
    assert harness.state.uploads == {}  # used up


def test_a_chunk_that_breaks_size_or_md5_is_corrupted(sandbox: Harness) -> None:
    # (SEI 4.1.0, tests/contract): a first chunk of another size than announced is accepted
    # (the file stays inactive), a chunk past the size exceeds it, a complete file must have
    # its MD5
    fault = sandbox.fault(
        "adicionarArquivo", Nome="a.pdf", Tamanho="4", Hash="0" * 32, Conteudo=_b64(b"abcd")
    )
    assert fault.message == "Conteúdo do arquivo corrompido."
    id_arquivo = sandbox.call(
        "adicionarArquivo", Nome="a.pdf", Tamanho="4", Hash="0" * 32, Conteudo=_b64(b"ab")
    )
    fault = sandbox.fault("adicionarConteudoArquivo", IdArquivo=id_arquivo, Conteudo=_b64(b"cde"))
    assert fault.message == "Conteúdo do arquivo excede o tamanho definido."
    fault = sandbox.fault("adicionarConteudoArquivo", IdArquivo=id_arquivo, Conteudo=_b64(b"cd"))
    assert fault.message == "Conteúdo do arquivo corrompido."
    assert sandbox.state.uploads[int(str(id_arquivo))].data == bytearray(b"ab")


def test_excluir_documento_only_by_its_unit_and_while_open_there(sandbox: Harness) -> None:
    # (SEI 4.1.0: DocumentoRN::excluirRN0006 then AtividadeRN, seen by a call to a real SEI;
    # the contract suite's sandbox WSDL has no excluirDocumento)
    protocolo = sandbox.gerar()
    documento = str(field(sandbox.incluir(protocolo), "DocumentoFormatado"))
    sandbox.call(
        "enviarProcesso",
        ProtocoloProcedimento=protocolo,
        UnidadesDestino=[UNIDADE_DEMAP],
        SinManterAbertoUnidade="S",
    )
    fault = sandbox.fault("excluirDocumento", IdUnidade=UNIDADE_DEMAP, ProtocoloDocumento=documento)
    assert (fault.message, fault.kind) == (
        f"Documento {documento} somente pode ser excluído pela unidade geradora.",
        INFRA_VALIDACAO,
    )
    sandbox.call("concluirProcesso", ProtocoloProcedimento=protocolo)
    fault = sandbox.fault("excluirDocumento", ProtocoloDocumento=documento)
    assert fault.message == (
        f"Processo {protocolo} não possui andamento aberto na unidade SF/DIVCAD."
    )
    sandbox.call("reabrirProcesso", ProtocoloProcedimento=protocolo)
    assert sandbox.call("excluirDocumento", ProtocoloDocumento=documento) == "1"
