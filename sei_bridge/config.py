"""Settings, from the environment (``SEI_BRIDGE_*``) and optionally a YAML/KEY=VALUE file.

Settings are typed and immutable, validated at start-up with one-line errors that say which
variable is wrong and how to fix it. Secrets print as ``[secure]``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import math
import os
import re
import stat
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sei_bridge import chars, errors, safe_yaml

__all__ = [
    "DEFAULT_DATABASE_URL",
    "DEFAULT_LEASE_SECONDS",
    "DEFAULT_SEI_BREAKER_RESET_SECONDS",
    "DEFAULT_SEI_CALL_DEADLINE",
    "DEFAULT_SEI_CONNECT_TIMEOUT",
    "DEFAULT_SEI_MAX_RESPONSE_BYTES",
    "DEFAULT_SEI_READ_TIMEOUT",
    "DEFAULT_SIGRC_CALL_DEADLINE",
    "DEFAULT_SIGRC_MAX_RESPONSE_BYTES",
    "ENV_PREFIX",
    "FIELD_RULES",
    "LOG_LEVELS",
    "Settings",
    "load_settings",
    "parse_log_level",
]

ENV_PREFIX = "SEI_BRIDGE_"
DEFAULT_DATABASE_URL = "sqlite:///sei-bridge.db"
DEFAULT_SEI_CONNECT_TIMEOUT = 5.0
DEFAULT_SEI_READ_TIMEOUT = 60.0
DEFAULT_SIGRC_CONNECT_TIMEOUT = 5.0
DEFAULT_SIGRC_READ_TIMEOUT = 30.0
#: total seconds of one SEI call (connect, send, whole answer), whatever the server trickles
DEFAULT_SEI_CALL_DEADLINE = 120.0
#: largest SOAP answer read (a consultarProcedimento with many andamentos is a few MB)
DEFAULT_SEI_MAX_RESPONSE_BYTES = 16 * 1024 * 1024
#: total seconds of one SIGRC call (feed page, GET, PUT, one attachment download of <= 50 MiB)
DEFAULT_SIGRC_CALL_DEADLINE = 120.0
#: largest JSON answer of SIGRC read (a feed page of 500 events); attachments are bounded by
#: their advertised size instead
DEFAULT_SIGRC_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
DEFAULT_LEASE_SECONDS = 120.0
DEFAULT_SEI_BREAKER_RESET_SECONDS = 30.0
DEFAULT_POLL_STALE_SECONDS = 300.0
#: well under the 30 s a Kubernetes pod gets by default between SIGTERM and SIGKILL
DEFAULT_STOP_SECONDS = 20.0


def _secret_repr(value: str | None) -> str:
    return "None" if value is None else "'[secure]'"


_PASSWORD = re.compile(r"(?<=://)([^/@:]*):[^/@]*@")


def _without_password(url: str) -> str:
    """``url`` with the password of its user info as ``[secure]`` (a database URL's)."""
    return _PASSWORD.sub(r"\1:[secure]@", url, count=1)


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
    #: total seconds of one SEI call (connect, send and the whole answer)
    sei_call_deadline: float = DEFAULT_SEI_CALL_DEADLINE
    #: largest SOAP answer read, in bytes
    sei_max_response_bytes: int = DEFAULT_SEI_MAX_RESPONSE_BYTES
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
    #: total seconds of one SIGRC call (connect, send and the whole answer or attachment)
    sigrc_call_deadline: float = DEFAULT_SIGRC_CALL_DEADLINE
    #: largest JSON answer of SIGRC read, in bytes
    sigrc_max_response_bytes: int = DEFAULT_SIGRC_MAX_RESPONSE_BYTES
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
            elif isinstance(value, str) and f.name.endswith("_url"):
                shown.append(f"{f.name}={_without_password(value)!r}")
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

# --- validation: one rule per field, applied to every value however it was given -------------
#
# Each rule turns the text of a setting into its value or raises _Invalid with what is wrong.
# The message then names the variable, what it accepts, and quotes the value only when the
# field is neither a secret nor able to hold one (URLs may carry a password), and never more
# than a short excerpt.

#: longest text any setting may hold (a path, a URL, a token)
MAX_TEXT_LENGTH = 4096
#: the level names SEI_BRIDGE_LOG_LEVEL accepts
LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_DATABASE_SCHEMES = frozenset(
    {"sqlite", "sqlite+pysqlite", "postgresql", "postgres", "postgresql+psycopg"}
)
_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)
_QUOTE_LIMIT = 40


class _Invalid(ValueError):
    """A setting's value is not accepted; the text says why (never quoting the value)."""


