"""Serviços with their own authentication on a real SEI 4.1 (its MariaDB), for contract tests.

:func:`generate_access_key` creates or refreshes a serviço of sistema ``ADAPTER`` that
authenticates by *Chave de Acesso* and returns the full key; :func:`ensure_servico` creates or
refreshes one that authenticates by address (or by nothing), with the operations of the
``ADAPTER_WS`` serviço copied to it, less any left out on purpose. Both are idempotent: the
serviço is found by its identificação, its columns and operations set to what is asked.

Keys are made the way SEI's UI makes them (``ServicoRN::gerarChaveAcessoControlado``, SEI
4.1.0): the key is ``crc32b(id_servico)`` in lower-case hex (8 characters, stored in
``servico.crc``) followed by ``sha256(random_bytes(32))`` in hex (64 characters); the column
``chave_acesso`` keeps ``InfraBcrypt::hash(md5(<those 64 characters>))``: bcrypt ``$2a$``, cost
12, over the MD5 in hex. bcrypt is PHP's ``crypt()`` here (the ``php`` CLI), so that no Python
bcrypt library is needed. SQL goes through the ``mariadb`` client as
``mariadb --defaults-file=F -uroot sei``. The ``ADAPTER_WS`` serviço is only read, never
changed (others use it).

Run as a script to print a fresh key: ``python -m tests.contract.realsei_access_key MY_CNF``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import subprocess
import sys
import zlib
from collections.abc import Iterable

__all__ = [
    "OPERATION_STA",
    "SISTEMA",
    "TEMPLATE_SERVICO",
    "ensure_servico",
    "generate_access_key",
    "query",
]

#: The sistema (a usuário of type sistema) the serviços belong to, and the serviço whose
#: operation rows are copied.
SISTEMA = "ADAPTER"
TEMPLATE_SERVICO = "ADAPTER_WS"
#: OperacaoServicoRN::$TS_* of the operations sei-bridge calls (SEI 4.1.0); listarUnidades,
#: listarTiposProcedimento and listarSeries (1000-1002) are never checked by SEI.
OPERATION_STA = {
    "gerarProcedimento": 0,
    "incluirDocumento": 1,
    "consultarProcedimento": 2,
    "consultarDocumento": 3,
    "reabrirProcesso": 12,
    "concluirProcesso": 13,
    "listarExtensoesPermitidas": 14,
    "enviarProcesso": 15,
    "listarHipotesesLegais": 19,
    "adicionarArquivo": 22,
    "adicionarConteudoArquivo": 23,
    "listarContatos": 24,
    "lancarAndamento": 29,
    "listarAndamentos": 30,
    "excluirDocumento": 45,
}

_IDENTIFICACAO = re.compile(r"^[A-Za-z0-9_.-]{1,50}$")
_SERVIDOR = re.compile(r"^[A-Za-z0-9_.:*,-]*$")
#: InfraBcrypt::codificarBytes's alphabet (that of crypt(3)'s bcrypt salts).
_ITOA64 = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_BCRYPT_COST = 12


def query(defaults_file: str, sql: str) -> list[list[str]]:
    """Run ``sql`` (one or more statements) on SEI's database; the rows of the last result."""
    done = subprocess.run(
        ["mariadb", f"--defaults-file={defaults_file}", "-uroot", "sei", "--batch",
         "--skip-column-names", "--raw"],
        input=sql.encode("latin-1"),
        capture_output=True,
        check=False,
        timeout=60,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(
            f"mariadb failed ({done.returncode}): {done.stderr.decode('latin-1').strip()}"
        )
    text = done.stdout.decode("latin-1")
    return [line.split("\t") for line in text.splitlines() if line]


def _sin(flag: bool) -> str:
    return "S" if flag else "N"


def _id_usuario(defaults_file: str, sistema: str) -> int:
    rows = query(
        defaults_file,
        f"SELECT id_usuario FROM usuario WHERE sigla = '{sistema}' AND sta_tipo = '1';",
    )
    if not rows:
        raise RuntimeError(f"SEI has no sistema {sistema!r} (usuario of sta_tipo 1)")
    return int(rows[0][0])


def _id_servico(defaults_file: str, id_usuario: int, identificacao: str) -> int | None:
    rows = query(
        defaults_file,
        "SELECT id_servico FROM servico "
        f"WHERE id_usuario = {id_usuario} AND identificacao = '{identificacao}';",
    )
    return int(rows[0][0]) if rows else None


def _operation_rows(
    defaults_file: str, id_usuario: int, without: frozenset[int]
) -> list[tuple[str, ...]]:
    template = _id_servico(defaults_file, id_usuario, TEMPLATE_SERVICO)
    if template is None:
        raise RuntimeError(f"SEI has no serviço {TEMPLATE_SERVICO!r} to copy operations from")
    rows = query(
        defaults_file,
        "SELECT sta_operacao_servico, IFNULL(id_tipo_procedimento, 'NULL'), "
        "IFNULL(id_serie, 'NULL'), IFNULL(id_unidade, 'NULL') FROM operacao_servico "
        f"WHERE id_servico = {template} ORDER BY 1, 2, 3, 4;",
    )
    return [tuple(row) for row in rows if int(row[0]) not in without]


def ensure_servico(
    defaults_file: str,
    identificacao: str,
    *,
    servidor: str = "127.0.0.1,localhost",
    address_auth: bool = True,
    key_auth: bool = False,
    without_operations: Iterable[str] = (),
    sistema: str = SISTEMA,
) -> int:
    """Create or refresh serviço ``identificacao`` of ``sistema``; its ``id_servico``.

    ``servidor`` is the allow-list of client hosts (``sin_servidor`` = ``address_auth``),
    ``key_auth`` is ``sin_chave_acesso`` (the key itself is left as it is: see
    :func:`generate_access_key`). Its operations become those of ``ADAPTER_WS`` but
    ``without_operations`` (names of :data:`OPERATION_STA`).
    """
    if not _IDENTIFICACAO.match(identificacao) or not _SERVIDOR.match(servidor):
        raise ValueError("identificacao or servidor has characters this helper does not quote")
    without = frozenset(OPERATION_STA[name] for name in without_operations)
    id_usuario = _id_usuario(defaults_file, sistema)
    id_servico = _id_servico(defaults_file, id_usuario, identificacao)
    if id_servico is None:
        # The id comes from SEI's own sequence (InfraMySqli::getValorSequencia), as the UI's.
        rows = query(
            defaults_file,
            "INSERT INTO seq_servico (campo) VALUES ('0'); SELECT LAST_INSERT_ID();",
        )
        id_servico = int(rows[0][0])
        query(
            defaults_file,
            "INSERT INTO servico (id_servico, id_usuario, identificacao, descricao, servidor, "
            "sin_link_externo, sin_ativo, sin_chave_acesso, sin_servidor) VALUES "
            f"({id_servico}, {id_usuario}, '{identificacao}', 'sei-bridge contract tests', "
            f"'{servidor}', 'N', 'S', '{_sin(key_auth)}', '{_sin(address_auth)}');",
        )
    query(
        defaults_file,
        f"UPDATE servico SET servidor = '{servidor}', sin_servidor = '{_sin(address_auth)}', "
        f"sin_chave_acesso = '{_sin(key_auth)}', sin_ativo = 'S', sin_link_externo = 'N' "
        f"WHERE id_servico = {id_servico};",
    )
    wanted = _operation_rows(defaults_file, id_usuario, without)
    current = query(
        defaults_file,
        "SELECT sta_operacao_servico, IFNULL(id_tipo_procedimento, 'NULL'), "
        "IFNULL(id_serie, 'NULL'), IFNULL(id_unidade, 'NULL') FROM operacao_servico "
        f"WHERE id_servico = {id_servico} ORDER BY 1, 2, 3, 4;",
    )
    if [tuple(row) for row in current] != wanted:
        inserts = "".join(
            "INSERT INTO seq_operacao_servico (campo) VALUES ('0');"
            "INSERT INTO operacao_servico (id_operacao_servico, sta_operacao_servico, "
            "id_tipo_procedimento, id_serie, id_unidade, id_servico) VALUES "
            f"(LAST_INSERT_ID(), {sta}, {tipo}, {serie}, {unidade}, {id_servico});"
            for sta, tipo, serie, unidade in wanted
        )
        query(
            defaults_file,
            f"START TRANSACTION; DELETE FROM operacao_servico WHERE id_servico = {id_servico};"
            f"{inserts} COMMIT;",
        )
    return id_servico


def key_crc(id_servico: int) -> str:
    """The first 8 characters of every key of serviço ``id_servico``: PHP's
    ``strtolower(hash('crc32b', $id))``, the CRC-32 of the id's decimal digits."""
    return f"{zlib.crc32(str(id_servico).encode('ascii')):08x}"


def _bcrypt_salt() -> str:
    """``InfraBcrypt::getSalt``: ``$2a$12$`` and 16 random bytes in its crypt alphabet."""
    data = secrets.token_bytes(16)
    out = []
    i = 0
    while True:  # InfraBcrypt::codificarBytes, line for line
        c1 = data[i]
        i += 1
        out.append(_ITOA64[c1 >> 2])
        c1 = (c1 & 0x03) << 4
        if i >= 16:
            out.append(_ITOA64[c1])
            break
        c2 = data[i]
        i += 1
        c1 |= c2 >> 4
        out.append(_ITOA64[c1])
        c1 = (c2 & 0x0F) << 2
        c2 = data[i]
        i += 1
        c1 |= c2 >> 6
        out.append(_ITOA64[c1])
        out.append(_ITOA64[c2 & 0x3F])
    return f"$2a${_BCRYPT_COST:02d}${''.join(out)}"


def _bcrypt(secret: str) -> str:
    """PHP's ``crypt($secret, $salt)`` (InfraBcrypt::hash); the secret goes by stdin, never
    on a command line."""
    done = subprocess.run(
        ["php", "-r", "echo crypt(trim(fgets(STDIN)), $argv[1]);", _bcrypt_salt()],
        input=secret.encode("ascii") + b"\n",
        capture_output=True,
        check=False,
        timeout=60,
    )
    hashed = done.stdout.decode("ascii", "replace")
    if done.returncode != 0 or not hashed.startswith("$2a$") or len(hashed) != 60:
        raise RuntimeError(f"php crypt() failed ({done.returncode}): bcrypt unavailable")
    return hashed


def generate_access_key(
    defaults_file: str,
    identificacao: str = "ADAPTER_KEY",
    *,
    key_auth: bool = True,
    address_auth: bool = False,
    servidor: str = "127.0.0.1,localhost",
    without_operations: Iterable[str] = (),
    sistema: str = SISTEMA,
) -> str:
    """Create or refresh serviço ``identificacao`` with a new Chave de Acesso; the full key
    (72 characters), which SEI never shows again. The previous key stops working.

    By default the serviço authenticates by key only (``sin_servidor`` N), so a call that
    succeeds proves the key. ``key_auth=False`` leaves a key in place but switches key
    authentication off, as an administrator may.
    """
    id_servico = ensure_servico(
        defaults_file,
        identificacao,
        servidor=servidor,
        address_auth=address_auth,
        key_auth=key_auth,
        without_operations=without_operations,
        sistema=sistema,
    )
    secret = hashlib.sha256(secrets.token_bytes(32)).hexdigest()
    stored = _bcrypt(hashlib.md5(secret.encode("ascii"), usedforsecurity=False).hexdigest())
    crc = key_crc(id_servico)
    query(
        defaults_file,
        f"UPDATE servico SET crc = '{crc}', chave_acesso = '{stored}', "
        f"sin_chave_acesso = '{_sin(key_auth)}' WHERE id_servico = {id_servico};",
    )
    return crc + secret


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: python -m tests.contract.realsei_access_key MY_CNF [IDENTIFICACAO]")
    print(generate_access_key(sys.argv[1], *sys.argv[2:]))
