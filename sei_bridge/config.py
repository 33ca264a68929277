"""Settings, from the environment (``SEI_BRIDGE_*``) and optionally a YAML/KEY=VALUE file.

Settings are typed and immutable, validated at start-up with one-line errors that say which
variable is wrong and how to fix it. Secrets print as ``[secure]``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sei_bridge import errors

__all__ = [
    "DEFAULT_DATABASE_URL",
    "DEFAULT_LEASE_SECONDS",
    "DEFAULT_SEI_BREAKER_RESET_SECONDS",
    "DEFAULT_SEI_CONNECT_TIMEOUT",
    "DEFAULT_SEI_READ_TIMEOUT",
    "ENV_PREFIX",
    "Settings",
    "load_settings",
]

ENV_PREFIX = "SEI_BRIDGE_"
DEFAULT_DATABASE_URL = "sqlite:///sei-bridge.db"
DEFAULT_SEI_CONNECT_TIMEOUT = 5.0
DEFAULT_SEI_READ_TIMEOUT = 60.0
DEFAULT_SIGRC_CONNECT_TIMEOUT = 5.0
DEFAULT_SIGRC_READ_TIMEOUT = 30.0
DEFAULT_LEASE_SECONDS = 120.0
DEFAULT_SEI_BREAKER_RESET_SECONDS = 30.0
DEFAULT_POLL_STALE_SECONDS = 300.0
#: well under the 30 s a Kubernetes pod gets by default between SIGTERM and SIGKILL
DEFAULT_STOP_SECONDS = 20.0


def _secret_repr(value: str | None) -> str:
    return "None" if value is None else "'[secure]'"


@dataclass(frozen=True)
class Settings:
    """Every setting of the service. Field ``x`` is read from ``SEI_BRIDGE_X``."""

    database_url: str = DEFAULT_DATABASE_URL
    sigrc_url: str | None = None
    sigrc_token: str | None = field(default=None, repr=False)
    sigrc_orgao: str | None = "SF"
    sei_url: str | None = None
    #: URL or path of the WSDL (e.g. the server's own, .../controlador_ws.php?servico=sei);
    #: None: the bundled wsdl/sei.wsdl
    sei_wsdl: str | None = None
    sei_sigla_sistema: str | None = None
    sei_identificacao_servico: str | None = field(default=None, repr=False)
    mappings: str = "mappings"
    sei_connect_timeout: float = DEFAULT_SEI_CONNECT_TIMEOUT
    sei_read_timeout: float = DEFAULT_SEI_READ_TIMEOUT
    #: send attachments by adicionarArquivo/adicionarConteudoArquivo (fails on SEI 4.1.0)
    sei_chunked_upload: bool = False
    sei_chunk_bytes: int = 5 * 1024 * 1024
    #: SEI calls per second (0: unlimited)
    sei_rate_limit: float = 20.0
    #: SEI calls in flight at once
    sei_concurrency: int = 4
    #: seconds the SEI circuit stays open after repeated failures before a trial call
    sei_breaker_reset_seconds: float = DEFAULT_SEI_BREAKER_RESET_SECONDS
    #: seconds a claimed action stays reserved to its worker (renewed while its call runs):
    #: how long the work a killed worker held waits before another worker takes it over
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    sigrc_connect_timeout: float = DEFAULT_SIGRC_CONNECT_TIMEOUT
    sigrc_read_timeout: float = DEFAULT_SIGRC_READ_TIMEOUT
    #: where downloaded attachments are kept while they are sent
    work_dir: str = ".sei-bridge"
    #: secret for keyed hashes of CPF in the audit trail (never logged)
    audit_key: str | None = field(default=None, repr=False)
    log_level: str = "INFO"
    #: ``text`` or ``json`` (one JSON object a line, with protocolo, action_id... as fields)
    log_format: str = "text"
    #: port of the daemon's /metrics, /healthz and /readyz (unset: not served)
    metrics_port: int | None = None
    #: address that endpoint binds (0.0.0.0 to let Prometheus on another host scrape it)
    metrics_addr: str = "127.0.0.1"
    #: /readyz fails when no worker polled the feed for this many seconds
    poll_stale_seconds: float = DEFAULT_POLL_STALE_SECONDS
    #: on SIGTERM, seconds the calls in flight get to finish before the daemon exits anyway
    stop_seconds: float = DEFAULT_STOP_SECONDS

    def __repr__(self) -> str:
        shown = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in _SECRETS:
                shown.append(f"{f.name}={_secret_repr(value)}")
            else:
                shown.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(shown)})"

    def secret_values(self) -> tuple[str, ...]:
        """The secrets set (SIGRC token, SEI identificação/Chave de Acesso, audit key), for the
        clients to mask in whatever a server echoes back (:mod:`sei_bridge.scrub`)."""
        values = (getattr(self, name) for name in sorted(_SECRETS))
        return tuple(v for v in values if isinstance(v, str) and v)

    def require(self, *names: str) -> None:
        """Raise ConfigurationError naming every missing setting among ``names``."""
        missing = [n for n in names if getattr(self, n) in (None, "")]
        if missing:
            variables = ", ".join(ENV_PREFIX + n.upper() for n in missing)
            raise errors.ConfigurationError(f"missing setting: set {variables}")


_SECRETS = frozenset({"sigrc_token", "sei_identificacao_servico", "audit_key"})


def _coerce(name: str, raw: Any, annotation: str) -> Any:
    variable = ENV_PREFIX + name.upper()
    if raw is None:
        return None
    text = str(raw).strip()
    try:
        if annotation.startswith("bool"):
            if text.lower() in ("1", "true", "yes", "on", "s"):
                return True
            if text.lower() in ("0", "false", "no", "off", "n", ""):
                return False
            raise ValueError(text)
        if annotation.startswith("int"):
            return int(text)
        if annotation.startswith("float"):
            return float(text)
    except ValueError:
        kind = annotation.split()[0]
        raise errors.ConfigurationError(
            f"{variable}={text!r} is not a valid {kind}: set it to a {kind} value"
        ) from None
    if annotation.startswith("int | None") and text:
        return int(text)
    return text


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise errors.ConfigurationError(
            f"cannot read settings file {path}: {exc.strerror}; check SEI_BRIDGE_CONFIG"
        ) from exc
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise errors.ConfigurationError(f"settings file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise errors.ConfigurationError(f"settings file {path} must be a mapping of keys")
    return {str(k).lower().removeprefix(ENV_PREFIX.lower()): v for k, v in data.items()}


def load_settings(
    environ: Mapping[str, str] | None = None, *, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Build Settings from a file (``SEI_BRIDGE_CONFIG``), the environment and overrides,
    later sources winning."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    config_file = env.get(ENV_PREFIX + "CONFIG")
    if config_file:
        values.update(_read_file(Path(config_file)))
    for f in dataclasses.fields(Settings):
        variable = ENV_PREFIX + f.name.upper()
        if variable in env:
            values[f.name] = env[variable]
    if overrides:
        values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name: str(f.type) for f in dataclasses.fields(Settings)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise errors.ConfigurationError(
            f"unknown setting(s) {', '.join(unknown)}: see README, section Configuration"
        )
    coerced = {name: _coerce(name, raw, known[name]) for name, raw in values.items()}
    settings = Settings(**coerced)
    if settings.sei_concurrency < 1:
        raise errors.ConfigurationError("SEI_BRIDGE_SEI_CONCURRENCY must be at least 1")
    if settings.sei_read_timeout <= 0 or settings.sei_connect_timeout <= 0:
        raise errors.ConfigurationError("SEI_BRIDGE_SEI_*_TIMEOUT must be positive seconds")
    if settings.sei_breaker_reset_seconds <= 0:
        raise errors.ConfigurationError(
            "SEI_BRIDGE_SEI_BREAKER_RESET_SECONDS must be positive seconds"
        )
    if settings.log_format not in ("text", "json"):
        raise errors.ConfigurationError("SEI_BRIDGE_LOG_FORMAT must be text or json")
    if not 1 <= settings.poll_stale_seconds <= 7 * 24 * 3600:  # nan fails too
        raise errors.ConfigurationError(
            "SEI_BRIDGE_POLL_STALE_SECONDS must be seconds between 1 and 604800"
        )
    if not 0 <= settings.stop_seconds <= 3600:  # nan fails too
        raise errors.ConfigurationError(
            "SEI_BRIDGE_STOP_SECONDS must be seconds between 0 and 3600"
        )
    if settings.metrics_port is not None and not 0 <= settings.metrics_port <= 65535:
        raise errors.ConfigurationError("SEI_BRIDGE_METRICS_PORT must be a port, 0-65535")
    if settings.lease_seconds < 1:
        raise errors.ConfigurationError("SEI_BRIDGE_LEASE_SECONDS must be at least 1 second")
    return settings
