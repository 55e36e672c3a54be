"""Settings: profiles, `.env`, `<NAME>_FILE` secrets, masking, and the strict profiles' rules."""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import pytest

from signupflow.settings import (
    DEV_SECRET_KEY,
    ConfigError,
    Settings,
    load_settings,
    read_settings,
)
from tests.support.tls import CertificateAuthority

STRONG_KEY = "9c1f6a0e4b7d2c58e3a19f0b6d4c7e2a5b8f1d3c6e9a0b2d4f6a8c0e1b3d5f7a"
DB_PASSWORD = "db-pa55word-Xq7"
REDIS_PASSWORD = "redis-pa55word-Zk2"
VALID_PRODUCTION: dict[str, Any] = {
    "app_env": "production",
    "secret_key": STRONG_KEY,
    "database_url": f"postgresql+psycopg://app:{DB_PASSWORD}@db.internal:5432/signupflow",
    "allowed_hosts": ["signupflow.example.org"],
    "redis_url": f"redis://:{REDIS_PASSWORD}@redis.internal:6379/0",
    "smtp_host": "smtp.example.org",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Settings read the process environment and `./.env`; start every test without either,
    so a variable exported by whoever runs the suite cannot decide an outcome."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
        monkeypatch.delenv(f"{name.upper()}_FILE", raising=False)
    monkeypatch.chdir(tmp_path)


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def production(**overrides: Any) -> Settings:
    return settings(**{**VALID_PRODUCTION, **overrides})


def bad_variables(config: Settings) -> list[str]:
    return [problem.split(":", 1)[0] for problem in config.problems()]


# Profiles


def test_development_is_the_default_profile_and_migrates_and_loads_the_demo() -> None:
    config = settings()
    assert config.app_env == "development"
    assert config.should_auto_migrate
    assert config.should_load_demo
    assert config.effective_log_level == "DEBUG"
    assert config.problems() == []


def test_development_profile_does_not_enforce_production_rules() -> None:
    config = settings(debug=True, bcrypt_rounds=4, allowed_hosts=["*"], secret_key="changeme")
    assert config.problems() == []
    assert load_settings(_env_file=None, debug=True).debug


def test_test_profile_migrates_without_the_demo_and_logs_warnings() -> None:
    config = settings(app_env="test")
    assert config.should_auto_migrate
    assert not config.should_load_demo
    assert config.effective_log_level == "WARNING"
    assert not config.is_strict


@pytest.mark.parametrize("profile", ["staging", "production"])
def test_strict_profiles_neither_migrate_nor_load_the_demo_unless_asked(profile: str) -> None:
    config = production(app_env=profile)
    assert config.is_strict
    assert not config.should_auto_migrate
    assert not config.should_load_demo
    assert config.effective_log_level == "INFO"
    assert production(app_env=profile, auto_migrate=True).should_auto_migrate


def test_profile_is_chosen_by_app_env_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "staging")
    assert settings().app_env == "staging"
    assert "ALLOWED_HOSTS" in bad_variables(settings())


def test_unknown_profile_is_a_config_error_naming_app_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "prod")
    with pytest.raises(ConfigError) as raised:
        read_settings(_env_file=None)
    assert [p.split(":", 1)[0] for p in raised.value.problems] == ["APP_ENV"]


def test_every_unparseable_variable_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BCRYPT_ROUNDS", "many")
    monkeypatch.setenv("DEBUG", "perhaps")
    monkeypatch.setenv("ACCESS_TOKEN_TTL_S", "5")
    with pytest.raises(ConfigError) as raised:
        read_settings(_env_file=None)
    named = sorted(p.split(":", 1)[0] for p in raised.value.problems)
    assert named == ["ACCESS_TOKEN_TTL_S", "BCRYPT_ROUNDS", "DEBUG"]


# `.env` and list values


