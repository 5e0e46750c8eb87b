"""Command-line flags declared from the registries (model options), shared by several commands."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from symmol.chem.io import Lookup
from symmol.generation.registry import generative_kinds
from symmol.models.registry import Option, model_kinds

__all__ = ["add_input_arguments", "add_model_options", "chosen_options", "lookups", "training_kinds"]


def training_kinds() -> list[Any]:
    """Every architecture ``symmol train`` fits: the supervised kinds, then the generative ones."""
    return [*model_kinds(), *generative_kinds()]


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare where a table's inputs come from: ``--smiles-column`` and the lookup tables of pair files."""
    parser.add_argument("--smiles-column", "--ligand-column", dest="smiles_column", default=None,
                        help="column with SMILES (of the ligands, for pair models; default: auto-detect)")
    tables = parser.add_argument_group("lookup tables: entities kept apart from the pairs, joined by id")
    tables.add_argument("--ligands", default=None, metavar="FILE",
                        help="CSV of the ligands (their SMILES column among its columns), one row per id")
    tables.add_argument("--ligand-id-column", default=None, metavar="COL",
                        help="id column of --ligands, also in the data file (e.g. drug_index)")
    tables.add_argument("--proteins", default=None, metavar="FILE",
                        help="CSV of the proteins (their sequence column among its columns), one row per id")
    tables.add_argument("--protein-id-column", default=None, metavar="COL",
                        help="id column of --proteins, also in the data file (e.g. target_index)")


def lookups(args: argparse.Namespace) -> list[Lookup]:
    """Return the :class:`~symmol.chem.io.Lookup` tables of ``--ligands`` and ``--proteins``.

    Raises
    ------
    ValueError
        If a table is given without its id column, or an id column without its table.
    """
    found = []
    for what in ("ligand", "protein"):
        path, key = getattr(args, f"{what}s", None), getattr(args, f"{what}_id_column", None)
        if (path is None) != (key is None):
            raise ValueError(f"--{what}s and --{what}-id-column go together")
        if path is not None and key is not None:
            found.append(Lookup(Path(path), str(key)))
    return found


def _merged(kinds: Sequence[Any]) -> dict[str, tuple[Option, list[tuple[str, Any]]]]:
    """Option name → (the option, [(architecture, default), ...]) over ``kinds`` (each with ``name``, ``options``)."""
    merged: dict[str, tuple[Option, list[tuple[str, Any]]]] = {}
    for kind in kinds:
        for option in kind.options:
            entry = merged.setdefault(option.name, (option, []))
            entry[1].append((kind.name, option.default))
    return merged


def _default_text(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return "its own" if value is None else str(value)


def add_model_options(parser: argparse.ArgumentParser, default_architecture: str | None = "mlp",
                      kinds: Sequence[Any] | None = None) -> None:
    """``--architecture`` and one flag per option name of every architecture (default: unset).

    ``default_architecture=None`` leaves ``args.architecture`` None when not given (the command resolves it).
    ``kinds``: the architectures the command takes (default every registered :class:`ModelKind`; each
    needs ``name``, ``description`` and ``options``).
    """
    kinds = model_kinds() if kinds is None else list(kinds)
    parser.add_argument("--architecture", choices=[k.name for k in kinds], default=default_architecture,
                        help="; ".join(f"{k.name}: {k.description}" for k in kinds))
    group = parser.add_argument_group("architecture options (each applies to the architectures named)")
    for name, (option, defaults) in _merged(kinds).items():
        where = ", ".join(f"{kind}: {_default_text(default)}" for kind, default in defaults)
        help_text = f"{option.help} [default {where}]"
        if option.switch:
            group.add_argument(option.cli_flag, dest=name, action=argparse.BooleanOptionalAction, default=None,
                               help=help_text)
        else:
            group.add_argument(option.cli_flag, dest=name, default=None, choices=option.choices,
                               metavar=None if option.choices else name.upper(), help=help_text)


def given_option_names(args: argparse.Namespace) -> list[str]:
    """Return the names of the supervised architecture options set on the command line."""
    return [name for name in _merged(model_kinds()) if getattr(args, name, None) is not None]


def option_flags(names: list[str], kinds: Sequence[Any] | None = None) -> str:
    """Return the command-line flags of architecture options, comma-separated (``--fp-size, --depth``)."""
    merged = _merged(model_kinds() if kinds is None else kinds)
    return ", ".join(merged[name][0].cli_flag for name in names)


def chosen_options(args: argparse.Namespace, architecture: str | None = None,
                   kinds: Sequence[Any] | None = None) -> dict[str, Any]:
    """Return the architecture options given on the command line, for ``architecture`` (default ``args.architecture``).

    ``kinds``: the architectures whose flags the command declared (default every :class:`ModelKind`).

    Raises
    ------
    ValueError
        If an option of another architecture was given (it would be ignored silently otherwise).
    """
    kinds = model_kinds() if kinds is None else list(kinds)
    architecture = architecture or args.architecture
    chosen = next(k for k in kinds if k.name == architecture)
    given = {name: getattr(args, name) for name in _merged(kinds) if getattr(args, name, None) is not None}
    foreign = [name for name in given if name not in chosen.option_names]
    if foreign:
        flags = option_flags(foreign, kinds)
        owners = sorted({k.name for k in kinds for name in foreign if name in k.option_names})
        raise ValueError(f"{flags} applies to --architecture {'|'.join(owners)} only, not --architecture "
                         f"{architecture}")
    return given
