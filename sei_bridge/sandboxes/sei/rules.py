"""SEI's rules and its exact words: the faults the sandbox answers with, and the checks behind
them that do not depend on the state (lengths, dates, content, extensions).

Texts come from ../shared/reference/SEI-FACTS.md, the recorded exchanges with a real SEI
4.1.0 and SEI 4.1.0's source (docs/sei-authentication.md for authentication, operation
permissions and sigiloso); ``kind`` is the ``infra_tipo_excecao`` SEI sends with each. Every
text is SEI's own (found in its source, and seen on a real SEI 4.1.0 where a comment says so;
tests/contract checks them against one), but for the sandbox's injected failure below.
"""

from __future__ import annotations

import binascii
import datetime as dt
import html.entities
import re
from collections.abc import Callable

from sei_bridge.sandboxes.sei.model import latin1_text

__all__ = [
    "INFRA_ERRO",
    "INFRA_VALIDACAO",
    "SeiFault",
    "Validation",
    "check_extension",
    "check_script",
    "decode_base64",
    "parse_data",
    "stored_html",
    "utf8_decode",
]

INFRA_VALIDACAO = "INFRA_VALIDACAO"
INFRA_ERRO = "INFRA_ERRO"
#: the text of an injected SEI-side failure (the sandbox's ``infra_erro`` fault); SEI's own
#: texts for such failures vary (database, locks), so this one is the sandbox's, not SEI's
INFRA_ERRO_INJECTED = "Erro de banco de dados: falha temporária no servidor do SEI."

#: SeiUtilWS: the identificação from a host the serviço does not list (INFRA_ERRO)
ACESSO_NEGADO = "Acesso negado."
HIPOTESE_NAO_INFORMADA = "Hipótese Legal não informada."
HIPOTESE_NAO_ENCONTRADA = "Hipótese Legal não encontrada."
HIPOTESE_NAO_APLICAVEL = "Hipótese Legal não aplicável ao Nível de Acesso do protocolo."
NIVEL_ACESSO_INVALIDO = "Nível de acesso local inválido."
DATA_EM_GERADO = "Não é possível informar a data para um documento gerado."
DATA_NAO_INFORMADA = "Data do documento não informada."
CORROMPIDO = "Conteúdo do arquivo corrompido."
NOME_INTERESSADO = "Nome do Interessado vazio ou nulo."
#: SeiRN::prepararParticipantes, an interessado with nothing to find it by (INFRA_ERRO)
INTERESSADO_VAZIO = "Interessado vazio ou nulo."
SEM_CRITERIO = "Nenhum critério informado para pesquisa de andamentos."
SCRIPT = "Documento possui código de script oculto no conteúdo."
NIVEL_NAO_PERMITIDO_TIPO = "Nível de acesso não permitido para este tipo de processo."


def nivel_nao_permitido_processo(protocolo: str) -> str:
    """DocumentoRN's second message for a junk NivelAcesso (seen on 4.1.0)."""
    return f"Nível de acesso não permitido para o tipo do processo {protocolo}."


