"""anygram: exact verbatim search, n-gram and ∞-gram language models over huge corpora.

    import anygram
    anygram.build("corpus/", "idx")
    idx = anygram.open("idx")
    idx.count("natural language processing")
"""

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
from .format.open import verify
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

from .build.pipeline import build  # noqa: E402  (the subpackage attribute is replaced by the function)


__all__ = [
    "__version__",
    "build",
    "open",
    "verify",
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
