"""SEI's faults, word for word, with their ``infra_tipo_excecao`` and the class the client gives
them: every fault of SEI-FACTS.md that a call of the client can meet."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import re
from collections.abc import Callable
from typing import Any

import pytest

from sei_bridge import errors
from sei_bridge.sei import types
from sei_bridge.sei.client import SeiClient
from sei_bridge.sei.html import FragmentBuilder
from tests.contract.builders import (
    PDF,
    Nil,
    abrir,
    fault_of,
    gerado,
    procedimento,
    raw_gerar,
    raw_incluir,
    recebido,
    unique,
)
from tests.contract.targets import SIGLA, Target

VALIDACAO = "INFRA_VALIDACAO"
ERRO = "INFRA_ERRO"

Call = Callable[[Target, SeiClient], object]


def _on_processo(then: Callable[[Target, SeiClient, str], object]) -> Call:
    def call(sei: Target, client: SeiClient) -> object:
        return then(sei, client, abrir(sei, client).procedimento_formatado)

    return call


def _lancar(
    sei: Target,
    client: SeiClient,
    p: str,
    tarefa: Any,
    atributos: tuple[tuple[str, str], ...] = (("DESCRICAO", "x"),),
    **extra: Any,
) -> object:
    soap = client.soap
    structs = [
        soap.struct("AtributoAndamento", {"Nome": n, "Valor": v, "IdOrigem": Nil})
        for n, v in atributos
    ]
    return soap.call(
        "lancarAndamento",
        {
            "IdUnidade": sei.ids.unidade,
            "ProtocoloProcedimento": p,
            "IdTarefa": tarefa,
            "Atributos": soap.array("ArrayOfAtributoAndamento", structs),
            **extra,
        },
    )


def _adicionar(sei: Target, client: SeiClient, **changes: Any) -> str:
    """adicionarArquivo of the suite's PDF, whole (``changes`` override parts)."""
    parts = {
        "IdUnidade": sei.ids.unidade,
        "Nome": "a.pdf",
        "Tamanho": str(len(PDF)),
        "Hash": hashlib.md5(PDF).hexdigest(),
        "Conteudo": base64.b64encode(PDF).decode(),
        **changes,
    }
    return str(client.soap.call("adicionarArquivo", parts))


def _adicionar_conteudo(sei: Target, client: SeiClient, id_arquivo: str, data: bytes) -> object:
    return client.soap.call(
        "adicionarConteudoArquivo",
        {
            "IdUnidade": sei.ids.unidade,
            "IdArquivo": id_arquivo,
            "Conteudo": base64.b64encode(data).decode(),
        },
    )


def _contatos(sei: Target, client: SeiClient, **changes: Any) -> object:
    parts = {"IdUnidade": sei.ids.unidade, "PaginaRegistros": "1", "PaginaAtual": "1"}
    return client.soap.call("listarContatos", {**parts, **changes})


