"""The one place where zeep and requests errors become :mod:`sei_bridge.errors` exceptions.

Two questions decide the class of a failure:

1. Did SEI answer? A SOAP fault is an answer: SEI runs each operation in one database
   transaction, so a fault means nothing was committed. Its class then depends on whether
   sending the same request again could ever succeed (message, ``infra_tipo_excecao`` and
   operation together — SEI 4.1.0 reports permanent errors such as "Processo [X] não
   encontrado." and "Sistema [X] não encontrado." as ``INFRA_ERRO``).
2. If SEI did not answer, could the request have reached it? Failures before the request was
   sent (connection refused, DNS, connect timeout, 429/502/503 from the front end) are safe to
   resend; failures after (read timeout, reset, truncated or unreadable answer, HTTP 500 without
   a fault, 504) leave the outcome unknown.

Messages never quote zeep's or requests' own texts: zeep may embed the envelope (credentials,
citizen content) and requests the full URL.

Credentials never leave in an exception: ``IdentificacaoServico`` holds the serviço's
identificação or its Chave de Acesso, and SEI's authentication faults name the serviço
("Serviço [Y] do sistema [X] não encontrado." echoes what was sent — a key one character short
or with a trailing space included; "Chave de Acesso inválida para o serviço [Y] do sistema
[X]." and "Nenhuma operação configurada para [op] no serviço [Y] ..." name the serviço, which
for a serviço authenticated by address is its credential). That name becomes ``[secure]`` in
the exception and in the zeep fault kept as its cause. See docs/sei-authentication.md.

Nor does anything else a hostile or broken SEI puts in a fault: the text is classified as SEI
wrote it, then kept (in the exception's message and ``fault``, and in the zeep fault) through
:func:`sei_bridge.scrub.scrub` — at most 500 characters, CPFs/CNPJs, e-mails, ``Bearer``
tokens, token-like runs and every secret of ours masked. SEI's ordinary faults come out
unchanged, word for word.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import requests
import urllib3.exceptions
import zeep.exceptions
from lxml import etree

from sei_bridge import bounded_http, errors, scrub

__all__ = [
    "INFRA_ERRO",
    "INFRA_VALIDACAO",
    "classify_deadline",
    "classify_fault",
    "classify_http_status",
    "classify_request_error",
    "fault_kind",
    "is_not_found",
    "redact_fault",
    "translate",
]

INFRA_VALIDACAO = "INFRA_VALIDACAO"
INFRA_ERRO = "INFRA_ERRO"

#: Credentials or permissions refused: a configuration problem, never fixed by resending.
_ACCESS_DENIED = tuple(
    re.compile(p)
    for p in (
        r"^Acesso negado",
        r"^Sistema \[.*\] não encontrado\.?$",
        r"^Serviço \[.*\] do sistema \[.*\] não encontrado\.?$",
        r"^Serviço do sistema \[.*\] não encontrado\.?$",
        r"^Serviço \[.*\] do sistema \[.*\] não possui autenticação por ",
        r"^Chave de Acesso inválida para o serviço ",
        r"^Nenhuma operação configurada",
    )
)

#: "No such operation": SEI's own (``Serviço [SeiWS.x] não encontrado.``) or PHP ext/soap's
#: (``Procedure 'x' not present``): wrong WSDL/version, a configuration problem.
_NO_SUCH_OPERATION = re.compile(
    r"^Serviço \[SeiWS\.[^\]]*\] não encontrado|^Procedure '[^']*' not present"
)

#: Messages known to be permanent whatever ``infra_tipo_excecao`` says, with the operations
#: they apply to (None: any). Permanent means: the same request always gets the same answer.
_PERMANENT: tuple[tuple[frozenset[str] | None, re.Pattern[str]], ...] = tuple(
    (ops, re.compile(pattern))
    for ops, pattern in (
        (None, r"não encontrad[oa]s?\b"),  # processo, unidade, tipo, série, assunto, documento
        (None, r"^(Nome do )?(Interessado|Remetente|Destinatário) vazio ou nulo"),
        # SeiRN::lancarAndamento's checks of IdTarefa (INFRA_ERRO on 4.1.0)
        (frozenset({"lancarAndamento"}), r"^Identificador de tarefa \[.*\] (reservado|inválido)"),
        (frozenset({"lancarAndamento"}), r"^Nenhum identificador de tarefa informado"),
        # MariaDB's words for a value longer than its column, passed on by SEI (INFRA_ERRO)
        (None, r"^Data too long for column"),
        (None, r"^Atributo \[.*\] não recebeu valor"),  # incl. IdAnexo (chunked upload, 4.1.0)
        (None, r"não está aberto na unidade"),
        (None, r"^Unidade .* não possui acesso ao processo"),  # INFRA_ERRO on 4.1.0
        (None, r"^Anexo .* vazio\.$"),  # incluirDocumento with a chunked upload, 4.1.0
        (None, r"possui tamanho superior a"),
        (None, r"^O número máximo de documentos"),
        (None, r"^O tamanho máximo .* permitido"),
        (None, r"^Tipo do arquivo .* não autorizado"),
        (None, r"^Conteúdo do arquivo corrompido"),
        (None, r"^Documento possui (código de script|conteúdo não permitido)"),
        (None, r"^Hipótese Legal (não informada|não encontrada|não aplicável)"),
        (None, r"^Nível de acesso .*inválido"),
        (None, r"^Não é possível informar a data"),
        # SeiRN::incluirDocumento's checks of the content elements (INFRA_ERRO on 4.1.0)
        (None, r"^Não é possível informar o nome do arquivo para documento gerado"),
        (None, r"^Nome do arquivo não informado para o conteúdo do documento externo"),
        (None, r"^Para documento gerado não é possível informar o elemento ConteudoMTOM"),
        (None, r"^Não é possível enviar documento (externo|gerado) utilizando os elementos"),
        # SeiRN::gerarProcedimento: NumeroProtocolo and DataAutuacao go together (INFRA_ERRO)
        (
            frozenset({"gerarProcedimento"}),
            r"^(Número do Protocolo|Data de Autuação) somente deve ser informad[oa] em conjunto",
        ),
        (None, r"^Data do documento não informada"),
        (None, r"tem numeração|não tem numeração"),
        (frozenset({"listarAndamentos"}), r"^Nenhum critério informado"),
        # ProtocoloRN::validarStrProtocoloFormatadoRN0211 (INFRA_VALIDACAO; 4.1.0 with
        # SEI_FEDERACAO_NUMERO_PROCESSO on gives the processo another number instead)
        (frozenset({"gerarProcedimento"}), r"^Já existe um processo utilizando o número"),
    )
)

#: characters of an ``infra_tipo_excecao`` kept (SEI's are 15)
_KIND_CHARS = 40
#: characters of each message of a fault that classification looks at
_MATCHED_CHARS = 4000

_NOT_FOUND = re.compile(r"^(Processo|Procedimento|Documento) \[?.*\]? ?não encontrad[oa]")


#: SEI's authentication faults that name the serviço: "Serviço [Y] do sistema [X] não
#: encontrado." / "... não possui autenticação por Endereço|Chave de Acesso." and "Chave de
#: Acesso inválida para o serviço [Y] do sistema [X]." (SEI 4.1 SeiUtilWS::__call__).
_ECHOED_SERVICE = re.compile(
    r"^(Serviço |Chave de Acesso inválida para o serviço )\[.*?\]( do sistema \[)", re.DOTALL
)
#: ... and SeiRN's operation permission faults ("Nenhuma operação configurada para [op] no
#: serviço [Y] com tipo de processo [T] ... na unidade [S].").
_SERVICE_OF_OPERATION = re.compile(
    r"^(Nenhuma operação configurada para \[[^\]]*\] no serviço )\[.*?\]( com tipo de "
    r"processo \[| na unidade \[)",
    re.DOTALL,
)


def redact_fault(fault: str, secrets: Sequence[str] = ()) -> str:
    """SEI's fault text without credentials: the serviço SEI names in its authentication faults
    and any of ``secrets`` (of at least :data:`sei_bridge.scrub.MIN_SECRET` characters: a very
    short value would garble SEI's words; real keys are 72) become ``[secure]``. The text is
    neither bounded nor masked otherwise: :func:`classify_fault` does that."""
    text = _ECHOED_SERVICE.sub(r"\1[[secure]]\2", fault)
    text = _SERVICE_OF_OPERATION.sub(r"\1[[secure]]\2", text)
    for secret in secrets:
        if len(secret) >= scrub.MIN_SECRET:
            text = text.replace(secret, scrub.SECURE)
    return text


def fault_kind(detail: Any) -> str | None:
    """``infra_tipo_excecao`` from a fault's ``<detail>`` (SEI's key/value items), if present."""
    if detail is None or not isinstance(detail, etree._Element):
        return None
    for item in detail.iter("item", "{*}item"):
        key = item.findtext("key") or item.findtext("{*}key")
        if key and key.strip() == "infra_tipo_excecao":
            value = item.findtext("value") or item.findtext("{*}value")
            # printed in messages: a hostile value must not carry anything in
            return scrub.scrub(value.strip(), limit=_KIND_CHARS) if value else None
    return None


def _first_line(fault: str) -> str:
    # SEI joins several validation messages with a literal backslash-n.
    return fault.replace("\\n", "\n").strip().splitlines()[0] if fault.strip() else ""


def classify_fault(operation: str, fault: str, kind: str | None) -> errors.SeiError:
    """The exception for a SOAP fault SEI answered to ``operation``.

    ``fault`` is SEI's faultstring (credentials already redacted, see :func:`redact_fault`),
    classified whole; ``kind`` is ``infra_tipo_excecao`` (``INFRA_VALIDACAO``, ``INFRA_ERRO``
    or None). The exception's ``fault`` and message carry it scrubbed
    (:func:`sei_bridge.scrub.scrub`): an ordinary fault exactly as SEI wrote it, a long or
    hostile one bounded and without personal data or token-like values.
    """
    whole = fault.strip().replace("\\n", "\n")
    # SEI's own messages are short; the cap keeps a hostile megabyte from costing much matching
    messages = [m.strip()[:_MATCHED_CHARS] for m in whole.splitlines() if m.strip()] or [""]
    fault = scrub.scrub(fault)
    text = fault.strip()
    if any(p.search(m) for p in _ACCESS_DENIED for m in messages):
        return errors.SeiAccessDenied(
            f"SEI refused the credentials or permissions for {operation}: {text} "
            "(check SEI_BRIDGE_SEI_SIGLA_SISTEMA, SEI_BRIDGE_SEI_IDENTIFICACAO_SERVICO and the "
            "serviço's operations in SEI)",
            operation=operation,
            fault=fault,
            kind=kind,
        )
    if any(_NO_SUCH_OPERATION.search(m) for m in messages):
        return errors.SeiEndpointError(
            f"SEI has no operation {operation}: {text} (the server's SEI version differs "
            "from the WSDL; set SEI_BRIDGE_SEI_WSDL to the server's own WSDL)",
            operation=operation,
            fault=fault,
            kind=kind,
        )
    permanent = kind == INFRA_VALIDACAO or any(
        (ops is None or operation in ops) and pattern.search(m)
        for ops, pattern in _PERMANENT
        for m in messages
    )
    if permanent:
        return errors.SeiValidationFault(
            f"SEI refused {operation}: {text}", operation=operation, fault=fault, kind=kind
        )
    return errors.SeiInfrastructureFault(
        f"SEI failed {operation} on its side ({kind or 'no infra_tipo_excecao'}): {text}; "
        "nothing was committed, retry later",
        operation=operation,
        fault=fault,
        kind=kind,
    )


def is_not_found(exc: BaseException) -> bool:
    """True when ``exc`` is SEI saying the processo/documento asked for does not exist."""
    if not isinstance(exc, errors.SeiValidationFault) or not exc.fault:
        return False
    return bool(_NOT_FOUND.search(_first_line(exc.fault)))


def classify_http_status(operation: str, status: int) -> errors.SeiError:
    """The exception for an HTTP answer that carried no SOAP result or fault."""
    if status in (429, 502, 503):
        return errors.SeiNotSentError(
            f"SEI's front end answered HTTP {status} to {operation} (overloaded or down): "
            "not processed, safe to resend later",
            operation=operation,
        )
    if 300 <= status < 400 or status in (400, 401, 403, 404, 405, 407, 410, 411, 414, 415, 501):
        return errors.SeiEndpointError(
            f"the SEI endpoint answered HTTP {status} to {operation}: this is not SEI's web "
            "service; check SEI_BRIDGE_SEI_URL (https://HOST/sei/ws/SeiWS.php)",
            operation=operation,
        )
    # 500 without a fault, 504 (a gateway gave up waiting for SEI), 413 after upload, ...:
    # the request reached something that may have passed it on.
    return errors.SeiOutcomeUnknownError(
        f"SEI answered {operation} with HTTP {status} and no SOAP result: the request was sent, "
        "its outcome is unknown",
        operation=operation,
    )


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(arg for arg in current.args if isinstance(arg, BaseException))
        for linked in (current.__cause__, current.__context__, getattr(current, "reason", None)):
            if isinstance(linked, BaseException):
                stack.append(linked)


def _never_connected(exc: BaseException) -> bool:
    for cause in _causes(exc):
        # NewConnectionError covers refused connections and (urllib3 2) DNS failures.
        if isinstance(
            cause,
            urllib3.exceptions.NewConnectionError
            | urllib3.exceptions.ConnectTimeoutError
            | ssl.SSLError
            | ConnectionRefusedError,
        ):
            return True
    return False


def classify_request_error(operation: str, exc: requests.RequestException) -> errors.SeiError:
    """The exception for a requests failure during ``operation``."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return errors.SeiNotSentError(
            f"could not connect to SEI for {operation} within the connect timeout: not sent",
            operation=operation,
        )
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return errors.SeiOutcomeUnknownError(
            f"SEI did not answer {operation} within the read timeout: the request was sent, "
            "its outcome is unknown",
            operation=operation,
        )
    if isinstance(
        exc,
        requests.exceptions.InvalidURL
        | requests.exceptions.MissingSchema
        | requests.exceptions.InvalidSchema,
    ):
        return errors.SeiEndpointError(
            f"invalid SEI endpoint URL for {operation}: set SEI_BRIDGE_SEI_URL to "
            "https://HOST/sei/ws/SeiWS.php",
            operation=operation,
        )
    if isinstance(exc, requests.exceptions.ConnectionError) and _never_connected(exc):
        return errors.SeiNotSentError(
            f"could not connect to SEI for {operation} (refused, unknown host or TLS failure): "
            "not sent",
            operation=operation,
        )
    # Reset or aborted after connecting, broken/truncated body, decoding errors: sent.
    return errors.SeiOutcomeUnknownError(
        f"the connection to SEI broke during {operation} ({type(exc).__name__}): the request "
        "was sent, its outcome is unknown",
        operation=operation,
    )


