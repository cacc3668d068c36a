"""The run's report: a summary table on the terminal, JSON and PNG plots in a folder.

`build_report` turns the sampled series, the sink's counters, the freshness samples and
the officers' results into one JSON-ready dict; `write_report` writes `report.json` and
the plots (throughput, lag, API latency, freshness, resources) into
`results/<timestamp>/`; `summary_table` is what the terminal shows.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loadtest.officers import percentiles

RESULTS_DIR = Path("results")


def results_folder(base: Path = RESULTS_DIR, now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    folder = base / stamp
    n = 1
    while folder.exists():
        n += 1
        folder = base / f"{stamp}-{n}"
    return folder


def _clean(value: Any) -> Any:
    """NaN and infinities become null: JSON has no NaN."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def rates(t: list[float], cumulative: list[float]) -> list[float | None]:
    """Per-interval rate of a cumulative counter sampled at times `t`."""
    out: list[float | None] = []
    for i in range(len(t)):
        if i == 0:
            out.append(None)
            continue
        dt = t[i] - t[i - 1]
        a, b = cumulative[i - 1], cumulative[i]
        if dt <= 0 or a is None or b is None or math.isnan(a) or math.isnan(b):
            out.append(None)
        else:
            out.append(round((b - a) / dt, 2))
    return out


def worker_mean_rate(t: list[float], committed: list[float]) -> float | None:
    """Events/s the worker committed from the first sample until it reached its final
    offset: the time it spent idle after catching up (the drain's tail) does not count,
    the backlog it worked through after sending stopped does."""
    points = [
        (ts, c)
        for ts, c in zip(t, committed, strict=False)
        if isinstance(c, int | float) and not math.isnan(c)
    ]
    if len(points) < 2:
        return None
    final = points[-1][1]
    done_at = next(ts for ts, c in points if c >= final)
    span = done_at - points[0][0]
    return round((final - points[0][1]) / span, 1) if span > 0 else None


def _finite(values: list[Any]) -> list[float]:
    return [v for v in values if isinstance(v, int | float) and not math.isnan(v)]


def build_report(
    *,
    scenario: dict[str, Any],
    run: dict[str, Any],
    counts: dict[str, Any],
    series: dict[str, list[float]],
    freshness: list[dict[str, Any]] | None = None,
    officers: dict[str, Any] | None = None,
    pipeline: dict[str, Any] | None = None,
) -> dict[str, Any]:
    t = series.get("t", [])
    duration = run.get("elapsed_s") or (t[-1] if t else 0.0)
    sent = counts.get("sent", 0)
    summary: dict[str, Any] = {
        "events_sent": sent,
        "events_acked": counts.get("acked", 0),
        "events_failed": counts.get("failed", 0),
        "achieved_rate": round(sent / duration, 1) if duration else 0.0,
    }
    if "worker_committed" in series:
        committed = _finite(series["worker_committed"])
        lag = _finite(series.get("lag", []))
        summary["worker_processed"] = int(committed[-1] - committed[0]) if committed else 0
        worker_rates = _finite(rates(t, series["worker_committed"]))
        summary["worker_rate_peak"] = max(worker_rates) if worker_rates else None
        summary["worker_rate_mean"] = worker_mean_rate(t, series["worker_committed"])
        summary["lag_max"] = int(max(lag)) if lag else None
        summary["lag_end"] = int(lag[-1]) if lag else None
    if freshness is not None:
        seen = [f["visible_s"] for f in freshness if f.get("visible_s") is not None]
        summary["freshness_s"] = {
            **percentiles(seen),
            "markers": len(freshness),
            "not_visible": len(freshness) - len(seen),
        }
    if officers is not None:
        summary["api"] = {
            "tool": officers.get("tool"),
            "target_rate": officers.get("target_rate"),
            "requests": officers.get("requests"),
            "achieved_rate": officers.get("achieved_rate"),
            "errors": officers.get("errors"),
            "latency_ms": officers.get("latency_ms"),
            "statuses": officers.get("statuses"),
        }
    if pipeline is not None:
        summary["pipeline"] = pipeline
    resources: dict[str, dict[str, float | None]] = {}
    for name in series:
        if name.startswith("cpu:"):
            proc = name[4:]
            cpu = _finite(series[name])
            rss = _finite(series.get(f"rss:{proc}", []))
            resources[proc] = {
                "cpu_mean_pct": round(sum(cpu) / len(cpu), 1) if cpu else None,
                "cpu_max_pct": round(max(cpu), 1) if cpu else None,
                "rss_max_mib": round(max(rss), 1) if rss else None,
            }
    summary["resources"] = resources
    return _clean(
        {
            "scenario": scenario,
            "run": run,
            "counts": counts,
            "summary": summary,
            "series": series,
            "freshness": freshness or [],
            "officers": officers,
        }
    )


