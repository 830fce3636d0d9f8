"""A minimal provider built with Pulumi's own Python SDK, for the benchmarks.

Resource `pyrandom:index:Random`: inputs `length` and `prefix`; Create returns an id and the
inputs plus `result` (the prefix followed by `length` random letters and digits). Uses the SDK's
provider interface with CRUD (`pulumi.provider.experimental.provider.Provider`) and its serving
entry point, so start-up, serving and value conversion are Pulumi's.

Run as `python pyprovider_min.py <engine-address>`; prints the port as its first stdout line.
"""

import random
import string
import sys

from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.provider.experimental.provider import (
    CreateRequest,
    CreateResponse,
    DeleteRequest,
    Provider,
)
from pulumi.provider.experimental.server import main

ALPHABET = string.ascii_letters + string.digits


class PyRandom(Provider):
    """Creates random strings; keeps nothing outside the engine's state."""

    async def create(self, request: CreateRequest) -> CreateResponse:
        props = dict(request.properties)
        length = int(props["length"].value)
        prefix_value = props.get("prefix")
        prefix = prefix_value.value if prefix_value is not None else ""
        result = prefix + "".join(random.choices(ALPHABET, k=length))
        props["result"] = PropertyValue(result)
        suffix = "".join(random.choices(string.ascii_lowercase + string.digits, k=12))
        return CreateResponse(resource_id=f"random-{suffix}", properties=props)

    async def delete(self, request: DeleteRequest) -> None:
        return None


if __name__ == "__main__":
    main(sys.argv[1:], "0.0.1", PyRandom())
