"""What the request and response models of every area share."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema
from pydantic_core.core_schema import definition_reference_schema, definitions_schema

# A document (snapshot, ruleset, plan...) travels as a plain object and is parsed by the
# engine, so every problem in it is reported at once with its full path.
Document = dict[str, Any]


class SchemaOf:
    """`Annotated[Document, SchemaOf(Snapshot)]`: the OpenAPI schema of a document is its
    engine model's, so clients and fuzzers see every field and bound, while the request
    still arrives as a plain object and the engine validates it (its 422 names every
    issue with the document's own paths, which FastAPI's validation would not)."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # A reference to the model's own core schema, rendered by the same generator: the
        # model and its nested models become named components, shared by every route.
        model = self.model.__pydantic_core_schema__
        return handler(definitions_schema(definition_reference_schema(model["ref"]), [model]))


class Strict(BaseModel):
    """A request body: an unknown field is a 422 naming it, not silently dropped."""

    model_config = ConfigDict(extra="forbid")
