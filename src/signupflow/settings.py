"""Typed settings from the environment, a `.env` file and `<NAME>_FILE` secrets.

One variable, `APP_ENV`, chooses the profile. Staging and production refuse to start unless
every value that matters is present and sane; all problems are reported together so an
operator fixes them in one pass rather than one restart per mistake.
"""

from __future__ import annotations

import json
import os
import re
import ssl
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

Profile = Literal["development", "test", "staging", "production"]
STRICT_PROFILES: frozenset[str] = frozenset({"staging", "production"})
DEV_SECRET_KEY = "development-only-secret-key-never-use-in-production"  # noqa: S105
MIN_SECRET_KEY_LENGTH = 32
PLACEHOLDER_SECRETS = frozenset(
    {"changeme", "change-me", "secret", "please-change", DEV_SECRET_KEY}
)


class ConfigError(Exception):
    """Configuration is unusable; `problems` names every bad value."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


class FileSecretsSource(PydanticBaseSettingsSource):
    """`SECRET_KEY_FILE=/run/secrets/key` reads the value from that file (Docker/K8s secrets)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: dict[str, str]) -> None:
        super().__init__(settings_cls)
        self.environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        path = self.environ.get(f"{field_name.upper()}_FILE")
        # A setting that already names a file (SMTP_CA_FILE) holds no secret: no `_FILE_FILE`.
        if not path or field_name.endswith("_file"):
            return None, field_name, False
        try:
            return Path(path).read_text().strip(), field_name, False
        except OSError as exc:
            raise ConfigError(
                [f"{field_name.upper()}_FILE: cannot read {path}: {exc.strerror}"]
            ) from exc

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, name)
            if value is not None:
                values[key] = value
        return values


