"""Streaming writers for vote datasets (see arena.formats.votes for the schema).

Each writer takes batches of export records (dicts keyed by EXPORT_FIELDS) and
writes them to a binary handle as they come, so memory stays bounded by one
batch whatever the number of votes:

- ``jsonl``: one JSON object per line (UTF-8), what ``datasets`` and pandas read;
- ``json``: a JSON array with one record per line (FastChat's clean_battle file);
- ``csv``: a header, then one row per vote; nested values (conversations, stats)
  as JSON text, booleans ``true``/``false``, null as an empty cell;
- ``parquet``: typed columns, conversations as ``list<struct<role, content>>``,
  ``stats`` as JSON text; one row group per ~50,000 votes.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, BinaryIO

from arena.formats.votes import CONVERSATION_FIELDS, EXPORT_FIELDS, FORMATS

MEDIA_TYPES = {"jsonl": "application/x-ndjson", "json": "application/json",
               "csv": "text/csv; charset=utf-8",
               "parquet": "application/vnd.apache.parquet"}
PARQUET_ROW_GROUP = 50_000


def export_fields(include_conversations: bool) -> tuple[str, ...]:
    if include_conversations:
        return EXPORT_FIELDS
    return tuple(f for f in EXPORT_FIELDS if f not in CONVERSATION_FIELDS)


class VoteWriter:
    def __init__(self, handle: BinaryIO, *, include_conversations: bool = True) -> None:
        self.handle = handle
        self.fields = export_fields(include_conversations)
        self.count = 0

    def write_batch(self, records: list[dict[str, Any]]) -> None:
        self._write(records)
        self.count += len(records)

    def _write(self, records: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish the file (closing brackets, footers); does not close the handle."""


class JsonlWriter(VoteWriter):
    def _write(self, records: list[dict[str, Any]]) -> None:
        lines = [json.dumps({f: r.get(f) for f in self.fields}, ensure_ascii=False)
                 for r in records]
        if lines:
            self.handle.write(("\n".join(lines) + "\n").encode())


class JsonArrayWriter(VoteWriter):
    def __init__(self, handle: BinaryIO, *, include_conversations: bool = True) -> None:
        super().__init__(handle, include_conversations=include_conversations)
        self.handle.write(b"[")

    def _write(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        body = ",\n".join(json.dumps({f: r.get(f) for f in self.fields}, ensure_ascii=False)
                          for r in records)
        self.handle.write(((",\n" if self.count else "\n") + body).encode())

    def close(self) -> None:
        self.handle.write(b"\n]\n")


class CsvWriter(VoteWriter):
    def __init__(self, handle: BinaryIO, *, include_conversations: bool = True) -> None:
        super().__init__(handle, include_conversations=include_conversations)
        self.handle.write((",".join(self.fields) + "\r\n").encode())

    def _write(self, records: list[dict[str, Any]]) -> None:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for record in records:
            writer.writerow([_csv_cell(record.get(f)) for f in self.fields])
        self.handle.write(buffer.getvalue().encode())


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return repr(value)
    return value


class ParquetWriter(VoteWriter):
    """Each batch becomes Arrow data at once (compact); row groups of ~50,000 votes."""

    def __init__(self, handle: BinaryIO, *, include_conversations: bool = True) -> None:
        import pyarrow.parquet as pq

        super().__init__(handle, include_conversations=include_conversations)
        self.schema = parquet_schema(self.fields)
        self.writer = pq.ParquetWriter(handle, self.schema, compression="zstd")
        self.pending: list[Any] = []
        self.pending_rows = 0

    def _write(self, records: list[dict[str, Any]]) -> None:
        import pyarrow as pa

        rows = []
        for record in records:
            row = {f: record.get(f) for f in self.fields}
            if row.get("stats") is not None:
                row["stats"] = json.dumps(row["stats"], ensure_ascii=False)
            rows.append(row)
        if rows:
            self.pending.append(pa.RecordBatch.from_pylist(rows, schema=self.schema))
            self.pending_rows += len(rows)
        if self.pending_rows >= PARQUET_ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self.pending:
            table = pa.Table.from_batches(self.pending, schema=self.schema)
            self.writer.write_table(table, row_group_size=self.pending_rows)
            self.pending, self.pending_rows = [], 0

    def close(self) -> None:
        self._flush()
        self.writer.close()


def parquet_schema(fields: tuple[str, ...] = EXPORT_FIELDS) -> Any:
    import pyarrow as pa

    message = pa.struct([("role", pa.string()), ("content", pa.string())])
    types = {"anony": pa.bool_(), "identity_leak": pa.bool_(), "flagged": pa.bool_(),
             "too_fast": pa.bool_(), "suspicious": pa.bool_(), "seen_named": pa.bool_(),
             "turn": pa.int32(), "tstamp": pa.float64(),
             "conversation_a": pa.list_(message), "conversation_b": pa.list_(message)}
    return pa.schema([(f, types.get(f, pa.string())) for f in fields])


WRITERS: dict[str, type[VoteWriter]] = {"jsonl": JsonlWriter, "json": JsonArrayWriter,
                                        "csv": CsvWriter, "parquet": ParquetWriter}
assert set(WRITERS) == set(FORMATS)


def open_writer(fmt: str, handle: BinaryIO, *, include_conversations: bool = True) -> VoteWriter:
    if fmt not in WRITERS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return WRITERS[fmt](handle, include_conversations=include_conversations)


class ChunkSink(io.RawIOBase):
    """A write-only binary stream whose bytes are taken out in chunks (for HTTP)."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._chunks.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def take(self) -> bytes:
        data, self._chunks = b"".join(self._chunks), []
        return data
