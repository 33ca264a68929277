"""What a real SEI holds, read from its database, as the sandbox's views.

:class:`RealSeiHoldings` gives the :class:`~sei_bridge.sandboxes.sei.ProcessView`\\ s of the
processes a real SEI holds for some SP156 requests, so that
:func:`tests.support.end_state.check_sei` checks a real SEI as it checks the sandbox. It reads
the SEI 4.1 database with the ``mariadb`` client (no driver needed), as root through a defaults
file (``SEI_BRIDGE_TEST_REAL_SEI_DB``):

- a process is one of the requests' when an interessado has the Sigla ``SP156-<protocolo>`` or
  its number is ``SP156-<protocolo>`` (other people's processes in the same SEI are left out);
- its documents are in the order SEI created them (``id_protocolo``); ``tipo`` is ``G``
  (gerado) or ``R`` (recebido) from ``protocolo.sta_protocolo``; a generated document's
  ``content`` is the latest version of its main section (``secao_documento.sin_principal``),
  the HTML the client sent as SEI stored it (Latin-1 bytes); a received one's is empty;
- ``unidades_abertas`` are the units with an ``atividade`` not concluded (``dth_conclusao``
  NULL), which is what ``consultarProcedimento`` answers as ``UnidadesProcedimentoAberto``
  (checked against it for open, concluded and two-unit processes);
- strings (especificação, descrição, sigla, nome) are decoded from the Latin-1 bytes stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sei_bridge.sandboxes.sei import ProcessView
from sei_bridge.sandboxes.sei.views import AndamentoView, ContactView, DocumentView

__all__ = ["MariaDb", "RealSeiHoldings"]

SIGLA_PREFIX = "SP156-"
#: SEI's own numbering (99990.000189/2026-30); anything else was a NumeroProtocolo informado
_SEI_NUMBER = re.compile(r"^\d{5}\.\d{6}/\d{4}-\d{2}$")
#: ids per IN (...) list: keeps every statement small
_BATCH = 200


@dataclass(frozen=True)
class MariaDb:
    """The ``mariadb`` client on SEI's database, one statement per call, rows as lists of
    strings (``None`` for NULL). Text columns must be selected as ``HEX(col)``."""

    defaults_file: str
    database: str = "sei"
    timeout: float = 60.0

    def query(self, sql: str) -> list[list[str | None]]:
        done = subprocess.run(
            [
                "mariadb",
                f"--defaults-file={self.defaults_file}",
                "-uroot",
                self.database,
                "-N",
                "-B",
            ],
            input=sql.encode("ascii"),
            capture_output=True,
            timeout=self.timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"mariadb exited {done.returncode}: {done.stderr.decode(errors='replace')[-500:]}"
            )
        return [
            [None if cell == "NULL" else cell for cell in line.split("\t")]
            for line in done.stdout.decode("ascii").splitlines()
        ]

    def max_id_protocolo(self) -> int:
        rows = self.query("SELECT COALESCE(MAX(id_protocolo), 0) FROM protocolo")
        return int(rows[0][0] or 0)


def _quote(value: str) -> str:
    """An SQL string literal of ``value`` (sent as hex: no quoting or charset trouble)."""
    return f"X'{value.encode('latin-1').hex()}'" if value else "''"


def _latin1(hexed: str | None) -> str | None:
    return None if hexed is None else bytes.fromhex(hexed).decode("latin-1")


def _batches(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _BATCH):
        yield values[start : start + _BATCH]


def _date(value: str | None) -> str:
    """``dd/mm/yyyy`` of a DATETIME column (as SEI shows it)."""
    if not value:
        return ""
    return dt.datetime.strptime(value[:10], "%Y-%m-%d").strftime("%d/%m/%Y")


def _data_hora(value: str | None) -> str:
    if not value:
        return ""
    return dt.datetime.strptime(value[:19], "%Y-%m-%d %H:%M:%S").strftime("%d/%m/%Y %H:%M:%S")


class RealSeiHoldings:
    """The processes a real SEI holds for the SP156 ``protocolos`` (see the module doc)."""

    def __init__(self, defaults_file: str, protocolos: Iterable[str]) -> None:
        self.db = MariaDb(defaults_file)
        self.protocolos = sorted(set(protocolos))

    def process_ids(self) -> list[int]:
        """id_protocolo of every process of the requests, in creation order."""
        found: set[int] = set()
        numbers = [f"{SIGLA_PREFIX}{p}" for p in self.protocolos]
        for batch in _batches(numbers):
            listed = ", ".join(_quote(n) for n in batch)
            rows = self.db.query(
                "SELECT DISTINCT p.id_protocolo FROM protocolo p "
                "JOIN participante pa ON pa.id_protocolo = p.id_protocolo "
                "JOIN contato c ON c.id_contato = pa.id_contato "
                f"WHERE p.sta_protocolo = 'P' AND pa.sta_participacao = 'I' "
                f"AND c.sigla IN ({listed}) "
                "UNION SELECT p.id_protocolo FROM protocolo p "
                f"WHERE p.sta_protocolo = 'P' AND p.protocolo_formatado IN ({listed})"
            )
            found.update(int(r[0] or 0) for r in rows)
        return sorted(found)

    def processes(self) -> list[ProcessView]:
        ids = self.process_ids()
        return [view for batch in _batches([str(i) for i in ids]) for view in self._views(batch)]

    # --- one batch of processes ----------------------------------------------------------------

    def _views(self, ids: Sequence[str]) -> list[ProcessView]:
        listed = ", ".join(ids)
        heads = self.db.query(
            "SELECT p.id_protocolo, HEX(p.protocolo_formatado), pr.id_tipo_procedimento, "
            "HEX(t.nome), HEX(p.descricao), p.dta_geracao, p.sta_nivel_acesso_local, "
            "p.id_hipotese_legal, p.id_unidade_geradora FROM protocolo p "
            "JOIN procedimento pr ON pr.id_procedimento = p.id_protocolo "
            "LEFT JOIN tipo_procedimento t ON t.id_tipo_procedimento = pr.id_tipo_procedimento "
            f"WHERE p.id_protocolo IN ({listed}) ORDER BY p.id_protocolo"
        )
        assuntos: dict[str, list[str]] = {}
        for id_protocolo, codigo in self.db.query(
            "SELECT r.id_protocolo, HEX(a.codigo_estruturado) FROM rel_protocolo_assunto r "
            "JOIN assunto_proxy x ON x.id_assunto_proxy = r.id_assunto_proxy "
            "JOIN assunto a ON a.id_assunto = x.id_assunto "
            f"WHERE r.id_protocolo IN ({listed}) ORDER BY r.id_protocolo, r.sequencia"
        ):
            assuntos.setdefault(str(id_protocolo), []).append(_latin1(codigo) or "")
        interessados: dict[str, list[ContactView]] = {}
        for id_protocolo, id_contato, sigla, nome in self.db.query(
            "SELECT pa.id_protocolo, c.id_contato, HEX(c.sigla), HEX(c.nome) FROM participante pa "
            "JOIN contato c ON c.id_contato = pa.id_contato "
            f"WHERE pa.id_protocolo IN ({listed}) AND pa.sta_participacao = 'I' "
            "ORDER BY pa.id_protocolo, pa.sequencia"
        ):
            interessados.setdefault(str(id_protocolo), []).append(
                ContactView(
                    id_contato=str(id_contato),
                    sigla=_latin1(sigla),
                    nome=_latin1(nome) or "",
                )
            )
        abertas: dict[str, list[str]] = {}
        andamentos: dict[str, list[AndamentoView]] = {}
        atividades = self.db.query(
            "SELECT id_atividade, id_protocolo, id_unidade, id_tarefa, dth_abertura, "
            f"dth_conclusao FROM atividade WHERE id_protocolo IN ({listed}) "
            "ORDER BY id_protocolo, id_atividade"
        )
        for id_atividade, id_protocolo, id_unidade, id_tarefa, abertura, conclusao in atividades:
            key = str(id_protocolo)
            unidade = str(id_unidade)
            if conclusao is None and unidade not in abertas.setdefault(key, []):
                abertas[key].append(unidade)
            andamentos.setdefault(key, []).append(
                AndamentoView(
                    id_andamento=str(id_atividade),
                    id_tarefa=str(id_tarefa or ""),
                    descricao="",
                    data_hora=_data_hora(abertura),
                    id_unidade=unidade,
                    atributos=(),
                )
            )
        documents = self._documents(listed)
        views: list[ProcessView] = []
        for row in heads:
            id_p, formatado, id_tipo, tipo_nome, descricao, geracao, nivel, hipotese, geradora = row
            key = str(id_p)
            numero = _latin1(formatado) or ""
            views.append(
                ProcessView(
                    id_procedimento=key,
                    procedimento_formatado=numero,
                    numero_informado=None if _SEI_NUMBER.match(numero) else numero,
                    id_tipo_procedimento=str(id_tipo),
                    tipo_procedimento=_latin1(tipo_nome) or "",
                    especificacao=_latin1(descricao),
                    data_autuacao=_date(geracao),
                    nivel_acesso=int(nivel or 0),
                    id_hipotese_legal=hipotese,
                    assuntos=tuple(assuntos.get(key, [])),
                    interessados=tuple(interessados.get(key, [])),
                    id_unidade_geradora=str(geradora),
                    unidades_abertas=tuple(abertas.get(key, [])),
                    documents=tuple(documents.get(key, [])),
                    andamentos=tuple(andamentos.get(key, [])),
                )
            )
        return views

    def _documents(self, listed: str) -> dict[str, list[DocumentView]]:
        rows = self.db.query(
            "SELECT d.id_procedimento, d.id_documento, HEX(p.protocolo_formatado), "
            "p.sta_protocolo, d.id_serie, HEX(s.nome), HEX(p.descricao), p.dta_geracao, "
            "p.sta_nivel_acesso_local, p.id_hipotese_legal, HEX(d.numero), "
            "p.id_unidade_geradora FROM documento d "
            "JOIN protocolo p ON p.id_protocolo = d.id_documento "
            "LEFT JOIN serie s ON s.id_serie = d.id_serie "
            f"WHERE d.id_procedimento IN ({listed}) ORDER BY d.id_procedimento, d.id_documento"
        )
        generated = [str(r[1]) for r in rows if r[3] == "G"]
        content = self._main_sections(generated)
        by_process: dict[str, list[DocumentView]] = {}
        for row in rows:
            id_proc, id_doc, formatado, sta, id_serie, serie, descricao, geracao = row[:8]
            nivel, hipotese, numero, unidade = row[8:]
            body = content.get(str(id_doc), b"")
            by_process.setdefault(str(id_proc), []).append(
                DocumentView(
                    id_documento=str(id_doc),
                    documento_formatado=_latin1(formatado) or "",
                    tipo=str(sta),
                    id_serie=str(id_serie),
                    serie=_latin1(serie) or "",
                    descricao=_latin1(descricao),
                    data=_date(geracao),
                    nivel_acesso=int(nivel or 0),
                    id_hipotese_legal=hipotese,
                    numero=_latin1(numero),
                    nome_arquivo=None,
                    id_unidade=str(unidade),
                    size=len(body),
                    md5=hashlib.md5(body).hexdigest(),
                    sha256=hashlib.sha256(body).hexdigest(),
                    content=body,
                )
            )
        return by_process

    def _main_sections(self, id_documentos: Sequence[str]) -> dict[str, bytes]:
        """id_documento → the latest version of its main section (stored bytes)."""
        found: dict[str, bytes] = {}
        for batch in _batches(id_documentos):
            for id_documento, hexed in self.db.query(
                "SELECT s.id_documento, HEX(v.conteudo) FROM secao_documento s "
                "JOIN versao_secao_documento v ON v.id_secao_documento = s.id_secao_documento "
                f"WHERE s.sin_principal = 'S' AND s.id_documento IN ({', '.join(batch)}) "
                "AND v.versao = (SELECT MAX(v2.versao) FROM versao_secao_documento v2 "
                "WHERE v2.id_secao_documento = s.id_secao_documento)"
            ):
                found[str(id_documento)] = bytes.fromhex(hexed or "")
        return found
