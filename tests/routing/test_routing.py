"""Question routing (assistant/routing.py), the coverage answers it leads to, and the answer gate's evidence."""

from __future__ import annotations

import json

import pytest

from assistant.answer.gate import AnswerGate, _joined_forms, name_present
from assistant.records import Chunk, ScoredChunk
from assistant.routing import QuestionKind, route
from assistant.terms import term_set
from tests.conftest import run_cli


class TestRoute:
    @pytest.mark.parametrize(("question", "kind", "term"), [
        ("When did we first cover Groq?", "first_coverage", "Groq"),
        ("When was the Gateway API first mentioned?", "first_coverage", "Gateway API"),
        ("What issue first wrote about Mamba?", "first_coverage", "Mamba"),
        ("Which week first mentioned Mixtral?", "first_coverage", "Mixtral"),
        ("List every issue that covered Anthropic.", "every_issue", "Anthropic"),
        ("Which issues mentioned Redox?", "every_issue", "Redox"),
        ("In which issues did Kueue come up?", "every_issue", "Kueue"),
        ("How many times did we cover Bevy?", "count", "Bevy"),
        ("How many issues mentioned the Tantivy search library?", "count", "Tantivy"),
        ("How has the React Compiler evolved?", "evolution", "React Compiler"),
        ("Timeline of Expo SDK 55", "evolution", "Expo SDK 55"),
        ("Give me the history of Llama in the newsletter", "evolution", "Llama"),
        ("When did we first cover image volumes (KEP-4639, first proposed as the OCI VolumeSource)?",
         "first_coverage", "image volumes / KEP-4639 / OCI VolumeSource"),
        ("When did we first cover Groq (the chip startup)?", "first_coverage", "Groq"),
        ("What's new since the last issue?", "briefing", None),
        ("Summarize the latest issue", "briefing", None),
        ("Brief me on this week", "briefing", None),
    ])
    def test_editor_phrasings_go_to_their_tool(self, question: str, kind: str, term: str | None) -> None:
        r = route(question)
        assert r.kind.value == kind
        if term is not None:
            assert r.term == term

    @pytest.mark.parametrize("question", [
        "What did AMD announce about HBM4?", "How has OpenAI changed its pricing?", "Why did OpenAI acquire Astral?",
        "first", "???", "When did Nvidia ship the GB300?", "How many parameters does Llama 4 have?",
    ])
    def test_anything_else_is_a_fact_question(self, question: str) -> None:
        assert route(question).kind is QuestionKind.FACT

    def test_a_kind_can_be_forced_and_a_bad_kind_is_one_line(self) -> None:
        assert route("Groq", kind="first_coverage").kind is QuestionKind.FIRST_COVERAGE
        assert route("When did we first cover Groq?", kind="fact").kind is QuestionKind.FACT
        assert route("When did we first cover Groq?", kind="auto").kind is QuestionKind.FIRST_COVERAGE
        with pytest.raises(ValueError, match="unknown question kind"):
            route("x", kind="nonsense")


def _hit(text: str, headline: str = "", dense: float = 0.6) -> ScoredChunk:
    chunk = Chunk(chunk_id="s:0", story_id="s", chunk_index=0, text=text, content_hash="h", issue_id="i",
                  issue_title="Issue", headline=headline, section="", story_index=0, date="2026-01-01",
                  date_int=20260101, url=None, source_kind="newsletter", source_name="N")
    return ScoredChunk(chunk=chunk, score=dense, dense=dense)


