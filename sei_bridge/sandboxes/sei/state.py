"""The sandbox's database: the records of :mod:`~sei_bridge.sandboxes.sei.model` behind one lock,
an optional journal file, and the read-only views tests inspect.

Every operation runs inside :meth:`SandboxState.transaction` (the lock, held only while the
operation validates and writes; parsing and rendering happen outside it). Each record written
in a transaction is also appended to the journal as one JSON line when the transaction ends,
so a sandbox restarted on the same ``--state`` file keeps its processos, documentos, contatos,
andamentos and uploads. Without a file the state lives in memory only (the tests' default).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from sei_bridge import errors
from sei_bridge.sandboxes.sei import views
from sei_bridge.sandboxes.sei.catalog import Catalog
from sei_bridge.sandboxes.sei.model import (
    Andamento,
    Contato,
    Documento,
    Processo,
    Upload,
    normalize_protocolo,
)

__all__ = ["FIRST_CONTACT_ID", "SandboxState"]

log = logging.getLogger(__name__)

#: Ids of contacts the sandbox creates start here (SEI's contact ids are 9 digits).
FIRST_CONTACT_ID = 100000001


class SandboxState:
    """Everything the sandbox's SEI holds. Thread-safe; see the module doc."""

    def __init__(
        self,
        catalog: Catalog,
        *,
        path: str | Path | None = None,
        keep_content: bool = True,
        first_contact_id: int = FIRST_CONTACT_ID,
    ) -> None:
        self.catalog = catalog
        self.keep_content = keep_content
        self.lock = threading.RLock()
        self.processos: dict[int, Processo] = {}
        self.documentos: dict[int, Documento] = {}
        self.andamentos: dict[int, Andamento] = {}
        self.contatos: dict[int, Contato] = {}
        self.uploads: dict[int, Upload] = {}
        self._by_protocolo: dict[str, int] = {}
        self._contacts_by_sigla: dict[str, list[int]] = {}
        self._contacts_by_nome: dict[str, list[int]] = {}
        self._contacts_by_document: dict[str, list[int]] = {}
        self._next_protocolo = 1  # processos and documentos share SEI's protocolo ids
        self._next_andamento = 1
        self._next_contato = first_contact_id
        self._next_upload = 1
        self._numeros: dict[int, int] = {}
        self._pending: list[str] = []
        self._counter_lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._soap_faults: Counter[str] = Counter()
        self.path = Path(path) if path is not None else None
        self._journal: IO[str] | None = None
        if self.path is not None:
            self._load(self.path)
            try:
                self._journal = self.path.open("a", encoding="utf-8")
            except OSError as exc:
                raise errors.ConfigurationError(
                    f"cannot write the SEI sandbox state file {self.path} ({exc.strerror}): "
                    "choose another --state path"
                ) from exc

    # --- transactions and the journal ----------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[SandboxState]:
        """Hold the lock for one operation; journal what it wrote when it ends."""
        with self.lock:
            try:
                yield self
            finally:
                if self._pending:
                    if self._journal is not None:
                        self._journal.write("".join(self._pending))
                        self._journal.flush()
                    self._pending.clear()

    def _record(self, kind: str, record: Any) -> None:
        """Journal ``record`` (an object with ``to_json()``, or a dict) at the end of the
        transaction; nothing is serialised when the state lives in memory only."""
        if self._journal is not None:
            data = record if isinstance(record, dict) else record.to_json()
            self._pending.append(json.dumps({"t": kind, "v": data}, ensure_ascii=False) + "\n")

    def _load(self, path: Path) -> None:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise errors.ConfigurationError(
                f"cannot read the SEI sandbox state file {path} ({exc.strerror}): "
                "fix its permissions or choose another --state path"
            ) from exc
        lines = raw.split(b"\n")
        good = 0  # bytes of whole, applied lines
        for number, line in enumerate(lines, 1):
            if not line:
                good += 1 if number < len(lines) else 0
                continue
            try:
                entry = json.loads(line)
                self._apply(entry["t"], entry["v"])
            except (ValueError, KeyError, TypeError) as exc:
                if number == len(lines):  # a write cut short by a kill: drop it
                    log.warning("SEI sandbox state %s: dropping a truncated last line", path)
                    break
                raise errors.ConfigurationError(
                    f"SEI sandbox state file {path} is damaged at line {number}: "
                    "remove the file to start empty"
                ) from exc
            good += len(line) + (1 if number < len(lines) else 0)
        if good != len(raw) or (raw and not raw.endswith(b"\n")):
            # Appending must start on a line of its own.
            with path.open("r+b") as fh:
                fh.truncate(good)
                if good and not raw[:good].endswith(b"\n"):
                    fh.seek(good)
                    fh.write(b"\n")

    def _apply(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "chunk":
            self.uploads[int(data["id"])].data.extend(base64.b64decode(data["data"]))
            return
        if kind == "drop_upload":
            self.uploads.pop(int(data["id"]), None)
            return
        if kind == "processo":
            self._put_processo(Processo.from_json(data))
        elif kind == "documento":
            self._put_documento(Documento.from_json(data))
        elif kind == "andamento":
            self._put_andamento(Andamento.from_json(data))
        elif kind == "contato":
            self._put_contato(Contato.from_json(data))
        elif kind == "upload":
            self._put_upload(Upload.from_json(data))
        else:
            raise KeyError(kind)

    # --- writes (inside a transaction) ---------------------------------------------------------

    def new_protocolo_id(self) -> int:
        value = self._next_protocolo
        self._next_protocolo += 1
        return value

    def peek_numero(self, year: int) -> int:
        """The number :meth:`new_numero` would give next (nothing used up)."""
        return self._numeros.get(year, 0) + 1

    def new_numero(self, year: int) -> int:
        """The next number of SEI's per-year processo sequence."""
        value = self._numeros.get(year, 0) + 1
        self._numeros[year] = value
        return value

    def new_andamento_id(self) -> int:
        value = self._next_andamento
        self._next_andamento += 1
        return value

    def new_contato_id(self) -> int:
        value = self._next_contato
        self._next_contato += 1
        return value

    def new_upload_id(self) -> int:
        value = self._next_upload
        self._next_upload += 1
        return value

    def _put_processo(self, processo: Processo) -> None:
        self.processos[processo.id_procedimento] = processo
        self._next_protocolo = max(self._next_protocolo, processo.id_procedimento + 1)
        if processo.sequencial is not None:
            year, n = processo.sequencial
            self._numeros[year] = max(self._numeros.get(year, 0), n)
        # The first processo with a number keeps it: a later one sent with a taken number got
        # a generated one (seen on SEI 4.1.0), so the index is never overwritten.
        self._by_protocolo.setdefault(
            normalize_protocolo(processo.procedimento_formatado), processo.id_procedimento
        )

    def save_processo(self, processo: Processo) -> None:
        self._put_processo(processo)
        self._record("processo", processo)

    def _put_documento(self, documento: Documento) -> None:
        self.documentos[documento.id_documento] = documento
        self._next_protocolo = max(self._next_protocolo, documento.id_documento + 1)

    def save_documento(self, documento: Documento) -> None:
        self._put_documento(documento)
        self._record("documento", documento)

    def _put_andamento(self, andamento: Andamento) -> None:
        self.andamentos[andamento.id_andamento] = andamento
        self._next_andamento = max(self._next_andamento, andamento.id_andamento + 1)

    def save_andamento(self, andamento: Andamento) -> None:
        self._put_andamento(andamento)
        self._record("andamento", andamento)

    def _put_contato(self, contato: Contato) -> None:
        self.contatos[contato.id_contato] = contato
        self._next_contato = max(self._next_contato, contato.id_contato + 1)
        if contato.sigla:
            self._contacts_by_sigla.setdefault(contato.sigla.lower(), []).append(contato.id_contato)
        self._contacts_by_nome.setdefault(contato.nome.lower(), []).append(contato.id_contato)
        for key in (
            f"cpf:{contato.cpf}" if contato.cpf else None,
            f"cnpj:{contato.cnpj}" if contato.cnpj else None,
        ):
            if key is not None:
                self._contacts_by_document.setdefault(key, []).append(contato.id_contato)

    def save_contato(self, contato: Contato) -> None:
        self._put_contato(contato)
        self._record("contato", contato)

    def _put_upload(self, upload: Upload) -> None:
        self.uploads[upload.id_arquivo] = upload
        self._next_upload = max(self._next_upload, upload.id_arquivo + 1)

    def save_upload(self, upload: Upload) -> None:
        self._put_upload(upload)
        self._record("upload", upload)

    def append_upload(self, upload: Upload, chunk: bytes) -> None:
        upload.data.extend(chunk)
        encoded = base64.b64encode(chunk).decode("ascii")
        self._record("chunk", {"id": upload.id_arquivo, "data": encoded})

    def drop_upload(self, upload: Upload) -> None:
        self.uploads.pop(upload.id_arquivo, None)
        self._record("drop_upload", {"id": upload.id_arquivo})

    # --- reads (inside a transaction) ----------------------------------------------------------

    def find_processo(self, protocolo: str | None) -> Processo | None:
        """A processo by its number (formatted or caller-chosen), punctuation/case ignored."""
        if not protocolo:
            return None
        found = self._by_protocolo.get(normalize_protocolo(protocolo))
        return self.processos.get(found) if found is not None else None

    def find_documento(self, protocolo: str | None) -> Documento | None:
        """A documento by its formatted number (``0000002``) or id."""
        digits = normalize_protocolo(protocolo or "")
        if not digits.isdigit():
            return None
        documento = self.documentos.get(int(digits))
        return None if documento is None or documento.excluido else documento

    def contacts_by_sigla(self, sigla: str) -> list[Contato]:
        return [self.contatos[i] for i in self._contacts_by_sigla.get(sigla.lower(), ())]

    def contacts_by_document(self, key: str) -> list[Contato]:
        """Contacts by ``cpf:<digits>`` or ``cnpj:<digits>``."""
        return [self.contatos[i] for i in self._contacts_by_document.get(key, ())]

    def contacts_by_nome(self, nome: str) -> list[Contato]:
        return [self.contatos[i] for i in self._contacts_by_nome.get(nome.lower(), ())]

    # --- counters ------------------------------------------------------------------------------

    def count_call(self, operation: str) -> None:
        with self._counter_lock:
            self._calls[operation] += 1

    def count_fault(self, kind: str) -> None:
        with self._counter_lock:
            self._faults[kind] += 1

    def count_soap_fault(self, operation: str) -> None:
        with self._counter_lock:
            self._soap_faults[operation] += 1

    def counters(self) -> views.Counters:
        """Calls per operation, faults injected per kind, SOAP faults answered per operation."""
        with self._counter_lock:
            return views.Counters(
                calls=dict(self._calls),
                faults=dict(self._faults),
                soap_faults=dict(self._soap_faults),
            )

    # --- inspection ----------------------------------------------------------------------------

    def processes(self) -> list[views.ProcessView]:
        """Every processo in creation order, with its documentos in order."""
        with self.lock:
            return [
                views.process_view(self, p)
                for p in sorted(self.processos.values(), key=lambda p: p.id_procedimento)
            ]

    def process(self, protocolo: str) -> views.ProcessView | None:
        """One processo by number (formatted or caller-chosen); None when absent."""
        with self.lock:
            found = self.find_processo(protocolo)
            return views.process_view(self, found) if found is not None else None

    def contacts(self) -> list[views.ContactView]:
        """Every contact in creation order."""
        with self.lock:
            return [
                views.contact_view(c)
                for c in sorted(self.contatos.values(), key=lambda c: c.id_contato)
            ]

    def andamentos_of(self, protocolo: str) -> list[views.AndamentoView]:
        """The history of a processo, oldest first (empty when it does not exist)."""
        with self.lock:
            found = self.find_processo(protocolo)
            if found is None:
                return []
            return [views.andamento_view(self, self.andamentos[i]) for i in found.andamentos]

    def summary(self) -> str:
        """One line: how many processos, documentos, contatos; calls and faults injected."""
        with self.lock:
            documentos = sum(1 for d in self.documentos.values() if not d.excluido)
            text = (
                f"{len(self.processos)} processos, {documentos} documentos, "
                f"{len(self.contatos)} contatos"
            )
        counters = self.counters()
        # Added latency slows a call down but does not fail it: not counted as a fault here.
        failed = sum(n for kind, n in counters.faults.items() if kind != "latency")
        return f"{text}; {sum(counters.calls.values())} calls, {failed} faults injected"

    def close(self) -> None:
        """Close the journal (idempotent)."""
        with self.lock:
            if self._journal is not None:
                self._journal.close()
                self._journal = None
