"""Input and output at the edges: Parquet with schema-derived Arrow types, JSON, and
atomic outputs so that a failed run leaves the previous outputs intact."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from vbhc.core.errors import InputError

if TYPE_CHECKING:
    from vbhc.schemas import TableSchema


@contextlib.contextmanager
def atomic_output_dir(out: str | Path) -> Iterator[Path]:
    """Write a command's outputs into a temporary folder and move them into ``out`` on success.

    Yields the temporary folder.  If the block raises, the temporary folder is removed
    and ``out`` is left exactly as it was.  On success every top-level file or folder
    written is moved into ``out`` with ``os.replace`` (replacing an older output of the
    same name), so readers never see a half-written file.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    out.mkdir(parents=True, exist_ok=True)
    try:
        for item in sorted(tmp.iterdir()):
            target = out / item.name
            if target.is_dir() and not target.is_symlink():
                old = out / f".{item.name}.old-{os.getpid()}"
                os.replace(target, old)
                os.replace(item, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(item, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _atomic_path(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    mask = os.umask(0)  # mkstemp creates 0600; give outputs the usual umask-based mode
    os.umask(mask)
    os.chmod(name, 0o666 & ~mask)
    return Path(name)


def write_parquet(
    df: pd.DataFrame | pa.Table,
    path: str | Path,
    schema: TableSchema | None = None,
    *,
    row_group_size: int | None = None,
) -> Path:
    """Write ``df`` as Parquet atomically, typed by ``schema`` when given.

    With a schema, columns are written in schema order with the schema's Arrow types
    (so the same data always gives the same bytes); extra columns are an error.
    """
    path = Path(path)
    if schema is not None:
        table = schema.to_arrow(df)
    elif isinstance(df, pa.Table):
        table = df
    else:
        table = pa.Table.from_pandas(df, preserve_index=False)
    tmp = _atomic_path(path)
    try:
        pq.write_table(table, tmp, row_group_size=row_group_size, compression="zstd")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


class ParquetAppender:
    """Write one Parquet file in parts (e.g. person blocks), typed by ``schema``.

    Use as a context manager: parts go to a temporary file that replaces ``path``
    only when the block ends without an error.  The same parts in the same order
    give the same bytes.
    """

    def __init__(self, path: str | Path, schema: TableSchema) -> None:
        self.path, self.schema = Path(path), schema
        self.rows = 0
        self._tmp: Path | None = None
        self._writer: pq.ParquetWriter | None = None

    def __enter__(self) -> ParquetAppender:
        self._tmp = _atomic_path(self.path)
        self._writer = pq.ParquetWriter(self._tmp, self.schema.arrow_schema(), compression="zstd")
        return self

    def write(self, part: pd.DataFrame | pa.Table) -> None:
        """Append one part (converted to the schema's columns and types)."""
        assert self._writer is not None, "use ParquetAppender as a context manager"
        table = self.schema.to_arrow(part)
        self._writer.write_table(table)
        self.rows += table.num_rows

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self._writer is not None and self._tmp is not None
        self._writer.close()
        if exc_type is None:
            os.replace(self._tmp, self.path)
        self._tmp.unlink(missing_ok=True)


def read_parquet(
    path: str | Path,
    schema: TableSchema | None = None,
    *,
    columns: list[str] | None = None,
    table: str | None = None,
) -> pd.DataFrame:
    """Read a Parquet file into pandas with vbhc's canonical dtypes.

    Integers become nullable ``IntN``, booleans ``boolean``, strings ``str``, dates and
    timestamps ``datetime64``.  A missing or unreadable file raises :class:`InputError`
    naming the table.
    """
    path = Path(path)
    name = table or (schema.table if schema is not None else path.stem)
    if not path.is_file():
        raise InputError(f"file not found: {path}", table=name)
    try:
        arrow = pq.read_table(path, columns=columns)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{path} is not a readable Parquet file ({exc})", table=name) from None
    return arrow_to_pandas(arrow)


_NULLABLE = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}


def arrow_to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow to pandas with nullable integers and booleans (no silent int -> float)."""
    return table.to_pandas(types_mapper=_NULLABLE.get, date_as_object=False)


def write_json(obj: Any, path: str | Path) -> Path:
    """Write JSON atomically, keys sorted, UTF-8, two-space indent."""
    path = Path(path)
    tmp = _atomic_path(path)
    try:
        tmp.write_text(
            json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n",
            encoding="utf-8",
        )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_text(text: str, path: str | Path) -> Path:
    """Write a text file (HTML, Markdown, CSV) atomically."""
    path = Path(path)
    tmp = _atomic_path(path)
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def file_sha256(path: str | Path, *, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, for manifests."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