class TestAnswerGate:
    def test_version_names_are_names(self) -> None:
        text = "DeepSeek V4 ships; Kimi K2.5 follows."
        terms, joined = term_set(text), _joined_forms(text)
        assert name_present("deepseek-v4", terms, joined)
        assert name_present("deepseekv4", terms, joined)
        assert not name_present("k2.6", terms, joined)
        assert name_present("k2.5", terms, joined)

    def test_a_question_naming_what_no_story_names_is_refused(self) -> None:
        gate = AnswerGate(refuse_below=0.2)
        hits = [_hit("Nvidia unveiled the Vera Rubin platform at GTC.", "Nvidia's inference play")]
        verdict = gate.check("What did Nvidia announce about its Zeta-9 chip?", hits)
        assert not verdict.answerable and "zeta-9" in verdict.reason

    def test_how_much_needs_a_number_that_is_not_the_question_own(self) -> None:
        gate = AnswerGate(refuse_below=0.2)
        hits = [_hit("OpenAI acquired Astral, the team behind Ruff and uv.", "OpenAI buys Astral")]
        sentences = [(0, "OpenAI acquired Astral, the team behind Ruff and uv.", 0.7)]
        assert not gate.check("How much did OpenAI pay for Astral?", hits, sentences).answerable
        priced = [(0, "OpenAI paid $750 million for Astral.", 0.7)]
        assert gate.check("How much did OpenAI pay for Astral?", hits, priced).answerable
        hbm = [(0, "HBM4 memory will feed the MI455X.", 0.7)]
        assert not gate.check("How much HBM4 memory will each MI455X have?",
                              [_hit("HBM4 memory will feed the MI455X.")], hbm).answerable

    def test_a_number_after_a_name_is_a_version_that_must_match(self) -> None:
        gate = AnswerGate(refuse_below=0.2)
        five = "Anthropic shipped Claude 5 with a larger context window."
        assert not gate.check("What did Anthropic ship with Claude 6?", [_hit(five)], [(0, five, 0.7)]).answerable
        six = five.replace("Claude 5", "Claude-6")
        assert gate.check("What did Anthropic ship with Claude 6?", [_hit(six)], [(0, six, 0.7)]).answerable
        # An issue number or a count is not a version.
        assert AnswerGate.question_terms("What milestone did issue #141 celebrate?")[1] == set()

    def test_sentence_floor(self) -> None:
        gate = AnswerGate(refuse_below=0.2, min_sentence=0.5)
        hits = [_hit("Samsung will supply HBM4 for AMD.", "AMD + Samsung")]
        assert gate.check("Who supplies HBM4 for AMD?", hits, [(0, "Samsung will supply HBM4.", 0.62)]).answerable
        low = gate.check("Who supplies HBM4 for AMD?", hits, [(0, "Samsung will supply HBM4.", 0.41)])
        assert not low.answerable and "sentence" in low.reason


class TestRoutedAnswers:
    def test_first_coverage_through_the_cli(self, corpus_index) -> None:
        result = run_cli("ask", "When did we first cover Anthropic?", "--json",
                         env={"NEWSDESK_INDEX_DIR": str(corpus_index.index_dir)})
        assert result.returncode == 0, result.stderr
        data = json.loads(result.stdout)
        assert data["kind"] == "first_coverage" and not data["refused"]
        first = data["citations"][0]
        # The bundled corpus's Last Week in AI issues start on 2026-01-12 (#332), which mentions Anthropic.
        assert first["date"] == "2026-01-12" and first["issue_id"].endswith("2026-01-12-332")
        assert data["answer"].startswith("First covered on 2026-01-12")

    def test_every_issue_lists_each_issue_once_in_date_order(self, corpus_desk) -> None:
        answer = corpus_desk.ask("Which issues mentioned Anthropic?")
        assert answer.kind == "every_issue" and not answer.refused
        ids = [c.issue_id for c in answer.citations]
        assert len(ids) == len(set(ids)) >= 5
        dates = [c.date or "9999" for c in answer.citations]  # undated issues (the seed issue) come last
        assert dates == sorted(dates) and "Anthropic" in answer.answer

    def test_a_term_never_mentioned_is_refused_and_forced_kind_is_reported(self, corpus_desk) -> None:
        answer = corpus_desk.ask("When did we first cover Zorblax Quantum?")
        assert answer.refused and answer.kind == "first_coverage" and not answer.citations
        forced = corpus_desk.ask("Anthropic", kind="count")
        assert forced.kind == "count" and not forced.refused and "came up in" in forced.answer

    def test_date_window_of_our_writing_has_no_publication_margin(self, corpus_desk) -> None:
        answer = corpus_desk.ask("What did we write about Anthropic in February 2026?")
        assert answer.kind == "fact"
        assert answer.citations and all("2026-02-01" <= (c.date or "") <= "2026-02-28" for c in answer.citations)


class TestBriefingRoute:
    def test_an_issue_summary_asked_in_the_chat_cites_that_issue_only(self, corpus_desk) -> None:
        answer = corpus_desk.ask("Summarize the latest Last Week in AI issue")
        assert answer.kind == "briefing" and not answer.refused and len(answer.citations) >= 3
        assert {c.issue_id for c in answer.citations} == {"last-week-in-ai--2026-05-25-341"}
        assert answer.answer.startswith("Summary of Last Week in AI #341")

    def test_whats_new_since_the_last_issue_is_a_window_briefing(self, corpus_desk) -> None:
        answer = corpus_desk.ask("What's new since the last issue?")
        assert answer.kind == "briefing"
        assert answer.refused or all((c.date or "") >= "2026-05-25" for c in answer.citations)
