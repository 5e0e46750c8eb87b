"""Featurizer parameters on the command line: the common flags and ``--param NAME=VALUE`` for any other."""

from __future__ import annotations

import argparse
import json
from typing import Any

from symmol.featurizers.registry import featurizer_class

__all__ = ["add_featurizer_flags", "featurizer_params"]

#: Flag dest → featurizer parameter of the common flags.
_FLAGS = {"radius": "radius", "fp_size": "fp_size", "count": "counts", "chirality": "chirality"}


def add_featurizer_flags(parser: argparse.ArgumentParser, counts: bool = True) -> None:
    """``--radius``, ``--fp-size``, [``--count``,] ``--chirality`` and ``--param NAME=VALUE`` (default: unset)."""
    parser.add_argument("--radius", type=int, default=None, help="Morgan radius of ecfp/fcfp (default 2: ECFP4)")
    parser.add_argument("--fp-size", type=int, default=None,
                        help="bits of ecfp/fcfp/atompair/torsion (default 2048; maccs has 167 fixed)")
    if counts:
        parser.add_argument("--count", action="store_const", const=True, default=None,
                            help="counts (clipped at 255) instead of bits")
    parser.add_argument("--chirality", action="store_const", const=True, default=None,
                        help="chirality in the ecfp/fcfp invariants")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="any other parameter of the featurizer kind (JSON value, or text)")


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def featurizer_params(args: argparse.Namespace, kind: str) -> dict[str, Any]:
    """Return the featurizer parameters given on the command line for ``kind``.

    Raises
    ------
    ValueError
        For a flag the kind does not take, or a malformed ``--param``.
    """
    taken = featurizer_class(kind).parameter_names()
    params: dict[str, Any] = {}
    for dest, name in _FLAGS.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        if name not in taken:
            raise ValueError(f"--{dest.replace('_', '-')} does not apply to --fingerprint {kind}")
        params[name] = value
    for item in args.param:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--param expects NAME=VALUE, got {item!r}")
        params[name.strip().replace("-", "_")] = _value(text.strip())
    return params
