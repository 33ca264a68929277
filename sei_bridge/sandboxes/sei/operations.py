"""SEI's operations: one handler per operation, each one transaction over the state.

:meth:`Operations.execute` authenticates the call as SEI does (:mod:`~.auth`: SiglaSistema,
IdentificacaoServico — identificação from an allowed host or Chave de Acesso — and the
serviço's denied operations), then runs the handler, which checks the serviço's operations
where SEI does (:meth:`Operations.permit`), plans (validates; see :mod:`~.planning`) and only
then writes, so a refused call leaves nothing behind — SEI runs each operation in one database
transaction. Handlers return the answer as a
:mod:`~.soap` value built inside the transaction; the caller renders it outside the lock.
The read-only operations (consultar*, listar*) are in :mod:`~.queries`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

from sei_bridge.sandboxes.sei import auth, queries, rules
from sei_bridge.sandboxes.sei.config import SandboxConfig
from sei_bridge.sandboxes.sei.model import (
    SAO_PAULO,
    Andamento,
    Atributo,
    Contato,
    Documento,
    Processo,
    Upload,
    format_data,
    latin1_text,
)
from sei_bridge.sandboxes.sei.planning import DocumentoPlan, InteressadoPlan, Planner
from sei_bridge.sandboxes.sei.render import Renderer, Usuario
from sei_bridge.sandboxes.sei.soap import Array, SoapCall, Struct, Value
from sei_bridge.sandboxes.sei.state import SandboxState

__all__ = ["IMPLEMENTED", "Operations", "nup"]

Handler = Callable[[SoapCall], Value]

_NIVEL = {0: "público", 1: "restrito", 2: "sigiloso"}

#: Tarefas SEI uses for what the sandbox records.
TAREFA_GERACAO = "1"
TAREFA_DOCUMENTO_GERADO = "2"
TAREFA_DOCUMENTO_RECEBIDO = "13"
TAREFA_CONCLUSAO = "28"
TAREFA_REABERTURA = "29"
TAREFA_REMESSA = "32"
TAREFA_ATUALIZACAO = "65"


def _list(value: Any) -> list[Any]:
    """An array part as a list (a lone member sent without its array counts as one)."""
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def _mod11(digits: str) -> str:
    total = sum(
        int(d) * w for d, w in zip(reversed(digits), range(2, 2 + len(digits)), strict=True)
    )
    value = 11 - total % 11
    return str(value - 10 if value >= 10 else value)


def nup(prefix: str, sequencial: int, year: int) -> str:
    """A processo number in SEI's NUP format with its two mod-11 check digits
    (``nup("99990", 1, 2026) == "99990.000001/2026-53"``)."""
    base = f"{prefix}{sequencial:06d}{year}"
    first = _mod11(base)
    second = _mod11(base + first)
    return f"{prefix}.{sequencial:06d}/{year}-{first}{second}"


#: Every operation the sandbox implements (those of the served WSDL are reachable).
IMPLEMENTED = frozenset(
    {
        "gerarProcedimento",
        "incluirDocumento",
        "excluirDocumento",
        "concluirProcesso",
        "reabrirProcesso",
        "enviarProcesso",
        "lancarAndamento",
        "adicionarArquivo",
        "adicionarConteudoArquivo",
        *queries.QUERIES,
    }
)


def _is_numeric(value: str) -> bool:
    """PHP's is_numeric, near enough: an optionally signed decimal number."""
    try:
        float(value.strip())
    except ValueError:
        return False
    return value.strip().lower() not in ("nan", "inf", "-inf", "+inf", "infinity")


