"""The real SEI client against the running SEI sandbox, over HTTP on 127.0.0.1.

Every operation sei-bridge uses, every class of failure (validation, access denied, not sent,
outcome unknown — a hang past the read timeout and an answer lost after the commit), inline and
chunked attachments, hostile citizen text, and both the 4.1 and the 3.0 WSDL. Assertions are on
what the client returns or raises AND on what the sandbox recorded (its state).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from sei_bridge import errors
from sei_bridge.sandboxes.sei import ChunkedUpload, FaultConfig, ResponseEncoding, RunningSandbox
from sei_bridge.sandboxes.sei import catalog as cat
from sei_bridge.sei import types, wsdl
from sei_bridge.sei.client import SeiClient
from sei_bridge.sei.html import FragmentBuilder

UNIDADE = cat.UNIDADE_DIVCAD
HOSTILE = (
    'Munícipe 😀👍🏽 中文 — <script>alert(1)</script> ]]> "aspas" & <b>negrito</b>\nsegunda linha'
)

Sandbox = RunningSandbox


@pytest.fixture
def sandboxes(sei_sandbox_factory: Callable[..., Sandbox]) -> Callable[..., Sandbox]:
    """Start sandboxes with SandboxConfig overrides (stopped at teardown by the factory)."""
    return sei_sandbox_factory


@pytest.fixture
def sandbox(sei_sandbox: Sandbox) -> Sandbox:
    return sei_sandbox


def client_for(
    sandbox: Sandbox,
    *,
    wsdl_source: str | None = "server",
    read_timeout: float = 10.0,
    chunked: bool = False,
    chunk_bytes: int = 1024 * 1024,
    sigla: str | None = None,
    key: str | None = None,
) -> SeiClient:
    """A client of ``sandbox`` (its credentials unless given); ``wsdl_source`` "server" loads
    the sandbox's own WSDL URL, None the bundled 4.1 WSDL."""
    accepted_sigla, accepted_key = sandbox.credentials
    return SeiClient(
        endpoint_url=sandbox.endpoint_url,
        sigla_sistema=sigla or accepted_sigla,
        identificacao_servico=key or accepted_key,
        wsdl=sandbox.wsdl_url if wsdl_source == "server" else wsdl_source,
        connect_timeout=2.0,
        read_timeout=read_timeout,
        chunked_upload=chunked,
        chunk_bytes=chunk_bytes,
    )


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _procedimento(**changes: Any) -> types.NovoProcedimento:
    base = types.NovoProcedimento(
        id_tipo_procedimento=cat.TIPO_IPTU,
        especificacao="Solicitação SP156 2026-00123456",
        assuntos=("052.1",),
        interessados=(types.Interessado(sigla=_unique("SP156"), nome=_unique("Munícipe")),),
        observacao="aberto pelo sei-bridge",
        nivel_acesso=types.NivelAcesso.RESTRITO,
        id_hipotese_legal=cat.HIPOTESE_INFORMACAO_PESSOAL,
    )
    return dataclasses.replace(base, **changes)


def _gerado(protocolo: str | None, html: bytes, **changes: Any) -> types.NovoDocumento:
    return dataclasses.replace(
        types.NovoDocumento(
            tipo=types.TipoDocumento.GERADO,
            id_serie=cat.SERIE_INTERACAO,
            protocolo_procedimento=protocolo,
            descricao="Interação 1",
            conteudo=html,
            nivel_acesso=types.NivelAcesso.RESTRITO,
            id_hipotese_legal=cat.HIPOTESE_INFORMACAO_PESSOAL,
        ),
        **changes,
    )


def _recebido(protocolo: str, content: bytes, **changes: Any) -> types.NovoDocumento:
    return dataclasses.replace(
        types.NovoDocumento(
            tipo=types.TipoDocumento.RECEBIDO,
            id_serie=cat.SERIE_ANEXO,
            protocolo_procedimento=protocolo,
            descricao="Anexo do munícipe",
            data=dt.date(2026, 11, 22),
            nome_arquivo="anexo.pdf",
            conteudo=content,
            nivel_acesso=types.NivelAcesso.RESTRITO,
            id_hipotese_legal=cat.HIPOTESE_INFORMACAO_PESSOAL,
        ),
        **changes,
    )