#: (case, call, SEI's text — "{...}" filled from the target's ids —, infra_tipo_excecao, class)
CASES: list[tuple[str, Call, str, str, type[errors.SeiError]]] = [
    (
        "sistema inexistente",
        lambda sei, c: SeiClient(
            endpoint_url=sei.endpoint_url,
            sigla_sistema="NAO_EXISTE",
            identificacao_servico="ADAPTER_WS",
            wsdl=sei.wsdl_url,
        ).listar_unidades(),
        "Sistema [NAO_EXISTE] não encontrado.",
        ERRO,
        errors.SeiAccessDenied,
    ),
    (
        "servico inexistente",
        lambda sei, c: sei.client(identificacao_servico="SERVICO_QUE_NAO_EXISTE").listar_unidades(),
        f"Serviço [[secure]] do sistema [{SIGLA}] não encontrado.",  # the client redacts it
        ERRO,
        errors.SeiAccessDenied,
    ),
    (
        "unidade inexistente",
        lambda sei, c: c.gerar_procedimento(id_unidade="999999999", procedimento=procedimento(sei)),
        "Unidade [999999999] não encontrada.",
        ERRO,
        errors.SeiValidationFault,
    ),
    (
        "tipo de procedimento inexistente",
        lambda sei, c: abrir(sei, c, id_tipo_procedimento="999999"),
        "Tipo de procedimento [999999] não encontrado.",
        ERRO,
        errors.SeiValidationFault,
    ),
    (
        "assunto inexistente",
        lambda sei, c: abrir(sei, c, assuntos=("999.999",)),
        "Assunto [999.999] não encontrado.",
        ERRO,
        errors.SeiValidationFault,
    ),
    (
        "serie inexistente",
        _on_processo(
            lambda sei, c, p: c.incluir_documento(
                id_unidade=sei.ids.unidade, documento=gerado(sei, p, id_serie="999999")
            )
        ),
        "Tipo de documento [999999] não encontrado.",
        ERRO,
        errors.SeiValidationFault,
    ),
    (
        "processo inexistente (consultar)",
        lambda sei, c: c.consultar_procedimento(
            id_unidade=sei.ids.unidade, protocolo_procedimento="99999.999999/2099-99"
        ),
        "Processo [99999.999999/2099-99] não encontrado.",
        ERRO,
        errors.SeiValidationFault,
    ),
    (
        "processo inexistente (incluir)",
        lambda sei, c: c.incluir_documento(
            id_unidade=sei.ids.unidade, documento=gerado(sei, "99999.999999/2099-99")
        ),
        "Processo [99999.999999/2099-99] não encontrado.",
        ERRO,
        errors.SeiValidationFault,
    ),
    (
        "restrito sem hipotese legal",
        lambda sei, c: raw_gerar(sei, c, procedimento(sei, id_hipotese_legal=None)),
        "Hipótese Legal não informada.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "hipotese legal inexistente",
        lambda sei, c: raw_gerar(sei, c, procedimento(sei, id_hipotese_legal="99999")),
        "Hipótese Legal não encontrada.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "nivel de acesso invalido",
        lambda sei, c: raw_gerar(
            sei, c, procedimento(sei), procedimento_fields={"NivelAcesso": "7"}
        ),
        # SEI joins its validation messages with a literal backslash-n
        "Nível de acesso local inválido.\\n"
        "Nível de acesso não permitido para este tipo de processo.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "data em documento gerado",
        _on_processo(
            lambda sei, c, p: raw_incluir(sei, c, gerado(sei, p, data=dt.date(2026, 11, 22)))
        ),
        "Não é possível informar a data para um documento gerado.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "documento externo sem data",
        _on_processo(lambda sei, c, p: raw_incluir(sei, c, recebido(sei, p, data=None))),
        "Data do documento não informada.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "unidade sem acesso ao processo",
        _on_processo(
            lambda sei, c, p: c.incluir_documento(
                id_unidade=sei.ids.outra_unidade, documento=gerado(sei, p)
            )
        ),
        "Unidade {outra_sigla} não possui acesso ao processo {p}.",
        ERRO,
        errors.SeiValidationFault,
    ),
    (
        "extensao recusada",
        _on_processo(
            lambda sei, c, p: c.incluir_documento(
                id_unidade=sei.ids.unidade, documento=recebido(sei, p, nome_arquivo="virus.exe")
            )
        ),
        'Tipo do arquivo ".exe" não autorizado para inclusão via serviços.',
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "extensao png recusada na base de referencia",
        _on_processo(
            lambda sei, c, p: c.incluir_documento(
                id_unidade=sei.ids.unidade, documento=recebido(sei, p, nome_arquivo="foto.png")
            )
        ),
        'Tipo do arquivo ".png" não autorizado para inclusão via serviços.',
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "especificacao longa",
        lambda sei, c: raw_gerar(sei, c, procedimento(sei, especificacao="x" * 101)),
        "Especificação possui tamanho superior a 100 caracteres.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "observacao longa",
        lambda sei, c: raw_gerar(sei, c, procedimento(sei, observacao="x" * 1001)),
        "Observação possui tamanho superior a 1000 caracteres.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "descricao longa",
        _on_processo(lambda sei, c, p: raw_incluir(sei, c, gerado(sei, p, descricao="x" * 251))),
        "Descrição possui tamanho superior a 250 caracteres.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "nome de anexo fora do latin-1",
        _on_processo(
            lambda sei, c, p: raw_incluir(sei, c, recebido(sei, p, nome_arquivo="a – b 😀.pdf"))
        ),
        "Nome do anexo possui caracteres especiais.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "nome de anexo longo",
        _on_processo(
            lambda sei, c, p: raw_incluir(sei, c, recebido(sei, p, nome_arquivo="a" * 300 + ".pdf"))
        ),
        "Nome do anexo possui tamanho superior a 255 caracteres.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "anexo sem extensao",
        _on_processo(
            lambda sei, c, p: raw_incluir(sei, c, recebido(sei, p, nome_arquivo="semextensao"))
        ),
        "Nome do arquivo não possui extensão.\\nNome do arquivo não possui extensão.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "anexo php",
        _on_processo(lambda sei, c, p: raw_incluir(sei, c, recebido(sei, p, nome_arquivo="x.php"))),
        "Extensão do arquivo não permitida por restrição de segurança.\\n"
        'Tipo do arquivo ".php" não autorizado para inclusão via serviços.',
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "anexo acima do limite da extensao",
        _on_processo(
            lambda sei, c, p: c.incluir_documento(
                id_unidade=sei.ids.unidade,
                documento=recebido(sei, p, b"OggS" + bytes(1024 * 1024), nome_arquivo="a.ogg"),
            )
        ),
        "O tamanho máximo permitido para arquivos OGG é 1Mb.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "anexo sem conteudo",
        _on_processo(
            lambda sei, c, p: raw_incluir(sei, c, recebido(sei, p), fields={"Conteudo": Nil})
        ),
        "Anexo anexo.pdf vazio.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "anexo vazio",
        _on_processo(lambda sei, c, p: raw_incluir(sei, c, recebido(sei, p, content=b""))),
        "Anexo anexo.pdf vazio.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "sigla de interessado longa",
        lambda sei, c: raw_gerar(
            sei, c, procedimento(sei, interessados=(types.Interessado(sigla="S" * 101, nome="N"),))
        ),
        "Sigla possui tamanho superior a 100 caracteres.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "nome de interessado longo como armazenado",
        lambda sei, c: raw_gerar(
            sei,
            c,
            procedimento(
                sei,
                interessados=(types.Interessado(sigla=unique("S"), nome="n" * 242 + "😀"),),
            ),
        ),
        "Nome possui tamanho superior a 250 caracteres.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "especificacao longa como armazenada",
        lambda sei, c: raw_gerar(sei, c, procedimento(sei, especificacao="x" * 95 + "😀")),
        "Especificação possui tamanho superior a 100 caracteres.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "mais de cinco documentos",
        lambda sei, c: raw_gerar(
            sei, c, procedimento(sei), tuple(gerado(sei, None) for _ in range(6))
        ),
        "O número máximo de documentos para inclusão ao gerar um processo por web services é 5.",
        ERRO,
        errors.SeiValidationFault,
    ),
    (
        "numero em serie sem numeracao",
        _on_processo(
            lambda sei, c, p: raw_incluir(
                sei, c, gerado(sei, p, id_serie=sei.ids.serie_despacho, numero="12")
            )
        ),
        "Documento com número preenchido mas o tipo Despacho não tem numeração.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "interessado sem nome",
        lambda sei, c: raw_gerar(
            sei, c, procedimento(sei, interessados=(types.Interessado(sigla=unique("SEMNOME")),))
        ),
        "Nome do Interessado vazio ou nulo.",
        ERRO,
        errors.SeiValidationFault,
    ),
    (
        "andamentos sem criterio",
        _on_processo(
            lambda sei, c, p: c.soap.call(
                "listarAndamentos",
                {
                    "IdUnidade": sei.ids.unidade,
                    "ProtocoloProcedimento": p,
                    "SinRetornarAtributos": "N",
                },
            )
        ),
        "Nenhum critério informado para pesquisa de andamentos.",
        ERRO,
        errors.SeiValidationFault,
    ),
    (
        "script no conteudo",
        _on_processo(
            lambda sei, c, p: raw_incluir(
                sei, c, gerado(sei, p, b"<p>x</p><script>alert(1)</script>")
            )
        ),
        "Documento possui código de script oculto no conteúdo.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "script escapado em pagina inteira",
        _on_processo(
            lambda sei, c, p: raw_incluir(
                sei,
                c,
                gerado(
                    sei,
                    p,
                    b"<html><body><p>&lt;script&gt;alert(1)&lt;/script&gt;</p></body></html>",
                ),
            )
        ),
        "Documento possui conteúdo não permitido ({numero}).",
        ERRO,
        errors.SeiValidationFault,
    ),
    (
        "concluir processo ja concluido",
        _on_processo(
            lambda sei, c, p: [
                c.concluir_processo(id_unidade=sei.ids.unidade, protocolo_procedimento=p),
                c.concluir_processo(id_unidade=sei.ids.unidade, protocolo_procedimento=p),
            ]
        ),
        "Processo {p} não está aberto na unidade.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "reabrir processo aberto",
        _on_processo(
            lambda sei, c, p: c.reabrir_processo(
                id_unidade=sei.ids.unidade, protocolo_procedimento=p
            )
        ),
        "Processo já está aberto na unidade atual.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "documento sem processo",
        lambda sei, c: raw_incluir(sei, c, gerado(sei, None)),
        "Processo não informado.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "tipo de documento invalido",
        _on_processo(lambda sei, c, p: raw_incluir(sei, c, gerado(sei, p), fields={"Tipo": "X"})),
        "Tipo do protocolo [X] inválido.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "tipo de documento invalido com serie inexistente",  # the série is looked up first
        _on_processo(
            lambda sei, c, p: raw_incluir(
                sei, c, gerado(sei, p, id_serie="999999"), fields={"Tipo": "X"}
            )
        ),
        "Tipo de documento [999999] não encontrado.",
        ERRO,
        errors.SeiValidationFault,
    ),
    (
        "externo com Conteudo e ConteudoMTOM",
        _on_processo(
            lambda sei, c, p: raw_incluir(sei, c, recebido(sei, p), fields={"ConteudoMTOM": PDF})
        ),
        "Não é possível enviar documento externo utilizando os elementos Conteudo (Base64) e "
        "ConteudoMTOM (Binário) ao mesmo tempo.",
        ERRO,
        errors.SeiValidationFault,
    ),
    (
        "externo com conteudo sem nome de arquivo",
        _on_processo(lambda sei, c, p: raw_incluir(sei, c, recebido(sei, p, nome_arquivo=None))),
        "Nome do arquivo não informado para o conteúdo do documento externo.",
        ERRO,
        errors.SeiValidationFault,
    ),
    (
        "externo com IdArquivo sem nome de arquivo",
        _on_processo(
            lambda sei, c, p: raw_incluir(
                sei,
                c,
                recebido(sei, p, nome_arquivo=None),
                fields={"Conteudo": Nil, "IdArquivo": "999999"},
            )
        ),
        "Atributo [IdAnexo] não recebeu valor.",
        ERRO,
        errors.SeiValidationFault,
    ),
    (
        "gerado com nome de arquivo",
        _on_processo(
            lambda sei, c, p: raw_incluir(sei, c, gerado(sei, p), fields={"NomeArquivo": "a.pdf"})
        ),
        "Não é possível informar o nome do arquivo para documento gerado.",
        ERRO,
        errors.SeiValidationFault,
    ),
    (
        "gerado com ConteudoMTOM",
        _on_processo(
            lambda sei, c, p: raw_incluir(
                sei, c, gerado(sei, p), fields={"ConteudoMTOM": b"<p>x</p>"}
            )
        ),
        "Para documento gerado não é possível informar o elemento ConteudoMTOM. Utilizar os "
        "elementos Conteudo (Base64) ou ConteudoSecoes (Base64).",
        ERRO,
        errors.SeiValidationFault,
    ),
    (
        "data em documento gerado e descricao longa",  # lancarValidacao: alone
        _on_processo(
            lambda sei, c, p: raw_incluir(
                sei, c, gerado(sei, p, data=dt.date(2026, 11, 22), descricao="x" * 251)
            )
        ),
        "Não é possível informar a data para um documento gerado.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "numero de protocolo sem data de autuacao",
        lambda sei, c: raw_gerar(
            sei,
            c,
            procedimento(sei, especificacao="x" * 101),  # checked later, so not named
            procedimento_fields={"NumeroProtocolo": unique("SP156")},
        ),
        "Número do Protocolo somente deve ser informado em conjunto com a Data de Autuação.",
        ERRO,
        errors.SeiValidationFault,
    ),
    (
        "data de autuacao sem numero de protocolo",
        lambda sei, c: raw_gerar(
            sei, c, procedimento(sei), procedimento_fields={"DataAutuacao": "01/01/2020"}
        ),
        "Data de Autuação somente deve ser informada em conjunto com o Número do Protocolo.",
        ERRO,
        errors.SeiValidationFault,
    ),
    (
        "data de autuacao futura, especificacao e numero longos",
        lambda sei, c: raw_gerar(
            sei,
            c,
            procedimento(sei, especificacao="x" * 101, observacao="x" * 1001),
            procedimento_fields={"NumeroProtocolo": unique("N" * 40), "DataAutuacao": "01/01/2099"},
        ),
        # ProtocoloRN's collected checks; the observação is checked after them
        "Data do protocolo não pode estar no futuro.\\n"
        "Especificação possui tamanho superior a 100 caracteres.\\n"
        "Número do protocolo possui tamanho superior a 40 caracteres.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "especificacao e observacao longas",  # the observação is checked after the rest
        lambda sei, c: raw_gerar(
            sei, c, procedimento(sei, especificacao="x" * 101, observacao="x" * 1001)
        ),
        "Especificação possui tamanho superior a 100 caracteres.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "data de autuacao invalida sem hipotese legal",
        lambda sei, c: raw_gerar(
            sei,
            c,
            procedimento(sei, id_hipotese_legal=None),
            procedimento_fields={"NumeroProtocolo": unique("SP156"), "DataAutuacao": "31/02/2020"},
        ),
        "Data do protocolo inválida.\\nHipótese Legal não informada.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "enviar sem unidades de destino",
        _on_processo(
            lambda sei, c, p: c.soap.call(
                "enviarProcesso",
                {
                    "IdUnidade": sei.ids.unidade,
                    "ProtocoloProcedimento": p,
                    "UnidadesDestino": Nil,
                    "SinManterAbertoUnidade": "S",
                },
            )
        ),
        "Nenhuma unidade informada para envio.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "enviar sem unidades de destino um processo concluido",
        _on_processo(
            lambda sei, c, p: [
                c.concluir_processo(id_unidade=sei.ids.unidade, protocolo_procedimento=p),
                c.soap.call(
                    "enviarProcesso",
                    {
                        "IdUnidade": sei.ids.unidade,
                        "ProtocoloProcedimento": p,
                        "UnidadesDestino": Nil,
                        "SinManterAbertoUnidade": "S",
                    },
                ),
            ]
        ),
        "Nenhuma unidade informada para envio.\\n"
        "Processo [{p}] não está aberto na unidade [{sigla}].",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "arquivo sem nome",
        lambda sei, c: c.soap.call(
            "adicionarArquivo",
            {
                "IdUnidade": sei.ids.unidade,
                "Nome": Nil,
                "Tamanho": str(len(PDF)),
                "Hash": hashlib.md5(PDF).hexdigest(),
                "Conteudo": base64.b64encode(PDF).decode(),
            },
        ),
        "Nome do anexo não informado.\\nNome do arquivo não possui extensão.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "numero em serie sem numeracao e descricao longa",  # DocumentoRN: alone
        _on_processo(
            lambda sei, c, p: raw_incluir(
                sei,
                c,
                gerado(sei, p, id_serie=sei.ids.serie_despacho, numero="12", descricao="x" * 251),
            )
        ),
        "Documento com número preenchido mas o tipo Despacho não tem numeração.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "documento com nivel de acesso invalido e descricao longa",
        _on_processo(
            lambda sei, c, p: raw_incluir(
                sei, c, gerado(sei, p, descricao="x" * 251), fields={"NivelAcesso": "7"}
            )
        ),
        "Nível de acesso local inválido.\\n"
        "Nível de acesso não permitido para o tipo do processo {p}.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "documento externo com data invalida e descricao longa",
        _on_processo(
            lambda sei, c, p: raw_incluir(
                sei, c, recebido(sei, p, descricao="x" * 251), fields={"Data": "31/02/2026"}
            )
        ),
        "Data do protocolo inválida.\\nDescrição possui tamanho superior a 250 caracteres.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "documento externo com data futura",
        _on_processo(
            lambda sei, c, p: raw_incluir(sei, c, recebido(sei, p), fields={"Data": "01/01/2099"})
        ),
        "Data do protocolo não pode estar no futuro.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "documento com observacao e descricao longas",
        _on_processo(
            lambda sei, c, p: raw_incluir(
                sei, c, gerado(sei, p, descricao="x" * 251, observacao="x" * 1001)
            )
        ),
        "Descrição possui tamanho superior a 250 caracteres.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "interessado com IdContato inexistente e sem nome",
        lambda sei, c: raw_gerar(
            sei,
            c,
            procedimento(sei),
            procedimento_fields={
                "Interessados": c.soap.array(
                    "ArrayOfInteressado",
                    [c.soap.struct("Interessado", {"IdContato": "999999999"})],
                )
            },
        ),
        "Nome do Interessado vazio ou nulo.",
        ERRO,
        errors.SeiValidationFault,
    ),
    (
        "interessado vazio",
        lambda sei, c: raw_gerar(
            sei,
            c,
            procedimento(sei),
            procedimento_fields={
                "Interessados": c.soap.array(
                    "ArrayOfInteressado", [c.soap.struct("Interessado", {})]
                )
            },
        ),
        "Interessado vazio ou nulo.",
        ERRO,
        errors.SeiValidationFault,
    ),
    (
        "andamento com tarefa reservada",
        _on_processo(lambda sei, c, p: _lancar(sei, c, p, "2")),
        "Identificador de tarefa [2] reservado.",
        ERRO,
        errors.SeiValidationFault,
    ),
    (
        "andamento com tarefa invalida",
        _on_processo(lambda sei, c, p: _lancar(sei, c, p, "abc")),
        "Identificador de tarefa [abc] inválido.",
        ERRO,
        errors.SeiValidationFault,
    ),
    (
        "andamento sem tarefa",
        _on_processo(lambda sei, c, p: _lancar(sei, c, p, Nil)),
        "Nenhum identificador de tarefa informado.",
        ERRO,
        errors.SeiValidationFault,
    ),
    (
        "andamento com tarefa de modulo inexistente",
        _on_processo(lambda sei, c, p: _lancar(sei, c, p, Nil, IdTarefaModulo="NAO_EXISTE")),
        "Tarefa associada com o identificador [NAO_EXISTE] não encontrada.",
        ERRO,
        errors.SeiValidationFault,
    ),
    (
        "andamento com atributo sem nome",
        _on_processo(lambda sei, c, p: _lancar(sei, c, p, "65", (("", "x"),))),
        "Nome não informado.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "andamento com valor de atributo longo",
        _on_processo(lambda sei, c, p: _lancar(sei, c, p, "65", (("DESCRICAO", "v" * 501),))),
        "Valor possui tamanho superior a 500 caracteres.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "andamento com nome de atributo longo",  # the database's words, passed on
        _on_processo(lambda sei, c, p: _lancar(sei, c, p, "65", (("N" * 51, "x"),))),
        "Data too long for column 'nome' at row 1",
        ERRO,
        errors.SeiValidationFault,
    ),
    (
        "arquivo com tamanho nao numerico",
        lambda sei, c: _adicionar(sei, c, Tamanho="abc"),
        "O tamanho máximo geral permitido para documentos externos é 200Mb.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "arquivo vazio",
        lambda sei, c: _adicionar(sei, c, Conteudo=""),
        "Arquivo a.pdf vazio.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "arquivo completo com outro md5",
        lambda sei, c: _adicionar(sei, c, Hash="0" * 32),
        "Conteúdo do arquivo corrompido.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "conteudo para arquivo inexistente",
        lambda sei, c: _adicionar_conteudo(sei, c, "999999", b"abcd"),
        "Arquivo não encontrado na base de dados.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "conteudo que excede o tamanho do arquivo",
        lambda sei, c: _adicionar_conteudo(
            sei, c, _adicionar(sei, c, Tamanho=str(len(PDF) + 2)), b"abc"
        ),
        "Conteúdo do arquivo excede o tamanho definido.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "conteudo para arquivo ja completo",
        lambda sei, c: _adicionar_conteudo(sei, c, _adicionar(sei, c), b"abc"),
        "Arquivo já foi ativado.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    *(
        (
            f"contatos com PaginaRegistros {value}",
            lambda sei, c, value=value: _contatos(sei, c, PaginaRegistros=value),
            "O número de registros por página deve ser um valor entre 1 e 1000.",
            VALIDACAO,
            errors.SeiValidationFault,
        )
        for value in ("abc", "0", "1001")
    ),
    (
        "contatos com PaginaAtual 0",
        lambda sei, c: _contatos(sei, c, PaginaAtual="0"),
        "Identificador da página atual inválido.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
    (
        "upload por partes (SEI 4.1.0)",
        _on_processo(
            lambda sei, c, p: sei.client(chunked_upload=True).incluir_documento(
                id_unidade=sei.ids.unidade, documento=recebido(sei, p)
            )
        ),
        "Anexo anexo.pdf vazio.",
        VALIDACAO,
        errors.SeiValidationFault,
    ),
]


@pytest.mark.parametrize(("case", "call", "text", "kind", "cls"), CASES, ids=[c[0] for c in CASES])
def test_fault(
    sei: Target,
    case: str,
    call: Call,
    text: str,
    kind: str,
    cls: type[errors.SeiError],
) -> None:
    client = sei.client()
    protocolos: list[str] = []
    original = client.gerar_procedimento

    def remember(**kwargs: Any) -> types.ProcedimentoGerado:
        gerado_ = original(**kwargs)
        protocolos.append(gerado_.procedimento_formatado)
        return gerado_

    client.gerar_procedimento = remember  # type: ignore[method-assign]
    fault, got_kind, got_cls = fault_of(lambda: call(sei, client))
    outra = "TESTE_1_1"
    # SEI names the number it had given a refused documento: any 7 digits
    numero = re.search(r"\((\d{7})\)\.$", fault)
    expected = text.format(
        p=protocolos[-1] if protocolos else "",
        sigla=sei.ids.unidade_sigla,
        outra_sigla=outra,
        numero=numero.group(1) if numero else "",
    )
    assert (fault, got_kind) == (expected, kind)
    assert issubclass(got_cls, cls), got_cls


def test_the_client_refuses_before_sending_what_sei_would_refuse(sei: Target) -> None:
    client = sei.client()
    for proc in (
        procedimento(sei, especificacao="x" * 101),
        procedimento(sei, observacao="x" * 1001),
        procedimento(sei, id_hipotese_legal=None),
    ):
        with pytest.raises(errors.SeiRequestInvalid):
            client.gerar_procedimento(id_unidade=sei.ids.unidade, procedimento=proc)
    with pytest.raises(errors.SeiRequestInvalid):
        client.gerar_procedimento(
            id_unidade=sei.ids.unidade,
            procedimento=procedimento(sei),
            documentos=[gerado(sei, None) for _ in range(6)],
        )
    limit = procedimento(sei, especificacao="ç" * 100, observacao="x" * 1000)
    assert client.gerar_procedimento(id_unidade=sei.ids.unidade, procedimento=limit)
    html = FragmentBuilder("x").render()
    doc = dataclasses.replace(gerado(sei, None, html), descricao="x" * 251)
    with pytest.raises(errors.SeiRequestInvalid):
        client.incluir_documento(id_unidade=sei.ids.unidade, documento=doc)