def test_dotenv_file_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "APP_ENV=test\nDATABASE_URL=sqlite:///from-dotenv.db\nBCRYPT_ROUNDS=5\n"
    )
    config = Settings()
    assert config.app_env == "test"
    assert config.database_url.get_secret_value() == "sqlite:///from-dotenv.db"
    assert config.bcrypt_rounds == 5


def test_environment_overrides_the_dotenv_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("DATABASE_URL=sqlite:///from-dotenv.db\nBCRYPT_ROUNDS=5\n")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///from-environment.db")
    config = Settings()
    assert config.database_url.get_secret_value() == "sqlite:///from-environment.db"
    assert config.bcrypt_rounds == 5


def test_dotenv_file_is_ignored_when_disabled(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("APP_ENV=production\n")
    assert settings().app_env == "development"


# Every list-valued setting, so one added later is held to the same promise.
LIST_VARIABLES = sorted(
    name.upper()
    for name, field in Settings.model_fields.items()
    if typing.get_origin(field.annotation) is list
)


def test_list_variables_are_found() -> None:
    assert {"ALLOWED_HOSTS", "CORS_ORIGINS"} <= set(LIST_VARIABLES)


@pytest.mark.parametrize("variable", LIST_VARIABLES)
@pytest.mark.parametrize(
    ("raw", "items"),
    [
        ("signupflow.example.org", ["signupflow.example.org"]),
        ("a.example.org, b.example.org", ["a.example.org", "b.example.org"]),
        ('["a.example.org", "b.example.org"]', ["a.example.org", "b.example.org"]),
    ],
)
def test_list_variables_accept_a_comma_separated_or_json_list(
    variable: str, raw: str, items: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(variable, raw)
    assert getattr(settings(), variable.lower()) == items
    monkeypatch.delenv(variable)
    (tmp_path / ".env").write_text(f"{variable}={raw}\n")
    assert getattr(Settings(), variable.lower()) == items


def test_malformed_json_list_is_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALLOWED_HOSTS", '["a.example.org",')
    with pytest.raises(ConfigError) as raised:
        read_settings(_env_file=None)
    assert [p.split(":", 1)[0] for p in raised.value.problems] == ["ALLOWED_HOSTS"]


# `<NAME>_FILE` secrets


def test_secret_key_is_read_from_secret_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "secret_key"
    key_file.write_text(STRONG_KEY + "\n")
    monkeypatch.setenv("SECRET_KEY_FILE", str(key_file))
    assert settings().secret_key.get_secret_value() == STRONG_KEY


def test_database_url_is_read_from_database_url_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url_file = tmp_path / "database_url"
    url_file.write_text(VALID_PRODUCTION["database_url"])
    monkeypatch.setenv("DATABASE_URL_FILE", str(url_file))
    assert settings().database_url.get_secret_value() == VALID_PRODUCTION["database_url"]


def test_secret_file_named_in_the_dotenv_file_is_read(tmp_path: Path) -> None:
    key_file = tmp_path / "secret_key"
    key_file.write_text(STRONG_KEY)
    (tmp_path / ".env").write_text(f"SECRET_KEY_FILE={key_file}\n")
    assert Settings().secret_key.get_secret_value() == STRONG_KEY


def test_secret_files_complete_a_valid_production_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("secret_key", "database_url", "redis_url"):
        (tmp_path / name).write_text(VALID_PRODUCTION[name])
        monkeypatch.setenv(f"{name.upper()}_FILE", str(tmp_path / name))
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("ALLOWED_HOSTS", "signupflow.example.org")
    monkeypatch.setenv("SMTP_HOST", "smtp.example.org")
    config = load_settings(_env_file=None)
    assert config.secret_key.get_secret_value() == STRONG_KEY
    assert config.redis_url is not None
    assert config.redis_url.get_secret_value() == VALID_PRODUCTION["redis_url"]


@pytest.mark.parametrize("variable", ["SECRET_KEY_FILE", "DATABASE_URL_FILE"])
def test_missing_secret_file_is_a_config_error_naming_the_variable_and_path(
    variable: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "no-such-secret"
    monkeypatch.setenv(variable, str(missing))
    with pytest.raises(ConfigError) as raised:
        read_settings(_env_file=None)
    [problem] = raised.value.problems
    assert problem.startswith(f"{variable}:")
    assert str(missing) in problem
    assert "No such file" in problem


# Masking


def test_masked_configuration_hides_the_secret_key_and_url_passwords() -> None:
    shown = production().masked()
    printed = json.dumps(shown, default=str)
    for secret in (STRONG_KEY, DB_PASSWORD, REDIS_PASSWORD):
        assert secret not in printed
    assert shown["SECRET_KEY"] == "********"
    assert shown["DATABASE_URL"] == (
        "postgresql+psycopg://app:********@db.internal:5432/signupflow"
    )
    assert shown["REDIS_URL"] == "redis://:********@redis.internal:6379/0"
    assert shown["APP_ENV"] == "production"
    assert shown["ALLOWED_HOSTS"] == ["signupflow.example.org"]


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app:p@ss:w0rd?x@db.internal/signupflow",
        "postgresql://db.internal/signupflow?user=app&password=p@ss:w0rd?x&sslmode=require",
    ],
)
def test_masked_hides_url_passwords_with_awkward_characters_or_in_the_query(url: str) -> None:
    shown = production(database_url=url).masked()["DATABASE_URL"]
    assert "w0rd" not in shown
    assert "db.internal/signupflow" in shown


def test_masked_hides_a_secret_key_that_looks_like_a_url() -> None:
    key = "https://not-a-url-but-a-secret-" + STRONG_KEY
    assert production(secret_key=key).masked()["SECRET_KEY"] == "********"


# The strict profiles' rules


@pytest.mark.parametrize("profile", ["staging", "production"])
def test_valid_strict_configuration_passes(profile: str) -> None:
    config = load_settings(_env_file=None, **{**VALID_PRODUCTION, "app_env": profile})
    assert config.problems() == []
    assert config.bcrypt_rounds == 12


@pytest.mark.parametrize(
    "key",
    [
        DEV_SECRET_KEY,
        "changeme",
        "CHANGEME",
        "secret",
        "0123456789abcdef",  # random-looking but short
        "a" * 64,  # long but one character
        "abcabcabcabcabcabcabcabcabcabcabcabc",
    ],
)
def test_production_refuses_a_placeholder_or_weak_secret_key(key: str) -> None:
    assert bad_variables(production(secret_key=key)) == ["SECRET_KEY"]


def test_production_refuses_every_weak_previous_secret_key_and_names_each() -> None:
    other_strong = "4e7b1a9c0d3f6e2b8a5c7d1f0e9b3a6c2d8f4a7e1b0c5d9f3a6e8b2c4d7f1a0e"
    config = production(previous_secret_keys=f"{DEV_SECRET_KEY}, x,{other_strong},changeme")
    assert config.problems() == [
        f"PREVIOUS_SECRET_KEYS (entry {n}): must be a random value of at least 32 characters "
        "(not the development default or a placeholder)"
        for n in (1, 2, 4)
    ]
    with pytest.raises(ConfigError):
        config.validated()


def test_production_accepts_strong_previous_secret_keys() -> None:
    other_strong = "4e7b1a9c0d3f6e2b8a5c7d1f0e9b3a6c2d8f4a7e1b0c5d9f3a6e8b2c4d7f1a0e"
    assert production(previous_secret_keys=other_strong).problems() == []
    assert bad_variables(production(previous_secret_keys="a" * 40)) == [
        "PREVIOUS_SECRET_KEYS (entry 1)"
    ]


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///./var/signupflow.db",
        "sqlite://",
        "mysql+pymysql://app:pw@db.internal/signupflow",
    ],
)
def test_production_refuses_a_non_postgresql_database_url(url: str) -> None:
    assert bad_variables(production(database_url=url)) == ["DATABASE_URL"]


