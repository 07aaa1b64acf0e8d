"""Shared helpers for the benchmark scripts: real chunks, timers, machine facts, tables and JSON results.

Every script times Newsdesk and the raw part it is built on in ONE process, interleaved in rounds, so the
ratio holds even when other jobs share the CPU; absolute numbers on a shared 2-core machine move a lot.
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import platform
import pstats
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # runnable as `python benchmarks/x.py` without installing
    sys.path.insert(0, str(REPO))

from assistant.config import offline_environment  # noqa: E402

offline_environment()

from assistant.embedding.encoder import Embedder  # noqa: E402
from assistant.ingest.chunking import chunk_stories  # noqa: E402
from assistant.records import Chunk, Issue  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
SHARED = REPO.parent / "shared" / "data"
LWIAI = SHARED / "newsletters" / "skynet-today-last-week-in-ai"
TWIR = SHARED / "newsletters" / "this-week-in-rust"
ML_PAPERS = SHARED / "newsletters" / "ml-papers-of-the-week"
CACHE = Path(os.environ.get("NEWSDESK_BENCH_CACHE", "/tmp/newsdesk-bench"))


def issue_files(folder: Path) -> list[Path]:
    from assistant.ingest.issues import collect_files

    files, _ = collect_files([folder])
    return files


def parse_folder(folder: Path, *, limit: int | None = None) -> list[Issue]:
    from assistant.ingest.issues import parse_files

    files = issue_files(folder)
    issues, _ = parse_files(files[:limit] if limit else files)
    return issues


def real_chunks(n: int | None = None, *, folders: Iterable[Path] = (LWIAI,)) -> list[Chunk]:
    """Chunks exactly as Newsdesk makes them from the shared newsletters, in file order."""
    out: list[Chunk] = []
    for folder in folders:
        for issue in parse_folder(folder):
            out.extend(chunk_stories(issue.stories))
            if n is not None and len(out) >= n:
                return out[:n]
    return out


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    mem_gib = 0.0
    try:
        mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_gib": round(mem_gib, 1), "python": platform.python_version(),
            "load_avg_at_start": [round(x, 2) for x in load], "gpu": gpu_name()}


def gpu_name() -> str | None:
    try:
        import torch

        return str(torch.cuda.get_device_name(0)) if torch.cuda.is_available() else None
    except Exception:  # noqa: BLE001 - no torch CUDA build
        return None


def machine_line(info: dict[str, Any]) -> str:
    return (f"{info['cores']} cores ({info['cpu'] or 'unknown CPU'}), {info['mem_gib']} GiB, "
            f"load {info['load_avg_at_start'][0]} at start, GPU: {info['gpu'] or 'none'}")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def latency_stats(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50_ms": round(percentile(ms, 0.50), 2), "p95_ms": round(percentile(ms, 0.95), 2),
            "mean_ms": round(statistics.fmean(ms), 2) if ms else float("nan")}


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def rss_mib(pid: int | str = "self") -> float:
    """Resident set size from /proc (no psutil needed)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def table(title: str, headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(cells[0], widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells[1:]]
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return str(value)


def verdict(value: float, target: float, *, at_most: bool) -> str:
    ok = value <= target if at_most else value >= target
    return "met" if ok else "MISSED"


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"benchmark": name, "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.executable).name, *sys.argv]), **data}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    return path


class TimedEmbedder(Embedder):
    """The real Embedder, also adding up the seconds spent inside encode(), to split a pipeline's time into
    embedding and everything else."""

    spent = 0.0

    def encode(self, texts: list[str], *, show_progress: bool = False) -> Any:
        start = time.perf_counter()
        try:
            return super().encode(texts, show_progress=show_progress)
        finally:
            self.spent += time.perf_counter() - start


def profile_top(prof: cProfile.Profile, *, lines: int = 30) -> str:
    """The profile's top functions by cumulative time, as text for the JSON result."""
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(lines)
    return buf.getvalue()
