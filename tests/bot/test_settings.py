import dataclasses
import re
from pathlib import Path

import pytest

from bot.settings import Secret, SettingsError, load_settings


def load(env: dict[str, str], env_file: Path | None = None):
    return load_settings(environ=env, env_file=env_file)


def test_defaults_use_sqlite_in_the_data_folder_and_loopback_web() -> None:
    settings = load({})
    assert settings.database_url == "sqlite+aiosqlite:///data/foundrycord.db"
    assert (settings.web_host, settings.web_port) == ("127.0.0.1", 8080)
    assert settings.public_url == "http://127.0.0.1:8080"
    assert settings.discord_token is None
    assert not settings.auto_approve


def test_values_are_typed() -> None:
    settings = load(
        {
            "DISCORD_TOKEN": "abc.def.ghi",
            "OWNER_IDS": "123456789012345678, 223456789012345678",
            "AUTO_APPROVE": "yes",
            "SHARD_COUNT": "2",
            "WEB_PORT": "9000",
            "DATABASE_URL": "postgresql://u:pw@db:5432/foundry",
            "REDIS_URL": "redis://cache:6379/0",
        }
    )
    assert settings.owner_ids == {123456789012345678, 223456789012345678}
    assert settings.auto_approve is True
    assert settings.shard_count == 2
    assert settings.web_port == 9000
    assert settings.database_url == "postgresql+asyncpg://u:pw@db:5432/foundry"
    assert isinstance(settings.discord_token, Secret)
    assert settings.discord_token.get() == "abc.def.ghi"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WEB_PORT": "abc"}, "WEB_PORT='abc' is not valid: expected a port number"),
        ({"WEB_PORT": "70000"}, "WEB_PORT='70000' is not valid"),
        ({"DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL is not valid: expected a URL starting"),
        ({"OWNER_IDS": "12, bob"}, "OWNER_IDS='12, bob' is not valid: expected comma-separated"),
        ({"AUTO_APPROVE": "maybe"}, "AUTO_APPROVE='maybe' is not valid: expected true or false"),
        ({"SHARD_COUNT": "0"}, "SHARD_COUNT='0' is not valid"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL='LOUD' is not valid"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL is not valid"),
    ],
)
def test_bad_values_name_the_variable_and_what_is_expected(
    env: dict[str, str], expected: str
) -> None:
    with pytest.raises(SettingsError) as info:
        load(env)
    assert str(info.value).startswith(expected)


def test_a_bad_database_url_does_not_echo_its_password() -> None:
    with pytest.raises(SettingsError) as info:
        load({"DATABASE_URL": "mysql://admin:hunter22@db/x"})
    assert "hunter22" not in str(info.value)


def test_secrets_never_show_in_reprs() -> None:
    settings = load(
        {
            "DISCORD_TOKEN": "tok-123456",
            "SECRET_KEY": "sk-" + "a" * 40,
            "DISCORD_CLIENT_SECRET": "cs-1",
            "DATABASE_URL": "postgresql://u:dbpass-42@db/x",
            "REDIS_URL": "redis://:redispass-42@cache:6379/0",
        }
    )
    text = repr(settings)
    for secret in ("tok-123456", "sk-aaaa", "cs-1", "dbpass-42", "redispass-42"):
        assert secret not in text
    assert {"tok-123456", "dbpass-42", "redispass-42"} <= set(settings.secrets())


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SECRET_KEY": "short"}, "SECRET_KEY is not valid: expected a random string of 32"),
        ({"REDIS_URL": "redis://:pw-9@host:abc/0"}, "REDIS_URL is not valid: expected a URL"),
        ({"REDIS_URL": "reddis://:pw-9@host/0"}, "REDIS_URL is not valid: expected a URL"),
    ],
)
def test_secret_settings_are_checked_without_echoing_them(
    env: dict[str, str], expected: str
) -> None:
    with pytest.raises(SettingsError) as info:
        load(env)
    assert str(info.value).startswith(expected)
    assert "pw-9" not in str(info.value) and "short" not in str(info.value)


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("# comment\nWEB_PORT=8181\nLOG_LEVEL=debug\n")
    settings = load({"LOG_LEVEL": "warning"}, env_file)
    assert settings.web_port == 8181
    assert settings.log_level == "WARNING"