@pytest.mark.parametrize(
    "url", ["postgres://app:pw@db.internal/signupflow", "postgresql://app:pw@db/signupflow"]
)
def test_production_accepts_every_spelling_of_a_postgresql_url(url: str) -> None:
    assert production(database_url=url).problems() == []


def test_production_refuses_allowed_hosts_left_at_the_default() -> None:
    values = {k: v for k, v in VALID_PRODUCTION.items() if k != "allowed_hosts"}
    assert bad_variables(settings(**values)) == ["ALLOWED_HOSTS"]


@pytest.mark.parametrize("hosts", [["*"], ["signupflow.example.org", "*"], []])
def test_production_refuses_wildcard_or_empty_allowed_hosts(hosts: list[str]) -> None:
    assert bad_variables(production(allowed_hosts=hosts)) == ["ALLOWED_HOSTS"]


@pytest.mark.parametrize("url", [None, ""])
def test_production_requires_redis_url(url: str | None) -> None:
    assert bad_variables(production(redis_url=url)) == ["REDIS_URL"]


def test_production_refuses_debug() -> None:
    assert bad_variables(production(debug=True)) == ["DEBUG"]


def test_production_refuses_bcrypt_rounds_below_twelve() -> None:
    assert bad_variables(production(bcrypt_rounds=11)) == ["BCRYPT_ROUNDS"]
    assert production(bcrypt_rounds=12).problems() == []


