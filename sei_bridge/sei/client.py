"""The SEI web-service client: typed calls in, typed values out, classified errors.

:class:`SeiClient` wraps zeep behind SEI's own operation names in snake_case. Every parameter is
a keyword, every answer is a value of :mod:`sei_bridge.sei.types`, every failure an exception of
:mod:`sei_bridge.errors` carrying the SOAP operation (see :mod:`sei_bridge.sei.faults`).

- The WSDL is the configured one (the server's own URL, or a path), else the bundled 4.1 WSDL;
  it is loaded on first use. Calls always go to ``endpoint_url``, whatever the WSDL's address.
- Each call is built from the loaded operation's input parts: parts the caller does not set go
  as ``Nil`` (zeep needs every part), parts this WSDL does not have are left out, so the same
  client works against SEI 3.0 (47 operations) and 4.1 (67 operations) WSDLs.
- Requests look like PHP SoapClient's (:mod:`sei_bridge.sei.encoding`) and are checked against
  the limits SEI enforces before sending (:mod:`sei_bridge.sei.validation`).
- Nothing is logged but operation names and timings: no envelope, credential or content.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import requests

from sei_bridge import config, errors
from sei_bridge.sei import decoding, faults, structures, types, upload, validation
from sei_bridge.sei import wsdl as bundled
from sei_bridge.sei.soap import Nil, SoapService
from sei_bridge.sei.structures import sin
from sei_bridge.sei.transport import SeiTransport

__all__ = ["DEFAULT_CHUNK_BYTES", "DEFAULT_PAGINA_REGISTROS", "DEFAULT_TAREFAS", "SeiClient"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")

#: Size of each chunk of a chunked upload (raw bytes, before base64).
DEFAULT_CHUNK_BYTES = 5 * 1024 * 1024
#: listarContatos page size: with PaginaRegistros empty SEI returns ONE record.
DEFAULT_PAGINA_REGISTROS = 100
#: listarAndamentos filter: processo gerado, documento gerado, documento recebido, and the
#: conclusão/reabertura tasks (28, 29).
DEFAULT_TAREFAS: tuple[str, ...] = ("1", "2", "13", "28", "29")


class SeiClient:
    """Client of one SEI server's web service (SeiWS) for one sistema/serviço.

    ``identificacao_servico`` is a credential: it is never logged nor shown in ``repr``.
    ``wsdl`` is the server's WSDL URL or a path; None uses the bundled 4.1 WSDL.
    ``chunked_upload`` sends received documents by adicionarArquivo/adicionarConteudoArquivo and
    ``IdArquivo`` instead of inline ``Conteudo`` — a real SEI 4.1.0 refused every such
    incluirDocumento ("Atributo [IdAnexo] não recebeu valor."), so it is off by default.
    ``secrets`` are the other secrets of ours (the SIGRC token, the audit key): masked, like
    ``identificacao_servico``, should SEI ever echo them in a fault.
    """

    def __init__(
        self,
        *,
        endpoint_url: str,
        sigla_sistema: str,
        identificacao_servico: str,
        wsdl: str | None = None,
        connect_timeout: float = config.DEFAULT_SEI_CONNECT_TIMEOUT,
        read_timeout: float = config.DEFAULT_SEI_READ_TIMEOUT,
        call_deadline: float = config.DEFAULT_SEI_CALL_DEADLINE,
        max_response_bytes: int = config.DEFAULT_SEI_MAX_RESPONSE_BYTES,
        chunked_upload: bool = False,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        session: requests.Session | None = None,
        secrets: Sequence[str] = (),
    ) -> None:
        if not endpoint_url:
            raise errors.ConfigurationError("missing SEI endpoint: set SEI_BRIDGE_SEI_URL")
        if not sigla_sistema or not identificacao_servico:
            raise errors.ConfigurationError(
                "missing SEI credentials: set SEI_BRIDGE_SEI_SIGLA_SISTEMA and "
                "SEI_BRIDGE_SEI_IDENTIFICACAO_SERVICO"
            )
        if chunk_bytes < 1:
            raise errors.ConfigurationError("SEI_BRIDGE_SEI_CHUNK_BYTES must be at least 1")
        self.endpoint_url = endpoint_url
        self.sigla_sistema = sigla_sistema
        self.chunked_upload = chunked_upload
        self.chunk_bytes = chunk_bytes
        self.transport = SeiTransport(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            call_deadline=call_deadline,
            max_response_bytes=max_response_bytes,
            session=session,
        )
        self.soap = SoapService(
            endpoint_url=endpoint_url,
            wsdl=wsdl or str(bundled.bundled_wsdl_path("4.1")),
            transport=self.transport,
            credentials={
                "SiglaSistema": sigla_sistema,
                "IdentificacaoServico": identificacao_servico,
            },
            secrets=secrets,
        )

    @classmethod
    def from_settings(cls, settings: config.Settings) -> SeiClient:
        """A client configured from the ``SEI_BRIDGE_SEI_*`` settings."""
        settings.require("sei_url", "sei_sigla_sistema", "sei_identificacao_servico")
        return cls(
            endpoint_url=settings.sei_url or "",
            sigla_sistema=settings.sei_sigla_sistema or "",
            identificacao_servico=settings.sei_identificacao_servico or "",
            wsdl=settings.sei_wsdl or None,
            connect_timeout=settings.sei_connect_timeout,
            read_timeout=settings.sei_read_timeout,
            call_deadline=settings.sei_call_deadline,
            max_response_bytes=settings.sei_max_response_bytes,
            chunked_upload=settings.sei_chunked_upload,
            chunk_bytes=settings.sei_chunk_bytes,
            secrets=settings.secret_values(),
        )

    def __repr__(self) -> str:
        return (
            f"SeiClient(endpoint_url={bundled.redact_url(self.endpoint_url)!r}, "
            f"sigla_sistema={self.sigla_sistema!r}, identificacao_servico='[secure]')"
        )

    def load(self) -> frozenset[str]:
        """Load the WSDL now (it is loaded on first use otherwise); return its operations.

        Raises :class:`~sei_bridge.errors.SeiEndpointError` (a ConfigurationError) naming the
        URL or path and SEI_BRIDGE_SEI_WSDL when it cannot be read or is not a SEI WSDL.
        """
        return self.soap.operations

    def _documento(self, id_unidade: str, documento: types.NovoDocumento) -> Any:
        conteudo = documento.conteudo
        id_arquivo = documento.id_arquivo
        chunked = (
            self.chunked_upload
            and documento.tipo == types.TipoDocumento.RECEBIDO
            and conteudo is not None
            and not id_arquivo
        )
        if chunked and conteudo is not None:
            id_arquivo = self.upload_arquivo(
                id_unidade=id_unidade, nome=documento.nome_arquivo or "arquivo", conteudo=conteudo
            )
            conteudo = None
        return structures.documento(self.soap, documento, conteudo=conteudo, id_arquivo=id_arquivo)

    # --- processos and documentos --------------------------------------------------------------

    def gerar_procedimento(
        self,
        *,
        id_unidade: str,
        procedimento: types.NovoProcedimento,
        documentos: Sequence[types.NovoDocumento] = (),
        manter_aberto_unidade: bool = True,
        enviar_email_notificacao: bool = False,
    ) -> types.ProcedimentoGerado:
        """Open a processo (and its documentos, all or nothing): ``gerarProcedimento``.

        Not idempotent: an outcome-unknown failure must be probed (by NumeroProtocolo or a
        unique interessado) before anything is sent again.
        """
        operation = "gerarProcedimento"
        validation.check_procedimento(operation, procedimento)
        validation.check_documentos(operation, documentos)
        result = self.soap.call(
            operation,
            {
                "IdUnidade": id_unidade,
                "Procedimento": structures.procedimento(self.soap, procedimento),
                "Documentos": self.soap.array(
                    "ArrayOfDocumento", [self._documento(id_unidade, d) for d in documentos]
                ),
                "SinManterAbertoUnidade": sin(manter_aberto_unidade),
                "SinEnviarEmailNotificacao": sin(enviar_email_notificacao),
                "SinDiasUteisRetornoProgramado": "N",
                "SinDiasUteisControlePrazo": "N",
            },
        )
        return _decoded(operation, decoding.procedimento_gerado, result, creates=True)

    def incluir_documento(
        self, *, id_unidade: str, documento: types.NovoDocumento
    ) -> types.DocumentoIncluido:
        """Add a documento to a processo: ``incluirDocumento`` (reopens it in the unit if it
        was concluded there). Not idempotent."""
        operation = "incluirDocumento"
        validation.check_documento(operation, documento)
        result = self.soap.call(
            operation,
            {"IdUnidade": id_unidade, "Documento": self._documento(id_unidade, documento)},
        )
        return _decoded(operation, decoding.documento_incluido, result, creates=True)

    def consultar_procedimento(
        self,
        *,
        id_unidade: str,
        protocolo_procedimento: str,
        assuntos: bool = True,
        interessados: bool = True,
        andamento_conclusao: bool = True,
        ultimo_andamento: bool = True,
        unidades_abertas: bool = True,
        observacoes: bool = False,
        andamento_geracao: bool = False,
        relacionados: bool = False,
        anexados: bool = False,
    ) -> types.ProcedimentoConsultado:
        """Read a processo by protocolo (formatted number or NumeroProtocolo):
        ``consultarProcedimento``. A missing one raises SeiValidationFault (see
        :meth:`buscar_procedimento`)."""
        result = self.soap.call(
            "consultarProcedimento",
            {
                "IdUnidade": id_unidade,
                "ProtocoloProcedimento": protocolo_procedimento,
                "SinRetornarAssuntos": sin(assuntos),
                "SinRetornarInteressados": sin(interessados),
                "SinRetornarObservacoes": sin(observacoes),
                "SinRetornarAndamentoGeracao": sin(andamento_geracao),
                "SinRetornarAndamentoConclusao": sin(andamento_conclusao),
                "SinRetornarUltimoAndamento": sin(ultimo_andamento),
                "SinRetornarUnidadesProcedimentoAberto": sin(unidades_abertas),
                "SinRetornarProcedimentosRelacionados": sin(relacionados),
                "SinRetornarProcedimentosAnexados": sin(anexados),
            },
        )
        return _decoded("consultarProcedimento", decoding.procedimento_consultado, result)

    def buscar_procedimento(
        self, *, id_unidade: str, protocolo_procedimento: str
    ) -> types.ProcedimentoConsultado | None:
        """Like :meth:`consultar_procedimento`, but None when SEI says the processo does not
        exist — the question a probe asks after an outcome-unknown creation."""
        try:
            return self.consultar_procedimento(
                id_unidade=id_unidade, protocolo_procedimento=protocolo_procedimento
            )
        except errors.SeiValidationFault as exc:
            if faults.is_not_found(exc):
                return None
            raise

    def consultar_documento(
        self, *, id_unidade: str, protocolo_documento: str
    ) -> types.DocumentoConsultado:
        """Read a documento (série, número, data): ``consultarDocumento``."""
        result = self.soap.call(
            "consultarDocumento",
            {
                "IdUnidade": id_unidade,
                "ProtocoloDocumento": protocolo_documento,
                "SinRetornarAndamentoGeracao": "N",
                "SinRetornarAssinaturas": "N",
                "SinRetornarPublicacao": "N",
                "SinRetornarCampos": "N",
                "SinRetornarBlocos": "N",
            },
        )
        return _decoded("consultarDocumento", decoding.documento_consultado, result)

    def concluir_processo(self, *, id_unidade: str, protocolo_procedimento: str) -> None:
        """Conclude the processo in the unit: ``concluirProcesso``. On one already concluded
        there SEI answers "... não está aberto na unidade." (SeiValidationFault)."""
        self.soap.call(
            "concluirProcesso",
            {"IdUnidade": id_unidade, "ProtocoloProcedimento": protocolo_procedimento},
        )

    def reabrir_processo(self, *, id_unidade: str, protocolo_procedimento: str) -> None:
        """Reopen the processo in the unit: ``reabrirProcesso``."""
        self.soap.call(
            "reabrirProcesso",
            {"IdUnidade": id_unidade, "ProtocoloProcedimento": protocolo_procedimento},
        )

    def enviar_processo(
        self,
        *,
        id_unidade: str,
        protocolo_procedimento: str,
        unidades_destino: Sequence[str],
        manter_aberto_unidade: bool = True,
        remover_anotacao: bool = False,
        enviar_email_notificacao: bool = False,
        reabrir: bool = False,
    ) -> None:
        """Send the processo to other units: ``enviarProcesso``."""
        if not unidades_destino:
            raise errors.SeiRequestInvalid(
                "enviarProcesso not sent: unidades_destino is empty",
                operation="enviarProcesso",
                fault="unidades_destino is empty",
            )
        self.soap.call(
            "enviarProcesso",
            {
                "IdUnidade": id_unidade,
                "ProtocoloProcedimento": protocolo_procedimento,
                "UnidadesDestino": self.soap.array("ArrayOfIdUnidade", list(unidades_destino)),
                "SinManterAbertoUnidade": sin(manter_aberto_unidade),
                "SinRemoverAnotacao": sin(remover_anotacao),
                "SinEnviarEmailNotificacao": sin(enviar_email_notificacao),
                "SinDiasUteisRetornoProgramado": "N",
                "SinReabrir": sin(reabrir),
            },
        )

    # --- andamentos ----------------------------------------------------------------------------

    def listar_andamentos(
        self,
        *,
        id_unidade: str,
        protocolo_procedimento: str,
        tarefas: Sequence[str] = DEFAULT_TAREFAS,
        andamentos: Sequence[str] = (),
        retornar_atributos: bool = True,
    ) -> list[types.Andamento]:
        """A processo's history filtered by tarefa (or andamento ids): ``listarAndamentos``.
        Attribute DOCUMENTO of tarefas 2/13 carries the documento's number."""
        operation = "listarAndamentos"
        if not tarefas and not andamentos:
            raise errors.SeiRequestInvalid(
                f"{operation} not sent: give tarefas or andamentos (SEI needs a criterion)",
                operation=operation,
                fault="no criterion",
            )
        result = self.soap.call(
            operation,
            {
                "IdUnidade": id_unidade,
                "ProtocoloProcedimento": protocolo_procedimento,
                "SinRetornarAtributos": sin(retornar_atributos),
                "Andamentos": self.soap.array("ArrayOfIdAndamentos", list(andamentos)),
                "Tarefas": self.soap.array("ArrayOfIdTarefas", list(tarefas)),
                "TarefasModulos": Nil,
            },
        )
        return decoding.andamentos(result)

    def lancar_andamento(
        self,
        *,
        id_unidade: str,
        protocolo_procedimento: str,
        id_tarefa: str,
        atributos: Mapping[str, str] | Sequence[tuple[str, str]],
    ) -> types.Andamento | None:
        """Record an andamento (IdTarefa 65 or ≥ 1000): ``lancarAndamento``."""
        pairs = list(atributos.items()) if isinstance(atributos, Mapping) else list(atributos)
        result = self.soap.call(
            "lancarAndamento",
            {
                "IdUnidade": id_unidade,
                "ProtocoloProcedimento": protocolo_procedimento,
                "IdTarefa": id_tarefa,
                "Atributos": self.soap.array(
                    "ArrayOfAtributoAndamento",
                    [
                        self.soap.struct(
                            "AtributoAndamento",
                            {"Nome": n, "Valor": Nil if v is None else v, "IdOrigem": Nil},
                        )
                        for n, v in pairs
                    ],
                ),
            },
        )
        return decoding.andamento(result)

    # --- contatos and catalogs -----------------------------------------------------------------

    def listar_contatos(
        self,
        *,
        id_unidade: str,
        sigla: str | None = None,
        nome: str | None = None,
        cpf: str | None = None,
        cnpj: str | None = None,
        pagina_registros: int = DEFAULT_PAGINA_REGISTROS,
        pagina_atual: int = 1,
    ) -> list[types.Contato]:
        """Contacts matching the filters (one page): ``listarContatos``."""
        if pagina_registros < 1 or pagina_atual < 1:
            raise errors.SeiRequestInvalid(
                "listarContatos not sent: pagina_registros and pagina_atual start at 1",
                operation="listarContatos",
                fault="invalid page",
            )
        result = self.soap.call(
            "listarContatos",
            {
                "IdUnidade": id_unidade,
                "PaginaRegistros": str(pagina_registros),
                "PaginaAtual": str(pagina_atual),
                "Sigla": sigla,
                "Nome": nome,
                "Cpf": cpf,
                "Cnpj": cnpj,
                "IdContatos": Nil,
            },
        )
        return decoding.contatos(result)

    def listar_unidades(
        self, *, id_tipo_procedimento: str | None = None, id_serie: str | None = None
    ) -> list[types.Unidade]:
        """Units the serviço may use: ``listarUnidades``."""
        result = self.soap.call(
            "listarUnidades", {"IdTipoProcedimento": id_tipo_procedimento, "IdSerie": id_serie}
        )
        return decoding.unidades(result)

    def listar_tipos_procedimento(
        self, *, id_unidade: str | None = None, id_serie: str | None = None
    ) -> list[types.TipoProcedimento]:
        """Process types: ``listarTiposProcedimento``."""
        result = self.soap.call(
            "listarTiposProcedimento", {"IdUnidade": id_unidade, "IdSerie": id_serie}
        )
        return decoding.tipos_procedimento(result)

    def listar_series(
        self, *, id_unidade: str | None = None, id_tipo_procedimento: str | None = None
    ) -> list[types.Serie]:
        """Document types (séries): ``listarSeries``."""
        result = self.soap.call(
            "listarSeries", {"IdUnidade": id_unidade, "IdTipoProcedimento": id_tipo_procedimento}
        )
        return decoding.series(result)

    def listar_hipoteses_legais(
        self, *, id_unidade: str | None = None, nivel_acesso: types.NivelAcesso | None = None
    ) -> list[types.HipoteseLegal]:
        """Legal grounds for restricted access: ``listarHipotesesLegais``."""
        result = self.soap.call(
            "listarHipotesesLegais",
            {
                "IdUnidade": id_unidade,
                "NivelAcesso": str(int(nivel_acesso)) if nivel_acesso is not None else None,
            },
        )
        return decoding.hipoteses_legais(result)

    def listar_extensoes_permitidas(
        self, *, id_unidade: str | None = None
    ) -> list[types.ExtensaoPermitida]:
        """File extensions this installation accepts: ``listarExtensoesPermitidas``."""
        result = self.soap.call("listarExtensoesPermitidas", {"IdUnidade": id_unidade})
        return decoding.extensoes(result)

    # --- chunked upload ------------------------------------------------------------------------

    def adicionar_arquivo(
        self, *, id_unidade: str, nome: str, tamanho: int, hash_md5: str, conteudo: bytes
    ) -> str:
        """Start a chunked upload with its first chunk; return IdArquivo: ``adicionarArquivo``.

        ``tamanho`` and ``hash_md5`` (hex) describe the WHOLE file."""
        result = self.soap.call(
            "adicionarArquivo",
            {
                "IdUnidade": id_unidade,
                "Nome": nome,
                "Tamanho": str(tamanho),
                "Hash": hash_md5,
                "Conteudo": structures.b64(conteudo),
            },
        )
        return str(result)

    def adicionar_conteudo_arquivo(
        self, *, id_unidade: str, id_arquivo: str, conteudo: bytes
    ) -> str:
        """Append the next chunk: ``adicionarConteudoArquivo``. Chunks append with no offset,
        so a chunk whose outcome is unknown cannot be resent: restart the upload."""
        result = self.soap.call(
            "adicionarConteudoArquivo",
            {
                "IdUnidade": id_unidade,
                "IdArquivo": id_arquivo,
                "Conteudo": structures.b64(conteudo),
            },
        )
        return str(result)

    def upload_arquivo(self, *, id_unidade: str, nome: str, conteudo: upload.Source) -> str:
        """Upload a whole file by chunks of ``chunk_bytes``; return its IdArquivo.

        ``conteudo`` is the bytes or a path (read twice, never whole in memory: once for the
        size and MD5 SEI checks, once to send). Any failure fails the whole upload (chunks
        append with no offset): start again with a new upload.
        """
        size, digest = upload.measure(conteudo, self.chunk_bytes)
        pieces = upload.chunks(conteudo, self.chunk_bytes)
        first = next(pieces, b"")
        id_arquivo = self.adicionar_arquivo(
            id_unidade=id_unidade, nome=nome, tamanho=size, hash_md5=digest, conteudo=first
        )
        for piece in pieces:
            self.adicionar_conteudo_arquivo(
                id_unidade=id_unidade, id_arquivo=id_arquivo, conteudo=piece
            )
        return id_arquivo


def _decoded(
    operation: str, decode: Callable[[Any], _T], result: Any, *, creates: bool = False
) -> _T:
    """``decode(result)``, with an answer holding a value we must not use or forward
    (:class:`decoding.InvalidAnswer`) translated for ``operation``: after a call that creates
    something the effect may well exist, so the outcome is unknown and a probe decides; after
    a read, the answer is refused (a probe meeting it leaves the effect to a person)."""
    try:
        return decode(result)
    except decoding.InvalidAnswer as exc:
        fault = f"SEI's answer to {operation}: {exc}; not used"
        if creates:
            raise errors.SeiOutcomeUnknownError(
                f"{fault}: what it created is probed before anything is sent again",
                operation=operation,
            ) from None
        raise errors.SeiInvalidAnswer(fault, operation=operation, fault=fault) from None
