"""The SEI sandbox over real HTTP on loopback: recorded exchanges replayed byte for byte,
faults observed from a raw HTTP client, persistence across a restart, concurrency, and the
project's own SEI client and Fazenda mapping against it."""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
import requests

from sei_bridge import errors, mapping
from sei_bridge.sandboxes.sei import FaultConfig, RunningSandbox
from sei_bridge.sandboxes.sei.auth import generate_access_key
from sei_bridge.sandboxes.sei.catalog import TIPO_IPTU, UNIDADE_DIVCAD
from sei_bridge.sei import types
from sei_bridge.sei.client import SeiClient
from tests.fixtures.sei import RECORDED_CONFIG, SEI_TEST_SERVICO, SEI_TEST_SIGLA, SeiClock

SandboxFactory = Callable[..., RunningSandbox]

REPO = Path(__file__).resolve().parents[2]
RECORDED = "real-sei-4.1.0"
SEQUENCE = (
    "gerarProcedimento",
    "incluirDocumento",
    "consultarProcedimento",
    "listarContatos",
    "listarAndamentos_semcriterio",
    "listarAndamentos",
    "concluirProcesso",
    "concluirProcesso_again",
    "gerarProcedimento_sem_nome_interessado",
    "processo_inexistente",
    "sistema_inexistente",
)
HEADERS = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "SeiAction"}


def _value(name: str, value: Any) -> str:
    if value is None:
        return f'<{name} xsi:nil="true"/>'
    if isinstance(value, dict):
        inner = "".join(_value(k, v) for k, v in value.items())
        return f"<{name}>{inner}</{name}>"
    if isinstance(value, list):
        return f"<{name}>{''.join(_value('item', v) for v in value)}</{name}>"
    return f"<{name}>{escape(str(value))}</{name}>"


def envelope(operation: str, **parts: Any) -> bytes:
    """A minimal SOAP request (names only, like zeep without the PHP-style plugin)."""
    full = {"SiglaSistema": SEI_TEST_SIGLA, "IdentificacaoServico": SEI_TEST_SERVICO}
    full.update(parts)
    body = "".join(_value(k, v) for k, v in full.items())
    return (
        '<?xml version="1.0" encoding="UTF-8"?><S:Envelope '
        'xmlns:S="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:ns1="Sei">'
        f"<S:Body><ns1:{operation}>{body}</ns1:{operation}></S:Body></S:Envelope>"
    ).encode()


def gerar(n: int = 1) -> bytes:
    return envelope(
        "gerarProcedimento",
        IdUnidade=UNIDADE_DIVCAD,
        Procedimento={
            "IdTipoProcedimento": TIPO_IPTU,
            "Especificacao": f"Revisão {n}",
            "Assuntos": [],
            "Interessados": [{"Sigla": f"SP156-{n}", "Nome": f"Munícipe {n}"}],
            "NivelAcesso": "0",
        },
        Documentos=[],
    )