JA_ABERTO = "Processo já está aberto na unidade atual."
#: incluirDocumento with an IdArquivo and no NomeArquivo (SEI 4.1.0, INFRA_ERRO)
ID_ANEXO = "Atributo [IdAnexo] não recebeu valor."
#: SeiRN::gerarProcedimentoInternoControlado and ::incluirDocumentoControlado (INFRA_VALIDACAO)
PROCESSO_SIGILOSO = (
    "Não é permitida a geração de processo sigiloso através de Web Services porque nenhum "
    "usuário terá credencial de acesso."
)
DOCUMENTO_SIGILOSO = (
    "A inclusão de documento sigiloso através de Web Services só é permitida se o processo "
    "também for sigiloso."
)
#: SeiRN::incluirDocumentoControlado, neither IdProcedimento nor ProtocoloProcedimento
#: (lancarValidacao: INFRA_VALIDACAO; seen on 4.1.0)
PROCESSO_NAO_INFORMADO = "Processo não informado."
#: SeiRN::incluirDocumentoControlado's checks of the content elements, in its order: each a
#: ``throw new InfraException`` (INFRA_ERRO; seen on 4.1.0)
NOME_ARQUIVO_EM_GERADO = "Não é possível informar o nome do arquivo para documento gerado."
NOME_ARQUIVO_NAO_INFORMADO = "Nome do arquivo não informado para o conteúdo do documento externo."
MTOM_EM_GERADO = (
    "Para documento gerado não é possível informar o elemento ConteudoMTOM. Utilizar os "
    "elementos Conteudo (Base64) ou ConteudoSecoes (Base64)."
)
CONTEUDO_E_MTOM = (
    "Não é possível enviar documento externo utilizando os elementos Conteudo (Base64) e "
    "ConteudoMTOM (Binário) ao mesmo tempo."
)
#: SeiRN::gerarProcedimentoConectado, right after the tipo and the operation permission
#: (``throw new InfraException``: INFRA_ERRO; seen on 4.1.0)
NUMERO_SEM_DATA_AUTUACAO = (
    "Número do Protocolo somente deve ser informado em conjunto com a Data de Autuação."
)
DATA_AUTUACAO_SEM_NUMERO = (
    "Data de Autuação somente deve ser informada em conjunto com o Número do Protocolo."
)
#: ProtocoloRN::validarDtaGeracaoRN0215 on DataAutuacao (INFRA_VALIDACAO; seen on 4.1.0)
DATA_PROTOCOLO_INVALIDA = "Data do protocolo inválida."
DATA_PROTOCOLO_FUTURA = "Data do protocolo não pode estar no futuro."
#: SeiRN::enviarProcessoControlado (adicionarValidacao: INFRA_VALIDACAO; seen on 4.1.0)
UNIDADES_NAO_INFORMADAS = "Nenhuma unidade informada para envio."
#: AnexoRN on adicionarArquivo and adicionarConteudoArquivo (INFRA_VALIDACAO; seen on 4.1.0)
NOME_ANEXO_NAO_INFORMADO = "Nome do anexo não informado."
TAMANHO_ANEXO_NAO_INFORMADO = "Tamanho do anexo não informado."
SEM_EXTENSAO = "Nome do arquivo não possui extensão."
ARQUIVO_NAO_ENCONTRADO = "Arquivo não encontrado na base de dados."
ARQUIVO_DE_OUTRA_UNIDADE = "Arquivo não foi adicionado pela unidade."
ARQUIVO_JA_ATIVADO = "Arquivo já foi ativado."
CONTEUDO_ARQUIVO_VAZIO = "Conteúdo para adição no arquivo vazio."
CONTEUDO_EXCEDE = "Conteúdo do arquivo excede o tamanho definido."


def arquivo_vazio(nome: str) -> str:
    return f"Arquivo {nome} vazio."


class SeiFault(Exception):
    """SEI refused the call: answered as a SOAP fault (HTTP 500, ``SOAP-ENV:Client``)."""

    def __init__(self, message: str, kind: str = INFRA_VALIDACAO) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


def not_found(what: str, value: str | None) -> SeiFault:
    """ "<what> [X] não encontrado." (INFRA_ERRO, as SEI 4.1.0 answers lookups by id)."""
    return SeiFault(f"{what} [{value or ''}] não encontrado.", INFRA_ERRO)


def sistema_nao_encontrado(sigla: str | None) -> SeiFault:
    return not_found("Sistema", sigla)


def servico_nao_encontrado(servico: str | None, sigla: str | None) -> SeiFault:
    return SeiFault(
        f"Serviço [{servico or ''}] do sistema [{sigla or ''}] não encontrado.", INFRA_ERRO
    )


def servico_da_chave_nao_encontrado(sigla: str | None) -> SeiFault:
    """No serviço of the sistema has the key's first 8 characters as its ``crc``."""
    return SeiFault(f"Serviço do sistema [{sigla or ''}] não encontrado.", INFRA_ERRO)


def sem_autenticacao(servico: str, sigla: str, modo: str) -> SeiFault:
    """The serviço does not authenticate this way: ``modo`` "Chave de Acesso" (the key
    path: SEI's identificação and sigla) or "Endereço" (the identificação path: as sent)."""
    return SeiFault(
        f"Serviço [{servico}] do sistema [{sigla}] não possui autenticação por {modo}.",
        INFRA_ERRO,
    )


def chave_invalida(servico: str, sigla: str) -> SeiFault:
    return SeiFault(
        f"Chave de Acesso inválida para o serviço [{servico}] do sistema [{sigla}].", INFRA_ERRO
    )


def operacao_nao_configurada(
    operation: str,
    servico: str,
    sigla_unidade: str,
    *,
    tipo_processo: str | None = None,
    tipo_documento: str | None = None,
) -> SeiFault:
    """SeiRN::validarCriteriosUnidade (no tipo), ::validarCriteriosUnidadeProcesso (the
    processo's tipo) and ::validarCriteriosUnidadeProcessoDocumento (tipo and série)."""
    text = f"Nenhuma operação configurada para [{operation}] no serviço [{servico}]"
    if tipo_processo is not None:
        text += f" com tipo de processo [{tipo_processo}]"
        if tipo_documento is not None:
            text += f" e tipo de documento [{tipo_documento}]"
    return SeiFault(f"{text} na unidade [{sigla_unidade}].", INFRA_VALIDACAO)


