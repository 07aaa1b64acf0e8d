"""The docs: a short README with the two commands, and a site whose generated pages match the code.

The site is built once with `mkdocs build --strict` (a broken link, an unknown page or a Settings field without a
description fails it), into a temporary folder, and its HTML is read back.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import click
import pytest

from assistant.cli.main import main
from assistant.config import Settings

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
MAKE_RUN = (
    "make run    # set up .venv (CPU torch), build the index of the bundled corpus if missing, "
    "serve http://127.0.0.1:7860"
)
MAKE_TEST = "make test   # set up .venv with the test extras, then ruff, mypy and the whole test suite"


def commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command under the click group, with its path of names: ("feeds", "add"), ..."""
    for name, command in sorted(group.commands.items()):
        if command.hidden:
            continue
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(REPO / "mkdocs.yml"), "-d", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    return out


def page_text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", html))


class TestDocs:
    def test_readme_is_short_and_keeps_the_two_commands(self) -> None:
        data = README.read_bytes()
        assert len(data) <= 8 * 1024, f"README.md is {len(data)} bytes; move detail into docs/"
        text = data.decode("utf-8")
        assert MAKE_RUN in text
        assert MAKE_TEST in text

    def test_readme_links_point_at_existing_docs(self) -> None:
        text = README.read_text(encoding="utf-8")
        targets = re.findall(r"\]\((docs/[^)#]+)(?:#[^)]*)?\)", text)
        assert targets, "the README links into docs/"
        for target in targets:
            assert (REPO / target).exists(), target

    def test_every_click_command_is_on_the_cli_page(self, site: Path) -> None:
        html = (site / "cli" / "index.html").read_text(encoding="utf-8")
        text = page_text(html)
        assert "Sentinel" not in text, "a click sentinel leaked into the page (docs/hooks/cli_page.py)"
        found = list(commands(main))
        assert len(found) >= 13
        for path, command in found:
            anchor = "-".join(("newsdesk", *path))
            assert f'id="{anchor}"' in html, f"`newsdesk {' '.join(path)}` has no section on the CLI page"
            for param in command.params:
                if isinstance(param, click.Option) and not param.hidden:
                    assert any(opt in text for opt in param.opts), f"{anchor}: option {param.opts} missing"

    def test_every_setting_is_on_the_configuration_page(self, site: Path) -> None:
        text = page_text((site / "configuration" / "index.html").read_text(encoding="utf-8"))
        prefix = str(Settings.model_config.get("env_prefix", "NEWSDESK_"))
        for name, field in Settings.model_fields.items():
            variable = f"{prefix}{name}".upper()
            assert variable in text, f"{variable} is missing from the configuration page"
            if field.description:
                wanted = " ".join(field.description.split())
                assert wanted in " ".join(text.split()), f"{variable}: its description is not on the page"

    def test_pages_load_nothing_from_outside(self, site: Path) -> None:
        external = re.compile(r"""<(?:script|link|img)\b[^>]*\b(?:src|href)=["']?(?:https?:)?//""", re.I)
        for page in site.rglob("*.html"):
            html = page.read_text(encoding="utf-8")
            assert not external.search(html), f"{page.relative_to(site)} loads a resource from outside the site"
        architecture = (site / "architecture" / "index.html").read_text(encoding="utf-8")
        assert 'class="mermaid"' in architecture
        assert "assets/javascripts/mermaid.min.js" in architecture
