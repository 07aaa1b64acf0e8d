"""Retrieval latency at 100k chunks: Newsdesk's search (query embedding, time-frame plan, dense + BM25, fusion,
diversity) next to the raw parts it is built on (the same query embedding + one Chroma query for the same
number of candidates, on a private copy of the same Chroma files), question by question in alternating order.

Three filter settings: none, a one-year date range, one source. Targets: Newsdesk p95 <= 60 ms and
Newsdesk p95 / raw p95 <= 2.5. The index is described in big_index.py.

    .venv/bin/python benchmarks/bench_query.py
    .venv/bin/python benchmarks/bench_query.py --profile    # cProfile of the Newsdesk side, top functions

Every run also splits Newsdesk's time into stages (mean ms per search): question embedding, dense (Chroma),
BM25, and the rest (planning, fusion, diversity).
"""

from __future__ import annotations

import cProfile
import io
import pstats
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import click

from common import CACHE, latency_stats, machine, machine_line, table, verdict, write_result  # isort: skip
from big_index import big_index, settings_for  # noqa: E402
from queries import QUESTIONS  # noqa: E402

from assistant.config import EmbedBackend  # noqa: E402
from assistant.records import Filters  # noqa: E402

P95_TARGET_MS = 60.0
RATIO_TARGET = 2.5


def filter_sets(desk: Any) -> dict[str, Filters | None]:
    reader = desk.readers.get()
    got = reader.collection.get(limit=2000, include=["metadatas"])
    sources = Counter(str(m.get("source_name", "")) for m in got["metadatas"] or [])
    top_source = sources.most_common(1)[0][0]
    return {"none": None,
            "date range (2023)": Filters(since=date(2023, 1, 1), until=date(2023, 12, 31)),
            f"source ({top_source})": Filters(sources=[top_source])}


class RawChroma:
    """Chroma itself, on its own copy of the version's files (embedded Chroma writes on open)."""

    def __init__(self, desk: Any) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        version = desk.store.current()
        self.dir = Path(tempfile.mkdtemp(prefix="nd-bench-raw-"))
        shutil.copytree(desk.store.version_dir(version) / "chroma", self.dir / "chroma")
        self.client = chromadb.PersistentClient(path=str(self.dir / "chroma"),
                                                settings=ChromaSettings(anonymized_telemetry=False))
        self.collection = self.client.get_collection(desk.store.collection_name(version))

    def query(self, vector: Any, *, k: int, filters: Filters | None) -> Any:
        from assistant.index.store import chroma_where

        where = chroma_where(filters)
        return self.collection.query(query_embeddings=[vector.tolist()], n_results=k, where=where,
                                     include=["documents", "metadatas", "distances"])

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:  # noqa: BLE001
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class Stages:
    """Mean time per search in each stage of Newsdesk's search, timed by wrapping the reader's and embedder's
    methods on these instances (a few microseconds a call); counts only while `on` (the raw side shares the
    embedder)."""

    NAMES = {"encode_one": "question embedding", "dense": "dense (Chroma)", "search_lexical": "BM25"}

    def __init__(self, desk: Any) -> None:
        self.on = False
        self.seconds: dict[str, float] = {}
        reader = desk.readers.get()
        for obj, name in ((desk.embedder, "encode_one"), (reader, "dense"), (reader, "search_lexical")):
            setattr(obj, name, self._timed(getattr(obj, name), self.NAMES[name]))

    def _timed(self, call: Any, label: str) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if not self.on:
                return call(*args, **kwargs)
            t = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - t
        return timed

    def take(self, total_s: float, searches: int) -> dict[str, float]:
        out = {label: round(1000 * s / searches, 2) for label, s in self.seconds.items()}
        out["rest (plan, fusion, diversity)"] = round(1000 * (total_s - sum(self.seconds.values())) / searches, 2)
        self.seconds = {}
        return out


def usable(desk: Any, flt: Filters | None) -> list[str]:
    """The questions Newsdesk answers under these filters: one whose own time phrase falls outside the filter's
    dates gets a clear error instead (e.g. "between 2019 and 2021" with a 2023 filter); those are left out of
    both sides' timings, and counted."""
    out = []
    for q in QUESTIONS:
        try:
            desk.search(q, filters=flt)
        except ValueError:
            continue
        out.append(q)
    return out


def open_desk(index: Path, backend: EmbedBackend) -> Any:
    from assistant.pipeline import Newsdesk

    return Newsdesk(settings_for(index, embed_backend=backend, onnx_cache=CACHE / "onnx"))