def _abrir(client: SeiClient, **changes: Any) -> types.ProcedimentoGerado:
    return client.gerar_procedimento(id_unidade=UNIDADE, procedimento=_procedimento(**changes))


# --- every operation ------------------------------------------------------------------------------


def test_catalogs(sandbox: Sandbox) -> None:
    client = client_for(sandbox)
    assert UNIDADE in {u.id_unidade for u in client.listar_unidades()}
    assert cat.TIPO_IPTU in {t.id_tipo_procedimento for t in client.listar_tipos_procedimento()}
    series = {s.id_serie for s in client.listar_series(id_unidade=UNIDADE)}
    assert {cat.SERIE_SOLICITACAO, cat.SERIE_INTERACAO, cat.SERIE_ANEXO} <= series
    restritas = client.listar_hipoteses_legais(nivel_acesso=types.NivelAcesso.RESTRITO)
    assert cat.HIPOTESE_INFORMACAO_PESSOAL in {h.id_hipotese_legal for h in restritas}
    assert all(h.nivel_acesso == types.NivelAcesso.RESTRITO for h in restritas)
    extensoes = {e.extensao for e in client.listar_extensoes_permitidas(id_unidade=UNIDADE)}
    assert "pdf" in extensoes and "png" not in extensoes


def test_processo_lifecycle(sandbox: Sandbox) -> None:
    client = client_for(sandbox)
    interessado = types.Interessado(sigla=_unique("SP156"), nome=_unique("Munícipe"))
    numero = _unique("SP156-2026")
    solicitacao = FragmentBuilder("Solicitação SP156 nº 2026-00123456").paragraph("Pedido")
    gerado = client.gerar_procedimento(
        id_unidade=UNIDADE,
        procedimento=_procedimento(
            interessados=(interessado,),
            numero_protocolo=numero,
            data_autuacao=dt.date(2026, 11, 22),
        ),
        documentos=[
            _gerado(None, solicitacao.render(), id_serie=cat.SERIE_SOLICITACAO, descricao="S")
        ],
    )
    assert len(gerado.documentos) == 1
    processo = sandbox.state.process(gerado.procedimento_formatado)
    assert processo is not None
    assert processo.nivel_acesso == 1
    assert processo.id_hipotese_legal == cat.HIPOTESE_INFORMACAO_PESSOAL
    assert processo.assuntos == ("052.1",)
    protocolo = gerado.procedimento_formatado

    # consult it by the number SEI gave and by the number we chose
    consulta = client.consultar_procedimento(id_unidade=UNIDADE, protocolo_procedimento=protocolo)
    assert consulta.id_procedimento == gerado.id_procedimento
    assert consulta.id_tipo_procedimento == cat.TIPO_IPTU
    assert [u.id_unidade for u in consulta.unidades_aberto] == [UNIDADE]
    assert consulta.andamento_conclusao is None
    assert [i.sigla for i in consulta.interessados] == [interessado.sigla]
    found = client.buscar_procedimento(id_unidade=UNIDADE, protocolo_procedimento=numero)
    assert found is not None and found.id_procedimento == gerado.id_procedimento
    assert (
        client.buscar_procedimento(id_unidade=UNIDADE, protocolo_procedimento="SP156-none") is None
    )

    # documents: generated and received
    interacao = client.incluir_documento(
        id_unidade=UNIDADE, documento=_gerado(protocolo, FragmentBuilder("Interação").render())
    )
    anexo = client.incluir_documento(
        id_unidade=UNIDADE, documento=_recebido(protocolo, b"%PDF-1.4 anexo")
    )
    documento = client.consultar_documento(
        id_unidade=UNIDADE, protocolo_documento=anexo.documento_formatado
    )
    assert (documento.id_serie, documento.data) == (cat.SERIE_ANEXO, "22/11/2026")
    assert documento.descricao == "Anexo do munícipe"
    stored = sandbox.state.process(protocolo)
    assert [d.id_documento for d in stored.documents] == [
        gerado.documentos[0].id_documento,
        interacao.id_documento,
        anexo.id_documento,
    ]

    # the history lists what was really added
    andamentos = client.listar_andamentos(
        id_unidade=UNIDADE, protocolo_procedimento=protocolo, tarefas=("1", "2", "13")
    )
    numeros = {a.atributo("DOCUMENTO") for a in andamentos if a.id_tarefa in ("2", "13")}
    assert {interacao.documento_formatado, anexo.documento_formatado} <= numeros
    lancado = client.lancar_andamento(
        id_unidade=UNIDADE,
        protocolo_procedimento=protocolo,
        id_tarefa="65",
        atributos={"DESCRICAO": "Atualização pelo sei-bridge"},
    )
    assert lancado is not None
    assert (lancado.id_tarefa, lancado.atributo("DESCRICAO")) == (
        "65",
        "Atualização pelo sei-bridge",
    )
    assert any(a.id_tarefa == "65" for a in sandbox.state.andamentos_of(protocolo))

    # the contact SEI created for the interessado
    contatos = client.listar_contatos(id_unidade=UNIDADE, sigla=interessado.sigla)
    assert [c.sigla for c in contatos] == [interessado.sigla]

    # send, conclude, conclude again, reopen
    client.enviar_processo(
        id_unidade=UNIDADE, protocolo_procedimento=protocolo, unidades_destino=[cat.UNIDADE_DEMAP]
    )
    assert set(sandbox.state.process(protocolo).unidades_abertas) == {UNIDADE, cat.UNIDADE_DEMAP}
    client.concluir_processo(id_unidade=UNIDADE, protocolo_procedimento=protocolo)
    assert UNIDADE not in sandbox.state.process(protocolo).unidades_abertas
    with pytest.raises(errors.SeiValidationFault, match="não está aberto na unidade"):
        client.concluir_processo(id_unidade=UNIDADE, protocolo_procedimento=protocolo)
    client.reabrir_processo(id_unidade=UNIDADE, protocolo_procedimento=protocolo)
    assert UNIDADE in sandbox.state.process(protocolo).unidades_abertas


