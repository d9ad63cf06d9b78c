"""What the request and response models of every area share."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

# A document (snapshot, ruleset, plan...) travels as a plain object and is parsed by the
# engine, so every problem in it is reported at once with its full path.
Document = dict[str, Any]


class Strict(BaseModel):
    """A request body: an unknown field is a 422 naming it, not silently dropped."""

    model_config = ConfigDict(extra="forbid")
