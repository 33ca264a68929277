"""What Fazenda traffic is made of: services, citizens, São Paulo addresses, texts.

Everything here is fictitious but plausible: the CPF and CNPJ numbers have valid check digits
(so validators accept them) and belong to nobody on purpose only by chance; the names are common
Brazilian names; the addresses are real streets of São Paulo with made-up numbers.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "FAZENDA_SERVICES",
    "ORGAO_NOME",
    "ORGAO_SIGLA",
    "UNMAPPED_SERVICE",
    "FazendaService",
    "SpAddress",
    "cnpj_check_digits",
    "cnpj_is_valid",
    "cpf_check_digits",
    "cpf_is_valid",
    "random_cnpj",
    "random_cpf",
]

ORGAO_SIGLA = "SF"
ORGAO_NOME = "Secretaria Municipal da Fazenda"


@dataclass(frozen=True, slots=True)
class FazendaService:
    """A SIGRC service of the Fazenda that opens an electronic process."""

    codigo: str
    nome: str
    assunto: str
    unidade_codigo: str  #: the SIGRC work box requests of this service are routed to
    unidade_nome: str
    weight: int  #: relative frequency in generated traffic
    descricoes: tuple[str, ...]  #: citizen texts; {doc}, {ano}, {valor}, {numero} are filled in
    anexos: tuple[str, ...]  #: typical file names (the extension picks PDF or PNG)
    tema: str = "Tributos e finanças"


_IPTU_UNIT = ("SF-DIVCAD", "Divisão de Cadastro Imobiliário - IPTU")
_ISS_UNIT = ("SF-DEMAP", "Departamento de Tributos Mobiliários - ISS")
_CERT_UNIT = ("SF-DICERT", "Divisão de Certidões")
_NFE_UNIT = ("SF-DINFE", "Divisão da Nota Fiscal Paulistana")
_REST_UNIT = ("SF-DIREST", "Divisão de Restituições")

_SERVICES = (
    FazendaService(
        "3222",
        "IPTU - Revisão do valor venal",
        "IPTU",
        *_IPTU_UNIT,
        30,
        (
            "Solicito revisão do valor venal do imóvel SQL {doc}. O valor lançado para {ano} "
            "está acima do valor de mercado; a área construída no cadastro não confere com a "
            "real.",
            "O carnê do IPTU {ano} do imóvel {doc} veio com área de terreno maior do que a da "
            "escritura. Peço a revisão do lançamento e do valor venal.",
            "Meu imóvel (SQL {doc}) teve aumento de {valor} no IPTU {ano} sem reforma nenhuma. "
            "Quero a revisão do valor venal.",
        ),
        ("carne-iptu.pdf", "escritura.pdf", "foto-fachada.png", "planta-imovel.pdf"),
    ),
    FazendaService(
        "3225",
        "IPTU - Isenção para aposentados e pensionistas",
        "IPTU",
        *_IPTU_UNIT,
        12,
        (
            "Sou aposentado(a), moro no imóvel SQL {doc} e tenho renda de até três salários "
            "mínimos. Solicito a isenção do IPTU {ano}.",
            "Pedido de isenção de IPTU {ano} para pensionista, imóvel {doc}. Anexei o extrato "
            "do benefício.",
        ),
        ("extrato-beneficio.pdf", "documento-identidade.png", "conta-de-luz.pdf"),
    ),
    FazendaService(
        "4015",
        "ISS - Cancelamento de inscrição no CCM",
        "ISS",
        *_ISS_UNIT,
        10,
        (
            "Encerrei as atividades da empresa em {ano} e preciso cancelar a inscrição no CCM "
            "{doc}. Já dei baixa na Junta Comercial.",
            "Solicito o cancelamento retroativo do CCM {doc}: nunca prestei serviços no município.",
        ),
        ("distrato-social.pdf", "certidao-baixa-jucesp.pdf"),
    ),
    FazendaService(
        "4020",
        "ISS - Revisão de lançamento de ofício",
        "ISS",
        *_ISS_UNIT,
        8,
        (
            "Recebi auto de infração de ISS referente a {ano} no valor de {valor}, CCM {doc}. "
            "Os serviços foram prestados fora do município; peço a revisão.",
        ),
        ("auto-de-infracao.pdf", "contrato-prestacao.pdf", "notas-fiscais.pdf"),
    ),
    FazendaService(
        "5030",
        "Certidão Negativa de Débitos Tributários - Revisão",
        "Certidões",
        *_CERT_UNIT,
        12,
        (
            "A certidão de débitos do CPF/CNPJ {doc} saiu positiva por um débito de {ano} que "
            "já foi pago. Solicito a revisão para emitir a Certidão Negativa.",
            "Preciso da Certidão Negativa de Débitos Tributários para uma licitação, mas consta "
            "pendência de {valor} já quitada. Segue o comprovante.",
        ),
        ("comprovante-pagamento.pdf", "certidao-positiva.pdf"),
    ),
    FazendaService(
        "6010",
        "Nota Fiscal Paulistana - Cancelamento de NFS-e fora do prazo",
        "NFS-e",
        *_NFE_UNIT,
        10,
        (
            "Emiti por engano a NFS-e nº {numero} em {ano} com o tomador errado e o prazo de "
            "cancelamento já passou. Peço o cancelamento.",
            "A nota fiscal eletrônica {numero} foi emitida em duplicidade. Solicito o "
            "cancelamento fora do prazo.",
        ),
        ("nfse.pdf", "declaracao-tomador.pdf", "print-tela.png"),
    ),
    FazendaService(
        "6020",
        "Nota Fiscal Paulistana - Créditos não recebidos",
        "NFS-e",
        *_NFE_UNIT,
        8,
        (
            "Os créditos da Nota Fiscal Paulistana das notas de {ano} não apareceram na minha "
            "conta (CPF {doc}). São {valor} que deveriam ter sido liberados.",
        ),
        ("print-extrato-creditos.png", "cupons.pdf"),
    ),
    FazendaService(
        "7001",
        "Restituição de tributos pagos indevidamente",
        "Restituição",
        *_REST_UNIT,
        10,
        (
            "Paguei duas vezes a parcela de {ano} do tributo (valor {valor}). Solicito a "
            "restituição na conta informada.",
            "Solicito a restituição de {valor} pagos a maior de taxa do imóvel {doc}.",
        ),
        ("comprovante-pagamento.pdf", "dados-bancarios.pdf", "guia.png"),
    ),
)

#: Fazenda services by ``servico.codigo``: what a mapping file is expected to cover.
FAZENDA_SERVICES: Mapping[str, FazendaService] = {s.codigo: s for s in _SERVICES}

#: A service no mapping covers: its requests must be quarantined with that reason.
UNMAPPED_SERVICE = FazendaService(
    "9999",
    "Serviço não mapeado (teste)",
    "Outros",
    "SF-ATEND",
    "Atendimento Geral da Fazenda",
    0,
    ("Solicitação de um serviço que nenhum mapeamento cobre ({ano}).",),
    ("documento.pdf",),
)


@dataclass(frozen=True, slots=True)
class SpAddress:
    logradouro: str
    bairro: str
    distrito: str
    subprefeitura: str
    cep: str
    latitude: float
    longitude: float


ADDRESSES = (
    SpAddress("Avenida Paulista", "Bela Vista", "Bela Vista", "Sé", "01310100", -23.5614, -46.6559),
    SpAddress("Rua Augusta", "Consolação", "Consolação", "Sé", "01305000", -23.5533, -46.6546),
    SpAddress("Rua Vergueiro", "Liberdade", "Liberdade", "Sé", "01504001", -23.5686, -46.6396),
    SpAddress("Avenida São João", "Centro", "República", "Sé", "01035000", -23.5431, -46.6376),
    SpAddress(
        "Rua Voluntários da Pátria",
        "Santana",
        "Santana",
        "Santana/Tucuruvi",
        "02011000",
        -23.5036,
        -46.6249,
    ),
    SpAddress(
        "Avenida Sapopemba",
        "Jardim Sapopemba",
        "Sapopemba",
        "Vila Prudente",
        "03345000",
        -23.6012,
        -46.5113,
    ),
    SpAddress(
        "Estrada do M'Boi Mirim",
        "Jardim Ângela",
        "Jardim Ângela",
        "M'Boi Mirim",
        "04905021",
        -23.6847,
        -46.7705,
    ),
    SpAddress(
        "Rua Teodoro Sampaio", "Pinheiros", "Pinheiros", "Pinheiros", "05405000", -23.5615, -46.6800
    ),
    SpAddress("Rua da Mooca", "Mooca", "Mooca", "Mooca", "03104001", -23.5566, -46.5993),
    SpAddress(
        "Avenida Celso Garcia", "Belenzinho", "Belém", "Mooca", "03015000", -23.5411, -46.6033
    ),
    SpAddress(
        "Rua Domingos de Morais",
        "Vila Mariana",
        "Vila Mariana",
        "Vila Mariana",
        "04010100",
        -23.5890,
        -46.6358,
    ),
    SpAddress(
        "Avenida Jabaquara", "Saúde", "Saúde", "Vila Mariana", "04046100", -23.6155, -46.6384
    ),
    SpAddress("Rua Tuiuti", "Tatuapé", "Tatuapé", "Mooca", "03081000", -23.5401, -46.5762),
    SpAddress(
        "Avenida Marechal Tito",
        "São Miguel Paulista",
        "São Miguel",
        "São Miguel",
        "08010090",
        -23.4985,
        -46.4447,
    ),
    SpAddress(
        "Avenida Itaquera", "Vila Carmosina", "Itaquera", "Itaquera", "08295000", -23.5413, -46.4564
    ),
    SpAddress(
        "Avenida Giovanni Gronchi",
        "Vila Andrade",
        "Vila Andrade",
        "Campo Limpo",
        "05724002",
        -23.6274,
        -46.7361,
    ),
    SpAddress(
        "Rua Conselheiro Moreira de Barros",
        "Santana",
        "Santana",
        "Santana/Tucuruvi",
        "02018011",
        -23.4893,
        -46.6253,
    ),
    SpAddress(
        "Avenida Nordestina",
        "Vila Chabilândia",
        "Guaianases",
        "Guaianases",
        "08430000",
        -23.5416,
        -46.4120,
    ),
    SpAddress(
        "Rua Ibitirama",
        "Vila Prudente",
        "Vila Prudente",
        "Vila Prudente",
        "03134000",
        -23.5857,
        -46.5806,
    ),
    SpAddress(
        "Avenida Interlagos",
        "Interlagos",
        "Socorro",
        "Capela do Socorro",
        "04661100",
        -23.6876,
        -46.6847,
    ),
    SpAddress(
        "Rua Pamplona",
        "Jardim Paulista",
        "Jardim Paulista",
        "Pinheiros",
        "01405000",
        -23.5666,
        -46.6570,
    ),
    SpAddress(
        "Avenida Deputado Emílio Carlos",
        "Limão",
        "Limão",
        "Casa Verde/Cachoeirinha",
        "02720000",
        -23.4936,
        -46.6688,
    ),
)

FIRST_NAMES = (
    "Maria",
    "José",
    "João",
    "Ana",
    "Antônio",
    "Francisca",
    "Luíza",
    "Sebastião",
    "Conceição",
    "Márcia",
    "Flávio",
    "Cecília",
    "Inês",
    "Vinícius",
    "Lúcia",
    "Fábio",
    "Tânia",
    "Célio",
    "Benedita",
    "Raimundo",
    "Aparecida",
    "Joaquim",
    "Vitória",
    "Heloísa",
    "Otávio",
    "Débora",
    "Rogério",
    "Jéssica",
    "Andrés",
    "Naomi",
    "Yuki",
    "Olga",
)
SURNAMES = (
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Araújo",
    "Gonçalves",
    "Conceição",
    "Magalhães",
    "Simões",
    "Brandão",
    "Patrício",
    "Assunção",
    "Ribeiro",
    "Pereira",
    "Nóbrega",
    "Guimarães",
    "Sá",
    "Damásio",
    "Fonseca",
    "Nakamura",
    "Yamamoto",
    "Kowalski",
    "D'Ávila",
    "Lopes",
    "Falcão",
    "Conrado",
    "Brás",
    "Antunes",
)
COMPANIES = (
    "Padaria São Jorge Ltda",
    "Comércio de Tecidos Brás Ltda",
    "Oficina Mecânica Irmãos Gonçalves ME",
    "Ateliê Conceição Costura e Reparos ME",
    "Contabilidade Araújo & Filhos S/S",
    "Restaurante Sabor da Mooca Eireli",
    "Clínica Odontológica Sorriso Paulista Ltda",
    "Escritório de Advocacia Magalhães e Simões",
    "Mercadinho Vila Prudente Ltda",
)
SERVIDORES = (
    "Rita de Cássia Moura",
    "Paulo Sérgio Bastos",
    "Luciana Guimarães",
    "Edson Takahashi",
    "Cláudia Regina Prado",
    "Marcos Antônio Leme",
)

OPENINGS = ("Boa tarde.", "Bom dia.", "Prezados,", "Olá,", "Senhores,", "")
MUNICIPE_COMPLEMENTOS = (
    "Segue em anexo o documento solicitado.",
    "Anexei a matrícula atualizada do imóvel e o comprovante de residência.",
    "Envio os comprovantes de pagamento do período.",
    "Não tenho o documento pedido; posso enviar a declaração de próprio punho?",
)
MUNICIPE_MANIFESTACOES = (
    "Já se passaram 30 dias e não tive resposta. Qual a situação do pedido?",
    "Gostaria de saber o andamento da minha solicitação.",
    "Discordo da resposta e peço que reavaliem com os documentos que enviei.",
)
ORGAO_PEDIDOS = (
    "Prezado(a) munícipe, para prosseguir com a análise, anexe cópia da matrícula do imóvel "
    "atualizada (até 30 dias).",
    "Solicitamos o envio do comprovante de pagamento e do documento de identidade do requerente.",
    "Falta a procuração assinada pelo titular. Envie-a em até 15 dias, sob pena de arquivamento.",
)
ORGAO_RESPOSTAS = (
    "Seu pedido foi encaminhado para análise técnica da unidade responsável.",
    "Informamos que a vistoria do imóvel está agendada; aguarde o contato da fiscalização.",
    "Os documentos foram recebidos e estão em análise.",
)
ATENDENTE_REGISTROS = (
    "Munícipe ligou na Central 156 pedindo informações sobre o andamento; orientado a "
    "aguardar o prazo.",
    "Atendimento presencial na Praça de Atendimento: munícipe entregou cópia de documentos.",
    "Munícipe informou por telefone novo número de contato.",
)
ENCERRAMENTOS = {
    "ATENDIDA": (
        "Pedido deferido. O lançamento foi revisto e o novo carnê será enviado.",
        "Solicitação atendida: a alteração já consta no sistema.",
    ),
    "NAO_ATENDIDA": (
        "Não foi possível atender: os documentos enviados não comprovam o alegado.",
        "Pedido não atendido por falta de complementação no prazo.",
    ),
    "INDEFERIDA": (
        "Pedido indeferido com base na legislação vigente; cabe recurso em 30 dias.",
        "Indeferido: o imóvel não se enquadra nos requisitos da isenção.",
    ),
    "CANCELADA": (
        "Solicitação cancelada a pedido do munícipe.",
        "Cancelada por duplicidade com outra solicitação do mesmo munícipe.",
    ),
}
REABERTURAS = (
    "Munícipe apresentou recurso contra a decisão.",
    "Reaberta: a resposta não considerou o documento enviado.",
    "Reaberta por determinação da chefia para nova análise.",
)
ENCAMINHAMENTOS = ("SF-DIVCAD", "SF-DEMAP", "SF-DICERT", "SF-ATEND")


def cpf_check_digits(base: str) -> str:
    """The two check digits of a CPF whose first nine digits are ``base``."""
    digits = [int(c) for c in base]
    for _ in range(2):
        total = sum(d * w for d, w in zip(digits, range(len(digits) + 1, 1, -1), strict=True))
        rest = total % 11
        digits.append(0 if rest < 2 else 11 - rest)
    return f"{digits[-2]}{digits[-1]}"


def cpf_is_valid(cpf: str) -> bool:
    """True for 11 digits, not all equal, with correct check digits."""
    if len(cpf) != 11 or not cpf.isdigit() or len(set(cpf)) == 1:
        return False
    return cpf[9:] == cpf_check_digits(cpf[:9])


def random_cpf(rng: random.Random) -> str:
    """A CPF with valid check digits (never all digits equal)."""
    while True:
        base = f"{rng.randrange(10**9):09d}"
        if len(set(base)) > 1:
            return base + cpf_check_digits(base)


_CNPJ_WEIGHTS = (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)


def cnpj_check_digits(base: str) -> str:
    """The two check digits of a CNPJ whose first twelve digits are ``base``."""
    digits = [int(c) for c in base]
    for _ in range(2):
        weights = _CNPJ_WEIGHTS[-len(digits) :]
        rest = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        digits.append(0 if rest < 2 else 11 - rest)
    return f"{digits[-2]}{digits[-1]}"


def cnpj_is_valid(cnpj: str) -> bool:
    """True for 14 digits, not all equal, with correct check digits."""
    if len(cnpj) != 14 or not cnpj.isdigit() or len(set(cnpj)) == 1:
        return False
    return cnpj[12:] == cnpj_check_digits(cnpj[:12])


def random_cnpj(rng: random.Random) -> str:
    """A CNPJ (head office, branch 0001) with valid check digits."""
    base = f"{rng.randrange(1, 10**8):08d}0001"
    return base + cnpj_check_digits(base)
