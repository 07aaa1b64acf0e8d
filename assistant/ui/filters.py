"""The date range, source and section filters shared by the Chat and Archive tabs and the API endpoints."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from assistant.archive.catalog import Catalog
from assistant.records import Filters


@dataclass
class FilterInputs:
    since: Any = None
    until: Any = None
    sources: Any = None
    sections: Any = None


def parse_day(value: Any, label: str) -> date | None:
    if value in (None, "") or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)):  # gr.DateTime's timestamp form
        return datetime.fromtimestamp(float(value)).date()
    text = str(value).strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        pass
    from assistant.sources.newsletter import parse_date

    parsed = parse_date(text)
    if parsed is None:
        raise ValueError(f"cannot read {label} {text!r} as a date (use YYYY-MM-DD)")
    return parsed


def _names(value: Any) -> list[str]:
    """Menu values arrive as a list; API callers may pass one comma-separated string instead."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(item).strip() for item in value if str(item).strip()]


def parse_filters(values: FilterInputs) -> Filters | None:
    """Raw widget or API values -> Filters (None when nothing is set). Raises ValueError with a clear message."""
    filters = Filters(since=parse_day(values.since, "from date"), until=parse_day(values.until, "to date"),
                      sources=_names(values.sources), sections=_names(values.sections))
    return None if filters.empty else filters


@dataclass
class FilterWidgets:
    components: list[Any] = field(default_factory=list)  # since, until, sources, sections: in FilterInputs order
    menus: list[Any] = field(default_factory=list)  # the dropdowns whose choices come from the index

    @staticmethod
    def choices_update(cat: Catalog) -> tuple[Any, Any]:
        import gradio as gr

        return gr.Dropdown(choices=cat.sources), gr.Dropdown(choices=cat.sections)


def filter_inputs(*, prefix: str) -> FilterWidgets:
    import gradio as gr

    with gr.Row():
        since = gr.DateTime(label="From", include_time=False, type="string", elem_id=f"nd-{prefix}-since",
                            min_width=150)
        until = gr.DateTime(label="To", include_time=False, type="string", elem_id=f"nd-{prefix}-until",
                            min_width=150)
        sources = gr.Dropdown(label="Source", choices=[], multiselect=True, allow_custom_value=False,
                              elem_id=f"nd-{prefix}-source", min_width=180)
        sections = gr.Dropdown(label="Section", choices=[], multiselect=True, allow_custom_value=False,
                               elem_id=f"nd-{prefix}-section", min_width=180)
    return FilterWidgets(components=[since, until, sources, sections], menus=[sources, sections])
