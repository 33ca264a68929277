"""Raw SIGRC JSON, as the feed serves it, for the unit tests of the client half.

Every registered request carries a citizen (name, CPF, address) and free text, so that tests can
check none of it reaches an error message.
"""

from __future__ import annotations

import copy
import hashlib
import uuid
from typing import Any

CPF = "39053344705"
NOME = "Maria Aparecida da Silva"
TEXTO = "Meu vizinho Sr. João, CPF 12345678909, mora na Rua X"
BASE = "http://127.0.0.1:8156/sigrc"
TOKEN = "s3cr3t-token-value"


def anexo(n: int = 1, content: bytes = b"%PDF-1.4 conteudo") -> dict[str, Any]:
    return {
        "id_anexo": f"an-{n}",
        "nome_arquivo": f"{NOME}-{n}.pdf",
        "tipo_conteudo": "application/pdf",
        "tamanho_bytes": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
    }


def solicitacao(protocolo: str = "2026-00000001", **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "protocolo": protocolo,
        "servico": {"codigo": "3222", "nome": "IPTU - Revisão do valor venal"},
        "tema": "Tributos e finanças",
        "assunto": "IPTU",
        "canal": "PORTAL",
        "orgao": {"sigla": "SF", "nome": "Secretaria Municipal da Fazenda"},
        "unidade": {"codigo": "SF-DIVCAD", "nome": "Divisão de Cadastro"},
        "anonima": False,
        "municipe": {"nome": NOME, "cpf": CPF, "cnpj": None, "email": "m@example.org"},
        "endereco": {"logradouro": "Rua das Laranjeiras", "numero": "10", "latitude": -23.5},
        "descricao": TEXTO,
        "anexos": [anexo(1)],
        "aberta_em": "2026-11-20T14:03:11-03:00",
        "prazo_em": None,
        "situacao": "ABERTA",
        "encerramento": None,
        "processo_sei": None,
    }
    data.update(changes)
    return data


def interacao(n: int = 1, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id_interacao": f"int-{n}",
        "autor": "MUNICIPE",
        "tipo": "COMPLEMENTO",
        "texto": TEXTO,
        "anexos": [],
        "ocorrida_em": "2026-11-21T09:00:00Z",
        "canal": "PORTAL",
    }
    data.update(changes)
    return data


def encerramento(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "resultado": "ATENDIDA",
        "texto": TEXTO,
        "encerrada_em": "2026-11-25T10:00:00-03:00",
        "quantidade_interacoes": 1,
        "responsavel": {"nome": "Fulano Servidor", "unidade": "SF-DIVCAD"},
    }
    data.update(changes)
    return data


_PAYLOADS = {
    "solicitacao.registrada": "solicitacao",
    "solicitacao.interacao": "interacao",
    "solicitacao.finalizada": "encerramento",
    "solicitacao.reaberta": "reabertura",
}


def evento(
    sequencia: int,
    tipo: str = "solicitacao.registrada",
    *,
    protocolo: str = "2026-00000001",
    id_evento: str | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """A valid event of ``tipo`` (any other tipo gets no payload)."""
    data: dict[str, Any] = {
        "id_evento": id_evento or str(uuid.uuid5(uuid.NAMESPACE_URL, f"ev-{sequencia}")),
        "sequencia": sequencia,
        "tipo": tipo,
        "ocorrido_em": "2026-11-20T14:03:11-03:00",
        "protocolo": protocolo,
    }
    payload = _PAYLOADS.get(tipo)
    if payload == "solicitacao":
        data[payload] = solicitacao(protocolo)
    elif payload == "interacao":
        data[payload] = interacao(sequencia)
    elif payload == "encerramento":
        data[payload] = encerramento()
    elif payload == "reabertura":
        data[payload] = {"motivo": TEXTO, "reaberta_em": "2026-11-26T10:00:00Z"}
    data.update(changes)
    return data


def edited(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``data`` with ``path`` (``a.b.0.c``) set to ``value`` (DELETE: removed)."""
    result = copy.deepcopy(data)
    *parents, last = path.split(".")
    node: Any = result
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is DELETE:
        del node[int(last) if isinstance(node, list) else last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return result


DELETE: Any = object()
