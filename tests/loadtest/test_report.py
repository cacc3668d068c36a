"""The run's report: summary figures from the sampled series, JSON and PNG files, the table."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from pathlib import Path

from loadtest.officers import merge, percentiles, summarise
from loadtest.report import (
    build_report,
    rates,
    results_folder,
    summary_table,
    worker_mean_rate,
    write_report,
)

NAN = float("nan")


def sample_report() -> dict:
    series = {
        "t": [1.0, 2.0, 3.0, 4.0],
        "sent": [100, 300, 500, 600],
        "acked": [100, 300, 500, 600],
        "raw_end": [100, 300, 500, 600],
        "worker_committed": [50, 200, 450, 600],
        "lag": [50, 100, 50, 0],
        "cpu:worker": [80.0, 95.0, NAN, 60.0],
        "rss:worker": [200.0, 210.0, 220.0, 215.0],
    }
    officers = summarise(
        [(0.2, 3.0, True, "valid"), (0.5, 5.0, True, "none"), (1.5, 40.0, False, "HTTP 500")],
        duration_s=2.0,
        rate=2.0,
        users=1,
        hit_share=0.5,
    )
    return build_report(
        scenario={"name": "city-day", "path": None, "description": ""},
        run={"clock": "replay", "target": "kafka", "rate": 150, "elapsed_s": 4.0},
        counts={
            "sent": 600,
            "acked": 600,
            "failed": 0,
            "operator_verdicts": {"sent": 12, "accepted": 11, "rejected": 1},
        },
        series=series,
        freshness=[
            {"t": 1.0, "visible_s": 0.4, "marker_id": "f1"},
            {"t": 2.0, "visible_s": None, "marker_id": "f2"},
        ],
        officers=officers,
        pipeline={"drain_s": 1.5, "lag_after_drain": 0},
    )


def test_summary_figures_from_the_series():
    summary = sample_report()["summary"]
    assert summary["achieved_rate"] == 150.0
    assert summary["worker_processed"] == 550
    assert summary["worker_rate_peak"] == 250.0
    assert summary["worker_rate_mean"] == round(550 / 3, 1)  # first sample to caught up
    assert (summary["lag_max"], summary["lag_end"]) == (100, 0)
    assert summary["freshness_s"]["markers"] == 2 and summary["freshness_s"]["not_visible"] == 1
    assert summary["api"]["requests"] == 3 and summary["api"]["errors"] == 1
    assert summary["api"]["latency_ms"]["max"] == 5.0  # failed requests are not latencies
    assert summary["resources"]["worker"] == {
        "cpu_mean_pct": 78.3,
        "cpu_max_pct": 95.0,
        "rss_max_mib": 220.0,
    }


def test_report_files_are_json_without_nan_and_plots(tmp_path: Path):
    report = sample_report()
    folder = results_folder(tmp_path, datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    assert folder.name == "20261124T090000Z"
    written = write_report(report, folder)
    stored = json.loads((folder / "report.json").read_text())  # strict JSON: no NaN
    assert stored["series"]["cpu:worker"][2] is None
    assert stored["summary"]["events_sent"] == 600
    pngs = {p.name for p in written if p.suffix == ".png"}
    assert {"throughput.png", "lag.png", "latency.png", "freshness.png"} <= pngs
    for name in pngs:
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a second run in the same second gets its own folder
    folder.mkdir(exist_ok=True)
    assert results_folder(tmp_path, datetime(2026, 11, 24, 9, 0, tzinfo=UTC)) != folder


def test_summary_table_lists_the_figures():
    table = summary_table(sample_report())
    assert "600 / 600 / 0" in table
    assert "150.0 events/s" in table
    assert re.search(r"operator verdicts \(NIS-9\) +12 sent, 1 rejections", table)
    assert "pipeline lag_after_drain" in table


def test_nearest_rank_percentiles_and_rates():
    values = [float(v) for v in range(1, 101)]
    assert percentiles(values) == {
        "p50": 50.0,
        "p95": 95.0,
        "p99": 99.0,
        "max": 100.0,
        "mean": 50.5,
    }
    assert percentiles([])["p99"] is None
    assert rates([0.0, 1.0, 3.0], [0.0, 10.0, NAN]) == [None, 10.0, None]
    assert math.isclose(rates([0.0, 0.5], [0.0, 5.0])[1], 10.0)


def test_worker_mean_rate_ignores_idle_time_after_catching_up():
    t = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    committed = [0.0, 100.0, 200.0, 300.0, 300.0, 300.0]  # caught up at 3 s, idle after
    assert worker_mean_rate(t, committed) == 100.0
    assert worker_mean_rate([0.0], [5.0]) is None


def test_officer_processes_merge_into_exact_percentiles():
    a = {
        "users": 2,
        "hit_share": 0.7,
        "samples": [[0.1, float(ms), True, "valid"] for ms in range(1, 51)],
    }
    b = {
        "users": 2,
        "hit_share": 0.7,
        "samples": [[0.2, float(ms), True, "none"] for ms in range(51, 101)],
    }
    b["samples"].append([0.3, 900.0, False, "HTTP 500"])
    merged = merge([a, b], duration_s=1.0, rate=100.0)
    assert merged["processes"] == 2 and merged["users"] == 4
    assert merged["requests"] == 101 and merged["errors"] == 1
    assert merged["latency_ms"]["p99"] == 99.0  # over both processes' ok samples
    assert merged["statuses"] == {"valid": 50, "none": 50, "HTTP 500": 1}