def unidade_nao_encontrada(id_unidade: str | None) -> SeiFault:
    return SeiFault(f"Unidade [{id_unidade or ''}] não encontrada.", INFRA_ERRO)


def nao_aberto(protocolo: str) -> SeiFault:
    """concluirProcesso's words (seen on 4.1.0)."""
    return SeiFault(f"Processo {protocolo} não está aberto na unidade.")


def sem_acesso(sigla_unidade: str, protocolo: str) -> SeiFault:
    """incluirDocumento in a unit the processo never went through (SeiRN, an InfraException:
    INFRA_ERRO)."""
    return SeiFault(
        f"Unidade {sigla_unidade} não possui acesso ao processo {protocolo}.", INFRA_ERRO
    )


def anexo_vazio(nome: str) -> SeiFault:
    """SEI 4.1.0's answer to incluirDocumento with the IdArquivo of a chunked upload (AnexoRN:
    the upload's file is not where the anexo is looked for)."""
    return SeiFault(f"Anexo {nome} vazio.")


def conteudo_nao_permitido(numero: str) -> SeiFault:
    """The filter on whole-page HTML; SEI names the number it had given the documento."""
    return SeiFault(f"Documento possui conteúdo não permitido ({numero}).", INFRA_ERRO)


def nao_tramitou(protocolo: str) -> SeiFault:
    return SeiFault(f"Processo {protocolo} não tramitou na unidade.")


def tamanho_maximo(megabytes: int) -> SeiFault:
    return SeiFault(f"O tamanho máximo geral permitido para documentos externos é {megabytes}Mb.")


def maximo_documentos(limit: int) -> SeiFault:
    return SeiFault(
        "O número máximo de documentos para inclusão ao gerar um processo por web services "
        f"é {limit}.",
        INFRA_ERRO,
    )


def sem_numeracao(nome_serie: str) -> SeiFault:
    return SeiFault(f"Documento com número preenchido mas o tipo {nome_serie} não tem numeração.")


def tipo_protocolo_invalido(tipo: str | None) -> SeiFault:
    """SeiRN::incluirDocumentoControlado, a Tipo other than G or R, after the série and the
    operation permission (lancarValidacao; seen on 4.1.0)."""
    return SeiFault(f"Tipo do protocolo [{tipo or ''}] inválido.")


def envio_nao_aberto(protocolo: str, sigla_unidade: str) -> str:
    """SeiRN::enviarProcessoControlado's words for a processo not open in the unit (with
    brackets, unlike concluirProcesso's); collected after "Nenhuma unidade informada para
    envio." (seen on 4.1.0)."""
    return f"Processo [{protocolo}] não está aberto na unidade [{sigla_unidade}]."


#: SeiRN::lancarAndamentoControlado's checks of IdTarefa/IdTarefaModulo, in its order (each a
#: ``throw new InfraException``: INFRA_ERRO; seen on 4.1.0)
TAREFA_NAO_INFORMADA = "Nenhum identificador de tarefa informado."


def tarefa_invalida(id_tarefa: str) -> SeiFault:
    return SeiFault(f"Identificador de tarefa [{id_tarefa}] inválido.", INFRA_ERRO)


def tarefa_modulo_nao_encontrada(modulo: str) -> SeiFault:
    return SeiFault(f"Tarefa associada com o identificador [{modulo}] não encontrada.", INFRA_ERRO)


def tarefa_reservada(id_tarefa: str) -> SeiFault:
    """An IdTarefa below 1000 other than 65 (SEI's own tarefas)."""
    return SeiFault(f"Identificador de tarefa [{id_tarefa}] reservado.", INFRA_ERRO)


#: an andamento's atributos as AtributoAndamentoRN takes them (seen on 4.1.0): a Nome longer
#: than 50 reaches the database, whose error SEI passes on (INFRA_ERRO)
ATRIBUTO_SEM_NOME = "Nome não informado."
MAX_VALOR_ATRIBUTO = 500
MAX_NOME_ATRIBUTO = 50
NOME_ATRIBUTO_LONGO = "Data too long for column 'nome' at row 1"


def procedure_not_present(operation: str) -> str:
    """PHP SoapServer's own words for an operation its WSDL lacks (faultcode Server)."""
    return f"Procedure '{operation}' not present"


