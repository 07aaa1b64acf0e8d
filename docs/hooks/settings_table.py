"""MkDocs hook: the configuration tables, generated from the code so they cannot drift.

- `<!-- newsdesk:settings-table -->` becomes the NEWSDESK_* table of every field of `assistant.config.Settings`:
  the variable, its default, its allowed values, and the field's own `description=`.
- `<!-- newsdesk:cli-envvars -->` becomes the table of CLI options that read an environment variable, walked
  from the click group `assistant.cli.main:main`.

Offline and import-light (pydantic and click only). A Settings field with no `description=` and no entry in
FALLBACK_DESCRIPTIONS is a warning, so `mkdocs build --strict` fails until it is described.
Also a script: `python docs/hooks/settings_table.py [--cli]` prints the markdown.
"""

from __future__ import annotations

import enum
import logging
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SETTINGS_MARKER = "<!-- newsdesk:settings-table -->"
CLI_ENV_MARKER = "<!-- newsdesk:cli-envvars -->"

log = logging.getLogger("mkdocs.hooks.settings_table")

# Only for fields that have no `description=` in assistant/config.py yet; the field's own description wins.
FALLBACK_DESCRIPTIONS = {
    "embed_device": "Device the torch encoder runs on (`cpu`, or `cuda` on a GPU machine).",
    "embed_batch_size": "Chunks embedded per batch.",
    "max_question_chars": "Longest question accepted, in characters.",
    "keep_versions": "Published index versions kept (the current one plus the rollback chain).",
    "llm_temperature": "Sampling temperature of the LLM.",
    "host": "Address the web app binds.",
    "port": "Port the web app listens on.",
    "admin_password": "Password of the web app's Admin tab; the tab exists only when this is set.",
    "feedback_file": "Thumbs up/down votes of the web app are appended here, one JSON line each.",
}

# Facts the table adds to a field's description: the CLI flag, an example, where it is explained.
NOTES = {
    "index_dir": "CLI: `--index-dir`.",
    "feeds_file": "CLI: `--feeds-file`. See [Feeds](feeds.md).",
    "embed_backend": "`onnx` runs the same model with onnxruntime: same vectors, faster questions, smaller app "
    "(measured: [Performance](performance.md)).",
    "onnx_cache": "Unset: `<index dir>/onnx-cache`; the one-time ONNX export is kept there.",
    "chroma_url": "e.g. `http://127.0.0.1:8000`; unset: embedded Chroma. See [Operations](operations.md).",
    "refuse_below": "Calibrated, see [Answers](answers.md#calibration-on-the-bundled-corpus-issue-5).",
    "answer_mode": "CLI: `--mode`.",
    "ollama_url": "`NEWSDESK_LLM_MODEL` names the model.",
    "verify_min_similarity": "Calibrated, see [Answers](answers.md#calibration-on-the-bundled-corpus-issue-5).",
    "verify_policy": "`flag` marks them \"(unverified)\".",
    "lexical_weight": "Tuned, see [Retrieval](retrieval.md#how-the-weights-were-chosen).",
    "recency_weight": "Tuned, see [Retrieval](retrieval.md#how-the-weights-were-chosen).",
    "recency_half_life_days": "Tuned, see [Retrieval](retrieval.md#how-the-weights-were-chosen).",
    "reranker": "Off when unset: no cross-encoder ships offline.",
    "feed_timeout": "A body may take 3x as long.",
    "host": "CLI: `newsdesk serve --host`.",
    "port": "CLI: `newsdesk serve --port`.",
    "keep_versions": "Older folders are deleted by the next writer.",
}


def _env_prefix() -> str:
    from assistant.config import Settings

    return str(Settings.model_config.get("env_prefix", ""))


def _default(value: Any) -> str:
    from assistant.config import REPO_ROOT

    if value is None:
        return "unset"
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Path):
        try:
            value = value.relative_to(REPO_ROOT).as_posix()
        except ValueError:
            value = value.as_posix()
    if value == "":
        return "empty"
    text = str(value).replace("|", "\\|")
    return f"`{text}`"


