"""Run inside `unshare -rm` (a private mount namespace): mount a small tmpfs, put a good index on it, fill the
disk to several levels and rebuild at each; report what happened as JSON on stdout. The namespace (and the
tmpfs) vanish with this process, so nothing on the machine is touched.

Usage: python -m tests.index.enospc_probe SOURCE_INDEX_DIR MOUNT_POINT
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from assistant.config import Settings, offline_environment

offline_environment()

from assistant.embedding.encoder import Embedder  # noqa: E402
from assistant.index.errors import IndexWriteError  # noqa: E402
from assistant.index.store import IndexStore  # noqa: E402
from assistant.ingest.rebuild import rebuild_index  # noqa: E402
from tests.index.conftest import index_state, published_digests  # noqa: E402

SIZE_MB = 24
# Free bytes left before each rebuild: from "nothing fits" to "almost everything fits".
FREE_LEVELS = [0, 8_192, 65_536, 262_144, 524_288, 1_048_576, 2_097_152, 3_145_728]


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill_to(mount: Path, free: int) -> None:
    """Leave about `free` bytes free on the tmpfs (whole pages; the last block that does not fit is skipped)."""
    filler = mount / "filler"
    filler.unlink(missing_ok=True)
    with open(filler, "wb", buffering=0) as fh:
        for block in (1 << 20, 1 << 16, 1 << 12):
            while free_bytes(mount) - free >= block:
                try:
                    fh.write(b"\0" * block)
                    fh.flush()
                except OSError:
                    break


def main() -> None:
    source, mount = Path(sys.argv[1]), Path(sys.argv[2])
    mount.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m", "tmpfs", str(mount)], check=True)
    index = mount / "idx"
    shutil.copytree(source, index, ignore=shutil.ignore_patterns("readers", ".write.lock"))
    settings = Settings(index_dir=index, feedback_file=index / "feedback.jsonl")
    store = IndexStore(settings)
    embedder = Embedder()
    good = store.current()
    good_state = index_state(settings)
    digests = published_digests(settings)
    results = []
    for free in FREE_LEVELS:
        fill_to(mount, free)
        row: dict[str, object] = {"free_bytes": free_bytes(mount)}
        try:
            report = rebuild_index(settings, embedder, reembed=True)
            row["outcome"] = "completed"
            row["version"] = report.version
        except IndexWriteError as exc:
            row["outcome"] = "refused"
            row["message"] = str(exc)
        except BaseException as exc:  # noqa: BLE001 - recorded: the test fails on it
            row["outcome"] = f"crashed: {type(exc).__name__}: {exc}"
        (mount / "filler").unlink(missing_ok=True)
        state = index_state(settings)
        row["current_unchanged"] = state == good_state and store.current() == good
        row["published_unchanged"] = all(published_digests(settings).get(v) == d for v, d in digests.items())
        row["leftovers"] = sorted(p.name for p in (index / "versions").iterdir() if p.name not in store.chain())
        results.append(row)
        if row["outcome"] == "completed":
            break
    fill_to(mount, 0)
    (mount / "filler").unlink(missing_ok=True)
    final = rebuild_index(settings, embedder)
    print(json.dumps({"levels": results, "after_space_freed": {"version": final.version,
                                                               "chunks": final.chunks}}), flush=True)


if __name__ == "__main__":
    main()
