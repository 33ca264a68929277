"""SEI's read-only operations: consultarProcedimento, consultarDocumento, listarAndamentos,
listarContatos and the catalog listings (listarUnidades, listarTiposProcedimento, listarSeries,
listarHipotesesLegais, listarExtensoesPermitidas). Each checks the serviço's operations where
SEI does (listarUnidades, listarTiposProcedimento and listarSeries never).

Each function takes the :class:`~.operations.Operations` it serves and the decoded call, and
answers with a :mod:`~.soap` value, built under the state's lock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sei_bridge.sandboxes.sei import rules
from sei_bridge.sandboxes.sei.model import Andamento, Processo
from sei_bridge.sandboxes.sei.render import NIL, text_or_nil
from sei_bridge.sandboxes.sei.soap import Array, Nil, SoapCall, Struct, Value

if TYPE_CHECKING:
    from sei_bridge.sandboxes.sei.operations import Operations

__all__ = ["QUERIES"]

#: Tarefas of SEI's summarised history: UltimoAndamento is the latest of these (documentos
#: added after the processo was generated do not change it — seen on 4.1.0).
_RESUMIDO = frozenset({"1", "28", "29", "32", "65"})


def _sin(call: SoapCall, name: str) -> bool:
    return call.text(name) == "S"


def _last(
    ops: Operations, processo: Processo, wanted: Callable[[Andamento], bool]
) -> Andamento | None:
    for id_andamento in reversed(processo.andamentos):
        andamento = ops.state.andamentos[id_andamento]
        if wanted(andamento):
            return andamento
    return None


def consultar_procedimento(ops: Operations, call: SoapCall) -> Value:
    with ops.state.transaction():
        id_unidade = ops.unidade(call)
        processo = ops.processo(call)
        ops.permit(call.operation, id_unidade, tipo=processo.id_tipo_procedimento)
        render = ops.render
        geracao = _last(ops, processo, lambda a: a.id_tarefa == "1")
        conclusao = (
            _last(ops, processo, lambda a: a.id_tarefa == "28" and a.id_unidade == id_unidade)
            if id_unidade not in processo.abertas
            else None
        )
        ultimo = _last(ops, processo, lambda a: a.id_tarefa in _RESUMIDO)
        abertas = tuple(
            Struct(
                "UnidadeProcedimentoAberto",
                (("Unidade", render.unidade(u)), ("UsuarioAtribuicao", Nil("Usuario"))),
            )
            for u in processo.abertas
        )
        assuntos = tuple(
            Struct(
                "Assunto",
                (
                    ("CodigoEstruturado", codigo),
                    ("Descricao", text_or_nil(a.descricao if a else None)),
                ),
            )
            for codigo, a in ((c, ops.catalog.assunto(c)) for c in processo.assuntos)
        )
        interessados = tuple(
            render.interessado(ops.state.contatos[i]) for i in processo.interessados
        )
        observacoes = (
            (
                Struct(
                    "Observacao",
                    (
                        ("Descricao", processo.observacao),
                        ("Unidade", render.unidade(processo.id_unidade_geradora)),
                    ),
                ),
            )
            if processo.observacao
            else ()
        )
        relacionados = tuple(
            Struct(
                "ProcedimentoResumido",
                (
                    ("IdProcedimento", str(other.id_procedimento)),
                    ("ProcedimentoFormatado", other.procedimento_formatado),
                    ("TipoProcedimento", render.tipo_procedimento(other.id_tipo_procedimento)),
                ),
            )
            for other in (ops.state.processos[i] for i in processo.relacionados)
        )

        def optional(flag: str, value: Value, nil: str) -> Value:
            return value if _sin(call, flag) else Nil(nil)

        nivel = str(processo.nivel_acesso)
        return Struct(
            "RetornoConsultaProcedimento",
            (
                ("IdProcedimento", str(processo.id_procedimento)),
                ("ProcedimentoFormatado", processo.procedimento_formatado),
                ("Especificacao", text_or_nil(processo.especificacao)),
                ("DataAutuacao", processo.data_autuacao),
                ("LinkAcesso", render.link_processo(processo)),
                ("NivelAcessoLocal", nivel),
                ("NivelAcessoGlobal", nivel),
                ("TipoProcedimento", render.tipo_procedimento(processo.id_tipo_procedimento)),
                (
                    "AndamentoGeracao",
                    optional(
                        "SinRetornarAndamentoGeracao", render.andamento_or_nil(geracao), "Andamento"
                    ),
                ),
                (
                    "AndamentoConclusao",
                    optional(
                        "SinRetornarAndamentoConclusao",
                        render.andamento_or_nil(conclusao),
                        "Andamento",
                    ),
                ),
                (
                    "UltimoAndamento",
                    optional(
                        "SinRetornarUltimoAndamento", render.andamento_or_nil(ultimo), "Andamento"
                    ),
                ),
                (
                    "UnidadesProcedimentoAberto",
                    optional(
                        "SinRetornarUnidadesProcedimentoAberto",
                        Array(
                            "ArrayOfUnidadeProcedimentoAberto", "UnidadeProcedimentoAberto", abertas
                        ),
                        "ArrayOfUnidadeProcedimentoAberto",
                    ),
                ),
                (
                    "Assuntos",
                    optional(
                        "SinRetornarAssuntos",
                        Array("ArrayOfAssunto", "Assunto", assuntos),
                        "ArrayOfAssunto",
                    ),
                ),
                (
                    "Interessados",
                    optional(
                        "SinRetornarInteressados",
                        Array("ArrayOfInteressado", "Interessado", interessados),
                        "ArrayOfInteressado",
                    ),
                ),
                (
                    "Observacoes",
                    optional(
                        "SinRetornarObservacoes",
                        Array("ArrayOfObservacao", "Observacao", observacoes),
                        "ArrayOfObservacao",
                    ),
                ),
                (
                    "ProcedimentosRelacionados",
                    optional(
                        "SinRetornarProcedimentosRelacionados",
                        Array("ArrayOfProcedimentoResumido", "ProcedimentoResumido", relacionados),
                        "ArrayOfProcedimentoResumido",
                    ),
                ),
                (
                    "ProcedimentosAnexados",
                    optional(
                        "SinRetornarProcedimentosAnexados",
                        Array("ArrayOfProcedimentoResumido", "ProcedimentoResumido", ()),
                        "ArrayOfProcedimentoResumido",
                    ),
                ),
                ("TipoPrioridade", Nil("TipoPrioridade")),
            ),
        )


def consultar_documento(ops: Operations, call: SoapCall) -> Value:
    with ops.state.transaction():
        id_unidade = ops.unidade(call)
        protocolo = call.text("ProtocoloDocumento")
        documento = ops.state.find_documento(protocolo)
        if documento is None:
            raise rules.not_found("Documento", protocolo)
        processo = ops.state.processos[documento.id_procedimento]
        ops.permit(
            call.operation,
            id_unidade,
            tipo=processo.id_tipo_procedimento,
            serie=documento.id_serie,
        )
        serie = ops.catalog.serie(documento.id_serie)
        geracao = _last(
            ops,
            processo,
            lambda a: any(
                x.nome == "DOCUMENTO" and x.id_origem == str(documento.id_documento)
                for x in a.atributos
            ),
        )

        def optional(flag: str, value: Value, nil: str) -> Value:
            return value if _sin(call, flag) else Nil(nil)

        nivel = str(documento.nivel_acesso)
        return Struct(
            "RetornoConsultaDocumento",
            (
                ("IdProcedimento", str(processo.id_procedimento)),
                ("ProcedimentoFormatado", processo.procedimento_formatado),
                ("IdDocumento", str(documento.id_documento)),
                ("DocumentoFormatado", documento.documento_formatado),
                ("LinkAcesso", ops.render.link_documento(documento)),
                ("NivelAcessoLocal", nivel),
                ("NivelAcessoGlobal", nivel),
                (
                    "Serie",
                    Struct(
                        "Serie",
                        (("IdSerie", documento.id_serie), ("Nome", serie.nome if serie else "")),
                    ),
                ),
                ("Numero", text_or_nil(documento.numero)),
                ("NomeArvore", NIL),
                ("Descricao", text_or_nil(documento.descricao)),
                ("Data", documento.data),
                ("UnidadeElaboradora", ops.render.unidade(documento.id_unidade)),
                (
                    "AndamentoGeracao",
                    optional(
                        "SinRetornarAndamentoGeracao",
                        ops.render.andamento_or_nil(geracao),
                        "Andamento",
                    ),
                ),
                (
                    "Assinaturas",
                    optional(
                        "SinRetornarAssinaturas",
                        Array("ArrayOfAssinatura", "Assinatura", ()),
                        "ArrayOfAssinatura",
                    ),
                ),
                ("Publicacao", Nil("Publicacao")),
                (
                    "Campos",
                    optional(
                        "SinRetornarCampos", Array("ArrayOfCampo", "Campo", ()), "ArrayOfCampo"
                    ),
                ),
                (
                    "Blocos",
                    optional(
                        "SinRetornarBlocos", Array("ArrayOfBloco", "Bloco", ()), "ArrayOfBloco"
                    ),
                ),
            ),
        )


def _ids(value: object) -> set[str]:
    items = value if isinstance(value, list) else [value]
    return {item for item in items if isinstance(item, str) and item}


def listar_andamentos(ops: Operations, call: SoapCall) -> Value:
    with ops.state.transaction():
        id_unidade = ops.unidade(call)
        processo = ops.processo(call)
        ops.permit(call.operation, id_unidade, tipo=processo.id_tipo_procedimento)
        andamentos = _ids(call.params.get("Andamentos"))
        tarefas = _ids(call.params.get("Tarefas"))
        modulos = _ids(call.params.get("TarefasModulos"))
        if not (andamentos or tarefas or modulos):
            raise rules.SeiFault(rules.SEM_CRITERIO, rules.INFRA_ERRO)
        atributos = _sin(call, "SinRetornarAtributos")
        items = tuple(
            ops.render.andamento(a, atributos=atributos)
            for a in (ops.state.andamentos[i] for i in reversed(processo.andamentos))
            if str(a.id_andamento) in andamentos
            or a.id_tarefa in tarefas
            or (a.id_tarefa_modulo is not None and a.id_tarefa_modulo in modulos)
        )
        return Array("ArrayOfAndamento", "Andamento", items)


def _number(text: str) -> float | None:
    try:
        return float(text.strip())
    except ValueError:
        return None


def _paging(call: SoapCall) -> tuple[int, int]:
    """SeiRN::listarContatosConectado's PaginaRegistros (1 when empty) and PaginaAtual (1
    when empty), refused one by one with its words (lancarValidacao; seen on 4.1.0)."""
    registros, atual = call.text("PaginaRegistros"), call.text("PaginaAtual")
    per_page = 1
    if registros is not None:
        value = _number(registros)
        if value is None or value <= 0 or value > 1000:
            raise rules.SeiFault(
                "O número de registros por página deve ser um valor entre 1 e 1000."
            )
        per_page = int(value)
    page = 1
    if atual is not None:
        value = _number(atual)
        if value is None or value < 1:
            raise rules.SeiFault("Identificador da página atual inválido.")
        page = int(value)
    return per_page, page


def listar_contatos(ops: Operations, call: SoapCall) -> Value:
    with ops.state.transaction():
        ops.permit(call.operation, ops.unidade(call))
        # With PaginaRegistros empty SEI answers ONE record (seen on 4.1.0).
        per_page, page = _paging(call)
        sigla, nome = call.text("Sigla"), call.text("Nome")
        cpf = "".join(ch for ch in call.text("Cpf") or "" if ch.isdigit())
        cnpj = "".join(ch for ch in call.text("Cnpj") or "" if ch.isdigit())
        tipo = call.text("IdTipoContato")
        ids = _ids(call.params.get("IdContatos"))
        pool = (
            ops.state.contacts_by_sigla(sigla)
            if sigla is not None
            else sorted(ops.state.contatos.values(), key=lambda c: c.id_contato)
        )
        nome_lower = nome.lower() if nome is not None else None
        found = [
            c
            for c in pool
            if (nome_lower is None or nome_lower in c.nome.lower())
            and (not cpf or c.cpf == cpf)
            and (not cnpj or c.cnpj == cnpj)
            and (not ids or str(c.id_contato) in ids)
            and (tipo is None or tipo == ("4" if c.temporario else "1"))
            and call.text("Matricula") is None
        ]
        chosen = found[(page - 1) * per_page : page * per_page]
        return Array("ArrayOfContato", "Contato", tuple(ops.render.contato(c) for c in chosen))


def listar_unidades(ops: Operations, call: SoapCall) -> Value:
    return Array(
        "ArrayOfUnidade",
        "Unidade",
        tuple(ops.render.unidade_listada(u) for u in ops.catalog.unidades),
    )


def listar_tipos_procedimento(ops: Operations, call: SoapCall) -> Value:
    ops.unidade(call, required=False)
    return Array(
        "ArrayOfTipoProcedimento",
        "TipoProcedimento",
        tuple(
            ops.render.tipo_procedimento(t.id_tipo_procedimento)
            for t in ops.catalog.tipos_procedimento
        ),
    )


def listar_series(ops: Operations, call: SoapCall) -> Value:
    ops.unidade(call, required=False)
    return Array(
        "ArrayOfSerie",
        "Serie",
        tuple(
            Struct(
                "Serie",
                (("IdSerie", s.id_serie), ("Nome", s.nome), ("Aplicabilidade", s.aplicabilidade)),
            )
            for s in ops.catalog.series
        ),
    )


def listar_hipoteses_legais(ops: Operations, call: SoapCall) -> Value:
    ops.permit(call.operation, ops.unidade(call, required=False))
    nivel = call.text("NivelAcesso")
    return Array(
        "ArrayOfHipoteseLegal",
        "HipoteseLegal",
        tuple(
            Struct(
                "HipoteseLegal",
                (
                    ("IdHipoteseLegal", h.id_hipotese_legal),
                    ("Nome", h.nome),
                    ("BaseLegal", h.base_legal),
                    ("NivelAcesso", str(h.nivel_acesso)),
                ),
            )
            for h in ops.catalog.hipoteses_legais
            if nivel is None or str(h.nivel_acesso) == nivel
        ),
    )


def listar_extensoes_permitidas(ops: Operations, call: SoapCall) -> Value:
    ops.permit(call.operation, ops.unidade(call, required=False))
    wanted = call.text("IdArquivoExtensao")
    return Array(
        "ArrayOfArquivoExtensao",
        "ArquivoExtensao",
        tuple(
            Struct(
                "ArquivoExtensao",
                (
                    ("IdArquivoExtensao", e.id_arquivo_extensao),
                    ("Extensao", e.extensao),
                    ("Descricao", e.descricao),
                ),
            )
            for e in ops.catalog.extensoes
            if wanted is None or e.id_arquivo_extensao == wanted
        ),
    )


#: Operation name → handler.
QUERIES: dict[str, Callable[[Operations, SoapCall], Value]] = {
    "consultarProcedimento": consultar_procedimento,
    "consultarDocumento": consultar_documento,
    "listarAndamentos": listar_andamentos,
    "listarContatos": listar_contatos,
    "listarUnidades": listar_unidades,
    "listarTiposProcedimento": listar_tipos_procedimento,
    "listarSeries": listar_series,
    "listarHipotesesLegais": listar_hipoteses_legais,
    "listarExtensoesPermitidas": listar_extensoes_permitidas,
}
