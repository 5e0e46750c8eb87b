"""Molecule readers: CSV, SMILES and SDF files (optionally gzip-compressed).

Every reader yields :class:`pandas.DataFrame` chunks with a ``row`` column holding the
0-based position of the record in the input, a ``smiles`` column and, when the input has
one, an ``id`` column. Row numbers are never reused or skipped: an empty line of a ``.smi``
file or an unreadable SDF record is still a row, with an empty SMILES, so that it can be
reported downstream instead of silently vanishing.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

#: Column names tried, in order, when no SMILES column is given.
SMILES_COLUMN_CANDIDATES = ("smiles", "SMILES", "Smiles", "canonical_smiles", "smi", "SMILES_CANONICAL")
#: Column names tried, in order, as the molecule identifier of CSV input.
ID_COLUMN_CANDIDATES = (
    "id", "ID", "mol_id", "molecule_id", "compound_id", "Compound ID", "name", "zinc_id", "chembl_id",
)

DEFAULT_CHUNK_SIZE = 20_000
#: pandas' default missing-value tokens (``read_csv``'s documented list), applied to the CSV
#: columns other than SMILES and id: a molecule named ``NA`` keeps its name, an empty label is NaN.
NA_TOKENS = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
             "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")


class InputFormatError(ValueError):
    """The molecule file cannot be read as the format its name announces."""


@dataclass(frozen=True)
class Lookup:
    """A table joined onto every row of a CSV file by an id column, e.g. the ligands of a pairs file.

    Pair data sets ship entities apart from the pairs (DAVIS: ``davis_ligands.csv`` keyed by
    ``drug_index``; GDSC: ``gdsc_drugs.csv`` keyed by ``drug_id``); ``symmol train PAIRS.csv
    --ligands LIGANDS.csv --ligand-id-column drug_index`` reads each pair with its ligand's
    columns. A row whose id the table lacks keeps its place, with a ``read_error`` naming the id.

    Attributes
    ----------
    path
        The table (``.csv`` or ``.csv.gz``), one row per id.
    key
        The id column, in the table and in the file it is joined onto; compared as text.
    """

    path: Path
    key: str

    @cached_property
    def table(self) -> pd.DataFrame:
        """The table, its id column as text.

        Raises
        ------
        InputFormatError
            If it cannot be read, lacks the id column, or repeats an id (naming the file and row).
        """
        try:
            header = list(pd.read_csv(self.path, nrows=0).columns)
            table = pd.read_csv(self.path, dtype={self.key: str}, keep_default_na=False,
                                na_values={c: list(NA_TOKENS) for c in header if c != self.key})
        except (OSError, ValueError, EOFError) as exc:
            raise InputFormatError(f"{self.path}: cannot read the lookup table ({exc})") from None
        if self.key not in table.columns:
            raise InputFormatError(f"{self.path}: no id column {self.key!r}; columns are "
                                   f"{', '.join(map(repr, table.columns))}")
        table[self.key] = table[self.key].str.strip()
        repeated = table[self.key].duplicated()
        if repeated.any():
            row = int(repeated.to_numpy().argmax())
            raise InputFormatError(f"{self.path}: row {row + 1}: id {table[self.key].iloc[row]!r} repeats an "
                                   f"earlier row; a lookup table has one row per id")
        return table

    def join(self, chunk: pd.DataFrame) -> pd.DataFrame:
        """Return ``chunk`` (holding :attr:`key`) with the table's other columns, rows in order.

        Adds or extends ``read_error`` for ids the table lacks.
        """
        ids = chunk[self.key].fillna("").astype(str).str.strip()
        extra = self.table.set_index(self.key)
        joined = chunk.assign(**{c: ids.map(extra[c]).to_numpy() for c in extra.columns if c not in chunk.columns})
        missing = ~ids.isin(extra.index).to_numpy()
        if missing.any():
            reasons = [f"{self.key} {value!r} is not in {self.path.name}" if miss else ""
                       for value, miss in zip(ids, missing, strict=True)]
            earlier = joined["read_error"] if "read_error" in joined else [""] * len(joined)
            joined["read_error"] = [old or new for old, new in zip(earlier, reasons, strict=True)]
        return joined


def input_format(path: str | Path) -> str:
    """Return ``"csv"``, ``"smi"`` or ``"sdf"`` from the file name (``.gz`` allowed).

    Raises
    ------
    InputFormatError
        If the suffix is not one of ``.csv``, ``.smi``, ``.sdf`` (with optional ``.gz``).
    """
    name = Path(path).name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    for suffix, fmt in ((".csv", "csv"), (".smi", "smi"), (".ism", "smi"), (".sdf", "sdf")):
        if name.endswith(suffix):
            return fmt
    raise InputFormatError(
        f"{path}: unknown molecule file type; expected .csv, .smi or .sdf (optionally .gz)"
    )


def _open_text(path: str | Path) -> io.TextIOBase:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _looks_like_smiles(text: str) -> bool:
    from rdkit import Chem, rdBase

    rdBase.DisableLog("rdApp.*")
    try:
        return bool(text) and Chem.MolFromSmiles(text, sanitize=False) is not None
    finally:
        rdBase.EnableLog("rdApp.*")


def _resolve_column(columns: list[str], wanted: str | None, candidates: tuple[str, ...], what: str,
                    path: str | Path) -> str | None:
    if wanted is not None:
        if wanted not in columns:
            raise InputFormatError(
                f"{path}: no {what} column {wanted!r}; columns are {', '.join(map(repr, columns))}"
            )
        return wanted
    for name in candidates:
        if name in columns:
            return name
    return None


def _headed_columns(path: str | Path, columns: list[str], smiles_column: str | None, id_column: str | None,
                    keep_columns: bool | Sequence[str], lookups: Sequence[Lookup]) -> tuple[str, str | None]:
    """Return the SMILES and id columns of a CSV file with a header (lookups' columns included); check the rest."""
    for lookup in lookups:
        if lookup.key not in columns:
            raise InputFormatError(f"{path}: no id column {lookup.key!r} to join {lookup.path.name} on; columns "
                                   f"are {', '.join(map(repr, columns))}")
    joined = list(dict.fromkeys([*columns, *(c for lookup in lookups for c in lookup.table.columns)]))
    smiles_col = _resolve_column(joined, smiles_column, SMILES_COLUMN_CANDIDATES, "SMILES", path)
    if smiles_col is None:
        raise InputFormatError(f"{path}: cannot find a SMILES column among {', '.join(map(repr, joined))}; "
                               "name it with --smiles-column")
    id_col = _resolve_column(joined, id_column, ID_COLUMN_CANDIDATES, "id", path)
    if not isinstance(keep_columns, bool):
        for name in keep_columns:
            _resolve_column(joined, name, (), "input", path)
    return smiles_col, id_col


def iter_csv(path: str | Path, smiles_column: str | None = None, id_column: str | None = None,
             chunk_size: int = DEFAULT_CHUNK_SIZE, keep_columns: bool | Sequence[str] = False,
             lookups: Sequence[Lookup] = ()) -> Iterator[pd.DataFrame]:
    """Yield chunks of a CSV file as ``row``, ``smiles`` [, ``id``] and the other columns asked for.

    The other columns: all if ``keep_columns`` is ``True``, those named if it is a list of names.
    ``lookups`` join their tables' columns onto each row first (:class:`Lookup`); the SMILES may
    come from one of them.

    A file without a header whose first field parses as SMILES (for example the MOSES
    ``test.csv``) is read as one SMILES per line.
    """
    leading_blank, first, second = 0, "", ""
    with _open_text(path) as handle:
        for line in handle:
            first = line.rstrip("\r\n")
            if first.strip():
                break
            leading_blank += 1
        second = next((line for line in handle if line.strip()), "")
    if not first.strip():
        yield pd.DataFrame({"row": pd.RangeIndex(0, 0), "smiles": pd.Series([], dtype=str)})
        return
    columns = list(pd.read_csv(io.StringIO(first + "\n"), nrows=0).columns)
    headerless = (
        not lookups
        and smiles_column is None
        and _resolve_column(columns, None, SMILES_COLUMN_CANDIDATES, "SMILES", path) is None
        and bool(columns)
        and _looks_like_smiles(str(columns[0]))
    )
    smiles_col: int | str | None  # a position without a header, else a column name
    id_col: int | str | None
    if headerless:
        reader = pd.read_csv(path, header=None, dtype=str, chunksize=chunk_size,  # blank lines are rows
                             keep_default_na=False, skip_blank_lines=False)
        smiles_col, id_col = 0, (1 if len(columns) > 1 else None)
    else:
        n_fields = len(next(csv.reader([second]), []))
        if n_fields > len(columns):  # pandas would silently take the first column as an index
            raise InputFormatError(f"{path}: the first data row has {n_fields} fields but the header "
                                   f"{first!r} names {len(columns)}; name every column in the header (row "
                                   "names from R's write.table need one too) and drop trailing delimiters")
        smiles_col, id_col = _headed_columns(path, columns, smiles_column, id_column, keep_columns, lookups)
        text_columns = {c: str for c in (smiles_col, id_col, *(lookup.key for lookup in lookups))
                        if c is not None and c in columns}
        na_values = {name: list(NA_TOKENS) for name in columns if name not in text_columns}
        reader = pd.read_csv(path, dtype=text_columns, chunksize=chunk_size, skiprows=leading_blank,
                             index_col=False, keep_default_na=False, na_values=na_values,
                             skip_blank_lines=False)
    start = 0
    for chunk in reader:
        for lookup in lookups:
            chunk = lookup.join(chunk)
        out = pd.DataFrame({"row": pd.RangeIndex(start, start + len(chunk))})
        if id_col is not None:
            out["id"] = chunk[id_col].fillna("").astype(str).to_numpy()
        out["smiles"] = chunk[smiles_col].fillna("").astype(str).str.strip().to_numpy()
        if "read_error" in chunk.columns:
            out["read_error"] = chunk["read_error"].to_numpy()
        if keep_columns is not False and not headerless:
            kept = chunk.columns if keep_columns is True else keep_columns
            for name in kept:
                if name not in (smiles_col, id_col, "row", "smiles", "id", "read_error"):
                    out[name] = chunk[name].to_numpy()
        start += len(chunk)
        yield out


def iter_smi(path: str | Path, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[pd.DataFrame]:
    """Yield chunks of a SMILES file: SMILES, whitespace, optional name; no header.

    Each line is one row; a blank line is kept as a row with an empty SMILES. As in the
    Daylight SMILES file convention, the name is the rest of the line after the SMILES
    (``CCO ethyl alcohol`` → id ``ethyl alcohol``). The output has an ``id`` column when the
    first non-blank line has a name (lines without one then get ``""``).
    """
    with _open_text(path) as handle:
        first_fields = next((line.split(None, 1) for line in handle if line.strip()), [])
    has_id = len(first_fields) > 1
    rows: list[tuple[str, str]] = []
    start = 0
    with _open_text(path) as handle:
        for line in handle:
            fields = line.split(None, 1)
            rows.append((fields[0] if fields else "", fields[1].strip() if len(fields) > 1 else ""))
            if len(rows) == chunk_size:
                yield _smi_frame(rows, start, has_id)
                start += len(rows)
                rows = []
    if rows or start == 0:
        yield _smi_frame(rows, start, has_id)


def _smi_frame(rows: list[tuple[str, str]], start: int, has_id: bool) -> pd.DataFrame:
    out = pd.DataFrame({"row": pd.RangeIndex(start, start + len(rows))})
    if has_id:
        out["id"] = [r[1] for r in rows]
    out["smiles"] = [r[0] for r in rows]
    return out


def iter_sdf(path: str | Path, id_column: str | None = None,
             chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[pd.DataFrame]:
    """Yield chunks of an SDF file through RDKit's ``ForwardSDMolSupplier``.

    Each record becomes its canonical SMILES; a record RDKit cannot read is kept as a row
    with an empty SMILES and a ``read_error`` saying so (``""`` for readable records). The
    id is the record's ``id_column`` property if given, else its title line (``_Name``).
    """
    from rdkit import Chem, rdBase

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    rows: list[tuple[str, str, str]] = []  # (SMILES, id, read error)
    start = 0
    rdBase.DisableLog("rdApp.*")
    try:
        with opener(path, "rb") as handle:
            for mol in Chem.ForwardSDMolSupplier(handle):
                if mol is None:
                    rows.append(("", "", f"unreadable SDF record (record {start + len(rows)})"))
                else:
                    key = id_column if id_column and mol.HasProp(id_column) else "_Name"
                    ident = mol.GetProp(key) if mol.HasProp(key) else ""
                    rows.append((Chem.MolToSmiles(mol), ident, ""))
                if len(rows) == chunk_size:
                    yield _sdf_frame(rows, start)
                    start += len(rows)
                    rows = []
    finally:
        rdBase.EnableLog("rdApp.*")
    if rows or start == 0:
        yield _sdf_frame(rows, start)


def _sdf_frame(rows: list[tuple[str, str, str]], start: int) -> pd.DataFrame:
    out = _smi_frame([r[:2] for r in rows], start, True)
    out["read_error"] = [r[2] for r in rows]
    return out


def iter_molecules(path: str | Path, smiles_column: str | None = None, id_column: str | None = None,
                   chunk_size: int = DEFAULT_CHUNK_SIZE, keep_columns: bool = False, columns: Sequence[str] = (),
                   lookups: Sequence[Lookup] = ()) -> Iterator[pd.DataFrame]:
    """Yield a molecule file in chunks of at most ``chunk_size`` rows, in input order.

    Parameters
    ----------
    path
        ``.csv``, ``.smi`` (or ``.ism``) or ``.sdf`` file, each optionally ``.gz``.
    smiles_column
        CSV column holding SMILES; found among :data:`SMILES_COLUMN_CANDIDATES` if omitted.
    id_column
        CSV column (or SDF property) used as molecule id; optional.
    chunk_size
        Maximum rows per chunk; memory use is proportional to it, not to the file size.
    keep_columns
        For CSV input, also return the other columns (labels for training).
    columns
        CSV columns to return besides ``row``, ``id`` and ``smiles`` (the inputs a model reads
        beyond the molecule, e.g. a protein sequence); a missing one is an error.
    lookups
        Tables joined onto each row of a CSV file by an id column (:class:`Lookup`): the SMILES
        and the other columns may come from them; an unknown id gives the row a ``read_error``.

    Yields
    ------
    pandas.DataFrame
        ``row`` (int64, 0-based input position), optional ``id`` (str), ``smiles`` (str);
        SDF input adds ``read_error`` (str, ``""`` when the record was read).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    InputFormatError
        Unknown suffix, no SMILES column, a missing ``columns`` entry (or any for ``.smi``/``.sdf``),
        text that is not UTF-8, malformed CSV (the message names the file and, from pandas, the line),
        or a truncated or corrupt ``.gz`` file (raised after every complete chunk before the damage was
        yielded; the message says how many rows were read).
    """
    fmt = input_format(path)
    wanted = [c for c in columns if c not in ("row", "id", "smiles")]
    if (wanted or lookups) and fmt != "csv":
        needed = f"column(s) {wanted} are" if wanted else "a lookup table's id column is"
        raise InputFormatError(f"{path}: a .{fmt} file holds SMILES and names only, but {needed} needed; give a "
                               "CSV file with them")
    if fmt == "csv":
        chunks = iter_csv(path, smiles_column, id_column, chunk_size, True if keep_columns else wanted, lookups)
    elif fmt == "smi":
        chunks = iter_smi(path, chunk_size)
    else:
        chunks = iter_sdf(path, id_column, chunk_size)
    rows = 0
    try:
        for chunk in chunks:
            yield chunk
            rows += len(chunk)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        read = f"the first {rows} rows were read" if rows else "no row could be read"
        raise InputFormatError(f"{path}: truncated or corrupt gzip stream ({exc}); {read}. Replace it with a "
                               "complete copy (a screen then continues with --resume)") from None
    except UnicodeDecodeError as exc:
        raise InputFormatError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
                               "re-save the file as UTF-8") from None
    except pd.errors.ParserError as exc:
        raise InputFormatError(f"{path}: malformed CSV ({str(exc).strip()})") from None



def row_errors(chunk: pd.DataFrame, parse_errors: list[str]) -> list[str]:
    """Return the per-row reasons for rejection of a reader chunk; ``""`` for a valid row.

    The reader's own (``read_error``, e.g. an unreadable SDF record) come before the parser's.
    """
    if "read_error" not in chunk.columns:
        return parse_errors
    return [read or parsed for read, parsed in zip(chunk["read_error"], parse_errors, strict=True)]

def read_molecules(path: str | Path, smiles_column: str | None = None, id_column: str | None = None,
                   keep_columns: bool = True, lookups: Sequence[Lookup] = ()) -> pd.DataFrame:
    """Read a whole molecule file into one DataFrame (see :func:`iter_molecules`)."""
    return pd.concat(list(iter_molecules(path, smiles_column, id_column, keep_columns=keep_columns, lookups=lookups)),
                     ignore_index=True)  # every reader yields at least one (possibly empty) chunk
