"""Shared pytest configuration: hypothesis profiles and the tests directory on sys.path."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).parent))

_common = {
    "deadline": None,
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
}
# "ci": derandomized (the same examples every run); "dev": random exploration (the default);
# "thorough": many more examples, e.g. `HYPOTHESIS_PROFILE=thorough pytest tests/test_engine_properties.py`.
settings.register_profile("ci", derandomize=True, print_blob=True, **_common)
settings.register_profile("dev", **_common)
settings.register_profile("thorough", max_examples=1000, **_common)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)
