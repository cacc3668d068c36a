"""City configs load, merge their system files, and fail with file, key and reason."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tariff_kernel.config import REPO_CONFIG, ConfigError, list_cities, load_city_from


def test_every_shipped_city_loads_with_its_system() -> None:
    systems = {c: load_city_from(REPO_CONFIG, c).system for c in list_cities()}
    assert systems == {
        "hradec": "missed_call",
        "mobilet": "app_parking",
        "nis": "sms_parking",
        "tarnow": "card_fare",
        "zcs": "app_parking",
    }


def test_example_prices_are_marked_as_examples() -> None:
    for city in ("tarnow", "mobilet", "zcs"):
        assert "EXAMPLE" in (REPO_CONFIG / f"{city}.toml").read_text()


def _write(tmp_path: Path, text: str, name: str = "demo") -> Path:
    (tmp_path / f"{name}.toml").write_text(text)
    return tmp_path


BASE = """
[city]
id = "demo"
name = "Demo"
timezone = "Europe/Belgrade"
currency = "RSD"
language = "sr"
system = "sms_parking"
[charging]
spans = [{ days = "Mon-Fri", start = "07:00", end = "21:00" }]
[zones.red]
name = "Red"
[products.1]
name = "Hourly"
zone = "red"
kind = "hourly"
hour_prices = [100]
"""


@pytest.mark.parametrize(
    ("change", "key", "reason"),
    [
        (('timezone = "Europe/Belgrade"', 'timezone = "Mars/Olympus"'), "city.timezone", "IANA"),
        (('end = "21:00"', 'end = "06:00"'), "charging.spans[0]", "after start"),
        (('days = "Mon-Fri"', 'days = "Mon-Fry"'), "charging.spans[0].days", "unknown day"),
        (('zone = "red"', 'zone = "blue"'), "products.1.zone", "not a zone"),
        (("hour_prices = [100]", "hour_prices = [1.5]"), "products.1.hour_prices[0]", "minor"),
        (('system = "sms_parking"', 'system = "ferry"'), "city.system", "not one of"),
        (('kind = "hourly"', 'kind = "weekly"'), "products.1.kind", "hourly, day or metered"),
    ],
)
def test_a_bad_value_names_file_key_and_reason(tmp_path, change, key, reason) -> None:
    directory = _write(tmp_path, BASE.replace(*change))
    with pytest.raises(ConfigError) as err:
        load_city_from(directory, "demo")
    assert err.value.key == key
    assert reason in err.value.reason
    assert str(directory / "demo.toml") in str(err.value)


def test_system_files_merge_into_raw_and_may_not_overwrite(tmp_path) -> None:
    directory = _write(tmp_path, BASE)
    (directory / "demo.replies.toml").write_text('[replies.en]\nconfirmation = "ok {plate}"\n')
    assert load_city_from(directory, "demo").raw["replies"]["en"]["confirmation"] == "ok {plate}"
    (directory / "demo.clash.toml").write_text('[city]\nname = "Other"\n')
    with pytest.raises(ConfigError) as err:
        load_city_from(directory, "demo")
    assert err.value.key == "city.name" and "demo.clash.toml" in err.value.file


def test_metered_tiers_must_be_contiguous(tmp_path) -> None:
    text = BASE.replace(
        'kind = "hourly"\nhour_prices = [100]',
        'kind = "metered"\ntiers = [{from_minute = 0, to_minute = 60, rate = 1}, '
        "{from_minute = 90, rate = 2}]",
    )
    with pytest.raises(ConfigError) as err:
        load_city_from(_write(tmp_path, text), "demo")
    assert err.value.key == "products.1.tiers[1].from_minute"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tariff_kernel", "quote", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_cli_prints_the_issue_example_nis2() -> None:
    out = _cli("--city", "nis", "--product", "9181", "--start", "2026-11-24T10:00:00+01:00",
               "--minutes", "120")  # fmt: skip
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert (body["price"], body["currency"]) == (24000, "RSD")
    assert body["end"] == "2026-11-24T12:00:00+01:00"
    assert [p["amount"] for p in body["breakdown"]] == [6000, 18000]


def test_cli_refusal_exits_2_with_the_rule_nis5() -> None:
    out = _cli("--city", "nis", "--product", "9180", "--start", "2026-11-24T10:00:00+01:00",
               "--minutes", "120")  # fmt: skip
    assert out.returncode == 2
    assert json.loads(out.stdout)["rule"] == "NIS-5"


def test_cli_sunday_purchase_starts_monday_0700_nis11() -> None:
    out = _cli("--city", "nis", "--product", "9182", "--start", "2026-11-29T12:00:00+01:00")
    assert json.loads(out.stdout)["start"] == "2026-11-30T07:00:00+01:00"


def test_cli_ride_shows_deposit_fare_refund_trn2() -> None:
    out = _cli("--city", "tarnow", "--product", "ride", "--start", "2026-11-24T10:00:00+01:00",
               "--stops", "7", "--entitlement", "normal", "--card-class", "standard")  # fmt: skip
    body = json.loads(out.stdout)
    assert (body["deposit"], body["fare"], body["refund"]) == (540, 380, 160)


def test_cli_unknown_product_is_a_clear_error() -> None:
    out = _cli("--city", "nis", "--product", "9999", "--start", "2026-11-24T10:00:00+01:00")
    assert out.returncode == 2 and "9999" in json.loads(out.stdout)["error"]
