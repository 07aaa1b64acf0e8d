"""The package has no import cycles, not even inside one package (import-linter checks the layers between them)."""

from __future__ import annotations

import grimp


class TestArchitecture:
    def test_no_module_imports_itself_through_others(self) -> None:
        graph = grimp.build_graph("assistant", include_external_packages=False)
        cycles = sorted({tuple(sorted((m, n))) for m in graph.modules for n in graph.find_modules_directly_imported_by(m)
                         if graph.chain_exists(importer=n, imported=m)})
        assert cycles == [], cycles

    def test_no_module_is_over_500_lines(self) -> None:
        from pathlib import Path

        root = Path(__file__).resolve().parents[1] / "assistant"
        long = {str(p.relative_to(root)): n for p in root.rglob("*.py")
                if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500}
        assert long == {}, long