def classify_deadline(
    operation: str, exc: bounded_http.CallDeadlineExceeded
) -> errors.SeiNotSentError | errors.SeiOutcomeUnknownError:
    """The exception for a call to SEI cut at its total deadline: outcome unknown once any of
    the request was written (SEI may have run it), not sent otherwise."""
    if exc.sent:
        return errors.SeiOutcomeUnknownError(
            f"SEI did not finish answering {operation} within the {exc.seconds:g} s call "
            "deadline (SEI_BRIDGE_SEI_CALL_DEADLINE): the request was sent, its outcome is "
            "unknown",
            operation=operation,
        )
    return errors.SeiNotSentError(
        f"could not send {operation} to SEI within the {exc.seconds:g} s call deadline "
        "(SEI_BRIDGE_SEI_CALL_DEADLINE): not sent",
        operation=operation,
    )


@contextmanager
def translate(operation: str, *, secrets: Sequence[str] = ()) -> Iterator[None]:
    """Run one SEI call, turning zeep and requests errors into :mod:`sei_bridge.errors`.

    ``secrets`` (the IdentificacaoServico, and any other secret of ours: the SIGRC token) are
    blanked out of SEI's fault text should SEI echo them, on top of the known echo in
    "Serviço [...] do sistema [...] não encontrado."; the text is then scrubbed
    (:func:`classify_fault`).
    """
    try:
        yield
    except errors.SeiBridgeError:
        raise
    except zeep.exceptions.Fault as exc:
        text = exc.message if isinstance(exc.message, str) else ""
        if exc.code is None and text == "Unknown fault occured":
            # zeep's words for "HTTP 500 with XML but no Fault element".
            raise classify_http_status(operation, 500) from exc
        error = classify_fault(operation, redact_fault(text, secrets), fault_kind(exc.detail))
        if error.fault != text:
            # The fault is kept as __cause__, and a logged traceback prints its message.
            exc.message = error.fault
            exc.args = (error.fault,)
        raise error from exc
    except zeep.exceptions.TransportError as exc:
        raise classify_http_status(operation, int(exc.status_code or 0)) from exc
    except requests.RequestException as exc:
        raise classify_request_error(operation, exc) from exc
    except bounded_http.CallDeadlineExceeded as exc:
        raise classify_deadline(operation, exc) from exc
    except bounded_http.ResponseTooLarge as exc:
        raise errors.SeiResponseTooLarge(
            f"SEI's answer to {operation} is larger than the {exc.limit} bytes allowed and was "
            "not read: the request was processed, its outcome is unknown (raise "
            "SEI_BRIDGE_SEI_MAX_RESPONSE_BYTES if SEI's answers are this large)",
            operation=operation,
        ) from exc
    except zeep.exceptions.ValidationError as exc:
        # Raised while building the envelope: nothing was sent. The path names the field,
        # never its value.
        path = ".".join(str(p) for p in getattr(exc, "path", []) or [])
        raise errors.SeiRequestInvalid(
            f"{operation} request does not fit the WSDL ({path or 'structure'}): "
            "fix the values sent or the WSDL in use",
            operation=operation,
            fault=f"zeep validation: {path}",
        ) from exc
    except (
        zeep.exceptions.XMLSyntaxError,
        zeep.exceptions.XMLParseError,
        # an answer with a DOCTYPE or entity declarations, refused unparsed (forbid_dtd,
        # forbid_entities): as unreadable as a broken one, and the request was sent all the same
        zeep.exceptions.DTDForbidden,
        zeep.exceptions.EntitiesForbidden,
        etree.LxmlError,
    ) as exc:
        raise errors.SeiOutcomeUnknownError(
            f"SEI's answer to {operation} could not be read ({type(exc).__name__}): the request "
            "was sent, its outcome is unknown",
            operation=operation,
        ) from exc
