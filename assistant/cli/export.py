"""`newsdesk export-onnx`: export the embedding model to ONNX once, so that cold commands start without torch.

    newsdesk export-onnx                     # into <index-dir>/onnx-cache (NEWSDESK_ONNX_CACHE to choose)

Registered on the main group by cli/main.py; `make index` runs it.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from assistant.cli.common import index_option, make_settings, out, user_errors


@click.command("export-onnx")
@index_option
def export_onnx(index_dir: Path | None) -> None:
    """Export the embedding model to ONNX (once; a few seconds) into NEWSDESK_ONNX_CACHE, by default
    <index-dir>/onnx-cache.

    With the export there, a cold `ask`, `search`, `coverage` or `chat` embeds with onnxruntime even with the torch
    backend (the same vectors) and starts without importing torch: ~2 s instead of ~7 s. Nothing is done when the
    export is there already; a changed NEWSDESK_EMBED_MODEL needs its own export."""
    from assistant.embedding.encoder import Embedder

    started = time.perf_counter()
    with user_errors():
        folder, made = Embedder.from_settings(make_settings(index_dir)).export_onnx()
    what = f"exported in {time.perf_counter() - started:.1f} s" if made else "already exported"
    out.print(f"ONNX export of the embedding model: {folder} ({what})", highlight=False, markup=False)