def test_hostile_citizen_text_is_stored_as_typed_never_as_markup(sandbox: Sandbox) -> None:
    client = client_for(sandbox)
    gerado = _abrir(
        client,
        especificacao="SP156 😀 <script>x</script>",
        interessados=(types.Interessado(sigla=_unique("SP156"), nome=_unique("Zoë 😀")),),
    )
    html = FragmentBuilder("Interação").paragraph(HOSTILE).render()
    incluido = client.incluir_documento(
        id_unidade=UNIDADE, documento=_gerado(gerado.procedimento_formatado, html)
    )
    processo = sandbox.state.process(gerado.procedimento_formatado)
    # string fields: SEI keeps characters outside Latin-1 as references, markup as typed
    assert processo.especificacao == "SP156 &#128512; <script>x</script>"
    stored = next(d for d in processo.documents if d.id_documento == incluido.id_documento)
    assert "?" not in stored.html  # nothing lost: every emoji went as a reference
    assert "&#128512;" in stored.html and "&#20013;" in stored.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in stored.html
    assert "<script" not in stored.html.lower()


def test_attachment_of_20_mb_inline(sandbox: Sandbox) -> None:
    client = client_for(sandbox, read_timeout=60.0)
    gerado = _abrir(client)
    content = os.urandom(20 * 1024 * 1024)
    incluido = client.incluir_documento(
        id_unidade=UNIDADE, documento=_recebido(gerado.procedimento_formatado, content)
    )
    stored = next(
        d
        for d in sandbox.state.process(gerado.procedimento_formatado).documents
        if d.id_documento == incluido.id_documento
    )
    assert stored.size == len(content)
    assert stored.md5 == hashlib.md5(content).hexdigest()


def test_chunked_upload_where_the_server_accepts_it(sandboxes: Callable[..., Sandbox]) -> None:
    sandbox = sandboxes(chunked_upload=ChunkedUpload.WORKING)
    client = client_for(sandbox, chunked=True, chunk_bytes=64 * 1024)
    gerado = _abrir(client)
    content = os.urandom(300 * 1024)  # 5 chunks
    incluido = client.incluir_documento(
        id_unidade=UNIDADE, documento=_recebido(gerado.procedimento_formatado, content)
    )
    stored = next(
        d
        for d in sandbox.state.process(gerado.procedimento_formatado).documents
        if d.id_documento == incluido.id_documento
    )
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    calls = sandbox.state.counters().calls
    assert calls["adicionarArquivo"] == 1 and calls["adicionarConteudoArquivo"] == 4


