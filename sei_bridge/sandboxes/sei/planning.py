"""Checking a ``Procedimento`` or ``Documento`` the way SEI does, before anything is written.

SEI runs each operation in one database transaction, so a refused call leaves nothing behind.
The sandbox gets the same all-or-nothing by planning first: :class:`Planner` turns the decoded
structures into plans (raising :class:`~.rules.SeiFault` with SEI's words), and only then does
:mod:`~.operations` write. Contacts for interessados are planned too: matched (by IdContato,
CPF, CNPJ, Sigla+Nome, Sigla, Nome — a temporary contact is reused by Nome) or to be created.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sei_bridge.sandboxes.sei import rules
from sei_bridge.sandboxes.sei.catalog import Catalog, Serie
from sei_bridge.sandboxes.sei.config import ChunkedUpload, SandboxConfig
from sei_bridge.sandboxes.sei.model import Contato, Upload, latin1_text
from sei_bridge.sandboxes.sei.state import SandboxState

__all__ = ["DocumentoPlan", "InteressadoPlan", "Planner", "ProcedimentoPlan"]

#: SEI's limits on stored string fields (characters, after Latin-1 referencing).
MAX_ESPECIFICACAO = 100
MAX_OBSERVACAO = 1000
MAX_DESCRICAO = 250
#: ProtocoloRN::validarStrProtocoloFormatadoRN0211 (seen on 4.1.0)
MAX_NUMERO_PROTOCOLO = 40
#: NivelAcesso sigiloso: refused for processos and, in a processo that is not sigiloso (none can
#: be made sigiloso through web services), for documentos — with SEI's own texts.
SIGILOSO = "2"


def _text(struct: dict[str, Any], name: str) -> str | None:
    value = struct.get(name)
    return value if isinstance(value, str) and value != "" else None


def _items(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _digits(value: str | None) -> str | None:
    if value is None:
        return None
    digits = "".join(ch for ch in value if ch.isdigit())
    return digits or None


@dataclass(slots=True)
class InteressadoPlan:
    """An existing contact, or one to create (``existing`` None)."""

    existing: Contato | None
    sigla: str | None = None
    nome: str = ""
    cpf: str | None = None
    cnpj: str | None = None


@dataclass(slots=True)
class ProcedimentoPlan:
    id_tipo_procedimento: str
    especificacao: str | None
    observacao: str | None
    nivel_acesso: int
    id_hipotese_legal: str | None
    assuntos: tuple[str, ...]
    interessados: list[InteressadoPlan]
    numero_protocolo: str | None
    data_autuacao: str | None


@dataclass(slots=True)
class DocumentoPlan:
    tipo: str
    serie: Serie
    numero: str | None
    data: str | None
    descricao: str | None
    observacao: str | None
    nivel_acesso: int
    id_hipotese_legal: str | None
    nome_arquivo: str | None
    content: bytes = field(repr=False)
    upload: Upload | None
    interessados: list[InteressadoPlan]


class Planner:
    """Validates requests against the catalog, the config and the state (read only)."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.catalog: Catalog = config.catalog
        self.extensions = frozenset(e.extensao.lower() for e in config.catalog.extensoes)
        self.max_bytes = config.max_external_mb * 1024 * 1024

    # --- access level ---------------------------------------------------------------------------

    def _nivel(
        self, check: rules.Validation, nivel: str | None, hipotese: str | None, default: int
    ) -> tuple[int, str | None]:
        if nivel is None:
            value = default
        elif nivel in ("0", "1"):
            value = int(nivel)
        else:  # sigiloso (2) is refused by the callers with SEI's texts; anything else is junk
            check.add(rules.NIVEL_ACESSO_INVALIDO)
            check.add(rules.NIVEL_NAO_PERMITIDO_TIPO)
            return default, None
        if not self.config.enforce_hipotese_legal:
            return value, hipotese
        if value == 0:
            return value, None  # a hipótese sent with público is dropped (seen on 4.1.0)
        if hipotese is None:
            check.add(rules.HIPOTESE_NAO_INFORMADA)
            return value, None
        found = self.catalog.hipotese_legal(hipotese)
        if found is None:
            check.add(rules.HIPOTESE_NAO_ENCONTRADA)
            return value, None
        if found.nivel_acesso != value:
            check.add(rules.HIPOTESE_NAO_APLICAVEL)
        return value, hipotese

    # --- interessados ---------------------------------------------------------------------------

    def interessados(self, state: SandboxState, value: Any) -> list[InteressadoPlan]:
        plans: list[InteressadoPlan] = []
        for item in _items(value):
            plan = self._interessado(state, item if isinstance(item, dict) else {}, plans)
            duplicate = any(
                p is plan or (plan.existing is not None and p.existing is plan.existing)
                for p in plans
            )
            if not duplicate:
                plans.append(plan)
        return plans

    def _interessado(
        self, state: SandboxState, item: dict[str, Any], planned: list[InteressadoPlan]
    ) -> InteressadoPlan:
        id_contato = _text(item, "IdContato")
        cpf, cnpj = _digits(_text(item, "Cpf")), _digits(_text(item, "Cnpj"))
        sigla = _text(item, "Sigla")
        nome = _text(item, "Nome")
        sigla = latin1_text(sigla) if sigla is not None else None
        nome = latin1_text(nome) if nome is not None else None
        if id_contato is not None:
            # SeiRN::prepararParticipantes: an IdContato not found makes a new contact of the
            # Sigla and Nome sent
            found = state.contatos.get(int(id_contato)) if id_contato.isdigit() else None
            if found is not None:
                return InteressadoPlan(found)
        elif cpf is None and cnpj is None and sigla is None and nome is None:
            raise rules.SeiFault(rules.INTERESSADO_VAZIO, rules.INFRA_ERRO)
        for document in (
            f"cpf:{cpf}" if cpf and id_contato is None else None,
            f"cnpj:{cnpj}" if cnpj and id_contato is None else None,
        ):
            found_by_document = state.contacts_by_document(document) if document else []
            if found_by_document:
                return InteressadoPlan(found_by_document[0])
        if sigla is not None and id_contato is None:
            by_sigla = state.contacts_by_sigla(sigla)
            if nome is not None:
                for contato in by_sigla:
                    if contato.nome.lower() == nome.lower():
                        return InteressadoPlan(contato)
            if by_sigla:
                return InteressadoPlan(by_sigla[0])
        if nome is None:
            raise rules.SeiFault(rules.NOME_INTERESSADO, rules.INFRA_ERRO)
        by_nome = state.contacts_by_nome(nome) if id_contato is None else []
        temporary = [c for c in by_nome if c.temporario]
        if temporary or by_nome:
            return InteressadoPlan((temporary or by_nome)[0])
        for plan in planned:  # the same new person twice in one call: one contact
            if plan.existing is None and plan.nome.lower() == nome.lower():
                return plan
        check = rules.Validation()  # a new contact: ContatoRN's limits, as stored
        check.length("Sigla", sigla, rules.MAX_SIGLA_CONTATO)
        check.length("Nome", nome, rules.MAX_NOME_CONTATO)
        check.raise_if_any()
        return InteressadoPlan(None, sigla=sigla, nome=nome, cpf=cpf, cnpj=cnpj)

    # --- procedimento ---------------------------------------------------------------------------

    def procedimento(
        self, state: SandboxState, value: Any, *, today: dt.date | None = None
    ) -> ProcedimentoPlan:
        """Plan a processo in SEI 4.1.0's order: SeiRN's checks one by one (the tipo, the
        NumeroProtocolo/DataAutuacao pair, the assuntos, sigiloso, the interessados), then
        ProcedimentoRN's (the nivel de acesso), then ProtocoloRN's collected ones (the date,
        the especificação, the hipótese legal, the number), then the observação; ``today``
        (default: the system's) is the date a DataAutuacao may not pass."""
        struct = value if isinstance(value, dict) else {}
        id_tipo = _text(struct, "IdTipoProcedimento")
        tipo = self.catalog.tipo_procedimento(id_tipo)
        if tipo is None:
            raise rules.not_found("Tipo de procedimento", id_tipo)
        numero = _text(struct, "NumeroProtocolo")
        data_autuacao = _text(struct, "DataAutuacao")
        if numero is not None and data_autuacao is None:
            raise rules.SeiFault(rules.NUMERO_SEM_DATA_AUTUACAO, rules.INFRA_ERRO)
        if data_autuacao is not None and numero is None:
            raise rules.SeiFault(rules.DATA_AUTUACAO_SEM_NUMERO, rules.INFRA_ERRO)
        assuntos: list[str] = []
        for item in _items(struct.get("Assuntos")):
            codigo = _text(item, "CodigoEstruturado") if isinstance(item, dict) else item
            if not isinstance(codigo, str) or self.catalog.assunto(codigo) is None:
                raise rules.not_found("Assunto", codigo)
            if codigo not in assuntos:
                assuntos.append(codigo)
        own_nivel = _text(struct, "NivelAcesso")
        if own_nivel == SIGILOSO:
            # SeiRN::gerarProcedimentoInternoControlado, alone, after the assuntos and before
            # the lengths, the hipótese legal and the interessados are looked at
            raise rules.SeiFault(rules.PROCESSO_SIGILOSO)
        assuntos.extend(c for c in tipo.assuntos_sugeridos if c not in assuntos)
        interessados = self.interessados(state, struct.get("Interessados"))
        if own_nivel not in (None, "0", "1"):  # ProcedimentoRN, before ProtocoloRN's checks
            junk = rules.Validation()
            junk.add(rules.NIVEL_ACESSO_INVALIDO)
            junk.add(rules.NIVEL_NAO_PERMITIDO_TIPO)
            junk.raise_if_any()
        check = rules.Validation()
        if data_autuacao is not None:
            try:
                autuacao = rules.parse_data(data_autuacao)
            except rules.SeiFault:
                check.add(rules.DATA_PROTOCOLO_INVALIDA)
            else:
                if autuacao > (today or dt.date.today()):
                    check.add(rules.DATA_PROTOCOLO_FUTURA)
                data_autuacao = autuacao.strftime("%d/%m/%Y")
        especificacao = _text(struct, "Especificacao")
        observacao = _text(struct, "Observacao")
        check.length("Especificação", especificacao, MAX_ESPECIFICACAO)
        nivel, hipotese = self._nivel(check, own_nivel, _text(struct, "IdHipoteseLegal"), default=0)
        if numero is not None:
            check.length("Número do protocolo", numero.strip(), MAX_NUMERO_PROTOCOLO)
        check.raise_if_any()
        # the observação is stored after the protocolo's checks: its limit is met alone
        later = rules.Validation()
        later.length("Observação", observacao, MAX_OBSERVACAO)
        later.raise_if_any()
        return ProcedimentoPlan(
            id_tipo_procedimento=tipo.id_tipo_procedimento,
            especificacao=latin1_text(especificacao) if especificacao else None,
            observacao=latin1_text(observacao) if observacao else None,
            nivel_acesso=nivel,
            id_hipotese_legal=hipotese,
            assuntos=tuple(assuntos),
            interessados=interessados,
            numero_protocolo=latin1_text(numero.strip()) if numero else None,
            data_autuacao=data_autuacao,
        )

    # --- documento ------------------------------------------------------------------------------

    def documento(
        self,
        state: SandboxState,
        value: Any,
        *,
        nivel: int,
        hipotese: str | None,
        access: Callable[[], None] | None = None,
        protocolo: Callable[[], str] = lambda: "",
        today: dt.date | None = None,
    ) -> DocumentoPlan:
        """Plan a documento in SEI 4.1.0's order: SeiRN's checks one by one (the série, the
        Tipo, the date, the content elements, then ``access``, the unit's access to the
        processo, then sigiloso), then DocumentoRN's one by one (the nivel de acesso, the
        número), ProtocoloRN's collected ones (the date, the descrição, the hipótese legal),
        then the observação and AnexoRN's. ``nivel``/``hipotese`` are the processo's
        (inherited when the documento sets no NivelAcesso); ``protocolo`` gives its number."""
        struct = value if isinstance(value, dict) else {}
        tipo = _text(struct, "Tipo")
        id_serie = _text(struct, "IdSerie")
        serie = self.catalog.serie(id_serie)
        if serie is None:
            raise rules.not_found("Tipo de documento", id_serie)
        if tipo not in ("G", "R"):
            raise rules.tipo_protocolo_invalido(tipo)
        data = _text(struct, "Data")
        if tipo == "G" and data is not None:
            raise rules.SeiFault(rules.DATA_EM_GERADO)
        if tipo == "R" and data is None:
            raise rules.SeiFault(rules.DATA_NAO_INFORMADA)
        nome = _text(struct, "NomeArquivo")
        inline = _text(struct, "Conteudo") is not None or _text(struct, "ConteudoMTOM") is not None
        if tipo == "G" and nome is not None:
            raise rules.SeiFault(rules.NOME_ARQUIVO_EM_GERADO, rules.INFRA_ERRO)
        if tipo == "R" and nome is None and inline:
            raise rules.SeiFault(rules.NOME_ARQUIVO_NAO_INFORMADO, rules.INFRA_ERRO)
        if tipo == "G" and _text(struct, "ConteudoMTOM") is not None:
            raise rules.SeiFault(rules.MTOM_EM_GERADO, rules.INFRA_ERRO)
        if tipo == "R" and _text(struct, "ConteudoMTOM") and _text(struct, "Conteudo"):
            raise rules.SeiFault(rules.CONTEUDO_E_MTOM, rules.INFRA_ERRO)
        if access is not None:
            access()
        own_nivel = _text(struct, "NivelAcesso")
        if own_nivel == SIGILOSO and nivel != 2:
            # SeiRN::incluirDocumentoControlado, after the access check, before the rest
            raise rules.SeiFault(rules.DOCUMENTO_SIGILOSO)
        if own_nivel not in (None, "0", "1"):  # DocumentoRN::validarNivelAcesso
            junk = rules.Validation()
            junk.add(rules.NIVEL_ACESSO_INVALIDO)
            junk.add(rules.nivel_nao_permitido_processo(protocolo()))
            junk.raise_if_any()
        numero = _text(struct, "Numero")
        if numero is not None and not serie.numeracao_informada:
            raise rules.sem_numeracao(serie.nome)
        check = rules.Validation()
        if data is not None:
            try:
                data_value = rules.parse_data(data)
            except rules.SeiFault:
                check.add(rules.DATA_PROTOCOLO_INVALIDA)
            else:
                if data_value > (today or dt.date.today()):
                    check.add(rules.DATA_PROTOCOLO_FUTURA)
                data = data_value.strftime("%d/%m/%Y")
        descricao, observacao = _text(struct, "Descricao"), _text(struct, "Observacao")
        check.length("Descrição", descricao, MAX_DESCRICAO)
        if own_nivel is None:
            nivel_value, hipotese_value = nivel, hipotese
        else:
            nivel_value, hipotese_value = self._nivel(
                check, own_nivel, _text(struct, "IdHipoteseLegal"), default=nivel
            )
        check.raise_if_any()
        later = rules.Validation()  # stored after the protocolo's checks: met alone
        later.length("Observação", observacao, MAX_OBSERVACAO)
        later.raise_if_any()
        nome_arquivo, content, upload = self._content(state, tipo, struct)
        return DocumentoPlan(
            tipo=tipo,
            serie=serie,
            numero=latin1_text(numero) if numero else None,
            data=data,
            descricao=latin1_text(descricao) if descricao else None,
            observacao=latin1_text(observacao) if observacao else None,
            nivel_acesso=nivel_value,
            id_hipotese_legal=hipotese_value,
            nome_arquivo=nome_arquivo,
            content=content,
            upload=upload,
            interessados=self.interessados(state, struct.get("Interessados")),
        )

    def _content(
        self, state: SandboxState, tipo: str, struct: dict[str, Any]
    ) -> tuple[str | None, bytes, Upload | None]:
        conteudo = _text(struct, "Conteudo")
        mtom = _text(struct, "ConteudoMTOM")
        id_arquivo = _text(struct, "IdArquivo")
        if tipo == "G":
            raw = rules.decode_base64(conteudo or mtom or "")
            html = rules.stored_html(raw)
            rules.check_script(html, lambda: f"{state.new_protocolo_id():07d}")
            return None, html, None
        nome = _text(struct, "NomeArquivo")
        if nome is None and id_arquivo is None:
            return None, b"", None  # a documento externo without a file, as SEI allows
        chunked = id_arquivo is not None and (nome is None or (conteudo is None and mtom is None))
        if nome is None and self.config.chunked_upload is ChunkedUpload.BROKEN:
            # SEI 4.1.0 looks for the IdArquivo under an attribute that never got it (with a
            # NomeArquivo it takes the name's path below instead: an empty file, "Anexo X vazio.")
            raise rules.SeiFault(rules.ID_ANEXO, rules.INFRA_ERRO)
        if chunked and self.config.chunked_upload is ChunkedUpload.WORKING:
            assert id_arquivo is not None
            upload = state.uploads.get(int(id_arquivo)) if id_arquivo.isdigit() else None
            if upload is None:
                raise rules.not_found("Arquivo", id_arquivo)
            data = bytes(upload.data)
            complete = len(data) == upload.tamanho
            if not complete or hashlib.md5(data, usedforsecurity=False).hexdigest() != (
                upload.hash_md5.lower()
            ):
                raise rules.SeiFault(rules.CORROMPIDO)
            nome = nome or upload.nome
            rules.check_extension(nome, self.extensions)
            return latin1_text(nome), data, upload
        # the name's path: SEI stores the inline content (an IdArquivo beside it is ignored)
        assert nome is not None
        nome = latin1_text(nome).strip()
        rules.check_nome_anexo(nome, self.extensions)
        content = rules.decode_base64(conteudo or mtom or "")
        if not content:
            raise rules.anexo_vazio(nome)
        self._check_size(nome, len(content))
        return nome, content, None

    def size_message(self, nome: str, size: int | None) -> str | None:
        """AnexoRN::validarNumTamanhoRN0867: the extension's own limit, else the general one
        (``size`` None: a non-numeric Tamanho, above any limit as PHP 8 compares it)."""
        found = self.catalog.extensao(rules.extension_of(nome))
        if found is not None and found.tamanho_maximo_mb:
            if size is None or size > found.tamanho_maximo_mb * 1024 * 1024:
                return (
                    f"O tamanho máximo permitido para arquivos {found.extensao.upper()} é "
                    f"{found.tamanho_maximo_mb}Mb."
                )
        elif size is None or size > self.max_bytes:
            return rules.tamanho_maximo(self.config.max_external_mb).message
        return None

    def _check_size(self, nome: str, size: int) -> None:
        message = self.size_message(nome, size)
        if message is not None:
            raise rules.SeiFault(message)
