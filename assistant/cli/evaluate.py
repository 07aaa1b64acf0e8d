"""`newsdesk eval`: retrieval on public data sets, and the answer suite over six newsletters (issue #11)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from assistant.cli.common import embed_progress, err, json_option, make_settings, out, user_errors


@click.command(name="eval")
@click.argument("dataset")
@click.argument("suite", required=False, type=click.Path(path_type=Path))
@click.option("--newsletter", "newsletters", multiple=True, envvar="NEWSDESK_EVAL_NEWSLETTER",
              help="answers: only this newsletter's questions (repeatable).")
@click.option("--with-bundled", is_flag=True,
              help="answers: also ask the bundled corpus's question sets (tests/data) of corpus/issues.")
@click.option("--calibrate", is_flag=True,
              help="answers: choose the answer gate's thresholds by leave-one-newsletter-out and print the "
                   "held-out scores beside the in-sample ones.")
@click.option("--outcomes", type=click.Path(dir_okay=False, path_type=Path),
              help="answers: also write every question's outcome (answer, citations) to this JSON file.")
@json_option
@click.option("--limit", type=click.IntRange(min=1), envvar="NEWSDESK_EVAL_LIMIT",
              help="Only the first N questions (the index still holds every document).")
@click.option("--split", type=click.Choice(["all", "dev", "test"]), default="all", show_default=True,
              envvar="NEWSDESK_EVAL_SPLIT", help="dev: the half used to tune weights; test: the held-out half.")
@click.option("--ablations", is_flag=True, envvar="NEWSDESK_EVAL_ABLATIONS",
              help="Also score BM25 alone and the fusion without time awareness.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar="NEWSDESK_BENCHMARKS_DIR",
              help="Folder holding realtimeqa/ and multihop-rag-500/ (default: ../shared/data/benchmarks).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), envvar="NEWSDESK_EVAL_CACHE_DIR",
              help="Where data-set indexes are cached (default: benchmarks/results/eval-cache).")
def eval_command(dataset: str, suite: Path | None, newsletters: tuple[str, ...], with_bundled: bool, calibrate: bool,
                 outcomes: Path | None,
                 as_json: bool, limit: int | None, split: str, ablations: bool, data_dir: Path | None,
                 cache_dir: Path | None) -> None:
    """Score retrieval on DATASET (realtimeqa, multihop-rag, corpus-qa or a QA .jsonl file): Hits@1/5/10 and
    MRR@10 for Newsdesk's pipeline next to a plain dense-only baseline, same index, same run.

    `newsdesk eval answers [SUITE]` scores the answers instead, per newsletter: answered when answerable,
    refused when not, gold issue cited, first coverage, every issue, date windows (suite: tests/data/answers;
    newsletters: ../shared/data/newsletters, or --data-dir).

    `newsdesk eval briefings` runs the briefing benchmark: recall of Last Week in AI's Top News with every
    section heading removed (beside the newest-stories baseline and salience without position), This Week in
    Rust briefings that lead with a listing, and the five-newsletter weeks (each newsletter's lead stories in
    the first 15 items; indexes cached under --cache-dir, default /tmp/newsdesk-bench-brief)."""
    from assistant.config import REPO_ROOT

    if dataset == "briefings":
        _eval_briefings(as_json=as_json, data_dir=data_dir, cache_dir=cache_dir)
        return
    if dataset == "answers":
        _eval_answers(suite, newsletters=newsletters, outcomes_file=outcomes, as_json=as_json, limit=limit,
                      data_dir=data_dir, cache_dir=cache_dir, calibrate=calibrate, with_bundled=with_bundled)
        return
    from assistant.embedding.encoder import Embedder
    from assistant.evaluation.datasets import load
    from assistant.evaluation.runner import evaluate, prepare_index, report_lines

    settings = make_settings()
    with user_errors():
        evalset = load(dataset, root=data_dir)
        embedder = Embedder.from_settings(settings)
        with embed_progress(f"indexing {evalset.documents} {dataset} documents (once)") as progress:
            eval_settings = prepare_index(evalset, settings=settings, embedder=embedder, progress=progress,
                                          cache_dir=cache_dir or REPO_ROOT / "benchmarks" / "results" /
                                          "eval-cache")
        systems = ("dense", "bm25", "hybrid", "newsdesk") if ablations else ("dense", "newsdesk")
        report = evaluate(evalset, settings=eval_settings, embedder=embedder, split=split, limit=limit,
                          systems=systems)
    if as_json:
        click.echo(json.dumps(report.to_json()))
    else:
        for line in report_lines(report):
            out.print(line, highlight=False, markup=False)


def _eval_answers(suite: Path | None, *, newsletters: tuple[str, ...], outcomes_file: Path | None, as_json: bool,
                  limit: int | None, data_dir: Path | None, cache_dir: Path | None, calibrate: bool,
                  with_bundled: bool) -> None:
    from assistant.config import REPO_ROOT
    from assistant.evaluation.answers import (
        load_bundled,
        load_suite,
        outcomes_to_json,
        prepare_desks,
        report_table,
        run_suite,
        score_outcomes,
    )

    settings = make_settings()
    with user_errors():
        questions = load_suite(suite or REPO_ROOT / "tests" / "data" / "answers", newsletters=newsletters)
        if with_bundled:
            questions += load_bundled(REPO_ROOT)
        if limit:
            questions = questions[:limit]
        desks = prepare_desks(questions, settings=settings,
                              data_root=data_dir or REPO_ROOT.parent / "shared" / "data" / "newsletters",
                              cache_dir=cache_dir or REPO_ROOT / "benchmarks" / "results" / "eval-cache" / "answers",
                              progress=lambda msg: err.print(msg, highlight=False, markup=False))
        if calibrate:
            from assistant.evaluation.calibrate import open_desks

            desks = open_desks(desks)
        with embed_progress("answering") as progress:
            outcomes = run_suite(questions, desks, progress=progress)
    if outcomes_file:
        outcomes_file.write_text(json.dumps(outcomes_to_json(outcomes), ensure_ascii=False, indent=1))
    if calibrate:
        from assistant.evaluation.calibrate import leave_one_out

        report = leave_one_out(outcomes)
        if as_json:
            click.echo(json.dumps(report.to_json()))
            return
        for title, table in (("held out (thresholds chosen on the other newsletters)", report.held_out),
                             ("in sample (thresholds chosen on all six: the defaults)", report.in_sample),
                             ("gate open (no refusal)", report.open_gate)):
            out.print(f"\n{title}", highlight=False, markup=False)
            for line in report_table(table):
                out.print(line, highlight=False, markup=False)
        out.print("\nchosen thresholds:", highlight=False, markup=False)
        for name, setting in report.chosen.items():
            out.print(f"  {name:<24} {setting.as_settings()}", highlight=False, markup=False)
        return
    scores = score_outcomes(outcomes)
    if as_json:
        click.echo(json.dumps(scores))
    else:
        for line in report_table(scores):
            out.print(line, highlight=False, markup=False)


def _eval_briefings(*, as_json: bool, data_dir: Path | None, cache_dir: Path | None) -> None:
    from assistant.config import REPO_ROOT
    from assistant.embedding.encoder import Embedder
    from assistant.evaluation.briefings import run_all, summary_json

    settings = make_settings()
    lines: list[str] = []

    def emit(line: str) -> None:
        if as_json:
            lines.append(line)
        else:
            out.print(line, highlight=False, markup=False)

    with user_errors():
        result = run_all(Embedder.from_settings(settings),
                         data_root=data_dir or REPO_ROOT.parent / "shared" / "data" / "newsletters",
                         cache=cache_dir, emit=emit, progress=lambda msg: err.print(msg, highlight=False,
                                                                                  markup=False))
    if as_json:
        click.echo(json.dumps(summary_json(result), default=str))
