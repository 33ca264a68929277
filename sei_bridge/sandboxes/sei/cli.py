"""``sei-bridge sandbox sei``: run the SEI sandbox until SIGINT or SIGTERM.

Prints the endpoint to give sei-bridge as ``SEI_BRIDGE_SEI_URL`` and the WSDL URL
(``SEI_BRIDGE_SEI_WSDL``). Every option also reads an environment variable (shown in --help);
the credentials read the same variables as the SEI client. The serviço authenticates as SEI 4.x
does: its identificação from the allowed hosts (``--allowed-hosts``, ``--no-address-auth``)
and/or its Chave de Acesso (``--access-key``); no credential is ever printed.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from sei_bridge import serving
from sei_bridge.sandboxes.sei.config import (
    DEFAULT_IDENTIFICACAO_SERVICO,
    DEFAULT_MAX_EXTERNAL_MB,
    DEFAULT_PORT,
    IDENTIFICACAO_VARIABLE,
    SIGLA_VARIABLE,
    ChunkedUpload,
    ResponseEncoding,
    SandboxConfig,
)
from sei_bridge.sandboxes.sei.faults import FaultConfig
from sei_bridge.sandboxes.sei.server import start_sandbox

__all__ = ["add_arguments", "main", "run"]

_ENV = "SEI_BRIDGE_SANDBOX_SEI_"

FAULTS_HELP = (
    "faults to inject, comma-separated: latency=SECONDS[+JITTER], and per-call probabilities "
    "http503=P (503, nothing done), reset=P (TCP reset, nothing done), lost=P (committed, then "
    "TCP reset: the answer is lost), hang=P (held hang_seconds, then dropped; hang_seconds=30, "
    "hang_commits=yes|no), outage=START+DURATION seconds (every call fails; outage_mode="
    "http503|reset), ops=OP1+OP2 (only these operations). Example: "
    "latency=0.01,reset=0.02,lost=0.02,hang=0.01,http503=0.02,outage=30+10 "
    f"(env {_ENV}FAULTS)"
)


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(_ENV + name, default)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default=_env("HOST", "127.0.0.1"), help=f"address to listen on (env {_ENV}HOST)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(_env("PORT", str(DEFAULT_PORT)) or DEFAULT_PORT),
        help=f"port (default {DEFAULT_PORT}; 0: any free port; env {_ENV}PORT)",
    )
    parser.add_argument("--faults", default=_env("FAULTS", ""), metavar="SPEC", help=FAULTS_HELP)
    parser.add_argument(
        "--seed",
        type=int,
        default=int(_env("SEED", "156") or 156),
        help=f"seed of the fault draws (env {_ENV}SEED)",
    )
    parser.add_argument(
        "--state",
        default=_env("STATE"),
        metavar="FILE",
        help="journal file keeping processos and documentos across restarts "
        f"(default: memory only; env {_ENV}STATE)",
    )
    parser.add_argument(
        "--sigla-sistema",
        default=None,
        help=f"SiglaSistema accepted (env {SIGLA_VARIABLE}; default SEI_BRIDGE)",
    )
    parser.add_argument(
        "--identificacao-servico",
        default=None,
        help=f"IdentificacaoServico accepted (env {IDENTIFICACAO_VARIABLE}; default "
        f"{DEFAULT_IDENTIFICACAO_SERVICO})",
    )
    parser.add_argument(
        "--access-key",
        default=_env("ACCESS_KEY"),
        metavar="KEY",
        help="Chave de Acesso the serviço also accepts (72 characters as SEI generates them; "
        f"prefer the variable {_ENV}ACCESS_KEY: a command line is visible to other users). "
        f"A key in {IDENTIFICACAO_VARIABLE} makes a key-only serviço",
    )
    parser.add_argument(
        "--allowed-hosts",
        default=_env("ALLOWED_HOSTS", "*"),
        metavar="HOST1,HOST2",
        help="client hosts allowed to use the identificação, after reverse DNS (127.0.0.1 is "
        '"localhost"), "*" wildcards as SEI matches them; default "*" '
        f"(env {_ENV}ALLOWED_HOSTS)",
    )
    parser.add_argument(
        "--no-address-auth",
        action="store_true",
        default=(_env("NO_ADDRESS_AUTH", "") or "").lower() in ("1", "yes", "true"),
        help='the identificação is refused ("... não possui autenticação por Endereço."): '
        f"key only (env {_ENV}NO_ADDRESS_AUTH)",
    )
    parser.add_argument(
        "--operations",
        default=_env("OPERATIONS", ""),
        metavar="OP1+OP2",
        help='operations configured for the serviço; the others answer "Nenhuma operação '
        f'configurada para [op] ..." (default: all) (env {_ENV}OPERATIONS)',
    )
    parser.add_argument(
        "--wsdl-version",
        choices=("4.1", "3.0"),
        default=_env("WSDL_VERSION", "4.1"),
        help="bundled WSDL served: 4.1, or 3.0 (no ControlePrazo parts; operations 3.0 lacks "
        f"answer \"Procedure 'x' not present\") (env {_ENV}WSDL_VERSION)",
    )
    parser.add_argument(
        "--wsdl",
        default=_env("WSDL"),
        metavar="FILE",
        help=f"serve this WSDL file instead of a bundled one (env {_ENV}WSDL)",
    )
    parser.add_argument(
        "--chunked-upload",
        choices=[c.value for c in ChunkedUpload],
        default=_env("CHUNKED_UPLOAD", ChunkedUpload.BROKEN.value),
        help='broken: like SEI 4.1.0, incluirDocumento with IdArquivo fails "Atributo [IdAnexo] '
        'não recebeu valor."; working: the uploaded file becomes the documento '
        f"(env {_ENV}CHUNKED_UPLOAD)",
    )
    parser.add_argument(
        "--encoding",
        choices=[e.value for e in ResponseEncoding],
        default=_env("ENCODING", ResponseEncoding.UTF8.value),
        help=f"charset of the answers (older SEI answer ISO-8859-1) (env {_ENV}ENCODING)",
    )
    parser.add_argument(
        "--max-external-mb",
        type=int,
        default=int(_env("MAX_EXTERNAL_MB", str(DEFAULT_MAX_EXTERNAL_MB)) or 50),
        help=f"largest external documento in Mb (env {_ENV}MAX_EXTERNAL_MB)",
    )
    parser.add_argument(
        "--no-hipotese-legal",
        action="store_true",
        default=(_env("NO_HIPOTESE_LEGAL", "") or "").lower() in ("1", "yes", "true"),
        help="do not require a hipótese legal for restrito (SEI_HABILITAR_HIPOTESE_LEGAL off) "
        f"(env {_ENV}NO_HIPOTESE_LEGAL)",
    )


def _config(args: argparse.Namespace) -> SandboxConfig:
    return SandboxConfig(
        sigla_sistema=args.sigla_sistema,
        identificacao_servico=args.identificacao_servico,
        faults=FaultConfig.parse(args.faults or ""),
        seed=args.seed,
        state_path=args.state,
        wsdl_version=args.wsdl_version,
        wsdl_path=args.wsdl,
        response_encoding=ResponseEncoding(args.encoding),
        chunked_upload=ChunkedUpload(args.chunked_upload),
        enforce_hipotese_legal=not args.no_hipotese_legal,
        max_external_mb=args.max_external_mb,
        access_key=args.access_key or None,
        allowed_hosts=tuple((args.allowed_hosts or "").split(",")),
        address_auth=not args.no_address_auth,
        allowed_operations=(
            frozenset(op for op in args.operations.split("+") if op) if args.operations else None
        ),
        host=args.host,
    )


def _describe(config: SandboxConfig) -> str:
    servico = config.servico()
    modes = []
    if servico.address_auth:
        modes.append(f"identificação from {','.join(servico.allowed_hosts) or 'no host'}")
    if servico.access_key is not None:
        modes.append("Chave de Acesso (as configured)" + ("" if servico.key_auth else ", off"))
    allowed = config.allowed_operations
    operations = "all operations" if allowed is None else "+".join(sorted(allowed)) or "none"
    return f"{' or '.join(modes) or 'none'}; {operations}"


def run(args: argparse.Namespace) -> int:
    config = _config(args)
    sandbox = serving.listening(
        lambda: start_sandbox(config, port=args.port), config.host, args.port
    )
    with serving.until_signalled() as stop:
        try:
            sigla, servico = sandbox.credentials
            print(f"SEI sandbox endpoint: {sandbox.endpoint_url}", flush=True)
            print(f"SEI sandbox WSDL:     {sandbox.wsdl_url}", flush=True)
            shown = servico if servico == DEFAULT_IDENTIFICACAO_SERVICO else "(as configured)"
            print(f"credentials: SiglaSistema {sigla}, IdentificacaoServico {shown}", flush=True)
            print(f"authentication: {_describe(config)}", flush=True)
            print(
                f"WSDL {config.wsdl_version}, chunked upload {config.chunked_upload.value}, "
                f"faults {config.faults.describe()} (seed {config.seed})",
                flush=True,
            )
            if config.state_path:
                print(f"state: {config.state_path} ({sandbox.state.summary()})", flush=True)
            while not stop.wait(0.5):
                pass
        finally:
            sandbox.stop()
    print(f"stopped: {sandbox.state.summary()}", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sandbox without the rest of the ``sei-bridge`` command."""
    return serving.standalone("sei-bridge sandbox sei", __doc__, add_arguments, run, argv)


if __name__ == "__main__":
    sys.exit(main())
