"""Releases named in a question (assistant/retrieval/versions.py): what counts, and what a text must say."""

from __future__ import annotations

from assistant.retrieval.versions import NamedVersion, named_versions, release_pattern


class TestNamedVersions:
    def test_releases_in_questions(self) -> None:
        cases = {
            "What was the codename of Kubernetes 1.24?": [NamedVersion("Kubernetes", "1.24")],
            "What new hooks shipped in React 19?": [NamedVersion("React", "19")],
            "What changed in Rust 1.77.0 and Rust 1.77.1?": [NamedVersion("Rust", "1.77.0"),
                                                             NamedVersion("Rust", "1.77.1")],
            "What did Kubernetes version 1.26 remove?": [NamedVersion("Kubernetes", "1.26")],
            "Which Expo SDK 52 features shipped?": [NamedVersion("SDK", "52")],
        }
        for question, expected in cases.items():
            assert named_versions(question) == expected, question

    def test_numbers_that_name_no_release(self) -> None:
        for question in ("What did issue 540 announce?", "Who spoke at React Conf 2024?", "What happened in May 2024?",
                         "Which are the Top 10 crates?", "What did PR 129653 change?", "How did Q3 2025 go?",
                         "How many of the 1.24 features went GA?", "What did we cover in week 12?"):
            assert named_versions(question) == [], question

    def test_a_text_names_the_release_exactly(self) -> None:
        pattern = release_pattern([NamedVersion("Kubernetes", "1.24")])
        assert pattern is not None
        for text in ('Kubernetes 1.24 "Stargazer" is released', "kubernetes v1.24 is out",
                     "Kubernetes version 1.24 ships", "(Kubernetes-1.24)"):
            assert pattern.search(text), text
        for text in ("Kubernetes is now built with Go 1.24.7", "Kubernetes 1.24.3 patch release",
                     "Kubernetes 1.240", "Set Kubernetes v1.28.6 as default", "Kubernetes 1.24% of clusters"):
            assert not pattern.search(text), text
        assert release_pattern([]) is None

    def test_only_dotted_versions_are_surely_releases(self) -> None:
        from assistant.retrieval.versions import releases

        assert releases("What was the codename of Kubernetes 1.24?") == [NamedVersion("Kubernetes", "1.24")]
        for question in ("How many free Covid-19 tests can households order?", "What does Title 42 allow?",
                         "What new hooks shipped in React 19?"):
            assert releases(question) == [], question


    def test_a_v_version_names_a_release_without_its_product(self) -> None:
        from assistant.retrieval.versions import releases

        assert releases("At the v1.31 Enhancements Freeze, how many features were tracked?") == \
            [NamedVersion("", "1.31")]
        assert releases("Kubernetes v1.24 and v1.24") == [NamedVersion("Kubernetes", "1.24")]
        pattern = release_pattern(releases("the v1.31 freeze"))
        assert pattern is not None
        for text in ("tracked for beta in the upcoming v1.31.", "Kubernetes 1.31 is out"):
            assert pattern.search(text), text
        for text in ("v1.31.0-alpha.2 is live", "1.310 users", "version 11.31"):
            assert not pattern.search(text), text