def summary_table(report: dict[str, Any]) -> str:
    s = report["summary"]
    run = report["run"]
    rows: list[tuple[str, str]] = [
        ("scenario", f"{report['scenario'].get('name')} ({run.get('clock')}, {run.get('target')})"),
        ("duration", f"{run.get('elapsed_s', 0):.1f} s (target rate {run.get('rate')}/s)"),
        (
            "events sent / acked / failed",
            f"{s['events_sent']} / {s['events_acked']} / {s['events_failed']}",
        ),
        ("achieved rate", f"{s['achieved_rate']} events/s"),
    ]
    verdicts = report.get("counts", {}).get("operator_verdicts") or {}
    if verdicts.get("sent"):
        rows.append(
            (
                "operator verdicts (NIS-9)",
                f"{verdicts['sent']} sent, {verdicts.get('rejected', 0)} rejections",
            )
        )
    if "worker_processed" in s:
        rows += [
            (
                "worker processed",
                f"{s['worker_processed']} ({s.get('worker_rate_mean')}/s mean, "
                f"peak {s.get('worker_rate_peak')}/s)",
            ),
            ("consumer lag max / end", f"{s.get('lag_max')} / {s.get('lag_end')}"),
        ]
    if "freshness_s" in s:
        f = s["freshness_s"]
        rows.append(
            (
                "freshness s p50/p95/p99/max",
                f"{f['p50']} / {f['p95']} / {f['p99']} / {f['max']} "
                f"({f['markers']} markers, {f['not_visible']} not visible)",
            )
        )
    if "api" in s:
        a = s["api"]
        lat = a.get("latency_ms") or {}
        rows += [
            (
                "API checks",
                f"{a['requests']} ({a['achieved_rate']}/s of {a.get('target_rate')}/s, "
                f"{a.get('tool') or 'locust'}), {a['errors']} errors",
            ),
            (
                "API ms p50/p95/p99/max",
                f"{lat.get('p50')} / {lat.get('p95')} / {lat.get('p99')} / {lat.get('max')}",
            ),
        ]
    if "pipeline" in s:
        for key, value in s["pipeline"].items():
            rows.append((f"pipeline {key}", str(value)))
    for proc, r in s.get("resources", {}).items():
        rows.append(
            (
                f"{proc} CPU mean/max, RSS max",
                f"{r['cpu_mean_pct']}% / {r['cpu_max_pct']}%, {r['rss_max_mib']} MiB",
            )
        )
    width = max(len(k) for k, _ in rows)
    line = "-" * (width + 2 + max(len(v) for _, v in rows))
    return "\n".join([line, *(f"{k.ljust(width)}  {v}" for k, v in rows), line])


def write_report(report: dict[str, Any], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "report.json"]
    written[0].write_text(json.dumps(report, indent=1, ensure_ascii=False))
    written += plot(report, folder)
    (folder / "summary.txt").write_text(summary_table(report) + "\n")
    written.append(folder / "summary.txt")
    return written


def plot(report: dict[str, Any], folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = report["series"]
    t = series.get("t", [])
    written: list[Path] = []

    def nums(values: list[Any]) -> list[float]:
        return [float("nan") if v is None else v for v in values]

    def save(fig: Any, name: str) -> None:
        path = folder / name
        fig.tight_layout()
        fig.savefig(path, dpi=90)
        plt.close(fig)
        written.append(path)

    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.plot(t, nums(rates(t, series.get("sent", [0] * len(t)))), label="sent")
    if "worker_committed" in series:
        ax.plot(t, nums(rates(t, series["worker_committed"])), label="worker committed")
    ax.set(title="Throughput", xlabel="s", ylabel="events/s")
    ax.legend()
    save(fig, "throughput.png")

    if "lag" in series:
        fig, ax = plt.subplots(figsize=(8, 3.5))
        ax.plot(t, nums(series["lag"]), color="tab:red")
        ax.set(title="Worker consumer-group lag on events.raw", xlabel="s", ylabel="events")
        save(fig, "lag.png")

    officers = report.get("officers")
    if officers and officers.get("series"):
        o = officers["series"]
        fig, ax = plt.subplots(figsize=(8, 3.5))
        for q in ("p50", "p95", "p99"):
            ax.plot(o["t"], nums(o[q]), label=q)
        ax.set(title="API plate-check latency per second", xlabel="s", ylabel="ms")
        ax.legend()
        save(fig, "latency.png")

    fresh = [f for f in report.get("freshness", []) if f.get("visible_s") is not None]
    if report.get("freshness"):
        fig, ax = plt.subplots(figsize=(8, 3.5))
        ax.plot([f["t"] for f in fresh], [f["visible_s"] for f in fresh], "o-")
        ax.set(title="Event -> visible (freshness probe)", xlabel="s", ylabel="s")
        save(fig, "freshness.png")

    cpu = [k for k in series if k.startswith("cpu:")]
    if cpu:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
        for name in cpu:
            proc = name[4:]
            ax1.plot(t, nums(series[name]), label=proc)
            ax2.plot(t, nums(series.get(f"rss:{proc}", [])), label=proc)
        ax1.set(title="CPU (% of one core)", xlabel="s")
        ax2.set(title="RSS (MiB)", xlabel="s")
        ax1.legend(fontsize="small")
        save(fig, "resources.png")
    return written
