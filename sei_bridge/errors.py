"""The exception hierarchy of sei-bridge.

One root, :class:`SeiBridgeError`, and a subclass per boundary and class of failure. Each boundary
translates the errors of the library it wraps in exactly one place (the SEI client for zeep and
requests, the SIGRC client for requests, the store for SQLAlchemy), keeping the original as
``__cause__``.

Messages are one line, name what is wrong and how to fix it, and never carry personal data
(CPF, names, addresses, document content) or credentials.
"""

from __future__ import annotations

__all__ = [
    "AttachmentIntegrityError",
    "ConfigurationError",
    "MappingError",
    "SeiAccessDenied",
    "SeiBridgeError",
    "SeiEndpointError",
    "SeiError",
    "SeiInfrastructureFault",
    "SeiInvalidAnswer",
    "SeiNotSentError",
    "SeiOutcomeUnknownError",
    "SeiRequestInvalid",
    "SeiResponseTooLarge",
    "SeiValidationFault",
    "SigrcAuthError",
    "SigrcConflict",
    "SigrcEndpointError",
    "SigrcError",
    "SigrcInvalidResponse",
    "SigrcNotFound",
    "SigrcUnavailable",
    "StoreError",
]


class SeiBridgeError(Exception):
    """Root of every error sei-bridge raises on purpose."""


class ConfigurationError(SeiBridgeError):
    """The service is set up wrongly (settings, credentials, mapping files); retrying won't help."""


class MappingError(ConfigurationError):
    """A mapping file is invalid or refers to something SEI does not have."""


class StoreError(SeiBridgeError):
    """The durable store failed (database unreachable, migration missing)."""


# --- SEI --------------------------------------------------------------------------------------


class SeiError(SeiBridgeError):
    """Base of every failure of a call to SEI.

    ``operation`` is the SOAP operation (``gerarProcedimento``); ``fault`` is SEI's own text when
    SEI answered with a fault (SEI never echoes document content in faults, but may name a
    protocolo or an id, which are not personal data), scrubbed by :mod:`sei_bridge.scrub`: an
    ordinary fault word for word, a long or hostile one cut at 500 characters with CPFs,
    credentials and our secrets masked; ``kind`` is the fault's ``infra_tipo_excecao``
    (``INFRA_VALIDACAO``, ``INFRA_ERRO``) when SEI sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str = "",
        fault: str | None = None,
        kind: str | None = None,
    ) -> None:
        super().__init__(message)
        self.operation = operation
        self.fault = fault
        self.kind = kind


class SeiValidationFault(SeiError):
    """SEI refused the request as wrong (``INFRA_VALIDACAO`` or a message known to be permanent).

    Permanent: sending the same request again gives the same answer. The item is quarantined
    with ``fault`` as the reason.
    """


class SeiAccessDenied(SeiValidationFault, ConfigurationError):
    """SEI refused the credentials or the service's permissions ("Acesso negado.",
    "Sistema [X] não encontrado.", "Nenhuma operação configurada ...")."""


class SeiInfrastructureFault(SeiError):
    """SEI answered with a server-side error (``INFRA_ERRO`` not known to be permanent).

    SEI runs each operation in one database transaction, so an answered fault means nothing
    was committed: safe to retry later.
    """


class SeiNotSentError(SeiError):
    """The request certainly had no effect (connection refused, connect timeout, HTTP 503 from
    the front end, circuit open): safe to send again."""


class SeiOutcomeUnknownError(SeiError):
    """The request was sent and no answer came (read timeout, connection reset after sending).

    For a non-idempotent operation the effect may or may not exist in SEI: the action becomes
    UNCERTAIN and is probed before anything is sent again.
    """


class SeiResponseTooLarge(SeiOutcomeUnknownError):
    """SEI answered with more bytes than ``SEI_BRIDGE_SEI_MAX_RESPONSE_BYTES``; the answer was
    not read. SEI ran the request, so for a non-idempotent operation the outcome is unknown."""


class SeiRequestInvalid(SeiValidationFault):
    """The request breaks a limit SEI is known to enforce (especificação over 100 characters,
    more than 5 documents, restrito without hipótese legal, ...) and was NOT sent.

    Raised by the client before sending, so SEI never saw it; permanent like any validation
    fault. ``fault`` holds the rule broken.
    """


class SeiInvalidAnswer(SeiValidationFault):
    """SEI answered a read with a value sei-bridge must not use or forward (a process or
    document number over SEI's 40 characters or holding control characters). Permanent for
    that answer; a probe that meets it leaves the effect to a person. (An answer like that to
    a call that creates something is :class:`SeiOutcomeUnknownError` instead: the effect may
    exist.) ``fault`` names the field, never its value."""


class SeiEndpointError(SeiNotSentError, ConfigurationError):
    """The SEI endpoint answered with an HTTP status that means "not SEI's web service here"
    (404, 405, 401, 403, ...), the WSDL could not be loaded, or it lacks the operation: nothing
    ran in SEI; fix SEI_BRIDGE_SEI_URL / SEI_BRIDGE_SEI_WSDL (retrying is safe)."""


# --- SIGRC ------------------------------------------------------------------------------------


class SigrcError(SeiBridgeError):
    """Base of every failure of a call to SIGRC's feed API."""


class SigrcUnavailable(SigrcError):
    """SIGRC is overloaded, in maintenance or unreachable (429, 503, network); retry later.

    ``retry_after`` is the server's Retry-After in seconds, when it sent one.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SigrcAuthError(SigrcError, ConfigurationError):
    """SIGRC refused the bearer token (401): fix SEI_BRIDGE_SIGRC_TOKEN."""


class SigrcEndpointError(SigrcError, ConfigurationError):
    """SIGRC_URL does not point at SIGRC's feed API (404 on a collection, 405, a redirect loop,
    a scheme other than http/https): fix SEI_BRIDGE_SIGRC_URL."""


class SigrcNotFound(SigrcError):
    """SIGRC does not know the protocolo or attachment asked for (404)."""


class SigrcConflict(SigrcError):
    """SIGRC already holds a different SEI process number for the request (409)."""


class SigrcInvalidResponse(SigrcError):
    """SIGRC answered with something that breaks its contract (malformed JSON, a missing or
    wrong-typed field). ``path`` names the offending field (``interacoes[2].ocorrida_em``); the
    message never carries the value, which may be personal data. Permanent for that answer: the
    item that needed it is quarantined until SIGRC fixes its data and the item is replayed."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class AttachmentIntegrityError(SigrcError):
    """An attachment's bytes did not match its advertised sha256 (or size) after every retry."""