@pytest.mark.parametrize("profile", ["staging", "production"])
def test_strict_profile_names_every_bad_value_at_once(profile: str) -> None:
    everything_wrong = {
        "app_env": profile,
        "secret_key": "changeme",
        "database_url": "sqlite:///./var/signupflow.db",
        "allowed_hosts": ["*"],
        "debug": True,
        "bcrypt_rounds": 10,
    }
    with pytest.raises(ConfigError) as raised:
        load_settings(_env_file=None, **everything_wrong)
    named = [problem.split(":", 1)[0] for problem in raised.value.problems]
    expected = ["SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "REDIS_URL", "DEBUG"]
    production_only = ["SMTP_HOST"] if profile == "production" else []
    assert named == [*expected, "BCRYPT_ROUNDS", *production_only]
    for variable in named:
        assert f"  - {variable}:" in str(raised.value)


def test_problems_never_repeat_a_secret_value() -> None:
    weak = "short-secret-Qw9"
    config = production(secret_key=weak, database_url=f"mysql://app:{DB_PASSWORD}@db/x")
    assert bad_variables(config) == ["SECRET_KEY", "DATABASE_URL"]
    text = "\n".join(config.problems())
    assert weak not in text
    assert DB_PASSWORD not in text


def test_production_requires_an_smtp_server() -> None:
    values = {k: v for k, v in VALID_PRODUCTION.items() if k != "smtp_host"}
    assert bad_variables(settings(**values)) == ["SMTP_HOST"]
    # Staging may run without mail; development logs it instead.
    assert settings(**{**values, "app_env": "staging"}).problems() == []


def test_smtp_credentials_come_from_a_secret_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "smtp_password").write_text("mail-pa55word\n")
    monkeypatch.setenv("SMTP_PASSWORD_FILE", str(tmp_path / "smtp_password"))
    config = production(smtp_username="mailer")
    assert config.smtp_password is not None
    assert config.smtp_password.get_secret_value() == "mail-pa55word"
    assert config.problems() == []
    assert config.masked()["SMTP_PASSWORD"] == "********"
    assert bad_variables(production(smtp_username="mailer", smtp_password=None)) == [
        "SMTP_PASSWORD"
    ]


def test_the_worker_runs_inside_serve_only_in_development() -> None:
    assert settings(app_env="development").should_run_worker_inline
    assert not settings(app_env="test").should_run_worker_inline
    assert not production().should_run_worker_inline
    assert settings(app_env="test", worker_inline=True).should_run_worker_inline


def test_staging_and_production_solve_in_the_worker_by_default() -> None:
    assert not settings(app_env="development").should_solve_in_worker
    assert not settings(app_env="test").should_solve_in_worker
    assert production().should_solve_in_worker
    assert production(app_env="staging").should_solve_in_worker
    assert not production(solver_in_worker=False).should_solve_in_worker
    assert settings(app_env="test", solver_in_worker=True).should_solve_in_worker