class Validation:
    """Collects SEI validation messages; SEI joins several with a literal backslash-n."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, message: str) -> None:
        self.messages.append(message)

    def length(self, label: str, value: str | None, limit: int) -> None:
        """``value`` as stored (see :func:`latin1_text`) must not exceed ``limit``."""
        if value is not None and len(latin1_text(value)) > limit:
            self.add(f"{label} possui tamanho superior a {limit} caracteres.")

    def raise_if_any(self) -> None:
        if self.messages:
            raise SeiFault("\\n".join(self.messages), INFRA_VALIDACAO)


def parse_data(value: str, label: str = "Data") -> dt.date:
    """A ``dd/mm/yyyy`` date as SEI takes it."""
    try:
        return dt.datetime.strptime(value.strip(), "%d/%m/%Y").date()
    except ValueError:
        raise SeiFault(f"{label} [{value}] inválida.") from None


def decode_base64(value: str) -> bytes:
    """Base64 the way PHP's base64_decode reads it: characters outside the alphabet ignored."""
    try:
        return binascii.a2b_base64(value.encode("ascii", "ignore"))
    except binascii.Error:
        raise SeiFault(CORROMPIDO) from None


def _utf8_trail(byte: int) -> bool:
    return 0x80 <= byte <= 0xBF


def _utf8_lead(byte: int) -> bool:
    return byte < 0x80 or 0xC2 <= byte <= 0xF4


def _next_utf8_char(raw: bytes, pos: int) -> tuple[int | None, int]:
    """PHP's ``php_next_utf8_char`` (ext/standard/html.c): the code point at ``pos`` (None for
    an ill-formed sequence) and the position after it, skipping ill-formed bytes the way PHP
    does (UTR #36, strategy 2: a byte that may start a valid sequence is never swallowed)."""
    size = len(raw)
    c = raw[pos]
    if c < 0x80:
        return c, pos + 1
    if c < 0xC2:
        return None, pos + 1
    if c < 0xE0:
        if size - pos < 2:
            return None, pos + 1
        if not _utf8_trail(raw[pos + 1]):
            return None, pos + (1 if _utf8_lead(raw[pos + 1]) else 2)
        return ((c & 0x1F) << 6) | (raw[pos + 1] & 0x3F), pos + 2
    if c < 0xF0:
        avail = size - pos
        if avail < 3 or not _utf8_trail(raw[pos + 1]) or not _utf8_trail(raw[pos + 2]):
            if avail < 2 or _utf8_lead(raw[pos + 1]):
                return None, pos + 1
            if avail < 3 or _utf8_lead(raw[pos + 2]):
                return None, pos + 2
            return None, pos + 3
        code = ((c & 0x0F) << 12) | ((raw[pos + 1] & 0x3F) << 6) | (raw[pos + 2] & 0x3F)
        if code < 0x800 or 0xD800 <= code <= 0xDFFF:
            return None, pos + 3
        return code, pos + 3
    if c < 0xF5:
        avail = size - pos
        if (
            avail < 4
            or not _utf8_trail(raw[pos + 1])
            or not _utf8_trail(raw[pos + 2])
            or not _utf8_trail(raw[pos + 3])
        ):
            if avail < 2 or _utf8_lead(raw[pos + 1]):
                return None, pos + 1
            if avail < 3 or _utf8_lead(raw[pos + 2]):
                return None, pos + 2
            if avail < 4 or _utf8_lead(raw[pos + 3]):
                return None, pos + 3
            return None, pos + 4
        code = (
            ((c & 0x07) << 18)
            | ((raw[pos + 1] & 0x3F) << 12)
            | ((raw[pos + 2] & 0x3F) << 6)
            | (raw[pos + 3] & 0x3F)
        )
        if code < 0x10000 or code > 0x10FFFF:
            return None, pos + 4
        return code, pos + 4
    return None, pos + 1


def utf8_decode(raw: bytes) -> bytes:
    """PHP's ``utf8_decode`` (PHP 8.2, what SEI 4.1 runs on ``Conteudo``): UTF-8 to Latin-1,
    every ill-formed sequence and every code point above U+00FF as one ``?``."""
    if raw.isascii():
        return raw
    out = bytearray()
    pos = 0
    while pos < len(raw):
        code, pos = _next_utf8_char(raw, pos)
        out.append(code if code is not None and code <= 0xFF else 0x3F)
    return bytes(out)