def test_chunked_upload_on_a_server_like_sei_410_fails_permanently(sandbox: Sandbox) -> None:
    client = client_for(sandbox, chunked=True, chunk_bytes=64 * 1024)
    gerado = _abrir(client)
    with pytest.raises(errors.SeiValidationFault) as caught:
        client.incluir_documento(
            id_unidade=UNIDADE,
            documento=_recebido(gerado.procedimento_formatado, os.urandom(100 * 1024)),
        )
    assert caught.value.fault == "Anexo anexo.pdf vazio."  # SEI 4.1.0 (tests/contract)
    assert caught.value.operation == "incluirDocumento"
    # inline content still works on that server
    client_for(sandbox).incluir_documento(
        id_unidade=UNIDADE, documento=_recebido(gerado.procedimento_formatado, b"%PDF")
    )


# --- faults ---------------------------------------------------------------------------------------


def test_unknown_serie_is_a_validation_fault(sandbox: Sandbox) -> None:
    client = client_for(sandbox)
    gerado = _abrir(client)
    with pytest.raises(errors.SeiValidationFault) as caught:
        client.incluir_documento(
            id_unidade=UNIDADE,
            documento=_gerado(gerado.procedimento_formatado, b"<p>x</p>", id_serie="999999"),
        )
    assert caught.value.fault == "Tipo de documento [999999] não encontrado."
    assert not isinstance(caught.value, errors.ConfigurationError)


@pytest.mark.parametrize(("sigla", "key"), [("NAOEXISTE", None), (None, "wrong-key-123")])
def test_wrong_credentials_are_a_configuration_error(
    sandbox: Sandbox, sigla: str | None, key: str | None
) -> None:
    client = client_for(sandbox, sigla=sigla, key=key)
    with pytest.raises(errors.SeiAccessDenied) as caught:
        client.listar_unidades()
    assert isinstance(caught.value, errors.ConfigurationError)
    assert sandbox.credentials[1] not in str(caught.value)
    assert "wrong-key-123" not in str(caught.value)


def test_operation_not_allowed_for_the_servico_is_access_denied(
    sandboxes: Callable[..., Sandbox],
) -> None:
    # "Nenhuma operação configurada para [gerarProcedimento] ...", as SEI 4.1.0 answers
    sandbox = sandboxes(allowed_operations=frozenset({"listarUnidades"}))
    with pytest.raises(errors.SeiAccessDenied):
        _abrir(client_for(sandbox))
    assert sandbox.state.processes() == []


def test_503_is_not_sent_and_nothing_happened(sandbox: Sandbox) -> None:
    client = client_for(sandbox)
    sandbox.faults.schedule("http503", operation="gerarProcedimento")
    with pytest.raises(errors.SeiNotSentError) as caught:
        _abrir(client)
    assert caught.value.operation == "gerarProcedimento"
    assert sandbox.state.processes() == []
    _abrir(client)  # the next one goes through
    assert len(sandbox.state.processes()) == 1


def test_stopped_server_is_not_sent(sandboxes: Callable[..., Sandbox]) -> None:
    sandbox = sandboxes()
    client = client_for(sandbox, wsdl_source=None)
    sandbox.stop()
    with pytest.raises(errors.SeiNotSentError):
        client.listar_unidades()


def test_hang_past_the_read_timeout_leaves_the_outcome_unknown(
    sandboxes: Callable[..., Sandbox],
) -> None:
    sandbox = sandboxes(faults=FaultConfig(hang_seconds=5.0, hang_commits=True))
    client = client_for(sandbox, read_timeout=0.5)
    client.load()
    sandbox.faults.schedule("hang", operation="gerarProcedimento")
    numero = _unique("SP156-2026")
    with pytest.raises(errors.SeiOutcomeUnknownError) as caught:
        _abrir(client, numero_protocolo=numero, data_autuacao=dt.date(2026, 11, 22))
    assert caught.value.operation == "gerarProcedimento"
    # the probe a worker runs: the number chosen for the process proves it was created
    found = client.buscar_procedimento(id_unidade=UNIDADE, protocolo_procedimento=numero)
    assert found is not None


