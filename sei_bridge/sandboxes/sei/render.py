"""SEI's answer structures built from the sandbox's records, field for field like SEI 4.1.0.

Field order, which fields SEI leaves out and which it sends nil follow the recorded exchanges
(``Interessado`` in consultarProcedimento has a nil ``IdContato``; ``Contato`` has no
``StaOperacao``; andamentos inside consultarProcedimento carry no ids). Fields the served WSDL's
type lacks (3.0) are dropped when the answer is written (:func:`~.soap.render_response`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sei_bridge.sandboxes.sei.catalog import Catalog, Unidade
from sei_bridge.sandboxes.sei.model import (
    Andamento,
    Contato,
    Documento,
    Processo,
    format_data_hora,
)
from sei_bridge.sandboxes.sei.soap import Array, Nil, Struct, Value

__all__ = ["Renderer", "Usuario"]

NIL = Nil()

#: Contato fields SEI 4.1.0 sends nil for a contact created through web services, in order
#: after the ones it fills (see listarContatos.response.xml).
_CONTATO_NIL_TAIL = (
    "CnpjAssociado",
    "Endereco",
    "Complemento",
    "Bairro",
    "IdCidade",
    "NomeCidade",
    "IdEstado",
    "SiglaEstado",
    "IdPais",
    "NomePais",
    "Cep",
    "StaGenero",
    "IdCargo",
    "ExpressaoCargo",
    "ExpressaoTratamento",
    "ExpressaoVocativo",
)
_CONTATO_NIL_AFTER_CNPJ = (
    "Rg",
    "OrgaoExpedidor",
    "NumeroPassaporte",
    "IdPaisPassaporte",
    "NomePaisPassaporte",
    "Matricula",
    "MatriculaOab",
    "TelefoneComercial",
    "TelefoneResidencial",
    "TelefoneFixo",  # SEI 3.0's field (dropped when serving 4.1)
    "TelefoneCelular",
    "DataNascimento",
    "Email",
    "SitioInternet",
    "Observacao",
    "Conjuge",
    "Funcao",
    "IdTitulo",
    "ExpressaoTitulo",
    "AbreviaturaTitulo",
)


def text_or_nil(value: str | None) -> Value:
    return NIL if value is None else value


@dataclass(frozen=True, slots=True)
class Usuario:
    """The user SEI shows as the author of what the serviço does."""

    id_usuario: str
    sigla: str
    nome: str


class Renderer:
    """Builds answer values; call only inside a state transaction (records are live)."""

    def __init__(self, catalog: Catalog, usuario: Usuario, link_base: Callable[[], str]) -> None:
        self.catalog = catalog
        self.usuario_info = usuario
        self._link_base = link_base

    # --- small structures ----------------------------------------------------------------------

    def unidade(self, id_unidade: str) -> Struct:
        found = self.catalog.unidade(id_unidade) or Unidade(id_unidade, "", "")
        return Struct(
            "Unidade",
            (
                ("IdUnidade", found.id_unidade),
                ("Sigla", found.sigla),
                ("Descricao", found.descricao),
            ),
        )

    def unidade_listada(self, unidade: Unidade) -> Struct:
        """A unit as listarUnidades gives it (with its Sin* flags)."""
        return Struct(
            "Unidade",
            (
                ("IdUnidade", unidade.id_unidade),
                ("Sigla", unidade.sigla),
                ("Descricao", unidade.descricao),
                ("SinProtocolo", "N"),
                ("SinArquivamento", "N"),
                ("SinOuvidoria", "N"),
            ),
        )

    def usuario(self) -> Struct:
        u = self.usuario_info
        return Struct(
            "Usuario", (("IdUsuario", u.id_usuario), ("Sigla", u.sigla), ("Nome", u.nome))
        )

    def link_processo(self, processo: Processo) -> str:
        return (
            f"{self._link_base()}/sei/controlador.php?acao=procedimento_trabalhar"
            f"&id_procedimento={processo.id_procedimento}"
        )

    def link_documento(self, documento: Documento) -> str:
        return (
            f"{self._link_base()}/sei/controlador.php?acao=procedimento_trabalhar"
            f"&id_procedimento={documento.id_procedimento}&id_documento={documento.id_documento}"
        )

    def tipo_procedimento(self, id_tipo: str) -> Struct:
        tipo = self.catalog.tipo_procedimento(id_tipo)
        return Struct(
            "TipoProcedimento",
            (("IdTipoProcedimento", id_tipo), ("Nome", tipo.nome if tipo is not None else "")),
        )

    # --- andamentos ----------------------------------------------------------------------------

    def andamento(
        self, andamento: Andamento, *, with_ids: bool = True, atributos: bool = True
    ) -> Struct:
        """listarAndamentos' item (ids and attributes); consultarProcedimento's andamentos
        have neither (``with_ids=False, atributos=False``)."""
        fields: list[tuple[str, Value]] = []
        if with_ids:
            fields.append(("IdAndamento", str(andamento.id_andamento)))
            fields.append(("IdTarefa", andamento.id_tarefa))
            if andamento.id_tarefa_modulo is not None:
                fields.append(("IdTarefaModulo", andamento.id_tarefa_modulo))
        fields.extend(
            (
                ("Descricao", andamento.descricao),
                ("DataHora", format_data_hora(andamento.data_hora)),
                ("Unidade", self.unidade(andamento.id_unidade)),
                ("Usuario", self.usuario()),
            )
        )
        if atributos:
            items = tuple(
                Struct(
                    "AtributoAndamento",
                    (
                        ("Nome", a.nome),
                        ("Valor", text_or_nil(a.valor)),
                        ("IdOrigem", text_or_nil(a.id_origem)),
                    ),
                )
                for a in andamento.atributos
            )
            fields.append(
                ("Atributos", Array("ArrayOfAtributoAndamento", "AtributoAndamento", items))
            )
        return Struct("Andamento", tuple(fields))

    def andamento_or_nil(self, andamento: Andamento | None) -> Value:
        if andamento is None:
            return Nil("Andamento")
        return self.andamento(andamento, with_ids=False, atributos=False)

    # --- documentos ----------------------------------------------------------------------------

    def retorno_inclusao(self, documento: Documento) -> Struct:
        return Struct(
            "RetornoInclusaoDocumento",
            (
                ("IdDocumento", str(documento.id_documento)),
                ("DocumentoFormatado", documento.documento_formatado),
                ("LinkAcesso", self.link_documento(documento)),
            ),
        )

    # --- contatos ------------------------------------------------------------------------------

    def interessado(self, contato: Contato) -> Struct:
        """An interessado of consultarProcedimento (SEI 4.1.0 sends IdContato nil)."""
        return Struct(
            "Interessado",
            (
                ("IdContato", NIL),
                ("Cpf", text_or_nil(contato.cpf)),
                ("Cnpj", text_or_nil(contato.cnpj)),
                ("Sigla", text_or_nil(contato.sigla)),
                ("Nome", contato.nome),
            ),
        )

    def contato(self, contato: Contato) -> Struct:
        """A contact as listarContatos gives it."""
        id_contato = str(contato.id_contato)
        fields: list[tuple[str, Value]] = [
            ("IdContato", id_contato),
            ("IdTipoContato", "4" if contato.temporario else "1"),
            ("NomeTipoContato", "Temporário" if contato.temporario else "Pessoa Física"),
            ("Sigla", text_or_nil(contato.sigla)),
            ("Nome", contato.nome),
            ("NomeSocial", NIL),
            ("StaNatureza", "J" if contato.cnpj else "F"),
            ("IdContatoAssociado", id_contato),
            ("NomeContatoAssociado", contato.nome),
            ("SinEnderecoAssociado", "N"),
        ]
        fields.extend((name, NIL) for name in _CONTATO_NIL_TAIL)
        fields.append(("Cpf", text_or_nil(contato.cpf)))
        fields.append(("Cnpj", text_or_nil(contato.cnpj)))
        fields.extend((name, NIL) for name in _CONTATO_NIL_AFTER_CNPJ)
        fields.append(("SinAtivo", "S"))
        fields.append(("IdCategoria", NIL))
        return Struct("Contato", tuple(fields))