class FileSecretsSettings(BaseSettings):
    """Settings read from the environment and `.env`, where every field may also be given as
    `<NAME>_FILE` (Compose and Kubernetes secrets), and an empty variable means "not set"
    (Compose's `${VAR:-}` passes optional ones as empty)."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        env_ignore_empty=True,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # `<NAME>_FILE` may come from the environment or from `.env`; the environment wins.
        environ: dict[str, str] = {}
        for source in (dotenv_settings, env_settings):
            if isinstance(source, EnvSettingsSource):
                environ.update({k.upper(): v for k, v in source.env_vars.items() if v is not None})
        if not isinstance(env_settings, EnvSettingsSource):
            environ.update(os.environ)
        return (
            init_settings,
            env_settings,
            FileSecretsSource(settings_cls, environ),
            dotenv_settings,
        )


class Settings(FileSecretsSettings):
    """The application's settings: `serve`, `worker`, `db`, `schedule` and `people` read them.

    Each field's docstring is its operator documentation: `signupflow config reference`
    renders docs/configuration.md from it."""

    # Unset fields whose value follows the profile: the property that decides it.
    PROFILE_DEFAULTS: ClassVar[dict[str, str]] = {
        "log_level": "effective_log_level",
        "auto_migrate": "should_auto_migrate",
        "load_demo": "should_load_demo",
        "worker_inline": "should_run_worker_inline",
        "solver_in_worker": "should_solve_in_worker",
    }

    app_env: Profile = "development"
    """The profile: `staging` and `production` refuse to start on an unsafe configuration."""
    debug: bool = False
    """Framework debug mode; must be false in staging and production."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] | None = None
    """Lowest level logged."""

    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    """Signs access tokens and links; staging/production: random, 32+ characters
    (`openssl rand -hex 32`), never the development default."""
    database_url: SecretStr = SecretStr("sqlite:///./var/signupflow.db")
    """SQLAlchemy URL; staging/production: PostgreSQL (`postgresql+psycopg://user:pass@host/db`).
    The stack gives the app role's URL (`signupflow_app`, data only)."""
    redis_url: SecretStr | None = None
    """Shared rate limits and token revocations (`redis://user:pass@host:6379/0`); required in
    staging and production."""

    # NoDecode: pydantic-settings would otherwise insist on JSON and reject `a.example,b.example`.
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["localhost", "127.0.0.1", "testserver"]
    )
    """Host names the app answers (comma-separated); staging/production: set explicitly, no `*`."""
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Origins allowed to call the API from a browser (comma-separated)."""
    public_url: str = "http://127.0.0.1:8000"
    """The address users reach: the base of links in e-mails and calendar feeds."""

    db_pool_size: int = Field(default=10, ge=1, le=200)
    """Database connections kept open per process."""
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    """Connections opened beyond the pool under load, per process."""
    request_threads: int = Field(default=4, ge=1, le=200)
    """Requests a process works on at once (its thread pool); the others wait their turn in
    the event loop, holding no thread and no connection. Few threads serve more: CPU-bound reads
    in many threads spend the interpreter lock on handing it over (docs/benchmarks.md)."""
    db_pool_timeout_s: float = Field(default=10.0, gt=0)
    """Seconds a request waits for a free connection before it fails."""
    db_statement_timeout_ms: int = Field(default=15_000, ge=0)
    """PostgreSQL statement timeout per query (0: none)."""

    access_token_ttl_s: int = Field(default=900, ge=30, le=86_400)
    """Lifetime of an access token."""
    refresh_token_ttl_s: int = Field(default=30 * 86_400, ge=300)
    """Lifetime of a refresh token (a session's length without activity)."""
    invitation_ttl_s: int = Field(default=7 * 86_400, ge=300)
    """How long an invitation link works."""
    bcrypt_rounds: int = Field(default=12, ge=4, le=16)
    """Password hashing cost; at least 12 in staging and production."""

    auto_migrate: bool | None = None
    """Apply migrations at start-up. Production runs `signupflow db upgrade` as a separate step
    so replicas never race a schema change."""
    load_demo: bool | None = None
    """Load the demo organisation into an empty database at start-up."""

    previous_secret_keys: SecretStr | None = None
    """Key rotation: former `SECRET_KEY`s (comma-separated) that still verify tokens until the
    tokens they signed expire; staging/production: each must pass the `SECRET_KEY` rules."""
    log_format: Literal["json", "console"] = "json"
    """One JSON object per line, or readable console lines."""
    drain_delay_s: float = Field(default=5.0, ge=0, le=60)
    """Graceful shutdown: keep serving this long after SIGTERM (longer than the edge's
    health-check interval); with `SHUTDOWN_TIMEOUT_S` under the usual 30 s grace."""
    shutdown_timeout_s: float = Field(default=20.0, ge=1, le=120)
    """Graceful shutdown: then give in-flight requests this long."""
    probe_timeout_s: float = Field(default=2.0, gt=0, le=30)
    """Timeout of each dependency check in `/health/ready`."""
    storage_path: str = "./var"
    """Local data (SQLite database, backups); its disk usage is part of `/health`."""
    web_dir: Path = Path(__file__).resolve().parents[2] / "web"
    """The browser app's static files; the image copies web/ to /app/web and sets it."""
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Proxies whose X-Forwarded-For/Proto are believed (addresses or CIDR ranges,
    comma-separated); the stack sets the edge network's subnet."""
    metrics_token: SecretStr | None = None
    """Bearer token `/metrics` requires; unset: open in development and test, 404 in staging and
    production."""
    sentry_dsn: SecretStr | None = None
    """Error reports go to this Sentry DSN; unset: none are sent."""
    release: str | None = None
    """Release name shown in `/health` and sent with error reports (e.g. the git revision)."""
    login_attempts_per_minute: int = Field(default=10, ge=1, le=10_000)
    """Login attempts per account a minute, and 10 times that per client address (token buckets
    shared in Redis)."""
    api_requests_per_minute: int = Field(default=1200, ge=1, le=1_000_000)
    """API requests per user (token bucket shared in Redis: bursts up to the figure)."""
    org_api_requests_per_minute: int = Field(default=6000, ge=1, le=10_000_000)
    """API requests of every member of one organisation together, so one tenant cannot take
    the capacity all share (5 users at the per-user limit)."""
    max_request_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    """Larger bodies get 413 before they are read; the CSV import keeps its own 2 MiB. The edge
    configurations set the same figure."""
    solver_time_limit_s: float = Field(default=10.0, gt=0, le=120)
    """How long a solve may take, in a request or in the worker."""
    solver_in_worker: bool | None = None
    """The API queues solves (202) for the worker, whose image carries CP-SAT, so a request
    never holds a thread that long; false: solved in the request."""
    max_concurrent_solves: int = Field(default=2, ge=1, le=64)
    """Solves running inside requests at once per process (`SOLVER_IN_WORKER=false`); beyond
    it 503. Each holds a session for up to `SOLVER_TIME_LIMIT_S`."""
    org_solves_per_minute: int = Field(default=6, ge=1, le=10_000)
    """Solves one organisation may start a minute (429 beyond), in requests or in the worker:
    back-to-back solves of one tenant slowed another's reads from 12 to 188 ms p50 under the
    request budget alone (make bench-trust)."""
    password_reset_requests_per_minute: int = Field(default=5, ge=1, le=10_000)
    """Password-reset requests per account a minute, and 10 times that per client address."""
    password_reset_ttl_s: int = Field(default=3600, ge=300, le=86_400)
    """How long a password-reset link works."""
    signup_requests_per_minute: int = Field(default=5, ge=1, le=10_000)
    """Sign-ups per client address and per e-mail address; each costs a bcrypt hash and a
    mail."""
    signup_ttl_s: int = Field(default=86_400, ge=300, le=7 * 86_400)
    """How long a sign-up's confirmation link works."""
    refresh_reuse_grace_s: int = Field(default=10, ge=0, le=60)
    """A refresh token presented again this soon after its first use (two tabs refreshing at
    once) gets the same successor instead of ending the session."""

    smtp_host: str | None = None
    """SMTP relay for invitations, resets and reminders; required in production; unset
    elsewhere: mail is logged instead."""
    smtp_port: int = Field(default=587, ge=1, le=65_535)
    """SMTP relay port."""
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    """Transport security; `none` is refused with `SMTP_USERNAME` in staging/production."""
    smtp_username: str | None = None
    """SMTP login; needs `SMTP_PASSWORD` (or `SMTP_PASSWORD_FILE`)."""
    smtp_password: SecretStr | None = None
    """SMTP password."""
    smtp_timeout_s: float = Field(default=10.0, gt=0, le=120)
    """Timeout of each SMTP connection and command."""
    smtp_ca_file: Path | None = None
    """PEM CA certificate(s) the relay's certificate must chain to instead of the system trust
    store (an internal relay with a private CA). Verification is never turned off; a missing or
    unreadable file stops start-up."""
    mail_from: str = "SignUpFlow <no-reply@localhost>"
    """Sender of every e-mail (`Name <address@domain>`)."""
    worker_inline: bool | None = None
    """Run the background worker as a thread inside `serve` instead of its own process."""
    worker_poll_interval_s: float = Field(default=5.0, gt=0, le=3600)
    """Seconds between the worker's looks for due jobs."""
    notification_max_attempts: int = Field(default=8, ge=1, le=50)
    """Delivery attempts of one e-mail before it is marked failed."""
    notification_backoff_s: float = Field(default=30.0, gt=0, le=86_400)
    """First retry delay of a failed e-mail; doubled at each attempt."""
    reminder_hours_before: int = Field(default=24, ge=1, le=24 * 14)
    """Shift reminders go out this many hours before the shift."""

    @field_validator("allowed_hosts", "cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_csv(cls, value: Any) -> Any:
        # Operators write `ALLOWED_HOSTS=a.example,b.example`; JSON lists also work.
        if isinstance(value, str):
            if value.strip().startswith("["):
                return json.loads(value)
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("smtp_ca_file")
    @classmethod
    def _loadable_ca_file(cls, path: Path | None) -> Path | None:
        # Loaded here as the mailer will load it, so a wrong path fails at start-up in every
        # process and profile rather than at the first e-mail.
        if path is not None:
            try:
                ssl.create_default_context(cafile=path)
            except ssl.SSLError:
                raise ValueError(f"no PEM CA certificate in {path}") from None
            except OSError as exc:
                raise ValueError(f"cannot read {path}: {exc.strerror}") from None
        return path

    @property
    def verification_keys(self) -> list[str]:
        """The current key first, then the previous ones still accepted."""
        previous = self.previous_secret_keys.get_secret_value() if self.previous_secret_keys else ""
        return [self.secret_key.get_secret_value()] + [
            key.strip() for key in previous.split(",") if key.strip()
        ]

    @property
    def request_slots(self) -> int:
        """Requests holding a database session at once: no more than the threads that run
        them, and one fewer than the pool holds, so health probes always find a connection."""
        return max(1, min(self.request_threads, self.db_pool_size + self.db_max_overflow - 1))

    @property
    def is_strict(self) -> bool:
        return self.app_env in STRICT_PROFILES

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.get_secret_value().startswith("sqlite")

    @property
    def should_auto_migrate(self) -> bool:
        # Development and tests migrate at start-up; production runs `signupflow db upgrade`
        # as a separate one-shot step so replicas never race a schema change.
        return self.auto_migrate if self.auto_migrate is not None else not self.is_strict

    @property
    def should_load_demo(self) -> bool:
        return self.load_demo if self.load_demo is not None else self.app_env == "development"

    @property
    def should_run_worker_inline(self) -> bool:
        return (
            self.worker_inline
            if self.worker_inline is not None
            else (self.app_env == "development")
        )

    @property
    def should_solve_in_worker(self) -> bool:
        return self.solver_in_worker if self.solver_in_worker is not None else self.is_strict

    @property
    def effective_log_level(self) -> str:
        if self.log_level:
            return self.log_level
        return {"development": "DEBUG", "test": "WARNING"}.get(self.app_env, "INFO")

    def problems(self) -> list[str]:
        """Every reason this configuration must not serve, in one list."""
        found: list[str] = []
        if not self.is_strict:
            return found
        found += _weak_key("SECRET_KEY", self.secret_key.get_secret_value())
        # Every previous key still verifies access tokens, so each must be as strong.
        for position, key in enumerate(self.verification_keys[1:], start=1):
            found += _weak_key(f"PREVIOUS_SECRET_KEYS (entry {position})", key)
        if not self.database_url.get_secret_value().startswith(("postgresql", "postgres")):
            found.append("DATABASE_URL: must be a PostgreSQL URL (postgresql+psycopg://...)")
        if (
            "allowed_hosts" not in self.model_fields_set
            or not self.allowed_hosts
            or "*" in self.allowed_hosts
        ):
            found.append("ALLOWED_HOSTS: must list the public host names explicitly")
        if self.redis_url is None or not self.redis_url.get_secret_value():
            found.append("REDIS_URL: required so instances share rate limits and revocations")
        if self.debug:
            found.append("DEBUG: must be false")
        if self.drain_delay_s + self.shutdown_timeout_s >= 30:
            found.append(
                "DRAIN_DELAY_S + SHUTDOWN_TIMEOUT_S: must stay under the 30 s grace period that "
                "orchestrators give before SIGKILL"
            )
        if self.max_concurrent_solves >= self.request_slots:
            found.append(
                "MAX_CONCURRENT_SOLVES: must stay below REQUEST_THREADS and below DB_POOL_SIZE "
                "+ DB_MAX_OVERFLOW - 1, so solves in requests can never hold every session"
            )
        if self.bcrypt_rounds < 12:
            found.append("BCRYPT_ROUNDS: must be at least 12")
        if self.app_env == "production" and not self.smtp_host:
            found.append("SMTP_HOST: required so invitations, resets and reminders are sent")
        if self.smtp_username and self.smtp_password is None:
            found.append("SMTP_PASSWORD: required with SMTP_USERNAME (or SMTP_PASSWORD_FILE)")
        if self.smtp_username and self.smtp_security == "none":
            found.append(
                "SMTP_SECURITY: must be starttls or ssl when SMTP_USERNAME is set "
                "(with none the password crosses the network in clear)"
            )
        if "@" not in self.mail_from:
            found.append("MAIL_FROM: must contain an e-mail address (Name <address@domain>)")
        return found

    def validated(self) -> Settings:
        problems = self.problems()
        if problems:
            raise ConfigError(problems)
        return self

    def masked(self) -> dict[str, Any]:
        """The effective configuration, safe to print: secrets and URL passwords hidden."""
        shown: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                raw = value.get_secret_value()
                value = _mask_url(raw) if name.endswith("_url") else "********"
            shown[name.upper()] = value
        return shown


def _weak_key(name: str, key: str) -> list[str]:
    if key.lower() in PLACEHOLDER_SECRETS or len(key) < MIN_SECRET_KEY_LENGTH:
        return [
            f"{name}: must be a random value of at least {MIN_SECRET_KEY_LENGTH} "
            "characters (not the development default or a placeholder)"
        ]
    if len(set(key)) < 10:
        return [f"{name}: too little variety; generate it with `openssl rand -hex 32`"]
    return []


_QUERY_PASSWORD = re.compile(r"([?&][^=&]*password[^=&]*=)[^&]*", re.IGNORECASE)


def _mask_url(url: str) -> str:
    scheme, separator, rest = url.partition("://")
    if not separator:
        return "********"
    if "@" in rest:
        credentials, _, rest = rest.rpartition("@")
        user = credentials.split(":", 1)[0]
        rest = f"{user}:********@{rest}"
    # libpq also accepts `?password=...`.
    return f"{scheme}://" + _QUERY_PASSWORD.sub(r"\1********", rest)


def read_settings(**overrides: Any) -> Settings:
    """Read settings; raise ConfigError naming every value that does not parse."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]).upper() or "SETTINGS"
            problems.append(f"{field}: {error['msg']}")
        raise ConfigError(problems) from None
    except SettingsError as exc:
        raise ConfigError([str(exc)]) from None


def load_settings(**overrides: Any) -> Settings:
    """Read settings and apply the profile's rules; raise ConfigError naming every bad value."""
    return read_settings(**overrides).validated()
