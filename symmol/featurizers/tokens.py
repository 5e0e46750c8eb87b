"""SMILES as token sequences over a stored vocabulary: regex tokens or single characters.

One featurizer kind (``smiles_tokens``) serves every sequence model of molecules (drug–target
models, SMILES language models): its ``vocabulary`` parameter is stored in the model, so a saved
model reads SMILES exactly as it was trained. Id 0 is padding, id 1 stands for a token outside the
vocabulary, ids from 2 are the vocabulary's tokens in order. Tokens are Schwaller et al.'s regular
expression (bracket atoms and two-letter elements are one token) or, as DeepDTA reads SMILES,
single characters (:data:`DEEPDTA_SMILES_CHARACTERS`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from symmol.chem.native import native_graphs
from symmol.chem.parse import parse_smiles_list
from symmol.data.batch import Featurized
from symmol.data.sequences import TokenBatch
from symmol.featurizers.base import Boolean, Choice, Featurizer, Integer, Strings
from symmol.featurizers.registry import register_featurizer

__all__ = ["DEEPDTA_SMILES_CHARACTERS", "SMILES_TOKEN_PATTERN", "SmilesTokens", "tokenize_smiles"]

#: Schwaller et al., ACS Cent. Sci. 2019, 5, 1572, doi:10.1021/acscentsci.9b00576: bracket atoms,
#: two-letter organic-subset elements and two-digit ring closures are single tokens.
SMILES_TOKEN_PATTERN = re.compile(
    r"(\[[^\]]+]|Br?|Cl?|N|O|S|P|F|I|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|/|:|~|@|\?|>|\*|\$|%[0-9]{2}|[0-9])")
#: DeepDTA's 64 isomeric-SMILES characters (``CHARISOSMISET`` of its ``datahelper.py``), in the order of
#: its ids 1-64 (Öztürk et al., Bioinformatics 2018, doi:10.1093/bioinformatics/bty593).
DEEPDTA_SMILES_CHARACTERS = tuple("(.02468@BDFHLNPRTVZ\\bdfhlnrt#%)+-/13579=ACEGIKMOSUWY[]acegimosuy")
#: How SMILES split into tokens.
TOKENIZERS = ("regex", "character")
#: Ids below the vocabulary: padding and unknown token.
UNKNOWN_ID = 1
FIRST_TOKEN_ID = 2


def tokenize_smiles(smiles: str) -> list[str]:
    """Split ``smiles`` into its tokens.

    Raises
    ------
    ValueError
        Naming the first character no token covers.
    """
    tokens, position = [], 0
    for match in SMILES_TOKEN_PATTERN.finditer(smiles):
        if match.start() != position:
            break
        tokens.append(match.group())
        position = match.end()
    if position != len(smiles):
        raise ValueError(f"no SMILES token starts at position {position} ({smiles[position]!r})")
    return tokens


@register_featurizer
@dataclass(frozen=True)
class SmilesTokens(Featurizer):
    """SMILES → :class:`~symmol.data.sequences.TokenBatch` of token ids (kind ``smiles_tokens``).

    Parameters
    ----------
    vocabulary
        The tokens, in id order from 2 (build one with :meth:`build_vocabulary`); tokens not in it
        become id 1.
    tokenizer
        ``"regex"`` (:data:`SMILES_TOKEN_PATTERN`) or ``"character"`` (every character a token, as
        DeepDTA; pair it with :data:`DEEPDTA_SMILES_CHARACTERS`).
    max_length
        Longest sequence kept; longer ones are cut after ``max_length`` tokens.
    validate
        Reject SMILES that RDKit rejects (with RDKit's reason), as the other molecule featurizers
        do; ``False`` tokenizes any text made of SMILES tokens.
    """

    KINDS: ClassVar = {"smiles_tokens": {}}
    ANNOTATES: ClassVar = True
    PARAMETERS: ClassVar = {"vocabulary": Strings(min_length=1), "max_length": Integer(1, None),
                            "validate": Boolean(), "tokenizer": Choice(TOKENIZERS)}
    BATCH_TYPE: ClassVar = TokenBatch

    vocabulary: tuple[str, ...] = ()
    max_length: int = 128
    validate: bool = True
    tokenizer: str = "regex"

    @property
    def vocabulary_size(self) -> int:
        """Number of ids (padding and unknown included)."""
        return len(self.vocabulary) + FIRST_TOKEN_ID

    @staticmethod
    def build_vocabulary(smiles: Iterable[str], min_count: int = 1) -> tuple[str, ...]:
        """Collect the tokens occurring at least ``min_count`` times in ``smiles``, most frequent first (ties by token).

        Texts that do not tokenize are skipped.
        """
        counts: Counter[str] = Counter()
        for text in smiles:
            if isinstance(text, str):
                try:
                    counts.update(tokenize_smiles(text.strip()))
                except ValueError:
                    continue
        return tuple(token for token, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= min_count)

    def featurize(self, values: Sequence[object]) -> Featurized:
        """Token ids of each SMILES; invalid rows (no text, untokenizable, rejected by RDKit) are empty; cuts noted."""
        ids = {token: i for i, token in enumerate(self.vocabulary, start=FIRST_TOKEN_ID)}
        errors = self._validity(values)
        rows: list[list[int]] = []
        notes = [""] * len(values)
        for i, text in enumerate(values):
            if errors[i]:
                rows.append([])
                continue
            try:
                text = str(text).strip()
                tokens = list(text) if self.tokenizer == "character" else tokenize_smiles(text)
            except ValueError as exc:
                errors[i] = str(exc)
                rows.append([])
                continue
            rows.append([ids.get(token, UNKNOWN_ID) for token in tokens[:self.max_length]])
            if len(tokens) > self.max_length:
                notes[i] = f"SMILES truncated to {self.max_length} of {len(tokens)} tokens"
        lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        tokens_flat = np.fromiter((t for row in rows for t in row), dtype=np.int32, count=int(offsets[-1]))
        return Featurized(TokenBatch(tokens_flat, offsets, self.vocabulary_size), errors, notes)

    def _validity(self, values: Sequence[object]) -> list[str]:
        if not self.validate:
            return ["" if isinstance(v, str) and v.strip() else "empty SMILES" for v in values]
        refused = native_graphs(list(values)).refused
        errors = [""] * len(values)
        parsed = parse_smiles_list([values[i] for i in refused.tolist()], mode="fast")
        for i, error in zip(refused.tolist(), parsed.errors, strict=True):
            errors[i] = error
        return errors