def run(*, n: int, repeat: int, backend: EmbedBackend, profile: bool) -> dict[str, Any]:
    info = machine()
    index, index_info = big_index(n)
    desk = open_desk(index, backend)
    t0 = time.perf_counter()
    desk.search(QUESTIONS[0])  # opens the reader (private copy), loads BM25 and the model: reported apart
    cold_s = time.perf_counter() - t0
    raw = RawChroma(desk)
    k = desk.retriever.candidates
    filters = filter_sets(desk)
    emb = desk.embedder
    for q in QUESTIONS[:3]:  # warm both sides
        raw.query(emb.encode_one(q), k=k, filters=None)
        desk.search(q)
    results: dict[str, Any] = {}
    prof = cProfile.Profile() if profile else None
    stages = Stages(desk)
    try:
        for label, flt in filters.items():
            nd_s: list[float] = []
            raw_s: list[float] = []
            hits = 0
            questions = usable(desk, flt)
            for rep in range(repeat):
                for i, q in enumerate(questions):
                    for which in (("nd", "raw") if (i + rep) % 2 == 0 else ("raw", "nd")):
                        if which == "nd":
                            if prof:
                                prof.enable()
                            stages.on = True
                            t = time.perf_counter()
                            res = desk.search(q, filters=flt)
                            nd_s.append(time.perf_counter() - t)
                            stages.on = False
                            if prof:
                                prof.disable()
                            hits += len(res.hits)
                        else:
                            t = time.perf_counter()
                            raw.query(emb.encode_one(q), k=k, filters=flt)
                            raw_s.append(time.perf_counter() - t)
            nd, rw = latency_stats(nd_s), latency_stats(raw_s)
            ratio = nd["p95_ms"] / rw["p95_ms"]
            results[label] = {"newsdesk": nd, "raw": rw, "p95_ratio": round(ratio, 2),
                              "p50_ratio": round(nd["p50_ms"] / rw["p50_ms"], 2), "mean_hits": hits / len(nd_s),
                              "questions": len(questions), "stages_mean_ms": stages.take(sum(nd_s), len(nd_s)),
                              "p95_verdict": verdict(nd["p95_ms"], P95_TARGET_MS, at_most=True),
                              "ratio_verdict": verdict(ratio, RATIO_TARGET, at_most=True)}
            print(f"  {label}: newsdesk p95 {nd['p95_ms']} ms, raw p95 {rw['p95_ms']} ms", file=sys.stderr)
    finally:
        raw.close()
    out: dict[str, Any] = {"machine": info, "index": {"path": str(index), **index_info}, "backend": backend.value,
                           "questions": len(QUESTIONS), "repeat": repeat, "candidates_k": k,
                           "first_search_cold_s": round(cold_s, 2), "filters": results}
    if prof:
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(30)
        out["profile_top"] = buf.getvalue()
    return out


@click.command()
@click.option("--chunks", "n", type=int, default=100_000, show_default=True, envvar="NEWSDESK_BENCH_INDEX_CHUNKS",
              help="Size of the index (built once, cached).")
@click.option("--repeat", type=int, default=2, show_default=True, envvar="NEWSDESK_BENCH_REPEAT",
              help="Passes over the question list per filter setting.")
@click.option("--backend", type=click.Choice([b.value for b in EmbedBackend]), default="torch",
              show_default=True, envvar="NEWSDESK_EMBED_BACKEND", help="Backend that embeds the questions.")
@click.option("--profile", is_flag=True, envvar="NEWSDESK_BENCH_PROFILE",
              help="cProfile the Newsdesk side and print its top functions.")
def main(n: int, repeat: int, backend: str, profile: bool) -> None:
    """Search p50/p95 at 100k chunks, with and without filters, against raw Chroma + query embedding."""
    res = run(n=n, repeat=repeat, backend=EmbedBackend(backend), profile=profile)
    rows = []
    for label, r in res["filters"].items():
        rows.append([f"newsdesk search, filter: {label}", r["newsdesk"]["p50_ms"], r["newsdesk"]["p95_ms"],
                     r["p95_ratio"], f"p95 <= {P95_TARGET_MS:.0f} ms: {r['p95_verdict']}",
                     f"ratio <= {RATIO_TARGET}: {r['ratio_verdict']}"])
        rows.append([f"raw embed + chroma query, filter: {label}", r["raw"]["p50_ms"], r["raw"]["p95_ms"], 1.0,
                     "", ""])
    print(table(f"Query latency at {res['index']['chunks']} chunks ({res['index']['distinct']} distinct), "
                f"{res['questions']} questions x {res['repeat']}, k={res['candidates_k']}, {res['backend']} "
                f"query embedding", ["path", "p50 ms", "p95 ms", "p95 ratio", "target", "target"], rows))
    print(f"first search after start (reader copy, BM25 load, model load): {res['first_search_cold_s']} s")
    for label, r in res["filters"].items():
        parts = ", ".join(f"{stage} {ms}" for stage, ms in r["stages_mean_ms"].items())
        print(f"newsdesk mean ms per search, filter {label}: {r['newsdesk']['mean_ms']} = {parts}")
    if "profile_top" in res:
        print(res["profile_top"])
    print("machine:", machine_line(res["machine"]))
    print("wrote", write_result(f"query-{res['backend']}", res))


if __name__ == "__main__":
    main()
