"""Streaming writers for vote datasets (see arena.formats.votes for the schema).

Each writer takes batches of export records as columns (``VoteColumns``, see
arena.formats.vote_columns) and writes them to a binary handle as they come, so
memory stays bounded by one batch whatever the number of votes:

- ``jsonl``: one JSON object per line (UTF-8), what ``datasets`` and pandas read;
- ``json``: a JSON array with one record per line (FastChat's clean_battle file);
- ``csv``: a header, then one row per vote; nested values (conversations, stats)
  as JSON text, booleans ``true``/``false``, null as an empty cell;
- ``parquet``: typed columns, conversations as ``list<struct<role, content>>``,
  ``stats`` as JSON text; one row group per ~50,000 votes.

JSON text is what ``json.dumps(record, ensure_ascii=False)`` writes (keys in
EXPORT_FIELDS order, ``", "`` and ``": "`` separators), a batch at a time.

A file can also be made of parts written elsewhere (export_parallel: other processes
each write a range of votes): a writer opened with ``part=True`` writes a part (no
header or footer; JSON: every record after a separator; Parquet: the values of each
batch, pickled), and ``append_part`` adds one to the whole file's writer, which gives
the same bytes as if it had written the part's batches itself.
"""

from __future__ import annotations

import io
import json
import pickle
import re
import shutil
from typing import Any, BinaryIO

from arena.formats.vote_columns import (
    NESTED_FIELDS,
    VoteColumns,
    json_bools,
    json_floats,
    json_scalars,
)
from arena.formats.votes import CONVERSATION_FIELDS, EXPORT_FIELDS, FORMATS

MEDIA_TYPES = {"jsonl": "application/x-ndjson", "json": "application/json",
               "csv": "text/csv; charset=utf-8",
               "parquet": "application/vnd.apache.parquet"}
PARQUET_ROW_GROUP = 50_000
BOOL_FIELDS: tuple[str, ...] = ("anony", "identity_leak", "flagged", "too_fast", "suspicious",
                                "seen_named")
FLOAT_FIELDS: tuple[str, ...] = ("tstamp",)
_TEXT_FIELDS = frozenset(EXPORT_FIELDS) - {*BOOL_FIELDS, *FLOAT_FIELDS, "turn", "stats"}


def export_fields(include_conversations: bool) -> tuple[str, ...]:
    if include_conversations:
        return EXPORT_FIELDS
    return tuple(f for f in EXPORT_FIELDS if f not in CONVERSATION_FIELDS)


class VoteWriter:
    def __init__(self, handle: BinaryIO, *, include_conversations: bool = True,
                 part: bool = False) -> None:
        self.handle = handle
        self.fields = export_fields(include_conversations)
        self.count = 0
        self.part = part

    def write_batch(self, batch: VoteColumns) -> None:
        if batch.count:
            self._write(batch)
        self.count += batch.count

    def _write(self, batch: VoteColumns) -> None:
        raise NotImplementedError

    def append_part(self, part: BinaryIO, count: int) -> None:
        """Add a part of *count* records (written by this writer's class with
        ``part=True``) after what was written so far."""
        shutil.copyfileobj(part, self.handle, _COPY_BUFFER)
        self.count += count

    def close(self) -> None:
        """Finish the file (closing brackets, footers); does not close the handle."""


_COPY_BUFFER = 1 << 20


def json_lines(batch: VoteColumns, fields: tuple[str, ...]) -> list[bytes]:
    """Each record of *batch* as one line of JSON (without the newline)."""
    template = b"{" + b", ".join(json.dumps(f).encode() + b": %b" for f in fields) + b"}"
    tokens = [batch.conversation_json(f) if f in CONVERSATION_FIELDS
              else _json_column(f, batch.columns[f]) for f in fields]
    return list(map(template.__mod__, zip(*tokens, strict=True)))


def _json_column(field: str, values: Any) -> list[bytes]:
    if field in NESTED_FIELDS:
        return [b"null" if text is None else text for text in values]
    if field in BOOL_FIELDS:
        return json_bools(values)
    if field in FLOAT_FIELDS:
        return json_floats(values)
    return json_scalars(values)


class JsonlWriter(VoteWriter):
    def _write(self, batch: VoteColumns) -> None:
        self.handle.write(b"\n".join(json_lines(batch, self.fields)) + b"\n")


