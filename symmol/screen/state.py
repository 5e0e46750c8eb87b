"""The resumable state of a screen: finished chunks' parts, the running top K and the manifest.

All state lives in ``<OUT>.work/``: one file per finished chunk under ``parts/`` and
``manifest.json`` listing the finished chunks, their counts, a digest of each chunk's input rows and the
running top-K file. On resume every finished chunk's input is read again and must have the same digest,
so a library replaced by its complete copy (after a truncated download, say) continues where the
screened prefix ends, and any other change is refused. A chunk is
committed by (1) writing its part file atomically, (2) writing the new top-K file, (3) atomically
replacing the manifest; a run killed at any instant (even ``kill -9``) therefore leaves a manifest
that names only complete parts and the top-K they produced. The output is assembled from the
parts in chunk order only at the end, so an interrupted-and-resumed run, a parallel run and a Dask
run write the same bytes as a plain serial run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from symmol.provenance import atomic_write_bytes
from symmol.screen.worker import ChunkResult

__all__ = ["MANIFEST", "RunState", "chunk_digest", "work_dir"]

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "symmol-screen-manifest"
#: Version 2 holds a digest of each chunk's input rows (version 1 identified the library by its size and time).
MANIFEST_VERSION = 2


def chunk_digest(chunk: pd.DataFrame) -> str:
    """Return the sha256 of a chunk's input rows (every column, in order; the same in every process)."""
    return hashlib.sha256(pd.util.hash_pandas_object(chunk, index=False).to_numpy().tobytes()).hexdigest()


def work_dir(output: str | Path) -> Path:
    """Where a run keeps its parts and manifest until the output is assembled."""
    output = Path(output)
    return output.with_name(output.name + ".work")


class RunState:
    """The work directory of one screen: part files, running top K and the manifest."""

    def __init__(self, directory: Path, key: dict, top_k: int, resume: bool):
        self.directory = directory
        self.parts = directory / "parts"
        self.key = key
        self.top_k = top_k
        #: Finished chunk → ``[rows, valid, filtered, input digest]``.
        self.chunks: dict[int, list] = {}
        self.top: pd.DataFrame | None = None
        self.generation = 0
        if directory.exists() and not resume:
            shutil.rmtree(directory)
        if resume and (directory / MANIFEST).is_file():
            self._load()
        self.parts.mkdir(parents=True, exist_ok=True)
        self._remove_strays()

    def _load(self) -> None:
        path = self.directory / MANIFEST
        try:
            manifest = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: corrupt manifest ({exc}); delete {self.directory} to start over") from None
        if manifest.get("format") != MANIFEST_FORMAT or manifest.get("version") != MANIFEST_VERSION:
            raise ValueError(f"{path}: not a symmol screen manifest of version {MANIFEST_VERSION} (an earlier "
                             "symmol's run?); run without --resume to start over")
        if manifest["key"] != self.key:
            changed = sorted(k for k in set(manifest["key"]) | set(self.key)
                             if manifest["key"].get(k) != self.key.get(k))
            raise ValueError(
                f"cannot resume: {', '.join(changed)} differ from the interrupted run in {self.directory}; "
                "run without --resume to start over"
            )
        self.chunks = {int(k): v for k, v in manifest["chunks"].items()}
        self.generation = int(manifest["generation"])
        if manifest["top"]:
            self.top = pd.read_parquet(self.directory / manifest["top"])
        missing = [i for i in self.chunks if not self._part(i).is_file()]
        if missing:
            raise ValueError(f"{self.directory}: parts of finished chunks {missing[:5]} are missing; "
                             "run without --resume to start over")

    def _remove_strays(self) -> None:
        keep = {self._part(i).name for i in self.chunks}
        for path in self.parts.iterdir():
            if path.name not in keep:
                path.unlink()
        current = self._top_name()
        for path in self.directory.glob("top-*.parquet*"):
            if path.name != current:
                path.unlink()

    def _part(self, index: int) -> Path:
        return self.parts / f"{index:09d}.part"

    def _top_name(self) -> str | None:
        return f"top-{self.generation:09d}.parquet" if self.top is not None else None

    def check_input(self, index: int, digest: str) -> None:
        """Refuse to resume when the input rows of finished chunk ``index`` changed since they were screened.

        Raises
        ------
        ValueError
            Naming the chunk, if ``digest`` differs from the one recorded.
        """
        if self.chunks[index][3] != digest:
            raise ValueError(f"cannot resume: the library's rows of chunk {index} differ from the ones screened "
                             f"before (in {self.directory}); run without --resume to start over")

    def commit(self, result: ChunkResult, rank_column: str, digest: str) -> None:
        """Make one finished chunk durable (see the module docstring for the order); ``digest`` of its input."""
        atomic_write_bytes(self._part(result.index), result.payload)
        old_top = self._top_name()
        self.generation += 1
        if self.top_k > 0:
            parts = [t for t in (self.top, result.top) if t is not None and len(t)]
            pool = pd.concat(parts, ignore_index=True) if parts else result.top
            self.top = pool.sort_values([rank_column, "row"], ascending=[False, True], kind="stable") \
                .head(self.top_k).reset_index(drop=True)
            top_name = self._top_name()
            assert top_name is not None  # self.top was just set
            tmp = self.directory / (top_name + ".tmp")
            self.top.to_parquet(tmp, index=False)
            os.replace(tmp, self.directory / top_name)
        self.chunks[result.index] = [result.rows, result.valid, result.filtered, digest]
        manifest = {"format": MANIFEST_FORMAT, "version": MANIFEST_VERSION, "key": self.key,
                    "generation": self.generation, "top": self._top_name(),
                    "chunks": {str(i): v for i, v in sorted(self.chunks.items())}}
        atomic_write_bytes(self.directory / MANIFEST, json.dumps(manifest).encode())
        if old_top and old_top != self._top_name():
            (self.directory / old_top).unlink(missing_ok=True)

    def assemble(self, output: Path, fmt: str, n_chunks: int) -> None:
        """Write the output from the parts, in chunk order, then remove the work directory."""
        absent = [i for i in range(n_chunks) if i not in self.chunks]
        if absent:
            raise RuntimeError(f"chunks {absent[:5]} were not scored; the output was not written")
        tmp = output.with_name(output.name + ".tmp")
        if fmt == "parquet":
            writer: pq.ParquetWriter | None = None
            for i in range(n_chunks):
                table = pq.read_table(self._part(i))
                writer = writer or pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
            assert writer is not None  # a library gives at least one (possibly empty) chunk
            writer.close()
        else:
            with open(tmp, "wb") as out:
                for i in range(n_chunks):
                    with open(self._part(i), "rb") as part:
                        shutil.copyfileobj(part, out, 1 << 22)
        os.replace(tmp, output)
        shutil.rmtree(self.directory)
