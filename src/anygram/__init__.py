"""anygram: exact verbatim search, n-gram and ∞-gram language models over huge corpora.

    import anygram
    anygram.build("corpus/", "idx")
    idx = anygram.open("idx")
    idx.count("natural language processing")
"""

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .config import BuildConfig, QueryDefaults
from .errors import (
    AnygramError,
    BuildError,
    CorpusError,
    CorruptIndexError,
    IndexFormatError,
    MissingExtraError,
    QueryError,
    TokenizerError,
)
from .index import Index, open
from .results import (
    BuildSummary,
    CountResult,
    CreativityResult,
    DocResult,
    FindResult,
    IndexInfo,
    InfgramNtdResult,
    InfgramProbResult,
    LongestMatch,
    LongestMatchesResult,
    NtdResult,
    ProbResult,
    ScoreResult,
    SearchDocsResult,
    TokenProb,
)

if TYPE_CHECKING:  # pragma: no cover
    from .build.pipeline import build


def __getattr__(name: str) -> Any:
    # the builder (pydivsufsort, psutil, tqdm) is imported on first use only, so that query
    # commands start quickly
    if name == "build":
        from .build.pipeline import build

        return build
    raise AttributeError(f"module 'anygram' has no attribute {name!r}")


__all__ = [
    "__version__",
    "build",
    "open",
    "Index",
    "BuildConfig",
    "QueryDefaults",
    "AnygramError",
    "BuildError",
    "CorpusError",
    "CorruptIndexError",
    "IndexFormatError",
    "MissingExtraError",
    "QueryError",
    "TokenizerError",
    "BuildSummary",
    "CountResult",
    "CreativityResult",
    "DocResult",
    "FindResult",
    "IndexInfo",
    "InfgramNtdResult",
    "InfgramProbResult",
    "LongestMatch",
    "LongestMatchesResult",
    "NtdResult",
    "ProbResult",
    "ScoreResult",
    "SearchDocsResult",
    "TokenProb",
]