class JsonArrayWriter(VoteWriter):
    def __init__(self, handle: BinaryIO, *, include_conversations: bool = True,
                 part: bool = False) -> None:
        super().__init__(handle, include_conversations=include_conversations, part=part)
        if not part:
            self.handle.write(b"[")

    def _write(self, batch: VoteColumns) -> None:
        body = b",\n".join(json_lines(batch, self.fields))
        self.handle.write((b",\n" if self.count or self.part else b"\n") + body)

    def append_part(self, part: BinaryIO, count: int) -> None:
        if count and not self.count:  # the file's first record: no comma before it
            part.read(1)
        super().append_part(part, count)

    def close(self) -> None:
        if not self.part:
            self.handle.write(b"\n]\n")


class CsvWriter(VoteWriter):
    """Rows as ``csv.writer`` (excel dialect) writes them: a cell holding a comma, a
    quote or a line break is quoted, its quotes doubled; None is an empty cell; floats
    are ``repr``. Made a column at a time with bytes operations (csv.writer goes
    character by character, too slow for conversations)."""

    def __init__(self, handle: BinaryIO, *, include_conversations: bool = True,
                 part: bool = False) -> None:
        super().__init__(handle, include_conversations=include_conversations, part=part)
        if not part:
            self.handle.write((",".join(self.fields) + "\r\n").encode())
        self.template = b",".join(b"%b" for _ in self.fields) + b"\r\n"

    def _write(self, batch: VoteColumns) -> None:
        cells = [_csv_quoted(batch.conversation_json(f)) if f in CONVERSATION_FIELDS
                 else _csv_column(f, batch.columns[f]) for f in self.fields]
        self.handle.write(b"".join(map(self.template.__mod__, zip(*cells, strict=True))))


_CSV_BOOLS = {True: b"true", False: b"false"}
_CSV_SPECIAL = re.compile(rb'[,"\r\n]')
_EMPTY = {None: ""}  # .get(value, value): None -> "", anything else as it is


def _csv_column(field: str, values: Any) -> list[bytes]:
    if field in BOOL_FIELDS:
        return list(map(_CSV_BOOLS.__getitem__, values))
    if field in NESTED_FIELDS:
        return _csv_quoted([b"" if text is None else text for text in values])
    texts = list(map(_EMPTY.get, values, values))
    if field in FLOAT_FIELDS:
        texts = list(map(repr, texts))
    elif field not in _TEXT_FIELDS:
        texts = list(map(str, texts))
    joined = "\x00".join(texts)  # a column at once: usually no cell needs quotes
    if joined.count("\x00") == len(texts) - 1 and not _CSV_SPECIAL.search(joined.encode()):
        return joined.encode().split(b"\x00")
    return _csv_quoted([text.encode() for text in texts])


def _csv_quoted(cells: list[bytes]) -> list[bytes]:
    return [b'"' + cell.replace(b'"', b'""') + b'"'
            if b'"' in cell or _CSV_SPECIAL.search(cell) else cell for cell in cells]


