"""Settings come from the environment with documented defaults and clear errors."""

from __future__ import annotations

import pytest

from infra.settings import DEFAULTS, Settings, SettingsError


def test_defaults_apply_when_nothing_is_set() -> None:
    settings = Settings.from_env({})
    assert settings.kafka_bootstrap == DEFAULTS["KAFKA_BOOTSTRAP"]
    assert settings.clickhouse.port == int(DEFAULTS["CLICKHOUSE_PORT"])
    assert settings.clickhouse.database == "platform"


def test_environment_overrides_ports_and_folders(tmp_path) -> None:
    settings = Settings.from_env(
        {
            "KAFKA_BOOTSTRAP": "127.0.0.1:29092",
            "CLICKHOUSE_PORT": "29000",
            "PLATFORM_VAR_DIR": str(tmp_path),
        }
    )
    assert settings.kafka_port == 29092
    assert settings.clickhouse.port == 29000
    assert settings.log_file("kafka") == tmp_path / "log" / "kafka.log"
    assert settings.as_env()["KAFKA_BOOTSTRAP"] == "127.0.0.1:29092"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("KAFKA_BOOTSTRAP", "localhost", "host:port"),
        ("KAFKA_BOOTSTRAP", "a:1,b:2", "one broker"),
        ("CLICKHOUSE_PORT", "70000", "1-65535"),
        ("CLICKHOUSE_DATABASE", "drop table;", "letters, digits"),
    ],
)
def test_unusable_values_are_refused_with_the_variable_named(name, value, message) -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env({name: value})
    assert name in str(err.value)
    assert message in str(err.value)