def post(sandbox: RunningSandbox, body: bytes, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("timeout", 5)
    return requests.post(sandbox.endpoint_url, data=body, headers=HEADERS, **kwargs)


def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        threading.Event().wait(0.02)


# --- faithful to the recorded exchanges -----------------------------------------------------------


def test_recorded_exchanges_are_answered_byte_for_byte(
    reference_dir: str, sei_sandbox_factory: SandboxFactory
) -> None:
    clock = SeiClock()
    sandbox = sei_sandbox_factory(RECORDED_CONFIG, clock=clock)
    with requests.Session() as session:
        for name in SEQUENCE:
            base = os.path.join(reference_dir, RECORDED, name)
            request = Path(f"{base}.request.xml").read_bytes()
            raw = Path(f"{base}.response.xml").read_bytes().replace(b"\r\n", b"\n")
            head, body = raw.split(b"\n\n", 1)
            lines = head.decode().split("\n")
            recorded = dict(line.split(": ", 1) for line in lines[1:])
            clock.now = email.utils.parsedate_to_datetime(recorded["Date"]).timestamp()
            answer = session.post(sandbox.endpoint_url, data=request, headers=HEADERS, timeout=5)
            assert answer.status_code == int(lines[0].split()[1]), name
            assert answer.content == body, name
            for header in ("Content-Type", "Content-Length", "Connection"):
                assert answer.headers[header] == recorded[header], (name, header)


def test_the_wsdl_is_served_pointing_at_the_sandbox(sei_sandbox: RunningSandbox) -> None:
    for url in (sei_sandbox.wsdl_url, sei_sandbox.endpoint_url + "?wsdl"):
        answer = requests.get(url, timeout=5)
        assert answer.status_code == 200
        assert answer.headers["Content-Type"].startswith("text/xml")
        assert f'location="{sei_sandbox.endpoint_url}"'.encode() in answer.content
    assert requests.get(sei_sandbox.endpoint_url, timeout=5).status_code == 405
    assert requests.get(sei_sandbox.base_url + "/sei/outro.php", timeout=5).status_code == 404


def test_sei_30_mode_serves_the_30_wsdl_and_lacks_41_operations(
    sei_sandbox_factory: SandboxFactory, reference_dir: str
) -> None:
    old = sei_sandbox_factory(wsdl_version="3.0")
    wsdl = requests.get(old.wsdl_url, timeout=5).content
    assert b'name="DataControlePrazo"' not in wsdl
    assert post(old, gerar()).status_code == 200
    missing = post(old, envelope("excluirDocumento", IdUnidade=UNIDADE_DIVCAD))
    assert missing.status_code == 500
    assert b"<faultcode>SOAP-ENV:Server</faultcode>" in missing.content
    assert b"Procedure 'excluirDocumento' not present" in missing.content
    # Served the full 4.1.0 WSDL, the sandbox answers excluirDocumento too.
    full = sei_sandbox_factory(wsdl_path=os.path.join(reference_dir, "sei-4.1.0.wsdl"))
    assert post(full, gerar()).status_code == 200
    incluir = envelope(
        "incluirDocumento",
        IdUnidade=UNIDADE_DIVCAD,
        Documento={"Tipo": "G", "ProtocoloProcedimento": "99990.000001/2026-53", "IdSerie": "13"},
    )
    protocolo = full.state.processes()[0].procedimento_formatado
    incluir = incluir.replace(b"99990.000001/2026-53", protocolo.encode())
    assert post(full, incluir).status_code == 200
    excluir = envelope("excluirDocumento", IdUnidade=UNIDADE_DIVCAD, ProtocoloDocumento="0000002")
    assert post(full, excluir).status_code == 200
    assert full.state.processes()[0].documents == ()


def test_latin1_mode_answers_in_iso_8859_1(sei_sandbox_factory: SandboxFactory) -> None:
    sandbox = sei_sandbox_factory(response_encoding="iso-8859-1")
    answer = post(sandbox, envelope("listarSeries"))
    assert answer.headers["Content-Type"] == "text/xml; charset=iso-8859-1"
    assert answer.content.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>')
    assert "Solicitação SP156".encode("iso-8859-1") in answer.content


def test_keep_alive_like_apache_and_faults_close_the_connection(
    sei_sandbox: RunningSandbox,
) -> None:
    with requests.Session() as session:
        first = session.post(sei_sandbox.endpoint_url, data=envelope("listarSeries"), timeout=5)
        second = session.post(sei_sandbox.endpoint_url, data=envelope("listarSeries"), timeout=5)
        assert (first.headers["Connection"], first.headers["Keep-Alive"]) == (
            "Keep-Alive",
            "timeout=5, max=100",
        )
        assert second.headers["Keep-Alive"] == "timeout=5, max=99"  # the same connection
        fault = session.post(
            sei_sandbox.endpoint_url, data=envelope("listarSeries", SiglaSistema="X"), timeout=5
        )
        assert (fault.status_code, fault.headers["Connection"]) == (500, "close")


# --- faults as a client sees them -----------------------------------------------------------------


def test_reset_before_effect_is_a_connection_error_and_nothing_happened(
    sei_sandbox: RunningSandbox,
) -> None:
    sei_sandbox.faults.schedule("reset", operation="gerarProcedimento")
    with pytest.raises(requests.ConnectionError):
        post(sei_sandbox, gerar())
    assert sei_sandbox.state.processes() == []
    assert post(sei_sandbox, gerar()).status_code == 200
    assert sei_sandbox.state.counters().faults == {"reset": 1}


def test_lost_answer_leaves_the_effect_committed(sei_sandbox: RunningSandbox) -> None:
    sei_sandbox.faults.schedule("lost", operation="gerarProcedimento")
    with pytest.raises(requests.ConnectionError):
        post(sei_sandbox, gerar())
    (processo,) = sei_sandbox.state.processes()
    assert processo.especificacao == "Revisão 1"


def test_http_503_means_nothing_was_done(sei_sandbox: RunningSandbox) -> None:
    sei_sandbox.faults.configure(http503=1.0)
    answer = post(sei_sandbox, gerar())
    assert (answer.status_code, answer.headers["Content-Type"]) == (
        503,
        "text/html; charset=iso-8859-1",
    )
    assert sei_sandbox.state.processes() == []


@pytest.mark.parametrize("commits", [False, True])
def test_hang_outlasts_the_read_timeout(sei_sandbox: RunningSandbox, commits: bool) -> None:
    sei_sandbox.faults.configure(hang_seconds=2.0, hang_commits=commits)
    sei_sandbox.faults.schedule("hang", operation="gerarProcedimento")
    with pytest.raises(requests.ReadTimeout):
        post(sei_sandbox, gerar(), timeout=(2, 0.3))
    if commits:
        wait_for(lambda: len(sei_sandbox.state.processes()) == 1)
    else:
        assert sei_sandbox.state.processes() == []
    assert post(sei_sandbox, envelope("listarSeries")).status_code == 200


def test_outage_window_fails_every_call_then_ends(sei_sandbox: RunningSandbox) -> None:
    sei_sandbox.faults.start_outage(0.5)
    assert post(sei_sandbox, gerar()).status_code == 503
    assert requests.get(sei_sandbox.wsdl_url, timeout=5).status_code == 503
    wait_for(lambda: post(sei_sandbox, envelope("listarSeries")).status_code == 200)
    sei_sandbox.faults.start_outage(5, mode="reset")
    with pytest.raises(requests.ConnectionError):
        post(sei_sandbox, envelope("listarSeries"))
    sei_sandbox.faults.clear()
    assert post(sei_sandbox, envelope("listarSeries")).status_code == 200


def test_latency_is_added(sei_sandbox: RunningSandbox) -> None:
    sei_sandbox.faults.configure(latency=0.2)
    started = time.monotonic()
    assert post(sei_sandbox, envelope("listarSeries")).status_code == 200
    assert time.monotonic() - started >= 0.2


def test_the_same_seed_fails_the_same_calls_over_http(
    sei_sandbox_factory: SandboxFactory,
) -> None:
    outcomes = []
    for _ in range(2):
        sandbox = sei_sandbox_factory(faults=FaultConfig(reset=0.3, http503=0.2), seed=42)
        run = []
        for n in range(30):
            try:
                run.append(post(sandbox, gerar(n)).status_code)
            except requests.ConnectionError:
                run.append(0)
        outcomes.append(run)
    assert outcomes[0] == outcomes[1]
    assert {0, 200, 503} <= set(outcomes[0])


# --- state ----------------------------------------------------------------------------------------


def test_a_restarted_sandbox_keeps_its_state(
    sei_sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    path = tmp_path / "sei.jsonl"
    first = sei_sandbox_factory(state_path=path, chunked_upload="working")
    assert post(first, gerar(1)).status_code == 200
    data = b"%PDF" + bytes(range(200))
    adicionar = envelope(
        "adicionarArquivo",
        IdUnidade=UNIDADE_DIVCAD,
        Nome="laudo.pdf",
        Tamanho=str(len(data)),
        Hash=hashlib.md5(data).hexdigest(),
        Conteudo=base64.b64encode(data[:100]).decode(),
    )
    assert post(first, adicionar).status_code == 200
    before = first.state.processes()
    first.stop()
    second = sei_sandbox_factory(state_path=path, chunked_upload="working")
    assert second.state.processes() == before
    more = envelope(
        "adicionarConteudoArquivo",
        IdUnidade=UNIDADE_DIVCAD,
        IdArquivo="1",
        Conteudo=base64.b64encode(data[100:]).decode(),
    )
    assert post(second, more).status_code == 200  # the upload survived too
    assert post(second, gerar(2)).status_code == 200
    numbers = [p.procedimento_formatado for p in second.state.processes()]
    assert numbers[1].startswith("99990.000002/")
    assert len(second.state.contacts()) == 2


def test_concurrent_calls_create_exactly_what_was_asked(sei_sandbox: RunningSandbox) -> None:
    failures: list[int] = []

    def worker(offset: int) -> None:
        with requests.Session() as session:
            for n in range(offset, offset + 25):
                answer = session.post(sei_sandbox.endpoint_url, data=gerar(n), timeout=10)
                if answer.status_code != 200:
                    failures.append(answer.status_code)

    threads = [threading.Thread(target=worker, args=(i * 100,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    processes = sei_sandbox.state.processes()
    assert len(processes) == 200
    assert len({p.procedimento_formatado for p in processes}) == 200
    assert sei_sandbox.state.counters().calls == {"gerarProcedimento": 200}


# --- the project's client and mapping against the sandbox -----------------------------------------


def test_the_sei_client_works_against_the_served_wsdl(sei_sandbox: RunningSandbox) -> None:
    sigla, servico = sei_sandbox.credentials
    client = SeiClient(
        endpoint_url=sei_sandbox.endpoint_url,
        sigla_sistema=sigla,
        identificacao_servico=servico,
        wsdl=sei_sandbox.wsdl_url,
        read_timeout=5,
    )
    gerado = client.gerar_procedimento(
        id_unidade=UNIDADE_DIVCAD,
        procedimento=types.NovoProcedimento(
            id_tipo_procedimento=TIPO_IPTU,
            especificacao="Revisão 😀",
            interessados=(types.Interessado(sigla="SP156-2026-7", nome="Munícipe 7"),),
            id_hipotese_legal="34",
            numero_protocolo="SP156-2026-7",
            data_autuacao=dt.date(2026, 11, 20),
        ),
    )
    assert gerado.procedimento_formatado == "SP156-2026-7"
    client.incluir_documento(
        id_unidade=UNIDADE_DIVCAD,
        documento=types.NovoDocumento(
            tipo=types.TipoDocumento.RECEBIDO,
            id_serie="14",
            protocolo_procedimento=gerado.procedimento_formatado,
            descricao="Anexo",
            nome_arquivo="a.pdf",
            data=dt.date(2026, 11, 20),
            conteudo=b"%PDF-1.4",
        ),
    )
    found = client.buscar_procedimento(
        id_unidade=UNIDADE_DIVCAD, protocolo_procedimento="sp156 2026 7"
    )
    assert found is not None and found.especificacao == "Revisão &#128512;"
    assert (
        client.buscar_procedimento(id_unidade=UNIDADE_DIVCAD, protocolo_procedimento="X-1") is None
    )
    andamentos = client.listar_andamentos(
        id_unidade=UNIDADE_DIVCAD, protocolo_procedimento=gerado.procedimento_formatado
    )
    assert [a.id_tarefa for a in andamentos] == ["13", "1"]
    assert [
        c.sigla for c in client.listar_contatos(id_unidade=UNIDADE_DIVCAD, sigla="sp156-2026-7")
    ] == ["SP156-2026-7"]
    with pytest.raises(errors.SeiValidationFault, match=r"^SEI refused .*: Anexo .* vazio\.$"):
        client.incluir_documento(
            id_unidade=UNIDADE_DIVCAD,
            documento=types.NovoDocumento(
                tipo=types.TipoDocumento.RECEBIDO,
                id_serie="14",
                protocolo_procedimento=gerado.procedimento_formatado,
                nome_arquivo="b.pdf",
                data=dt.date(2026, 11, 20),
                id_arquivo=client.upload_arquivo(
                    id_unidade=UNIDADE_DIVCAD, nome="b.pdf", conteudo=b"%PDF"
                ),
            ),
        )


def test_the_fazenda_mapping_matches_the_sandbox_catalog(sei_client: SeiClient) -> None:
    mappings = mapping.load_mappings(REPO / "mappings")
    assert mapping.check_against_sei(mappings, sei_client) == []
    sandbox_assuntos = {"052.1", "052.2", "052.3", "052.4", "052.5"}
    assert {a for s in mappings.servicos.values() for a in s.assuntos} <= sandbox_assuntos


def test_a_damaged_state_file_is_refused_but_a_cut_last_line_is_dropped(
    sei_sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    path = tmp_path / "sei.jsonl"
    first = sei_sandbox_factory(state_path=path)
    assert post(first, gerar(1)).status_code == 200
    first.stop()
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"t": "processo", "v": {"id_proc')  # a write cut short by a kill
    second = sei_sandbox_factory(state_path=path)
    assert len(second.state.processes()) == 1
    assert post(second, gerar(2)).status_code == 200  # appended after the dropped line
    second.stop()
    assert len(sei_sandbox_factory(state_path=path).state.processes()) == 2
    path.write_text("garbage\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(errors.ConfigurationError, match="damaged at line 1"):
        sei_sandbox_factory(state_path=path)


def _sandbox_command(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """``sei-bridge sandbox sei --port 0 ARGS`` started, once it has printed its first line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sei_bridge.cli", "sandbox", "sei", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 30)
    if not ready:
        process.kill()
        process.communicate(timeout=30)
    assert ready, "the command printed nothing"
    return process


def test_the_command_prints_its_urls_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO), SEI_BRIDGE_SEI_SIGLA_SISTEMA=SEI_TEST_SIGLA)
    env["SEI_BRIDGE_SEI_IDENTIFICACAO_SERVICO"] = "secret-cli-key"
    process = _sandbox_command(env, "--state", str(tmp_path / "sei.jsonl"))
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("SEI sandbox endpoint: http://127.0.0.1:")
        endpoint = first.split(": ", 1)[1].strip()
        body = gerar().replace(SEI_TEST_SERVICO.encode(), b"secret-cli-key")
        answer = requests.post(endpoint, data=body, headers=HEADERS, timeout=5)
        assert answer.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "stopped: 1 processos" in out
    assert "secret-cli-key" not in out + err  # a credential is never printed


def test_the_command_serves_a_key_only_servico_and_never_prints_the_key() -> None:
    # about the sandbox's command, so not a contract case (tests/contract/test_auth.py has the
    # key-only serviço on both SEIs): a key in the client's variable is served as a key-only
    # serviço, and the command never prints it
    key, sigla = generate_access_key(2), "ADAPTER"
    env = dict(os.environ, PYTHONPATH=str(REPO), SEI_BRIDGE_SEI_SIGLA_SISTEMA=sigla)
    env.pop("SEI_BRIDGE_SEI_IDENTIFICACAO_SERVICO", None)
    env["SEI_BRIDGE_SANDBOX_SEI_ACCESS_KEY"] = key
    process = _sandbox_command(env, "--no-address-auth", "--allowed-hosts", "localhost")
    try:
        assert process.stdout is not None
        endpoint = process.stdout.readline().split(": ", 1)[1].strip()
        # read up to the mode here: communicate() would not see what readline() buffered
        printed = [process.stdout.readline() for _ in range(3)]
        by_key = SeiClient(endpoint_url=endpoint, sigla_sistema=sigla, identificacao_servico=key)
        assert by_key.listar_unidades()
        by_name = SeiClient(
            endpoint_url=endpoint, sigla_sistema=sigla, identificacao_servico="sandbox-key"
        )
        with pytest.raises(errors.SeiAccessDenied) as caught:
            by_name.listar_unidades()
        assert caught.value.fault == (
            "Serviço [[secure]] do sistema [ADAPTER] não possui autenticação por Endereço."
        )
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "authentication: Chave de Acesso (as configured); all operations\n" in printed
    shown = "".join(printed) + out + err
    assert key not in shown and key[8:] not in shown