class ParquetWriter(VoteWriter):
    """Each batch becomes Arrow data at once (compact); row groups of ~50,000 votes.
    Conversations are parsed by Arrow's JSON reader (C++, in threads) from the text the
    database holds. Arrow's memory comes from the C library's allocator (``malloc``):
    pyarrow's default pool (mimalloc) kept ~25 MB more per process of an export.

    A file made of parts (``batch_size`` given) takes its Arrow batches cut again
    every *batch_size* rows, as one reader of all the votes would have made them:
    Parquet's bytes depend on the batches (pages, row groups). A part holds each batch
    as the values Arrow is made from (pickled: the plain columns, the conversations as
    JSON lines), not Arrow data: the process writing a part never loads pyarrow
    (~100 MB of its memory), and the file's writer makes the same Arrow batches from
    them as from a batch it read itself."""

    def __init__(self, handle: BinaryIO, *, include_conversations: bool = True,
                 part: bool = False, batch_size: int | None = None) -> None:
        super().__init__(handle, include_conversations=include_conversations, part=part)
        self.conversation_fields = [f for f in self.fields if f in CONVERSATION_FIELDS]
        if part:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.schema = parquet_schema(self.fields)
        self.pool = pa.system_memory_pool()
        self.writer = pq.ParquetWriter(handle, self.schema, compression="zstd",
                                       memory_pool=self.pool)
        self.pending: list[Any] = []
        self.pending_rows = 0
        self.batch_size = batch_size
        self.uncut: list[Any] = []  # batches not yet cut at batch_size
        self.uncut_rows = 0

    def _write(self, batch: VoteColumns) -> None:
        values = self._values(batch)
        if self.part:
            pickle.dump(values, self.handle, pickle.HIGHEST_PROTOCOL)
        else:
            self._add(self._record_batch(*values))

    def _values(self, batch: VoteColumns) -> tuple[int, dict[str, Any], bytes, int]:
        """What a batch's Arrow data is made from: the count, the plain columns, the
        conversations as JSON lines and the longest line's bound in bytes."""
        plain = {f: batch.columns[f] for f in self.fields if f not in CONVERSATION_FIELDS}
        names = self.conversation_fields
        if not names:
            return batch.count, plain, b"", 0
        texts = [batch.conversation_any_json(f) for f in names]
        template = "{" + ",".join(f'"{f}":%s' for f in names) + "}\n"
        data = "".join(map(template.__mod__, zip(*texts, strict=True))).encode()
        longest = sum(max(map(len, column)) for column in texts) * 4 + 64  # UTF-8 bytes
        return batch.count, plain, data, longest

    def _record_batch(self, count: int, plain: dict[str, Any], data: bytes,
                      longest: int) -> Any:
        import pyarrow as pa

        conversations = self._conversations(count, data, longest)
        arrays = [conversations[f] if f in CONVERSATION_FIELDS
                  else pa.array(plain[f], type=self.schema.field(f).type,
                                memory_pool=self.pool)
                  for f in self.fields]
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def append_part(self, part: BinaryIO, count: int) -> None:
        while True:
            try:
                values = pickle.load(part)  # noqa: S301 - a part this export's worker wrote
            except EOFError:
                break
            self._add(self._record_batch(*values))
        self.count += count

    def _add(self, record_batch: Any) -> None:
        if self.batch_size is None:
            self._pend(record_batch)
        else:
            self.uncut.append(record_batch)
            self.uncut_rows += record_batch.num_rows
            if self.uncut_rows >= self.batch_size:
                self._cut(final=False)

    def _cut(self, *, final: bool) -> None:
        """The batches of self.uncut, every batch_size rows (and the rest if *final*)."""
        import pyarrow as pa

        table = pa.Table.from_batches(self.uncut, schema=self.schema)
        whole = self.uncut_rows - (0 if final else self.uncut_rows % self.batch_size)
        for start in range(0, whole, self.batch_size):  # type: ignore[arg-type]
            piece = table.slice(start, min(self.batch_size, whole - start)).combine_chunks(
                self.pool)
            self._pend(piece.to_batches()[0])
        rest = table.slice(whole)
        self.uncut = rest.combine_chunks(self.pool).to_batches() if rest.num_rows else []
        self.uncut_rows = rest.num_rows

    def _pend(self, record_batch: Any) -> None:
        self.pending.append(record_batch)
        self.pending_rows += record_batch.num_rows
        if self.pending_rows >= PARQUET_ROW_GROUP:
            self._flush()

    def _conversations(self, count: int, data: bytes, longest: int) -> dict[str, Any]:
        import pyarrow as pa
        import pyarrow.json as pa_json

        names = self.conversation_fields
        if not names:
            return {}
        table = pa_json.read_json(
            pa.BufferReader(data),
            read_options=pa_json.ReadOptions(block_size=max(1 << 20, 2 * longest)),
            parse_options=pa_json.ParseOptions(
                explicit_schema=pa.schema([self.schema.field(f) for f in names]),
                unexpected_field_behavior="ignore"),
            memory_pool=self.pool,
        )
        if table.num_rows != count:
            raise AssertionError("Arrow read a wrong number of conversations")
        return {f: table.column(f).combine_chunks(self.pool) for f in names}

    def _flush(self) -> None:
        import pyarrow as pa

        if self.pending:
            table = pa.Table.from_batches(self.pending, schema=self.schema)
            self.pending, self.pending_rows = [], 0
            self.writer.write_table(table, row_group_size=table.num_rows)
            del table
            self.pool.release_unused()  # a row group's memory, back at once

    def close(self) -> None:
        if self.part:
            return
        if self.uncut:
            self._cut(final=True)
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


def open_writer(fmt: str, handle: BinaryIO, *, include_conversations: bool = True,
                part: bool = False, batch_size: int | None = None) -> VoteWriter:
    """A writer of *fmt*; *part*: of a part (see the module docstring); *batch_size*:
    of a whole file made of parts read *batch_size* votes at a time."""
    if fmt not in WRITERS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "parquet":
        return ParquetWriter(handle, include_conversations=include_conversations, part=part,
                             batch_size=None if part else batch_size)
    return WRITERS[fmt](handle, include_conversations=include_conversations, part=part)


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