def test_answer_lost_after_commit_leaves_the_outcome_unknown(sandbox: Sandbox) -> None:
    client = client_for(sandbox)
    gerado = _abrir(client)
    sandbox.faults.schedule("lost", operation="incluirDocumento")
    with pytest.raises(errors.SeiOutcomeUnknownError):
        client.incluir_documento(
            id_unidade=UNIDADE,
            documento=_gerado(gerado.procedimento_formatado, b"<p>x</p>", descricao="Interação 7"),
        )
    # it did commit: the history shows the documento
    andamentos = client.listar_andamentos(
        id_unidade=UNIDADE, protocolo_procedimento=gerado.procedimento_formatado, tarefas=("2",)
    )
    assert len(andamentos) == 1
    assert len(sandbox.state.process(gerado.procedimento_formatado).documents) == 1


def test_reset_before_any_effect_is_still_unknown_to_the_client(sandbox: Sandbox) -> None:
    client = client_for(sandbox)
    sandbox.faults.schedule("reset", operation="gerarProcedimento")
    with pytest.raises(errors.SeiOutcomeUnknownError):
        _abrir(client)
    assert sandbox.state.processes() == []  # so probing is what settles it


# --- WSDL versions and charsets -------------------------------------------------------------------


def test_unreachable_wsdl_is_a_configuration_error(sandboxes: Callable[..., Sandbox]) -> None:
    stopped = sandboxes()
    url = stopped.wsdl_url
    stopped.stop()
    live = sandboxes()
    client = client_for(live, wsdl_source=url)
    with pytest.raises(errors.ConfigurationError) as caught:
        client.listar_unidades()
    assert "SEI_BRIDGE_SEI_WSDL" in str(caught.value)
    assert live.state.counters().calls == {}


@pytest.mark.parametrize("source", ["server", "bundled"])
def test_sei_30(sandboxes: Callable[..., Sandbox], source: str) -> None:
    sandbox = sandboxes(wsdl_version="3.0")
    client = client_for(
        sandbox, wsdl_source="server" if source == "server" else str(wsdl.bundled_wsdl_path("3.0"))
    )
    assert len(client.load()) == 17
    gerado = _abrir(client)
    incluido = client.incluir_documento(
        id_unidade=UNIDADE, documento=_recebido(gerado.procedimento_formatado, b"%PDF")
    )
    documento = client.consultar_documento(
        id_unidade=UNIDADE, protocolo_documento=incluido.documento_formatado
    )
    assert documento.id_serie == cat.SERIE_ANEXO
    assert documento.descricao is None  # SEI 3.0 does not return it


def test_bundled_41_wsdl_against_the_sandbox(sandbox: Sandbox) -> None:
    client = client_for(sandbox, wsdl_source=None)
    assert _abrir(client).procedimento_formatado


def test_iso_8859_1_answers(sandboxes: Callable[..., Sandbox]) -> None:
    sandbox = sandboxes(response_encoding=ResponseEncoding.LATIN1)
    client = client_for(sandbox)
    tipos = {t.id_tipo_procedimento: t.nome for t in client.listar_tipos_procedimento()}
    assert tipos[cat.TIPO_COMUNICACAO] == "Comunicação: Pedido de Apoio Institucional"


def test_full_410_wsdl_and_an_infrastructure_fault(
    sandboxes: Callable[..., Sandbox], reference_dir: str
) -> None:
    # The server publishes SEI 4.1.0's own 67-operation WSDL; the client builds its calls from
    # it. An operation the server fails on its side (INFRA_ERRO, no permanent message) is an
    # infrastructure fault: nothing committed, retry later.
    sandbox = sandboxes(wsdl_path=os.path.join(reference_dir, "sei-4.1.0.wsdl"))
    client = client_for(sandbox)
    assert len(client.load()) == 67
    assert _abrir(client).procedimento_formatado
    with pytest.raises(errors.SeiInfrastructureFault) as caught:
        client.soap.call("listarUsuarios", {"IdUnidade": UNIDADE})
    assert caught.value.operation == "listarUsuarios"
    assert caught.value.fault and "listarUsuarios" in caught.value.fault
