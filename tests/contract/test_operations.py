"""Every operation the client uses, on the success path: the shape of SEI's answers, the
andamentos it records, contact reuse, numbering, and the concluir/reabrir states."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from sei_bridge.sei import types
from tests.contract.builders import PDF, abrir, gerado, procedimento, recebido, unique
from tests.contract.targets import Target

NUP = re.compile(r"^\d{5}\.\d{6}/\d{4}-\d{2}$")
NUMERO_DOCUMENTO = re.compile(r"^\d{7}$")
DATA_HORA = re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}$")


def test_catalogs_list_the_reference_ids(sei: Target) -> None:
    client = sei.client()
    unidades = {u.id_unidade: u.sigla for u in client.listar_unidades()}
    assert unidades[sei.ids.unidade] == sei.ids.unidade_sigla
    assert unidades[sei.ids.outra_unidade] == "TESTE_1_1"
    tipos = {t.id_tipo_procedimento: t.nome for t in client.listar_tipos_procedimento()}
    assert tipos[sei.ids.tipo] == "Comunicação: Pedido de Apoio Institucional"
    series = {s.id_serie: (s.nome, s.aplicabilidade) for s in client.listar_series()}
    assert series[sei.ids.serie_gerado] == ("Declaração", "T")
    assert series[sei.ids.serie_anexo] == ("Anexo", "E")
    assert series[sei.ids.serie_finalizado] == ("SP 156 Finalizado", "I")
    hipoteses = client.listar_hipoteses_legais(nivel_acesso=types.NivelAcesso.RESTRITO)
    assert {h.id_hipotese_legal: h.nome for h in hipoteses}[sei.ids.hipotese] == (
        "Informação Pessoal"
    )
    assert all(h.nivel_acesso == types.NivelAcesso.RESTRITO for h in hipoteses)
    extensoes = {e.extensao for e in client.listar_extensoes_permitidas()}
    assert {"pdf", "txt", "html"} <= extensoes
    assert not {"png", "exe", "doc"} & extensoes


def test_gerar_procedimento_answers_the_numbers_and_the_history_starts(sei: Target) -> None:
    client = sei.client()
    gerado_ = abrir(sei, client)
    assert gerado_.id_procedimento.isdigit()
    assert NUP.match(gerado_.procedimento_formatado)
    assert "acao=procedimento_trabalhar" in gerado_.link_acesso
    assert f"id_procedimento={gerado_.id_procedimento}" in gerado_.link_acesso
    assert gerado_.documentos == ()
    (andamento,) = client.listar_andamentos(
        id_unidade=sei.ids.unidade, protocolo_procedimento=gerado_.procedimento_formatado
    )
    assert andamento.id_tarefa == "1"
    assert DATA_HORA.match(andamento.data_hora)
    assert andamento.unidade is not None and andamento.unidade.id_unidade == sei.ids.unidade


def test_consultar_procedimento_returns_what_was_opened(sei: Target) -> None:
    client = sei.client()
    sigla = unique("SP156")
    gerado_ = abrir(
        sei, client, interessados=(types.Interessado(sigla=sigla, nome=unique("Munícipe")),)
    )
    consultado = client.consultar_procedimento(
        id_unidade=sei.ids.unidade, protocolo_procedimento=gerado_.procedimento_formatado
    )
    assert consultado.id_procedimento == gerado_.id_procedimento
    assert consultado.procedimento_formatado == gerado_.procedimento_formatado
    assert consultado.id_tipo_procedimento == sei.ids.tipo
    assert consultado.nivel_acesso_local == "1"
    assert [a.codigo_estruturado for a in consultado.assuntos] == [sei.ids.assunto]
    assert [i.sigla for i in consultado.interessados] == [sigla]
    assert [u.id_unidade for u in consultado.unidades_aberto] == [sei.ids.unidade]
    assert consultado.andamento_conclusao is None


def test_numero_protocolo_is_a_lookup_key_not_an_idempotency_key(sei: Target) -> None:
    client = sei.client()
    numero = unique("SP156-2026").upper()
    proc = procedimento(sei, numero_protocolo=numero, data_autuacao=dt.date(2026, 11, 22))
    first = client.gerar_procedimento(id_unidade=sei.ids.unidade, procedimento=proc)
    assert first.procedimento_formatado == numero
    found = client.buscar_procedimento(
        id_unidade=sei.ids.unidade, protocolo_procedimento=numero.lower().replace("-", "")
    )
    assert found is not None and found.id_procedimento == first.id_procedimento
    # the same number again: a second process, numbered by SEI (seen on 4.1.0)
    second = client.gerar_procedimento(id_unidade=sei.ids.unidade, procedimento=proc)
    assert second.id_procedimento != first.id_procedimento
    assert NUP.match(second.procedimento_formatado)


def test_documents_are_numbered_and_recorded_as_andamentos(sei: Target) -> None:
    client = sei.client()
    gerado_ = abrir(sei, client)
    protocolo = gerado_.procedimento_formatado
    g = client.incluir_documento(id_unidade=sei.ids.unidade, documento=gerado(sei, protocolo))
    r = client.incluir_documento(id_unidade=sei.ids.unidade, documento=recebido(sei, protocolo))
    for incluido in (g, r):
        assert incluido.id_documento.isdigit()
        assert NUMERO_DOCUMENTO.match(incluido.documento_formatado)
        assert f"id_documento={incluido.id_documento}" in incluido.link_acesso
    andamentos = client.listar_andamentos(
        id_unidade=sei.ids.unidade, protocolo_procedimento=protocolo, tarefas=("1", "2", "13")
    )
    # newest first, as SEI lists them
    assert [a.id_tarefa for a in andamentos] == ["13", "2", "1"]
    assert dict(andamentos[1].atributos)["DOCUMENTO"] == g.documento_formatado
    assert dict(andamentos[0].atributos)["DOCUMENTO"] == r.documento_formatado
    consultado = client.consultar_documento(
        id_unidade=sei.ids.unidade, protocolo_documento=r.documento_formatado
    )
    assert (consultado.id_serie, consultado.nome_serie) == (sei.ids.serie_anexo, "Anexo")
    assert consultado.data == "22/11/2026"
    assert consultado.procedimento_formatado == protocolo
    consultado_g = client.consultar_documento(
        id_unidade=sei.ids.unidade, protocolo_documento=g.documento_formatado
    )
    assert consultado_g.id_serie == sei.ids.serie_gerado and consultado_g.numero is None


def test_gerar_procedimento_with_documents_is_one_call(sei: Target) -> None:
    client = sei.client()
    gerado_ = client.gerar_procedimento(
        id_unidade=sei.ids.unidade,
        procedimento=procedimento(sei),
        documentos=[gerado(sei, None), gerado(sei, None, id_serie=sei.ids.serie_finalizado)],
    )
    assert len(gerado_.documentos) == 2
    assert all(NUMERO_DOCUMENTO.match(d.documento_formatado) for d in gerado_.documentos)


def test_concluir_reabrir_and_incluir_reopens(sei: Target) -> None:
    client = sei.client()
    protocolo = abrir(sei, client).procedimento_formatado
    client.concluir_processo(id_unidade=sei.ids.unidade, protocolo_procedimento=protocolo)
    concluido = client.consultar_procedimento(
        id_unidade=sei.ids.unidade, protocolo_procedimento=protocolo
    )
    assert concluido.unidades_aberto == ()
    assert concluido.andamento_conclusao is not None
    client.reabrir_processo(id_unidade=sei.ids.unidade, protocolo_procedimento=protocolo)
    reaberto = client.consultar_procedimento(
        id_unidade=sei.ids.unidade, protocolo_procedimento=protocolo
    )
    assert [u.id_unidade for u in reaberto.unidades_aberto] == [sei.ids.unidade]
    client.concluir_processo(id_unidade=sei.ids.unidade, protocolo_procedimento=protocolo)
    client.incluir_documento(id_unidade=sei.ids.unidade, documento=gerado(sei, protocolo))
    depois = client.consultar_procedimento(
        id_unidade=sei.ids.unidade, protocolo_procedimento=protocolo
    )
    assert [u.id_unidade for u in depois.unidades_aberto] == [sei.ids.unidade]
    tarefas = [
        a.id_tarefa
        for a in client.listar_andamentos(
            id_unidade=sei.ids.unidade, protocolo_procedimento=protocolo
        )
    ]
    assert tarefas == ["2", "29", "28", "29", "28", "1"]  # newest first


def test_enviar_processo_opens_it_in_the_other_unit(sei: Target) -> None:
    client = sei.client()
    protocolo = abrir(sei, client).procedimento_formatado
    client.enviar_processo(
        id_unidade=sei.ids.unidade,
        protocolo_procedimento=protocolo,
        unidades_destino=[sei.ids.outra_unidade],
        manter_aberto_unidade=True,
    )
    consultado = client.consultar_procedimento(
        id_unidade=sei.ids.unidade, protocolo_procedimento=protocolo
    )
    assert {u.id_unidade for u in consultado.unidades_aberto} == {
        sei.ids.unidade,
        sei.ids.outra_unidade,
    }
    client.incluir_documento(id_unidade=sei.ids.outra_unidade, documento=gerado(sei, protocolo))


def test_lancar_andamento_is_listed(sei: Target) -> None:
    client = sei.client()
    protocolo = abrir(sei, client).procedimento_formatado
    client.lancar_andamento(
        id_unidade=sei.ids.unidade,
        protocolo_procedimento=protocolo,
        id_tarefa="65",
        atributos=[("DESCRICAO", "Registro do sei-bridge")],
    )
    (andamento,) = client.listar_andamentos(
        id_unidade=sei.ids.unidade, protocolo_procedimento=protocolo, tarefas=("65",)
    )
    assert andamento.id_tarefa == "65"
    assert "Registro do sei-bridge" in andamento.descricao


def test_an_unknown_interessado_becomes_a_contact_found_by_sigla(sei: Target) -> None:
    client = sei.client()
    sigla, nome = unique("SP156"), unique("Munícipe Único")
    abrir(sei, client, interessados=(types.Interessado(sigla=sigla, nome=nome),))
    (contato,) = client.listar_contatos(id_unidade=sei.ids.unidade, sigla=sigla.lower())
    assert (contato.sigla, contato.nome) == (sigla, nome)
    # another request with the same Nome and a new Sigla reuses the temporary contact
    abrir(sei, client, interessados=(types.Interessado(sigla=unique("SP156"), nome=nome),))
    assert client.listar_contatos(id_unidade=sei.ids.unidade, sigla=sigla) == [contato]
    assert [
        c.id_contato for c in client.listar_contatos(id_unidade=sei.ids.unidade, nome=nome)
    ] == [contato.id_contato]


def test_an_attachment_of_a_few_megabytes_inline(sei: Target) -> None:
    client = sei.client()
    protocolo = abrir(sei, client).procedimento_formatado
    content = PDF + bytes(range(256)) * 4096 * 3  # ~3 MB
    incluido = client.incluir_documento(
        id_unidade=sei.ids.unidade, documento=recebido(sei, protocolo, content)
    )
    assert NUMERO_DOCUMENTO.match(incluido.documento_formatado)
    assert hashlib.md5(content).hexdigest()  # the content went whole (no fault)