def test_a_corrupt_env_line_is_named_without_its_content(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("WEB_PORT=8181\nDISCORD_TOKEN secret-value\n")
    with pytest.raises(SettingsError) as info:
        load({}, env_file)
    assert "line 2" in str(info.value)
    assert "secret-value" not in str(info.value)


def documented_variables() -> set[str]:
    """The NAME of every `NAME=` line of `.env.example`."""
    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    return set(re.findall(r"^([A-Z][A-Z0-9_]*)=", example, re.MULTILINE))


def read_variables() -> set[str]:
    """Every variable the settings read: the core's and each feature's own."""
    from bot.settings import all_variables

    return {variable.name for variable in all_variables()}


def test_env_example_documents_every_variable_and_only_those() -> None:
    read = read_variables()
    assert {"DISCORD_TOKEN", "HOST_PROC", "AGENT_URL", "AGENT_TOKEN"} <= read  # really read
    assert sorted(read - documented_variables()) == [], "read but not in .env.example"
    assert sorted(documented_variables() - read) == [], "in .env.example but never read"


def test_every_documented_variable_reaches_the_settings() -> None:
    """Each variable of `.env.example`, set, changes what the settings hold."""
    from bot.settings import feature_settings_specs

    samples = {"AGENT_URL": "https://editor.example", "AGENT_TOKEN": "fcm_secret"}
    settings = load(samples)
    [monitoring] = [s for s in feature_settings_specs() if s.feature == "monitoring"]
    own = settings.feature(monitoring)
    assert own.agent_url == "https://editor.example"
    assert own.agent_token is not None and own.agent_token.get() == "fcm_secret"
    assert "fcm_secret" in settings.secrets()  # a feature's secret is redacted from logs


def test_readme_configuration_table_lists_every_variable() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for name in read_variables():
        assert f"| `{name}` |" in readme, name


def test_a_short_stored_session_key_is_refused(tmp_path: Path) -> None:
    from bot.secret_key import SecretKeyError, load_session_key

    settings = dataclasses.replace(load({}), data_dir=tmp_path)
    key = load_session_key(settings)  # generated on first use, mode 600
    assert len(key) == 32 and load_session_key(settings) == key
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"
    (tmp_path / "secret_key").write_text("")
    with pytest.raises(SecretKeyError, match="holds no usable key"):
        load_session_key(settings)


CLUSTER = {
    "SHARD_COUNT": "4",
    "DATABASE_URL": "postgresql://u:pw@db/foundry",
    "SECRET_KEY": "k" * 40,
}


def test_shard_ranges_are_read_as_ranges() -> None:
    settings = load({**CLUSTER, "SHARD_IDS": "0-1, 3"})
    assert settings.shard_ids == (0, 1, 3)
    assert load({**CLUSTER, "SHARD_IDS": ""}).shard_ids is None
    assert load({}).shard_ids is None and load({}).discord_global_rate == 50


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SHARD_IDS": "0-1"}, "SHARD_IDS needs SHARD_COUNT"),
        ({**CLUSTER, "SHARD_IDS": "3-5"}, "SHARD_IDS names shard 4, but SHARD_COUNT=4"),
        ({**CLUSTER, "SHARD_IDS": "2-1"}, "SHARD_IDS='2-1' is not valid"),
        ({**CLUSTER, "SHARD_IDS": "a"}, "SHARD_IDS='a' is not valid"),
        (
            {**CLUSTER, "SHARD_IDS": "0-1", "DATABASE_URL": ""},
            "processes share one PostgreSQL database; set DATABASE_URL",
        ),
        ({**CLUSTER, "SHARD_IDS": "0-1", "SECRET_KEY": ""}, "set SECRET_KEY"),
        ({"DISCORD_GLOBAL_RATE": "60"}, "DISCORD_GLOBAL_RATE='60' is not valid"),
    ],
)
def test_a_shard_range_without_what_it_needs_is_one_line(
    env: dict[str, str], expected: str
) -> None:
    with pytest.raises(SettingsError) as info:
        load(env)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_every_shard_in_one_process_needs_no_postgresql() -> None:
    assert load({"SHARD_COUNT": "2", "SHARD_IDS": "0-1"}).shard_ids == (0, 1)


def test_a_rest_proxy_and_a_share_of_the_global_rate() -> None:
    settings = load({"DISCORD_API_BASE": "http://proxy:8080/api/v10/", "DISCORD_GLOBAL_RATE": "25"})
    assert settings.discord_api_base == "http://proxy:8080/api/v10"
    assert settings.discord_global_rate == 25
    assert load({"DISCORD_API_BASE": ""}).discord_api_base == "https://discord.com/api/v10"
