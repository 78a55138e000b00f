"""anygram: exact verbatim search, n-gram and ∞-gram language models over huge corpora.

    import anygram
    anygram.build("corpus/", "idx")
    idx = anygram.open("idx")
    idx.count("natural language processing")

Names are imported on first use (PEP 562), so ``import anygram`` is cheap and the command line
starts quickly; ``__all__`` lists the public API.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__

_LAZY = {
    "build": ".builder.pipeline",
    "open": ".index",
    "Index": ".index",
    "verify": ".format.open",
    "BuildConfig": ".config",
    "contamination": ".analyses.contamination",
    "QueryDefaults": ".config",
    **{
        name: ".errors"
        for name in (
            "AnygramError", "BuildError", "CorpusError", "CorruptIndexError", "IndexFormatError",
            "MissingExtraError", "QueryError", "TokenizerError", "BenchmarkError",
        )
    },
    **{
        name: ".results"
        for name in (
            "BuildSummary", "CountResult", "CreativityResult", "DocResult", "FindCnfResult",
            "FindResult", "IndexInfo", "InfgramNtdResult", "InfgramProbResult", "LongestMatch",
            "LongestMatchesResult", "NtdResult", "ProbResult", "ScoreResult", "SearchDocsResult",
            "TokenProb",
        )
    },
}

__all__ = ["__version__", *_LAZY]

if TYPE_CHECKING:  # pragma: no cover
    from .analyses.contamination import contamination
    from .builder.pipeline import build
    from .config import BuildConfig, QueryDefaults
    from .errors import (
        AnygramError, BenchmarkError, BuildError, CorpusError, CorruptIndexError, IndexFormatError,
        MissingExtraError, QueryError, TokenizerError,
    )
    from .format.open import verify
    from .index import Index, open
    from .results import (
        BuildSummary, CountResult, CreativityResult, DocResult, FindCnfResult, FindResult,
        IndexInfo, InfgramNtdResult, InfgramProbResult, LongestMatch, LongestMatchesResult,
        NtdResult, ProbResult, ScoreResult, SearchDocsResult, TokenProb,
    )


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'anygram' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