def test_request_body_limit_and_organisation_budget_have_safe_defaults() -> None:
    config = settings()
    assert config.max_request_body_bytes == 1024 * 1024
    assert config.org_api_requests_per_minute > config.api_requests_per_minute


def test_production_refuses_a_solve_cap_that_could_hold_every_session() -> None:
    pool = {"db_pool_size": 5, "db_max_overflow": 3, "request_threads": 20}
    assert bad_variables(production(**pool, max_concurrent_solves=7)) == ["MAX_CONCURRENT_SOLVES"]
    assert bad_variables(production(**pool, max_concurrent_solves=6)) == []


def test_production_refuses_a_solve_cap_that_could_hold_every_thread() -> None:
    assert bad_variables(production(request_threads=3, max_concurrent_solves=3)) == [
        "MAX_CONCURRENT_SOLVES"
    ]
    assert bad_variables(production(request_threads=3, max_concurrent_solves=2)) == []


def test_request_slots_never_exceed_the_threads_or_the_pool() -> None:
    assert production(request_threads=4).request_slots == 4
    assert production(request_threads=30, db_pool_size=5, db_max_overflow=3).request_slots == 7
    assert production(request_threads=1, db_pool_size=1, db_max_overflow=0).request_slots == 1


def test_an_empty_variable_means_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    # Compose passes optional variables as `${VAR:-}`: empty, which must keep the default.
    monkeypatch.setenv("MAIL_FROM", "")
    monkeypatch.setenv("SMTP_USERNAME", "")
    config = Settings()
    assert config.mail_from == Settings.model_fields["mail_from"].default
    assert config.smtp_username is None


def test_smtp_credentials_are_refused_without_tls() -> None:
    config = production(smtp_username="mailer", smtp_password="mail-pa55word", smtp_security="none")
    [problem] = config.problems()
    assert problem.startswith("SMTP_SECURITY: must be starttls or ssl when SMTP_USERNAME is set")
    assert "mail-pa55word" not in problem
    tls = production(smtp_username="mailer", smtp_password="x", smtp_security="ssl")
    assert tls.problems() == []
    assert production(smtp_security="none").problems() == []  # no password to expose


def test_smtp_ca_file_names_a_private_ca_to_trust(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert production().smtp_ca_file is None  # the system trust store
    ca = CertificateAuthority.create(tmp_path / "ca")
    monkeypatch.setenv("SMTP_CA_FILE", str(ca.pem_file))
    monkeypatch.setenv("SMTP_CA_FILE_FILE", str(tmp_path / "ignored"))  # not a secret: no _FILE
    config = load_settings(_env_file=None, **VALID_PRODUCTION)
    assert config.smtp_ca_file == ca.pem_file
    assert config.masked()["SMTP_CA_FILE"] == ca.pem_file  # a path, not a secret


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        pytest.param(lambda path: None, "cannot read {path}: No such file", id="missing"),
        pytest.param(lambda path: path.mkdir(), "cannot read {path}: Is a directory", id="dir"),
        pytest.param(
            lambda path: path.write_text("-----BEGIN PRIVATE KEY-----\n"),
            "no PEM CA certificate in {path}",
            id="not-a-certificate",
        ),
    ],
)
@pytest.mark.parametrize("profile", ["development", "production"])
def test_an_unusable_smtp_ca_file_stops_start_up_naming_it(
    make: Any, reason: str, profile: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "relay-ca.pem"
    make(path)
    monkeypatch.setenv("SMTP_CA_FILE", str(path))
    with pytest.raises(ConfigError) as raised:
        load_settings(_env_file=None, **{**VALID_PRODUCTION, "app_env": profile})
    [problem] = raised.value.problems
    assert problem.startswith("SMTP_CA_FILE: ")
    assert reason.format(path=path) in problem
