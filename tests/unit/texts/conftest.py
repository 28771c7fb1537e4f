from __future__ import annotations

from typing import Any

import pytest

from rapport.texts import encoder


@pytest.fixture(scope="session")
def minilm() -> Any:
    """The one loaded encoder of the test session (the process-wide one texts.encoder shares)."""
    from tests.conftest import require

    model = encoder.encoder()
    require(model is not None, f"the model stack is not installed: {encoder.unavailable_reason()}")
    return model