# EditorRN::converterHTML (SEI 4.1): InfraString::acentuarHTML, whose loop covers the first 18
# letters of its lists (so ñ and Ñ stay as they are), then ten symbols.
_ACENTUADAS = "áãàäâéèëêíïóõôöúüç"
_ENTITIES = {
    **{ch: f"&{html.entities.codepoint2name[ord(ch)]};" for ch in _ACENTUADAS},
    **{ch.upper(): f"&{html.entities.codepoint2name[ord(ch.upper())]};" for ch in _ACENTUADAS},
    **{ch: f"&{html.entities.codepoint2name[ord(ch)]};" for ch in "°ºª¹²³£¢§¬"},
}
_ENTITY_BYTES = {ord(ch.encode("latin-1")): name.encode("ascii") for ch, name in _ENTITIES.items()}


def converter_html(latin1: bytes) -> bytes:
    """SEI's ``EditorRN::converterHTML`` on Latin-1 bytes: accented letters and a few symbols
    as named entities (what a real SEI 4.1.0 stored for UTF-8 ``Solicitação``:
    ``Solicita&ccedil;&atilde;o``)."""
    if latin1.isascii():
        return latin1
    return b"".join(_ENTITY_BYTES.get(byte, bytes((byte,))) for byte in latin1)


def stored_html(raw: bytes) -> bytes:
    """Generated-document HTML as SEI 4.1 stores it (Latin-1): ``utf8_decode`` of the bytes
    received, then ``converterHTML``. Bytes that are not UTF-8 (a client sending Latin-1) and
    characters outside Latin-1 are lost as ``?``, exactly as on a real SEI."""
    return converter_html(utf8_decode(raw))


_RAW_SCRIPT = re.compile(rb"<\s*script", re.IGNORECASE)
_WHOLE_PAGE = re.compile(rb"<\s*(html|body)\b", re.IGNORECASE)
_ESCAPED_SCRIPT = re.compile(rb"&lt;\s*script", re.IGNORECASE)


def check_script(html: bytes, numero: Callable[[], str]) -> None:
    """SEI's script filter on generated HTML (seen on 4.1.0); ``numero`` gives the documento
    number SEI names when it refuses a whole page (the number is used up, as in SEI)."""
    if _RAW_SCRIPT.search(html):
        raise SeiFault(SCRIPT)
    if _WHOLE_PAGE.search(html) and _ESCAPED_SCRIPT.search(html):
        raise conteudo_nao_permitido(numero())


def extension_of(nome_arquivo: str) -> str:
    """Lower-case extension without the dot ("" when the name has none)."""
    base = nome_arquivo.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    return base.rpartition(".")[2].lower() if "." in base else ""


#: ContatoRN's limits on a new contact's Sigla and Nome (seen on 4.1.0, counted as stored)
MAX_SIGLA_CONTATO = 100
MAX_NOME_CONTATO = 250
#: AnexoRN's limit on a file name
MAX_NOME_ANEXO = 255
_SCRIPT_EXTENSIONS = frozenset({"php", "php3", "php4", "phtml", "sh", "cgi"})


def check_nome_anexo(nome: str, allowed: frozenset[str]) -> None:
    """AnexoRN::validarStrNomeRN0228 on an inline file's name (as stored: a character outside
    Latin-1 arrives as ``&#N;``), then the allow-list; SEI 4.1 collects its messages."""
    check = Validation()
    nome_anexo_messages(check, nome, allowed)
    if "." not in nome:
        check.add(SEM_EXTENSAO)  # said again by AnexoRN::validarNumTamanhoRN0867
    check.raise_if_any()


def nome_anexo_messages(check: Validation, nome: str, allowed: frozenset[str]) -> None:
    """AnexoRN::validarStrNomeRN0228's messages on a file name (as stored)."""
    if "&#" in nome:
        check.add("Nome do anexo possui caracteres especiais.")
    if len(nome) > MAX_NOME_ANEXO:
        check.add(f"Nome do anexo possui tamanho superior a {MAX_NOME_ANEXO} caracteres.")
    extension = extension_of(nome)
    if "." not in nome:
        check.add(SEM_EXTENSAO)
    else:
        if extension in _SCRIPT_EXTENSIONS:
            check.add("Extensão do arquivo não permitida por restrição de segurança.")
        if extension not in allowed:
            check.add(f'Tipo do arquivo ".{extension}" não autorizado para inclusão via serviços.')


def check_extension(nome_arquivo: str, allowed: frozenset[str]) -> None:
    """The installation's allow-list of extensions, as enforced for web services."""
    extension = extension_of(nome_arquivo)
    if extension not in allowed:
        raise SeiFault(f'Tipo do arquivo ".{extension}" não autorizado para inclusão via serviços.')