class Operations:
    """The SEI web service's behaviour over a :class:`SandboxState`."""

    def __init__(
        self,
        state: SandboxState,
        config: SandboxConfig,
        *,
        clock: Callable[[], float],
        link_base: Callable[[], str],
    ) -> None:
        self.state = state
        self.config = config
        self.catalog = config.catalog
        self.clock = clock
        self.sigla = config.credentials()[0]
        self.authenticator = auth.Authenticator(self.sigla, config.servico())
        usuario = Usuario(
            config.id_usuario, self.sigla, config.usuario_nome or f"Sistema {self.sigla}"
        )
        self.render = Renderer(config.catalog, usuario, link_base)
        self.planner = Planner(config)
        self.handlers: dict[str, Handler] = {
            "gerarProcedimento": self.gerar_procedimento,
            "incluirDocumento": self.incluir_documento,
            "excluirDocumento": self.excluir_documento,
            "concluirProcesso": self.concluir_processo,
            "reabrirProcesso": self.reabrir_processo,
            "enviarProcesso": self.enviar_processo,
            "lancarAndamento": self.lancar_andamento,
            "adicionarArquivo": self.adicionar_arquivo,
            "adicionarConteudoArquivo": self.adicionar_conteudo_arquivo,
        }
        for name, query in queries.QUERIES.items():
            self.handlers[name] = self._bind(query)

    def _bind(self, query: Callable[[Operations, SoapCall], Value]) -> Handler:
        return lambda call: query(self, call)

    # --- entry point ---------------------------------------------------------------------------

    def execute(self, call: SoapCall, *, client: auth.Client | None = None) -> Value:
        """Authenticate and run ``call`` from ``client`` (default: loopback); raises
        :class:`~.rules.SeiFault` as SEI would."""
        self.authenticator.authenticate(
            call.text("SiglaSistema"), call.text("IdentificacaoServico"), client or auth.Client()
        )
        return self.handlers[call.operation](call)

    def permit(
        self,
        operation: str,
        id_unidade: str,
        *,
        tipo: str | None = None,
        serie: str | None = None,
    ) -> None:
        """The serviço's operations (SEI's ``operacao_servico``), checked where SEI checks them:
        with no tipo (catalog listings, uploads, contatos), with the processo's ``tipo`` (id)
        or with the tipo and the documento's ``serie`` (id)."""
        allowed = self.config.allowed_operations
        if allowed is None or operation in allowed:
            return
        found_tipo = self.catalog.tipo_procedimento(tipo) if tipo is not None else None
        found_serie = self.catalog.serie(serie) if serie is not None else None
        if id_unidade:
            sigla_unidade = self.sigla_unidade(id_unidade)
        elif tipo is None:  # SEI simulates a login in its test unit
            sigla_unidade = self.catalog.unidades[0].sigla
        else:
            sigla_unidade = "Todas"
        raise rules.operacao_nao_configurada(
            operation,
            self.authenticator.servico.identificacao,
            sigla_unidade,
            tipo_processo=found_tipo.nome if found_tipo else tipo,
            tipo_documento=found_serie.nome if found_serie else serie,
        )

    # --- helpers (inside a transaction) --------------------------------------------------------

    def unidade(self, call: SoapCall, *, required: bool = True) -> str:
        id_unidade = call.text("IdUnidade")
        if id_unidade is None and not required:
            return ""
        if self.catalog.unidade(id_unidade) is None:
            raise rules.unidade_nao_encontrada(id_unidade)
        return id_unidade or ""

    def sigla_unidade(self, id_unidade: str) -> str:
        found = self.catalog.unidade(id_unidade)
        return found.sigla if found is not None else id_unidade

    def processo(self, call: SoapCall, part: str = "ProtocoloProcedimento") -> Processo:
        protocolo = call.text(part)
        found = self.state.find_processo(protocolo)
        if found is None:
            raise rules.not_found("Processo", protocolo)
        return found

    def _andamento(
        self,
        processo: Processo,
        id_unidade: str,
        id_tarefa: str,
        descricao: str,
        atributos: list[Atributo],
        *,
        modulo: str | None = None,
    ) -> Andamento:
        andamento = Andamento(
            id_andamento=self.state.new_andamento_id(),
            id_procedimento=processo.id_procedimento,
            id_tarefa=id_tarefa,
            descricao=descricao,
            data_hora=self.clock(),
            id_unidade=id_unidade,
            atributos=tuple(sorted(atributos, key=lambda a: a.nome)),
            id_tarefa_modulo=modulo,
        )
        self.state.save_andamento(andamento)
        processo.andamentos.append(andamento.id_andamento)
        return andamento

    def _nivel_atributos(self, nivel: int, id_hipotese: str | None) -> list[Atributo]:
        atributos = [Atributo("NIVEL_ACESSO", "", str(nivel))]
        hipotese = self.catalog.hipotese_legal(id_hipotese) if nivel else None
        if hipotese is not None:
            atributos.append(
                Atributo(
                    "HIPOTESE_LEGAL",
                    f"{hipotese.nome} ({hipotese.base_legal})",
                    hipotese.id_hipotese_legal,
                )
            )
        return atributos

    def _contatos(self, plans: list[InteressadoPlan]) -> tuple[int, ...]:
        ids: list[int] = []
        for plan in plans:
            contato = plan.existing
            if contato is None:
                contato = Contato(
                    id_contato=self.state.new_contato_id(),
                    sigla=plan.sigla,
                    nome=plan.nome,
                    cpf=plan.cpf,
                    cnpj=plan.cnpj,
                )
                self.state.save_contato(contato)
                plan.existing = contato
            if contato.id_contato not in ids:
                ids.append(contato.id_contato)
        return tuple(ids)

    def _criar_documento(
        self, processo: Processo, id_unidade: str, plan: DocumentoPlan
    ) -> Documento:
        now = self.clock()
        documento = Documento(
            id_documento=self.state.new_protocolo_id(),
            id_procedimento=processo.id_procedimento,
            tipo=plan.tipo,
            id_serie=plan.serie.id_serie,
            id_unidade=id_unidade,
            data=plan.data or format_data(now),
            criado_em=now,
            nivel_acesso=plan.nivel_acesso,
            numero=plan.numero,
            descricao=plan.descricao,
            id_hipotese_legal=plan.id_hipotese_legal,
            nome_arquivo=plan.nome_arquivo,
            observacao=plan.observacao,
            interessados=self._contatos(plan.interessados),
        )
        documento.set_content(plan.content, keep=self.state.keep_content)
        self.state.save_documento(documento)
        if plan.upload is not None:
            self.state.drop_upload(plan.upload)
        processo.documentos.append(documento.id_documento)
        serie = plan.serie.nome + (f" {plan.numero}" if plan.numero else "")
        nivel = _NIVEL[plan.nivel_acesso]
        if plan.tipo == "G":
            tarefa, texto = TAREFA_DOCUMENTO_GERADO, f"Gerado documento {nivel}"
        else:
            tarefa, texto = TAREFA_DOCUMENTO_RECEBIDO, f"Recebido documento externo {nivel}"
        self._andamento(
            processo,
            id_unidade,
            tarefa,
            f"{texto} {documento.documento_formatado} ({serie})",
            [
                Atributo("DOCUMENTO", documento.documento_formatado, str(documento.id_documento)),
                *self._nivel_atributos(plan.nivel_acesso, plan.id_hipotese_legal),
            ],
        )
        return documento

    def _enviar(
        self, processo: Processo, origem: str, destinos: list[str], manter_aberto: bool
    ) -> None:
        for destino in destinos:
            if destino not in processo.abertas:
                processo.abertas.append(destino)
            if destino not in processo.passou:
                processo.passou.append(destino)
            self._andamento(
                processo,
                origem,
                TAREFA_REMESSA,
                f"Processo remetido para a unidade {self.sigla_unidade(destino)}",
                [Atributo("UNIDADE", self.sigla_unidade(destino), destino)],
            )
        if destinos and not manter_aberto and origem in processo.abertas:
            processo.abertas.remove(origem)

    def _destinos(self, value: Any) -> list[str]:
        destinos = [d for d in _list(value) if d]
        for destino in destinos:
            if not isinstance(destino, str) or self.catalog.unidade(destino) is None:
                raise rules.unidade_nao_encontrada(str(destino))
        return list(dict.fromkeys(destinos))

    # --- processos -----------------------------------------------------------------------------

    def gerar_procedimento(self, call: SoapCall) -> Value:
        with self.state.transaction():
            id_unidade = self.unidade(call)
            documentos = _list(call.params.get("Documentos"))
            if len(documentos) > self.config.max_documentos:
                raise rules.maximo_documentos(self.config.max_documentos)
            struct = call.params.get("Procedimento")
            id_tipo = struct.get("IdTipoProcedimento") if isinstance(struct, dict) else None
            if isinstance(id_tipo, str) and self.catalog.tipo_procedimento(id_tipo) is not None:
                self.permit("gerarProcedimento", id_unidade, tipo=id_tipo)
            today = dt.datetime.fromtimestamp(self.clock(), SAO_PAULO).date()
            plan = self.planner.procedimento(self.state, struct, today=today)
            doc_plans = []
            numero = plan.numero_protocolo

            def protocolo() -> str:  # the number the processo is about to get
                if numero is not None and self.state.find_processo(numero) is None:
                    return numero
                year = today.year
                return nup(self.config.protocolo_prefix, self.state.peek_numero(year), year)

            for documento in documentos:
                # SEI adds them through incluirDocumento, permission check included
                self._permit_documento(
                    "incluirDocumento", id_unidade, plan.id_tipo_procedimento, documento
                )
                doc_plans.append(
                    self.planner.documento(
                        self.state,
                        documento,
                        nivel=plan.nivel_acesso,
                        hipotese=plan.id_hipotese_legal,
                        protocolo=protocolo,
                        today=today,
                    )
                )
            destinos = self._destinos(call.params.get("UnidadesEnvio"))
            relacionados = []
            for protocolo in _list(call.params.get("ProcedimentosRelacionados")):
                found = self.state.find_processo(protocolo if isinstance(protocolo, str) else "")
                if found is None:
                    raise rules.not_found("Processo", str(protocolo))
                relacionados.append(found.id_procedimento)
            # Everything checked: write.
            now = self.clock()
            numero = plan.numero_protocolo
            if numero is not None and self.state.find_processo(numero) is None:
                formatado, sequencial = numero, None
            else:  # a taken NumeroProtocolo silently gets a generated one (seen on 4.1.0)
                year = dt.datetime.fromtimestamp(now, SAO_PAULO).year
                n = self.state.new_numero(year)
                formatado, sequencial = nup(self.config.protocolo_prefix, n, year), (year, n)
            processo = Processo(
                id_procedimento=self.state.new_protocolo_id(),
                procedimento_formatado=formatado,
                id_tipo_procedimento=plan.id_tipo_procedimento,
                data_autuacao=(
                    rules.parse_data(plan.data_autuacao).strftime("%d/%m/%Y")
                    if plan.data_autuacao and sequencial is None
                    else format_data(now)
                ),
                criado_em=now,
                id_unidade_geradora=id_unidade,
                nivel_acesso=plan.nivel_acesso,
                especificacao=plan.especificacao,
                numero_informado=numero if sequencial is None else None,
                sequencial=sequencial,
                id_hipotese_legal=plan.id_hipotese_legal,
                observacao=plan.observacao,
                assuntos=plan.assuntos,
                interessados=self._contatos(plan.interessados),
                relacionados=tuple(relacionados),
                abertas=[id_unidade],
                passou=[id_unidade],
            )
            self._andamento(
                processo,
                id_unidade,
                TAREFA_GERACAO,
                f"Processo {_NIVEL[plan.nivel_acesso]} gerado",
                [
                    *self._nivel_atributos(plan.nivel_acesso, plan.id_hipotese_legal),
                    Atributo("PROTOCOLO_INFORMADO", formatado, None),
                ],
            )
            incluidos = [self._criar_documento(processo, id_unidade, p) for p in doc_plans]
            self._enviar(processo, id_unidade, destinos, call.text("SinManterAbertoUnidade") != "N")
            self.state.save_processo(processo)
            return Struct(
                "RetornoGeracaoProcedimento",
                (
                    ("IdProcedimento", str(processo.id_procedimento)),
                    ("ProcedimentoFormatado", processo.procedimento_formatado),
                    ("LinkAcesso", self.render.link_processo(processo)),
                    (
                        "RetornoInclusaoDocumentos",
                        Array(
                            "ArrayOfRetornoInclusaoDocumento",
                            "RetornoInclusaoDocumento",
                            tuple(self.render.retorno_inclusao(d) for d in incluidos),
                        ),
                    ),
                ),
            )

    def _permit_documento(self, operation: str, id_unidade: str, tipo: str, documento: Any) -> None:
        id_serie = documento.get("IdSerie") if isinstance(documento, dict) else None
        if isinstance(id_serie, str) and self.catalog.serie(id_serie) is not None:
            self.permit(operation, id_unidade, tipo=tipo, serie=id_serie)

    def concluir_processo(self, call: SoapCall) -> Value:
        with self.state.transaction():
            id_unidade = self.unidade(call)
            processo = self.processo(call)
            self.permit(call.operation, id_unidade, tipo=processo.id_tipo_procedimento)
            if id_unidade not in processo.abertas:
                raise rules.nao_aberto(processo.procedimento_formatado)
            processo.abertas.remove(id_unidade)
            self._andamento(
                processo, id_unidade, TAREFA_CONCLUSAO, "Conclusão do processo na unidade", []
            )
            self.state.save_processo(processo)
            return "1"

    def reabrir_processo(self, call: SoapCall) -> Value:
        with self.state.transaction():
            id_unidade = self.unidade(call)
            processo = self.processo(call)
            self.permit(call.operation, id_unidade, tipo=processo.id_tipo_procedimento)
            if id_unidade in processo.abertas:
                raise rules.SeiFault(rules.JA_ABERTO)
            if id_unidade not in processo.passou:
                raise rules.nao_tramitou(processo.procedimento_formatado)
            self._reabrir(processo, id_unidade)
            self.state.save_processo(processo)
            return "1"

    def _reabrir(self, processo: Processo, id_unidade: str) -> None:
        processo.abertas.append(id_unidade)
        self._andamento(
            processo, id_unidade, TAREFA_REABERTURA, "Reabertura do processo na unidade", []
        )

    def enviar_processo(self, call: SoapCall) -> Value:
        with self.state.transaction():
            id_unidade = self.unidade(call)
            processo = self.processo(call)
            self.permit(call.operation, id_unidade, tipo=processo.id_tipo_procedimento)
            # SeiRN::enviarProcessoControlado collects both, in this order
            check = rules.Validation()
            destinos = [d for d in _list(call.params.get("UnidadesDestino")) if d]
            if not destinos:
                check.add(rules.UNIDADES_NAO_INFORMADAS)
            if id_unidade not in processo.abertas:
                if call.text("SinReabrir") == "S" and id_unidade in processo.passou:
                    self._reabrir(processo, id_unidade)
                else:
                    check.add(
                        rules.envio_nao_aberto(
                            call.text("ProtocoloProcedimento") or "",
                            self.sigla_unidade(id_unidade) or id_unidade,
                        )
                    )
            check.raise_if_any()
            destinos = self._destinos(destinos)
            self._enviar(processo, id_unidade, destinos, call.text("SinManterAbertoUnidade") == "S")
            self.state.save_processo(processo)
            return "1"

    def lancar_andamento(self, call: SoapCall) -> Value:
        with self.state.transaction():
            id_unidade = self.unidade(call)
            processo = self.processo(call)
            self.permit(call.operation, id_unidade, tipo=processo.id_tipo_procedimento)
            id_tarefa = call.text("IdTarefa")
            modulo = call.text("IdTarefaModulo")
            if id_tarefa is None and modulo is None:
                raise rules.SeiFault(rules.TAREFA_NAO_INFORMADA, rules.INFRA_ERRO)
            if id_tarefa is not None and not _is_numeric(id_tarefa):
                raise rules.tarefa_invalida(id_tarefa)
            if modulo is not None:  # the installation's modules declare none
                raise rules.tarefa_modulo_nao_encontrada(modulo)
            assert id_tarefa is not None
            if float(id_tarefa) < 1000 and id_tarefa != TAREFA_ATUALIZACAO:
                raise rules.tarefa_reservada(id_tarefa)
            atributos = []
            for item in _list(call.params.get("Atributos")):
                nome_atributo = item.get("Nome") if isinstance(item, dict) else None
                if not isinstance(nome_atributo, str) or not nome_atributo.strip():
                    raise rules.SeiFault(rules.ATRIBUTO_SEM_NOME)
                valor = item.get("Valor")
                if isinstance(valor, str) and len(latin1_text(valor)) > rules.MAX_VALOR_ATRIBUTO:
                    raise rules.SeiFault(
                        f"Valor possui tamanho superior a {rules.MAX_VALOR_ATRIBUTO} caracteres."
                    )
                if len(latin1_text(nome_atributo)) > rules.MAX_NOME_ATRIBUTO:
                    raise rules.SeiFault(rules.NOME_ATRIBUTO_LONGO, rules.INFRA_ERRO)
                origem = item.get("IdOrigem")
                atributos.append(
                    Atributo(
                        latin1_text(str(item["Nome"])),
                        latin1_text(valor) if isinstance(valor, str) else None,
                        origem if isinstance(origem, str) and origem else None,
                    )
                )
            descricao = next((a.valor for a in atributos if a.nome == "DESCRICAO"), None)
            andamento = self._andamento(
                processo,
                id_unidade,
                id_tarefa or "",
                descricao or f"Andamento {id_tarefa or modulo}",
                atributos,
                modulo=modulo,
            )
            self.state.save_processo(processo)
            return self.render.andamento(andamento)

    # --- documentos ----------------------------------------------------------------------------

    def incluir_documento(self, call: SoapCall) -> Value:
        with self.state.transaction():
            id_unidade = self.unidade(call)
            struct = call.params.get("Documento")
            struct = struct if isinstance(struct, dict) else {}
            id_procedimento = struct.get("IdProcedimento")
            protocolo = struct.get("ProtocoloProcedimento")
            if isinstance(id_procedimento, str) and id_procedimento:
                found = (
                    self.state.processos.get(int(id_procedimento))
                    if id_procedimento.isdigit()
                    else None
                )
                asked = id_procedimento
            elif isinstance(protocolo, str) and protocolo:
                found, asked = self.state.find_processo(protocolo), protocolo
            else:
                raise rules.SeiFault(rules.PROCESSO_NAO_INFORMADO)
            if found is None:
                raise rules.not_found("Processo", asked)
            self._permit_documento(call.operation, id_unidade, found.id_tipo_procedimento, struct)
            processo = found

            def access() -> None:  # where SeiRN checks it: after the content elements
                if id_unidade not in processo.abertas and id_unidade not in processo.passou:
                    raise rules.sem_acesso(
                        self.sigla_unidade(id_unidade) or id_unidade,
                        processo.procedimento_formatado,
                    )

            plan = self.planner.documento(
                self.state,
                struct,
                nivel=found.nivel_acesso,
                hipotese=found.id_hipotese_legal,
                access=access,
                protocolo=lambda: processo.procedimento_formatado,
                today=dt.datetime.fromtimestamp(self.clock(), SAO_PAULO).date(),
            )
            if id_unidade not in found.abertas:
                self._reabrir(found, id_unidade)  # SEI reopens it where it was concluded
            documento = self._criar_documento(found, id_unidade, plan)
            self.state.save_processo(found)
            return self.render.retorno_inclusao(documento)

    def excluir_documento(self, call: SoapCall) -> Value:
        with self.state.transaction():
            id_unidade = self.unidade(call)
            protocolo = call.text("ProtocoloDocumento")
            documento = self.state.find_documento(protocolo)
            if documento is None:
                raise rules.not_found("Documento", protocolo)
            processo = self.state.processos[documento.id_procedimento]
            self.permit(
                call.operation,
                id_unidade,
                tipo=processo.id_tipo_procedimento,
                serie=documento.id_serie,
            )
            # DocumentoRN::excluirRN0006, then AtividadeRN (lancarValidacao; seen on 4.1.0)
            if documento.id_unidade != id_unidade:
                raise rules.SeiFault(
                    f"Documento {documento.documento_formatado} somente pode ser excluído pela "
                    "unidade geradora."
                )
            if id_unidade not in processo.abertas:
                raise rules.SeiFault(
                    f"Processo {processo.procedimento_formatado} não possui andamento aberto na "
                    f"unidade {self.sigla_unidade(id_unidade) or id_unidade}."
                )
            documento.excluido = True
            self.state.save_documento(documento)
            processo.documentos.remove(documento.id_documento)
            self.state.save_processo(processo)
            return "1"

    # --- chunked upload ------------------------------------------------------------------------

    def _complete(self, upload: Upload, data: bytes) -> None:
        """AnexoRN: a file that reached its announced size must have its MD5."""
        digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if len(data) == upload.tamanho and digest != upload.hash_md5:
            raise rules.SeiFault(rules.CORROMPIDO)

    def adicionar_arquivo(self, call: SoapCall) -> Value:
        """AnexoRN::adicionarControlado: the name's and the size's messages collected, an
        empty first chunk alone; a first chunk of another size than announced is accepted
        (the file stays inactive until adicionarConteudoArquivo completes it)."""
        with self.state.transaction():
            id_unidade = self.unidade(call)
            self.permit(call.operation, id_unidade)
            nome = call.text("Nome")
            tamanho_text = call.text("Tamanho")
            chunk = rules.decode_base64(call.text("Conteudo") or "")
            check = rules.Validation()
            if nome is None:
                check.add(rules.NOME_ANEXO_NAO_INFORMADO)
            else:
                nome = latin1_text(nome).strip()
                rules.nome_anexo_messages(check, nome, self.planner.extensions)
            if tamanho_text is None:
                check.add(rules.TAMANHO_ANEXO_NAO_INFORMADO)
            if nome is None or "." not in nome:
                check.add(rules.SEM_EXTENSAO)
            elif tamanho_text is not None:
                # PHP 8 compares a non-numeric Tamanho with the limit as strings: a letter is
                # always above it (one starting with a character below "2" is not modelled)
                size = int(tamanho_text) if tamanho_text.isdigit() else None
                message = self.planner.size_message(nome, size)
                if message is not None:
                    check.add(message)
            if not chunk:
                raise rules.SeiFault(rules.arquivo_vazio(nome or ""))
            check.raise_if_any()
            assert nome is not None and tamanho_text is not None
            upload = Upload(
                id_arquivo=self.state.new_upload_id(),
                nome=nome,
                tamanho=int(tamanho_text),
                hash_md5=(call.text("Hash") or "").strip().lower(),
                id_unidade=id_unidade,
            )
            self._complete(upload, chunk)
            self.state.save_upload(upload)
            self.state.append_upload(upload, chunk)
            return str(upload.id_arquivo)

    def adicionar_conteudo_arquivo(self, call: SoapCall) -> Value:
        """AnexoRN::adicionarConteudoControlado's checks, one by one, in its order."""
        with self.state.transaction():
            id_unidade = self.unidade(call)
            self.permit(call.operation, id_unidade)
            id_arquivo = call.text("IdArquivo") or ""
            upload = self.state.uploads.get(int(id_arquivo)) if id_arquivo.isdigit() else None
            if upload is None:
                raise rules.SeiFault(rules.ARQUIVO_NAO_ENCONTRADO)
            if upload.id_unidade != id_unidade:
                raise rules.SeiFault(rules.ARQUIVO_DE_OUTRA_UNIDADE)
            if len(upload.data) == upload.tamanho:
                raise rules.SeiFault(rules.ARQUIVO_JA_ATIVADO)
            chunk = rules.decode_base64(call.text("Conteudo") or "")
            if not chunk:
                raise rules.SeiFault(rules.CONTEUDO_ARQUIVO_VAZIO)
            data = bytes(upload.data) + chunk
            if len(data) > upload.tamanho:
                # (SEI has appended the chunk to its file by then, and keeps it)
                raise rules.SeiFault(rules.CONTEUDO_EXCEDE)
            self._complete(upload, data)
            self.state.append_upload(upload, chunk)
            return "1"