@dataclass(frozen=True)
class _Rule:
    #: what the setting accepts, for the message ("seconds, more than 0 and at most 300")
    accepts: str
    parse: Callable[[str], Any]
    #: the value may be quoted (bounded) in a message: not a secret, cannot hold a password
    quotable: bool = True


def _controls(text: str) -> None:
    found = chars.first_control(text)
    if found is not None:
        raise _Invalid(f"holds the control character {chars.describe(found)}")
    if len(text) > MAX_TEXT_LENGTH:
        raise _Invalid(f"is longer than {MAX_TEXT_LENGTH} characters")


def _number(*, high: float, low: float = 0.0, inclusive: bool = False) -> _Rule:
    """A finite number from ``low`` (excluded unless ``inclusive``) to ``high``."""
    above = f"at least {low:g}" if inclusive else f"more than {low:g}"

    def parse(text: str) -> float:
        if not _FLOAT.fullmatch(text):
            raise _Invalid("is not a number (digits, optionally a point and decimals)")
        value = float(text)
        if not math.isfinite(value) or value > high:
            raise _Invalid(f"is more than {high:g}")
        if value < low or (value == low and not inclusive):
            raise _Invalid(f"must be {above}")
        return value

    return _Rule(f"a number {above} and at most {high:g}", parse)


def _whole(*, low: int, high: int) -> _Rule:
    def parse(text: str) -> int:
        if not _INT.fullmatch(text) or len(text) > 20:
            raise _Invalid("is not a whole number")
        value = int(text)
        if not low <= value <= high:
            raise _Invalid(f"is not from {low} to {high}")
        return value

    return _Rule(f"a whole number from {low} to {high}", parse)


def _port(text: str) -> int | None:
    if text == "":
        return None
    return int(_whole(low=1, high=65535).parse(text))


def _boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "on", "s"):
        return True
    if lowered in ("0", "false", "no", "off", "n", ""):
        return False
    raise _Invalid("is not a yes/no value")


def _plain(max_length: int = MAX_TEXT_LENGTH) -> Callable[[str], str]:
    def parse(text: str) -> str:
        _controls(text)
        if len(text) > max_length:
            raise _Invalid(f"is longer than {max_length} characters")
        return text

    return parse


def _credential(text: str) -> str:
    if text == "":
        return text
    if len(text) > MAX_TEXT_LENGTH:
        raise _Invalid(f"is longer than {MAX_TEXT_LENGTH} characters")
    for char in text:
        if not "!" <= char <= "~":
            what = "a space" if char == " " else chars.describe(char)
            raise _Invalid(f"holds {what}, which is not printable ASCII")
    return text


def _http_url(text: str) -> str:
    problem = chars.http_url_problem(text, max_length=MAX_TEXT_LENGTH)
    if problem is not None:
        raise _Invalid(problem)
    return text


def _regular_file(text: str) -> str:
    _controls(text)
    path = Path(text)
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise _Invalid(f"names no readable file ({exc.strerror})") from None
    if not stat.S_ISREG(mode):
        raise _Invalid("is not a regular file (a directory, device or pipe)")
    if not os.access(path, os.R_OK):
        raise _Invalid("is a file this user cannot read")
    return text


def _wsdl(text: str) -> str:
    if "://" in text:
        return _http_url(text)
    return _regular_file(text)


def _writable_dir(text: str) -> str:
    """A work directory that exists or can be created (missing levels 0700) and takes files:
    tried for real, since permissions alone do not tell (root, read-only mounts, /proc)."""
    _controls(text)
    if text == "":
        raise _Invalid("is empty")
    path = Path(text)
    try:
        missing = [d for d in (path, *path.parents) if not os.path.lexists(d)]
        for directory in reversed(missing):
            directory.mkdir(mode=0o700)
        if not path.is_dir():
            raise _Invalid("is not a directory")
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise _Invalid(f"cannot be created or written ({exc.strerror or 'error'})") from None
    return text


def _database_url(text: str) -> str:
    _controls(text)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme not in _DATABASE_SCHEMES:
        raise _Invalid("is not a sqlite:/// or postgresql+psycopg:// URL")
    return text


