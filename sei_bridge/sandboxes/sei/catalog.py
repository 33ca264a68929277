"""The SEI installation the sandbox pretends to be: units, process types, séries, hipóteses
legais, assuntos and file extensions (what the ``listar*`` operations list and the others check).

The default catalog (:data:`DEFAULT_CATALOG`) is the one ``mappings/fazenda.yaml`` is written
against; its ids are fixed and exported as constants:

=================  ==========================================================================
Units              ``110000001`` SF/DIVCAD (Divisão de Cadastro Imobiliário, IPTU),
                   ``110000002`` SF/DEMAP (ISS), ``110000003`` SF/CAF (Certidões),
                   ``110000004`` SF/DENFS (Nota Fiscal Paulistana),
                   ``110000005`` SF/DIRES (Restituições)
Process types      ``100000345`` IPTU: Revisão do valor venal (assunto 052.1),
                   ``100000346`` ISS: Solicitação (052.2),
                   ``100000347`` Certidão: Emissão de certidão de tributos (052.3),
                   ``100000348`` Nota Fiscal Paulistana: Reclamação (052.4),
                   ``100000349`` Tributos: Restituição (052.5),
                   ``100000341`` Comunicação: Pedido de Apoio Institucional (019.113; the type of
                   the recorded exchanges with a real SEI 4.1.0)
Séries             ``12`` Solicitação SP156, ``13`` Interação SP156, ``14`` Anexo SP156,
                   ``15`` SP 156 Finalizado, ``5`` Despacho — none with informed numbering
Hipóteses legais   ``34`` Informação Pessoal (restrito, Art. 31 da Lei nº 12.527/2011),
                   ``4`` Informação Pessoal (the reference database's id), ``1`` Controle
                   Interno (restrito), ``40`` Sigilo Fiscal (restrito), ``10`` Segredo de Justiça
                   (sigiloso: not applicable to restrito)
Assuntos           052.1 … 052.5 (Fazenda), 019.113 (recorded exchanges)
Extensions         pdf txt doc docx odt ods xls xlsx jpg jpeg gif html htm zip mp3 mp4 —
                   NOT png, like the reference database
=================  ==========================================================================

A test may pass its own :class:`Catalog` (``dataclasses.replace(DEFAULT_CATALOG, ...)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "ASSUNTO_CERTIDAO",
    "ASSUNTO_IPTU",
    "ASSUNTO_ISS",
    "ASSUNTO_NFS",
    "ASSUNTO_RECORDED",
    "ASSUNTO_RESTITUICAO",
    "DEFAULT_CATALOG",
    "HIPOTESE_CONTROLE_INTERNO",
    "HIPOTESE_INFORMACAO_PESSOAL",
    "HIPOTESE_INFORMACAO_PESSOAL_REFERENCIA",
    "HIPOTESE_SEGREDO_JUSTICA",
    "HIPOTESE_SIGILO_FISCAL",
    "REFERENCE_CATALOG",
    "REFERENCE_SIZE_LIMITS_MB",
    "SERIE_ANEXO",
    "SERIE_DESPACHO",
    "SERIE_FINALIZADO",
    "SERIE_INTERACAO",
    "SERIE_SOLICITACAO",
    "TIPO_CERTIDAO",
    "TIPO_COMUNICACAO",
    "TIPO_IPTU",
    "TIPO_ISS",
    "TIPO_NFS",
    "TIPO_RESTITUICAO",
    "UNIDADE_CAF",
    "UNIDADE_DEMAP",
    "UNIDADE_DENFS",
    "UNIDADE_DIRES",
    "UNIDADE_DIVCAD",
    "Assunto",
    "Catalog",
    "Extensao",
    "HipoteseLegal",
    "Serie",
    "TipoProcedimento",
    "Unidade",
]

#: Units (IdUnidade).
UNIDADE_DIVCAD = "110000001"
UNIDADE_DEMAP = "110000002"
UNIDADE_CAF = "110000003"
UNIDADE_DENFS = "110000004"
UNIDADE_DIRES = "110000005"

#: Process types (IdTipoProcedimento).
TIPO_IPTU = "100000345"
TIPO_ISS = "100000346"
TIPO_CERTIDAO = "100000347"
TIPO_NFS = "100000348"
TIPO_RESTITUICAO = "100000349"
TIPO_COMUNICACAO = "100000341"

#: Séries (IdSerie).
SERIE_SOLICITACAO = "12"
SERIE_INTERACAO = "13"
SERIE_ANEXO = "14"
SERIE_FINALIZADO = "15"
SERIE_DESPACHO = "5"

#: Hipóteses legais (IdHipoteseLegal).
HIPOTESE_INFORMACAO_PESSOAL = "34"
HIPOTESE_INFORMACAO_PESSOAL_REFERENCIA = "4"
HIPOTESE_CONTROLE_INTERNO = "1"
HIPOTESE_SIGILO_FISCAL = "40"
HIPOTESE_SEGREDO_JUSTICA = "10"

#: Assuntos (CodigoEstruturado).
ASSUNTO_IPTU = "052.1"
ASSUNTO_ISS = "052.2"
ASSUNTO_CERTIDAO = "052.3"
ASSUNTO_NFS = "052.4"
ASSUNTO_RESTITUICAO = "052.5"
ASSUNTO_RECORDED = "019.113"


@dataclass(frozen=True, slots=True)
class Unidade:
    """A unit (``Unidade``)."""

    id_unidade: str
    sigla: str
    descricao: str


@dataclass(frozen=True, slots=True)
class Assunto:
    """A subject of the classification plan (``Assunto``)."""

    codigo_estruturado: str
    descricao: str


@dataclass(frozen=True, slots=True)
class TipoProcedimento:
    """A process type; SEI always adds its suggested assuntos to a new process."""

    id_tipo_procedimento: str
    nome: str
    assuntos_sugeridos: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Serie:
    """A document type. ``aplicabilidade``: T (todos), I (internos), E (externos);
    ``numeracao_informada``: whether a document of this série may carry a ``Numero``."""

    id_serie: str
    nome: str
    aplicabilidade: str = "T"
    numeracao_informada: bool = False


@dataclass(frozen=True, slots=True)
class HipoteseLegal:
    """A legal ground for restricted access, applicable to one nível de acesso."""

    id_hipotese_legal: str
    nome: str
    base_legal: str
    nivel_acesso: int


@dataclass(frozen=True, slots=True)
class Extensao:
    """A file extension accepted for external documents (lower case, no dot)."""

    id_arquivo_extensao: str
    extensao: str
    descricao: str
    #: the extension's own size limit (``arquivo_extensao.tamanho_maximo``), else the general one
    tamanho_maximo_mb: int | None = None


def _index(items: tuple[object, ...], key: str) -> dict[str, object]:
    return {str(getattr(item, key)): item for item in items}


@dataclass(frozen=True)
class Catalog:
    """Everything the installation has; lookups by id are dictionaries built once."""

    unidades: tuple[Unidade, ...]
    tipos_procedimento: tuple[TipoProcedimento, ...]
    series: tuple[Serie, ...]
    hipoteses_legais: tuple[HipoteseLegal, ...]
    assuntos: tuple[Assunto, ...]
    extensoes: tuple[Extensao, ...]
    _by_id: dict[str, dict[str, object]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "_by_id",
            {
                "unidade": _index(self.unidades, "id_unidade"),
                "tipo": _index(self.tipos_procedimento, "id_tipo_procedimento"),
                "serie": _index(self.series, "id_serie"),
                "hipotese": _index(self.hipoteses_legais, "id_hipotese_legal"),
                "assunto": _index(self.assuntos, "codigo_estruturado"),
                "extensao": {e.extensao.lower(): e for e in self.extensoes},
            },
        )

    def unidade(self, id_unidade: str | None) -> Unidade | None:
        found = self._by_id["unidade"].get(id_unidade or "")
        return found if isinstance(found, Unidade) else None

    def tipo_procedimento(self, id_tipo: str | None) -> TipoProcedimento | None:
        found = self._by_id["tipo"].get(id_tipo or "")
        return found if isinstance(found, TipoProcedimento) else None

    def serie(self, id_serie: str | None) -> Serie | None:
        found = self._by_id["serie"].get(id_serie or "")
        return found if isinstance(found, Serie) else None

    def hipotese_legal(self, id_hipotese: str | None) -> HipoteseLegal | None:
        found = self._by_id["hipotese"].get(id_hipotese or "")
        return found if isinstance(found, HipoteseLegal) else None

    def assunto(self, codigo: str | None) -> Assunto | None:
        found = self._by_id["assunto"].get(codigo or "")
        return found if isinstance(found, Assunto) else None

    def extensao(self, extensao: str) -> Extensao | None:
        found = self._by_id["extensao"].get(extensao.lower())
        return found if isinstance(found, Extensao) else None


_LAI_31 = "Art. 31 da Lei nº 12.527/2011"

_EXTENSIONS = (
    ("pdf", "Portable Document Format"),
    ("txt", "Texto"),
    ("doc", "Documento do Word"),
    ("docx", "Documento do Word"),
    ("odt", "Documento de texto OpenDocument"),
    ("ods", "Planilha OpenDocument"),
    ("xls", "Planilha do Excel"),
    ("xlsx", "Planilha do Excel"),
    ("jpg", "Imagem JPEG"),
    ("jpeg", "Imagem JPEG"),
    ("gif", "Imagem GIF"),
    ("html", "Página HTML"),
    ("htm", "Página HTML"),
    ("zip", "Arquivo compactado ZIP"),
    ("mp3", "Áudio MP3"),
    ("mp4", "Vídeo MP4"),
)

#: The installation ``mappings/fazenda.yaml``, the demo and the tests run against.
DEFAULT_CATALOG = Catalog(
    unidades=(
        Unidade(UNIDADE_DIVCAD, "SF/DIVCAD", "Divisão de Cadastro Imobiliário"),
        Unidade(UNIDADE_DEMAP, "SF/DEMAP", "Divisão do Imposto sobre Serviços"),
        Unidade(UNIDADE_CAF, "SF/CAF", "Divisão de Certidões"),
        Unidade(UNIDADE_DENFS, "SF/DENFS", "Divisão da Nota Fiscal Paulistana"),
        Unidade(UNIDADE_DIRES, "SF/DIRES", "Divisão de Restituições"),
    ),
    tipos_procedimento=(
        TipoProcedimento(TIPO_IPTU, "IPTU: Revisão do valor venal", (ASSUNTO_IPTU,)),
        TipoProcedimento(TIPO_ISS, "ISS: Solicitação", (ASSUNTO_ISS,)),
        TipoProcedimento(
            TIPO_CERTIDAO, "Certidão: Emissão de certidão de tributos", (ASSUNTO_CERTIDAO,)
        ),
        TipoProcedimento(TIPO_NFS, "Nota Fiscal Paulistana: Reclamação", (ASSUNTO_NFS,)),
        TipoProcedimento(TIPO_RESTITUICAO, "Tributos: Restituição", (ASSUNTO_RESTITUICAO,)),
        TipoProcedimento(
            TIPO_COMUNICACAO, "Comunicação: Pedido de Apoio Institucional", (ASSUNTO_RECORDED,)
        ),
    ),
    series=(
        Serie(SERIE_DESPACHO, "Despacho", "I"),
        Serie(SERIE_SOLICITACAO, "Solicitação SP156", "T"),
        Serie(SERIE_INTERACAO, "Interação SP156", "T"),
        Serie(SERIE_ANEXO, "Anexo SP156", "T"),
        Serie(SERIE_FINALIZADO, "SP 156 Finalizado", "T"),
    ),
    hipoteses_legais=(
        HipoteseLegal(
            HIPOTESE_CONTROLE_INTERNO, "Controle Interno", "Art. 26, § 3º, da Lei nº 10.180/2001", 1
        ),
        HipoteseLegal(HIPOTESE_INFORMACAO_PESSOAL_REFERENCIA, "Informação Pessoal", _LAI_31, 1),
        HipoteseLegal(
            HIPOTESE_SEGREDO_JUSTICA,
            "Segredo de Justiça",
            "Art. 189 do Código de Processo Civil",
            2,
        ),
        HipoteseLegal(HIPOTESE_INFORMACAO_PESSOAL, "Informação Pessoal", _LAI_31, 1),
        HipoteseLegal(
            HIPOTESE_SIGILO_FISCAL, "Sigilo Fiscal", "Art. 198 do Código Tributário Nacional", 1
        ),
    ),
    assuntos=(
        Assunto(
            ASSUNTO_RECORDED,
            "ELABORAÇÃO DE CAMPANHAS PUBLICITÁRIAS (campanhas "
            "institucionais, filmes, propagandas e à produção de material de divulgação do "
            "órgão e entidade)",
        ),
        Assunto(ASSUNTO_IPTU, "IMPOSTO PREDIAL E TERRITORIAL URBANO (IPTU)"),
        Assunto(ASSUNTO_ISS, "IMPOSTO SOBRE SERVIÇOS DE QUALQUER NATUREZA (ISS)"),
        Assunto(ASSUNTO_CERTIDAO, "CERTIDÕES DE TRIBUTOS MUNICIPAIS"),
        Assunto(ASSUNTO_NFS, "NOTA FISCAL DE SERVIÇOS ELETRÔNICA (NOTA FISCAL PAULISTANA)"),
        Assunto(ASSUNTO_RESTITUICAO, "RESTITUIÇÃO DE TRIBUTOS PAGOS INDEVIDAMENTE"),
    ),
    extensoes=tuple(
        Extensao(str(i), ext, descricao) for i, (ext, descricao) in enumerate(_EXTENSIONS, 1)
    ),
)

_REFERENCE_EXTENSIONS = (
    *("pdf", "txt", "zip", "ods", "odp", "mp4", "mpeg", "mpg", "7z", "csv", "xml", "html"),
    *("ogg", "ogv", "gz", "tar", "tgz", "bz2", "svg", "json"),
)

#: Size limits per extension the contract suite sets on the reference database (it has none):
#: one extension nobody sends, so the limit's fault can be seen without a 200 MB upload.
REFERENCE_SIZE_LIMITS_MB = {"ogg": 1}

#: The federal executive's reference database of SEI 4.1.0 as ``../shared/realsei/`` installs it
#: (the part the contract suite uses): its units, the process type of the recorded exchanges,
#: its hipóteses legais of level restrito, the séries Despacho (5), Declaração (83), Anexo
#: (263, external documents only) and the "SP 156 Finalizado" that ``setup_sp156.php`` adds
#: (283, internal documents only), and the extensions the reference database allows for web
#: services (no png, no doc, no jpg).
REFERENCE_CATALOG = Catalog(
    unidades=(
        Unidade("110000001", "TESTE", "Unidade de Teste 1"),
        Unidade("110000002", "TESTE_1_1", "Unidade de Testes 1.1"),
    ),
    tipos_procedimento=(
        TipoProcedimento(
            TIPO_COMUNICACAO, "Comunicação: Pedido de Apoio Institucional", (ASSUNTO_RECORDED,)
        ),
    ),
    series=(
        Serie(SERIE_DESPACHO, "Despacho", "T"),
        Serie("83", "Declaração", "T"),
        Serie("263", "Anexo", "E"),
        Serie("283", "SP 156 Finalizado", "I"),
    ),
    hipoteses_legais=(
        HipoteseLegal(
            HIPOTESE_CONTROLE_INTERNO, "Controle Interno", "Art. 26, § 3º, da Lei nº 10.180/2001", 1
        ),
        HipoteseLegal(HIPOTESE_INFORMACAO_PESSOAL_REFERENCIA, "Informação Pessoal", _LAI_31, 1),
    ),
    assuntos=DEFAULT_CATALOG.assuntos[:1],
    extensoes=tuple(
        Extensao(str(i), ext, ext.upper(), REFERENCE_SIZE_LIMITS_MB.get(ext))
        for i, ext in enumerate(_REFERENCE_EXTENSIONS, 1)
    ),
)
