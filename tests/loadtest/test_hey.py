"""The hey officer path without a network: hey's CSV into the report's figures, the rate
split over hey processes by hit share, the URLs asked, and the summary table's line."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from loadtest.hey import check_path, parse_hey_csv, plan_targets, split_hits
from loadtest.officers import summarise
from loadtest.report import build_report, summary_table

# As hey 0.1.4 writes it with `-o csv`: seconds, one row per answered request.
HEADER = "response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,"
HEY_CSV = f"""{HEADER}status-code,offset
0.0012,0.0003,0.0000,0.0001,0.0010,0.0001,200,0.1001
0.0030,0.0000,0.0000,0.0000,0.0029,0.0001,200,0.2002
0.0105,0.0000,0.0000,0.0000,0.0104,0.0001,429,1.3003
0.0021,0.0000,0.0000,0.0000,0.0020,0.0001,200,1.5004
0.2500,0.0000,0.0000,0.0000,0.2499,0.0001,200,2.9005
"""

PLATES = {"nis": ["NI001AA", "NI002AA"], "zcs": ["Z1", "Z2"], "mobilet": ["M1", "M2"]}


def test_hey_csv_rows_become_samples_in_ms_with_http_statuses() -> None:
    samples = parse_hey_csv(HEY_CSV)
    assert len(samples) == 5
    t, ms, ok, status = samples[0]
    assert (t, ok, status) == (0.1001, True, "HTTP 200")
    assert ms == pytest.approx(1.2)
    assert samples[2][2:] == (False, "HTTP 429")  # a non-200 answer is an error


def test_hey_csv_summary_has_the_same_figures_as_locust() -> None:
    result = summarise(parse_hey_csv(HEY_CSV), 3.0, 2.0, 1, 0.7)
    assert result["requests"] == 5 and result["errors"] == 1
    assert result["achieved_rate"] == pytest.approx(5 / 3, abs=0.1)
    latency = result["latency_ms"]  # nearest rank over the four 200s: 1.2, 2.1, 3.0, 250
    assert (latency["p50"], latency["p99"], latency["max"]) == (2.1, 250.0, 250.0)
    assert result["statuses"] == {"HTTP 200": 4, "HTTP 429": 1}
    assert result["series"]["rps"][:3] == [2, 2, 1]  # by the second each request was sent


def test_hey_csv_header_only_is_no_samples_and_a_foreign_csv_is_refused() -> None:
    assert parse_hey_csv(HEY_CSV.splitlines()[0] + "\n") == []
    assert parse_hey_csv("") == []
    with pytest.raises(ValueError, match="status-code"):
        parse_hey_csv("response-time,DNS\n0.1,0.0\n")


def test_rate_is_split_by_hit_share_and_every_process_keeps_its_share() -> None:
    targets = plan_targets(2000, 0.7, PLATES, processes=10, seed=1)
    hits = [t for t in targets if t.kind == "hit"]
    misses = [t for t in targets if t.kind == "miss"]
    assert (len(hits), len(misses)) == (7, 3)
    assert sum(t.rate for t in hits) == pytest.approx(1400)
    assert sum(t.rate for t in misses) == pytest.approx(600)
    for t in targets:  # workers × per-worker rate is the process's rate, each worker ≤ 10/s
        assert t.workers * t.per_worker == pytest.approx(t.rate)
        assert t.per_worker <= 10.0
    # hits are regulars of every officer city in turn; misses plates nobody paid for
    assert {t.city for t in hits} == set(PLATES)
    assert all(t.plate in PLATES[t.city] for t in hits)
    assert all(t.plate.startswith("ZZ") for t in misses)


def test_a_lower_worker_rate_means_more_concurrent_wardens_for_the_same_rate() -> None:
    targets = plan_targets(2000, 0.7, PLATES, processes=10, seed=1, per_worker_rate=5.0)
    assert sum(t.workers for t in targets) == 400
    assert sum(t.rate for t in targets) == pytest.approx(2000)
    assert all(t.per_worker <= 5.0 for t in targets)


def test_hit_share_extremes_and_small_process_counts() -> None:
    assert split_hits(10, 0.7) == (7, 3)
    assert split_hits(10, 0.99) == (9, 1)  # a share above zero keeps one process
    assert split_hits(10, 0.01) == (1, 9)
    assert split_hits(4, 1.0) == (4, 0)
    assert split_hits(4, 0.0) == (0, 4)
    assert split_hits(1, 0.7) == (1, 0)  # one URL: the majority kind takes the whole rate
    only = plan_targets(300, 0.7, PLATES, processes=1)
    assert [(t.kind, t.rate) for t in only] == [("hit", 300)]
    with pytest.raises(ValueError):
        split_hits(0, 0.5)
    with pytest.raises(ValueError):
        split_hits(3, 1.5)


def test_same_seed_same_plates() -> None:
    assert plan_targets(500, 0.5, PLATES, seed=3) == plan_targets(500, 0.5, PLATES, seed=3)


def test_the_url_asks_about_the_runs_moment() -> None:
    target = plan_targets(100, 1.0, PLATES, processes=1)[0]
    at = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert check_path(target, at) == (
        f"/v1/cities/{target.city}/plates/{target.plate}?at=2026-11-24T09%3A00%3A00%2B00%3A00"
    )
    assert check_path(target, None) == f"/v1/cities/{target.city}/plates/{target.plate}"


def test_report_names_the_tool_and_the_target_rate() -> None:
    officers = summarise(parse_hey_csv(HEY_CSV), 3.0, 2.0, 1, 0.7)
    officers["tool"] = "hey"
    report = build_report(
        scenario={"name": "city-day"},
        run={"elapsed_s": 3.0, "clock": "replay", "target": "kafka", "rate": 10},
        counts={"sent": 30, "acked": 30, "failed": 0},
        series={"t": [1.0, 2.0, 3.0], "sent": [10, 20, 30]},
        officers=officers,
    )
    api = report["summary"]["api"]
    assert api["tool"] == "hey" and api["target_rate"] == 2.0
    assert not math.isnan(api["latency_ms"]["p99"])
    assert "of 2.0/s, hey), 1 errors" in summary_table(report)


def test_primed_hits_in_one_city_and_misses_in_every_officer_city() -> None:
    primed = {"nis": ["FRH00001", "FRH00002", "FRH00003"]}
    targets = plan_targets(1000, 0.6, primed, processes=5, miss_cities=["zcs", "nis"])
    assert [(t.kind, t.city, t.plate) for t in targets if t.kind == "hit"] == [
        ("hit", "nis", "FRH00001"),
        ("hit", "nis", "FRH00002"),
        ("hit", "nis", "FRH00003"),
    ]
    assert [t.city for t in targets if t.kind == "miss"] == ["nis", "zcs"]
    assert sum(t.rate for t in targets) == pytest.approx(1000)


def test_without_hey_and_without_apt_the_message_names_the_package(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra.process import ServiceError
    from loadtest.hey import ensure_hey

    monkeypatch.setenv("PATH", str(tmp_path))  # neither hey nor apt-get to be found
    with pytest.raises(ServiceError, match=r"`hey`.*\n\(or use --officer-tool locust\)"):
        ensure_hey()