def logging_choice(environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(log level, log format) as given by the environment, else the settings file, else the
    defaults — known before the settings are loaded, so that loading them can log. A settings
    file that cannot be read is reported when the settings are loaded, not here."""
    env = os.environ if environ is None else environ
    from_file: dict[str, Any] = {}
    if env.get(ENV_PREFIX + "CONFIG"):
        with contextlib.suppress(errors.ConfigurationError):
            from_file = _read_file(Path(env[ENV_PREFIX + "CONFIG"]))
    level = env.get(ENV_PREFIX + "LOG_LEVEL") or str(from_file.get("log_level") or "INFO")
    fmt = env.get(ENV_PREFIX + "LOG_FORMAT") or str(from_file.get("log_format") or "text")
    return level, fmt


def parse_log_level(text: str) -> str:
    """The logging level name for ``text`` (any case), or ValueError."""
    level = text.strip().upper()
    if level not in LOG_LEVELS:
        raise _Invalid("is not a log level")
    return level


_BIND_ADDRESS = re.compile(r"[A-Za-z0-9._:-]{1,253}", re.ASCII)


def _bind_address(text: str) -> str:
    if not _BIND_ADDRESS.fullmatch(text):
        raise _Invalid("is not an IP address or host name")
    return text


def _log_format(text: str) -> str:
    value = text.lower()
    if value not in ("text", "json"):
        raise _Invalid("is not a log format")
    return value


_URL_ACCEPTS = "an http:// or https:// URL with a host"
_CREDENTIAL_ACCEPTS = "the bare value: printable ASCII, no spaces"

#: field → the rule its value must pass. A field not named here gets the rule of its type
#: (:func:`_default_rule`); new fields should get their own, with bounds that make sense.
FIELD_RULES: dict[str, _Rule] = {
    "database_url": _Rule(
        "sqlite:///PATH or postgresql+psycopg://USER@HOST/DB", _database_url, quotable=False
    ),
    "sigrc_url": _Rule(_URL_ACCEPTS, _http_url, quotable=False),
    "sigrc_token": _Rule(_CREDENTIAL_ACCEPTS, _credential, quotable=False),
    "sigrc_orgao": _Rule("the órgão's sigla (at most 32 characters)", _plain(32)),
    "sei_url": _Rule(_URL_ACCEPTS, _http_url, quotable=False),
    "sei_wsdl": _Rule("an http(s) URL or the path of a WSDL file", _wsdl, quotable=False),
    "sei_sigla_sistema": _Rule(_CREDENTIAL_ACCEPTS, _credential),
    "sei_identificacao_servico": _Rule(_CREDENTIAL_ACCEPTS, _credential, quotable=False),
    "mappings": _Rule("the path of the folder of mapping files", _plain()),
    "sei_connect_timeout": _number(high=300),
    "sei_read_timeout": _number(high=3600),
    "sei_chunked_upload": _Rule("true or false", _boolean),
    "sei_chunk_bytes": _whole(low=1, high=64 * 1024 * 1024),
    "sei_rate_limit": _number(high=10_000, inclusive=True),
    "sei_concurrency": _whole(low=1, high=64),
    "sei_breaker_reset_seconds": _number(high=3600),
    "lease_seconds": _number(low=1, inclusive=True, high=86_400),
    "sigrc_connect_timeout": _number(high=300),
    "sigrc_read_timeout": _number(high=3600),
    "work_dir": _Rule("a directory this user can create or write", _writable_dir),
    "audit_key": _Rule("a text without control characters", _plain(), quotable=False),
    "log_level": _Rule(", ".join(LOG_LEVELS), parse_log_level),
    "metrics_port": _Rule("a port from 1 to 65535 (unset: no metrics)", _port),
    "metrics_addr": _Rule("an IP address or host name to bind, such as 127.0.0.1", _bind_address),
    "log_format": _Rule("text or json", _log_format),
    "poll_stale_seconds": _number(low=1, inclusive=True, high=7 * 86_400),
    "stop_seconds": _number(low=0, inclusive=True, high=3600),
    "sei_call_deadline": _number(low=1, inclusive=True, high=86_400),
    "sigrc_call_deadline": _number(low=1, inclusive=True, high=86_400),
    "sei_max_response_bytes": _whole(low=64 * 1024, high=1024**3),
    "sigrc_max_response_bytes": _whole(low=64 * 1024, high=1024**3),
}


def _default_rule(name: str, annotation: str) -> _Rule:
    quotable = name not in _SECRETS and not name.endswith(("_url", "_token", "_key"))
    if annotation.endswith("| None") and not annotation.startswith("str"):
        # an optional number or flag: empty means unset
        rule = _default_rule(name, annotation.removesuffix("| None").strip())
        return dataclasses.replace(rule, parse=lambda text: rule.parse(text) if text else None)
    if annotation.startswith("bool"):
        return _Rule("true or false", _boolean, quotable)
    if annotation.startswith("int"):
        return dataclasses.replace(_whole(low=0, high=2**53), quotable=quotable)
    if annotation.startswith("float"):
        return dataclasses.replace(_number(high=1e9, inclusive=True), quotable=quotable)
    return _Rule("a text without control characters", _plain(), quotable)


def _coerce(name: str, raw: Any, annotation: str, origin: str) -> Any:
    variable = ENV_PREFIX + name.upper()
    if raw is None:
        return None
    rule = FIELD_RULES.get(name) or _default_rule(name, annotation)
    quotable = rule.quotable and name not in _SECRETS
    if isinstance(raw, dict | list | tuple | set):
        raise errors.ConfigurationError(
            f"{variable}{origin} must be a single value, not a list or mapping: set it to "
            f"{rule.accepts}"
        )
    text = str(raw).strip()
    try:
        return rule.parse(text)
    except _Invalid as exc:
        shown = f"={safe_yaml.excerpt(text, _QUOTE_LIMIT)}" if quotable else " (value not shown)"
        raise errors.ConfigurationError(
            f"{variable}{origin}{shown} {exc}: set it to {rule.accepts}"
        ) from None


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = safe_yaml.load_file(path, error=errors.ConfigurationError)
    except errors.ConfigurationError as exc:
        raise errors.ConfigurationError(f"settings file (SEI_BRIDGE_CONFIG) {exc}") from None
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise errors.ConfigurationError(
            f"settings file {chars.escape_controls(str(path))} must be a mapping of keys"
        )
    out: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            raise errors.ConfigurationError(
                f"settings file {chars.escape_controls(str(path))} has the key "
                f"{safe_yaml.excerpt(key)}: keys are setting names such as sei_url"
            )
        out[key.lower().removeprefix(ENV_PREFIX.lower())] = value
    return out


def load_settings(
    environ: Mapping[str, str] | None = None, *, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Build Settings from a file (``SEI_BRIDGE_CONFIG``), the environment and overrides,
    later sources winning. Every value given is checked by its rule (``FIELD_RULES``); the
    first that fails raises ConfigurationError naming the variable and what it accepts."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    config_file = env.get(ENV_PREFIX + "CONFIG")
    if config_file:
        from_file = _read_file(Path(config_file))
        values.update(from_file)
        shown = chars.escape_controls(config_file)
        origins.update({k: f" (in settings file {shown})" for k in from_file})
    for f in dataclasses.fields(Settings):
        variable = ENV_PREFIX + f.name.upper()
        if variable in env:
            values[f.name] = env[variable]
            origins[f.name] = ""
    if overrides:
        given = {k: v for k, v in overrides.items() if v is not None}
        values.update(given)
        origins.update({k: "" for k in given})
    known = {f.name: str(f.type) for f in dataclasses.fields(Settings)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        names = ", ".join(safe_yaml.excerpt(n) for n in unknown[:5])
        raise errors.ConfigurationError(
            f"unknown setting(s) {names}: see README, section Configuration"
        )
    _refuse_unknown_variables(env, known)
    coerced = {
        name: _coerce(name, raw, known[name], origins.get(name, "")) for name, raw in values.items()
    }
    state = _state_dir(env)
    if "database_url" not in coerced:
        coerced["database_url"] = f"sqlite:///{state / 'sei-bridge.db'}"
    if "work_dir" not in coerced:
        coerced["work_dir"] = str(state / ".sei-bridge")
    return Settings(**coerced)


#: SEI_BRIDGE_* variables that are not settings: the settings file, the test and sandbox
#: knobs, and the state directory
_OTHER_VARIABLES = ("CONFIG", "STATE_DIR")
_OTHER_PREFIXES = ("TEST_", "SANDBOX_", "BENCH_")


def _refuse_unknown_variables(env: Mapping[str, str], known: Mapping[str, str]) -> None:
    """A misspelled SEI_BRIDGE_* variable would be ignored and its setting left at its
    default (a token never sent, a timeout never applied): refuse it, naming the nearest."""
    for variable in sorted(env):
        if not variable.startswith(ENV_PREFIX):
            continue
        name = variable.removeprefix(ENV_PREFIX)
        if name.lower() in known or name in _OTHER_VARIABLES or name.startswith(_OTHER_PREFIXES):
            continue
        shown = chars.escape_controls(variable[:60])
        nearest = difflib.get_close_matches(name.lower(), list(known), n=1, cutoff=0.75)
        fix = (
            f"did you mean {ENV_PREFIX}{nearest[0].upper()}?"
            if nearest
            else "see README, section Configuration"
        )
        raise errors.ConfigurationError(f"{shown} is not a sei-bridge setting: {fix}")


def _state_dir(env: Mapping[str, str]) -> Path:
    """Where the default store and work directory go, as an absolute path:
    ``SEI_BRIDGE_STATE_DIR``, else systemd's ``STATE_DIRECTORY`` (``StateDirectory=``), else
    the current directory."""
    raw = env.get(ENV_PREFIX + "STATE_DIR") or env.get("STATE_DIRECTORY", "").split(":")[0]
    if raw and chars.first_control(raw) is not None:
        raise errors.ConfigurationError(
            "SEI_BRIDGE_STATE_DIR holds a control character: set it to a directory path"
        )
    return Path(raw or ".").absolute()