def _allowed(field: Any) -> str:
    import typing

    parts: list[str] = []
    annotation = field.annotation
    for arg in (annotation, *typing.get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, enum.Enum):
            parts.append(" / ".join(f"`{m.value}`" for m in arg))
    low = high = None
    for meta in field.metadata:
        name = type(meta).__name__
        if name in ("Ge", "Gt"):
            low = ("> " if name == "Gt" else "") + f"{getattr(meta, name.lower())}"
        elif name in ("Le", "Lt"):
            high = ("< " if name == "Lt" else "") + f"{getattr(meta, name.lower())}"
        elif name == "MinLen":
            parts.append(f"at least {meta.min_length} characters")
        elif hasattr(meta, "pattern") and getattr(meta, "pattern", None):
            pattern = str(meta.pattern)
            if pattern.startswith("^(") and pattern.endswith(")$"):
                parts.append(" / ".join(f"`{p}`" for p in pattern[2:-2].split("|")))
            else:
                parts.append(f"matches `{pattern}`")
    if low is not None and high is not None and not low.startswith(">") and not high.startswith("<"):
        parts.append(f"{low} to {high}")
    else:
        if low is not None:
            parts.append(f">= {low}" if not low.startswith(">") else low)
        if high is not None:
            parts.append(f"<= {high}" if not high.startswith("<") else high)
    return "; ".join(parts)


def _plain(text: str) -> str:
    """A description is plain text: shown as written, never read as markdown or HTML."""
    for char, escaped in (("\\", "\\\\"), ("&", "&amp;"), ("<", "&lt;"), ("*", "\\*"), ("_", "\\_"), ("`", "\\`"),
                          ("[", "\\[")):
        text = text.replace(char, escaped)
    return " ".join(text.split())


def settings_rows() -> list[tuple[str, str, str, str, str]]:
    """(field, variable, default, allowed, meaning) for every Settings field, in declaration order."""
    from assistant.config import Settings

    prefix = _env_prefix()
    rows = []
    for name, field in Settings.model_fields.items():
        meaning = _plain(field.description) if field.description else FALLBACK_DESCRIPTIONS.get(name, "")
        if not meaning:
            log.warning("Settings.%s has no description= (assistant/config.py); the configuration page needs one",
                        name)
        elif field.description and name in FALLBACK_DESCRIPTIONS:
            log.info("Settings.%s now has a description; its FALLBACK_DESCRIPTIONS entry can go", name)
        if name in NOTES:
            meaning = f"{meaning} {NOTES[name]}".strip()
        rows.append((name, f"{prefix}{name}".upper(), _default(field.default), _allowed(field), meaning))
    for name in set(NOTES) | set(FALLBACK_DESCRIPTIONS):
        if name not in Settings.model_fields:
            log.info("docs hook: %s is not a Settings field any more", name)
    return rows


def settings_table() -> str:
    lines = ["| variable | default | allowed | meaning |", "|---|---|---|---|"]
    for _name, env, default, allowed, meaning in settings_rows():
        cell = meaning.replace("|", "\\|")
        lines.append(f"| `{env}` | {default} | {allowed} | {cell} |")
    return "\n".join(lines)


def cli_envvar_rows() -> list[tuple[str, str, list[str]]]:
    """(option, variable, commands) for every CLI option that reads an environment variable."""
    import click

    from assistant.cli.main import main

    seen: dict[tuple[str, str], list[str]] = {}

    def walk(cmd: click.Command, path: str) -> None:
        for param in cmd.params:
            envvar = getattr(param, "envvar", None)
            if isinstance(param, click.Option) and envvar:
                names = [envvar] if isinstance(envvar, str) else list(envvar)
                seen.setdefault((", ".join(param.opts), ", ".join(names)), []).append(path)
        if isinstance(cmd, click.Group):
            for name in sorted(cmd.commands):
                walk(cmd.commands[name], f"{path} {name}".strip())

    walk(main, "")
    return sorted(((opt, env, cmds) for (opt, env), cmds in seen.items()), key=lambda row: row[1])


def cli_envvar_table() -> str:
    lines = ["| variable | option | commands |", "|---|---|---|"]
    for option, env, commands in cli_envvar_rows():
        lines.append(f"| `{env}` | `{option}` | {', '.join(f'`{c}`' for c in commands)} |")
    return "\n".join(lines)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any, **kwargs: Any) -> str:
    if SETTINGS_MARKER in markdown:
        markdown = markdown.replace(SETTINGS_MARKER, settings_table())
    if CLI_ENV_MARKER in markdown:
        markdown = markdown.replace(CLI_ENV_MARKER, cli_envvar_table())
    return markdown


if __name__ == "__main__":
    print(cli_envvar_table() if "--cli" in sys.argv else settings_table())
