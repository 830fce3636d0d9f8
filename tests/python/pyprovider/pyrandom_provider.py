"""pyrandom: a provider written with Pulumi's own Python SDK (pulumi.provider.experimental).

It mirrors the Rust example provider's `local:index:Random` so the same programs, tests and
benchmarks can run against a provider this project did not write the protocol layer for:

| type token                | inputs                                                | output   |
|---------------------------|-------------------------------------------------------|----------|
| `pyrandom:index:Random`   | `length` (number >= 1, replaces), `prefix` (updates)  | `result` |

`result` is the prefix followed by `length` random alphanumeric characters; a secret prefix makes
the result secret. Run it through the `pulumi-resource-pyrandom` launcher next to this file.

Test hooks: while the file named by `PYRANDOM_FAIL_CREATE_WHILE` exists, Create raises; with
`PYRANDOM_SECRET_RESULT=1` the provider marks `result` secret on its own.
"""

import os
import secrets
import string
import sys

from pulumi.provider.experimental import provider as p
from pulumi.provider.experimental.property_value import Computed, PropertyValue
from pulumi.provider.experimental.server import main

PACKAGE = "pyrandom"
VERSION = "0.1.0"
RANDOM = "pyrandom:index:Random"
ALPHABET = string.ascii_letters + string.digits
INPUTS = ("length", "prefix")
# Pulumi's Python SDK 3.272.0 reads unknowns as `Computed` but cannot marshal `Computed` back
# (`PropertyValue.marshal` raises "Unsupported value type"), so an unknown output is sent as the
# wire sentinel itself, which is what an unknown is on the wire.
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def _length(inputs):
    """Returns (length or None when unknown, error or None)."""
    v = inputs.get("length")
    if v is None or v.value is None:
        return None, "`length` is required: how many random characters to generate"
    if isinstance(v.value, Computed):
        return None, None
    if isinstance(v.value, bool) or not isinstance(v.value, float):
        return None, f"`length` must be a number, got {type(v.value).__name__}"
    if v.value != int(v.value) or v.value < 1 or v.value > 1_000_000:
        return None, f"`length` must be a whole number from 1 to 1000000, got {v.value}"
    return int(v.value), None


def _prefix(inputs):
    """Returns (prefix, is_secret, error or None)."""
    v = inputs.get("prefix")
    if v is None or v.value is None:
        return "", bool(v and v.is_secret), None
    if isinstance(v.value, Computed):
        return "", v.is_secret, None
    if not isinstance(v.value, str):
        return "", False, f"`prefix` must be a string, got {type(v.value).__name__}"
    return v.value, v.is_secret, None


def _known(v):
    return PropertyValue(UNKNOWN, is_secret=v.is_secret) if isinstance(v.value, Computed) else v


def _outputs(inputs, random_part):
    prefix, secret, _ = _prefix(inputs)
    out = {k: _known(v) for k, v in inputs.items() if k in INPUTS}
    # Test hook: PYRANDOM_SECRET_RESULT=1 marks `result` secret on the provider's own account.
    secret = secret or os.environ.get("PYRANDOM_SECRET_RESULT") == "1"
    out["result"] = PropertyValue(prefix + random_part, is_secret=secret)
    return out


def _same(a, b):
    if a is None or b is None:
        return a is None and b is None
    return a.value == b.value


class PyRandomProvider(p.Provider):
    """The provider: one resource type, `pyrandom:index:Random`."""

    def _require_type(self, urn):
        t = urn.split("::")[-2].split("$")[-1]
        if t != RANDOM:
            raise ValueError(f"unknown resource type `{t}`; this provider ({PACKAGE}) manages: {RANDOM}")

    async def check(self, request):
        self._require_type(request.urn)
        news = request.new_inputs
        failures = []
        _, err = _length(news)
        if err:
            failures.append(p.CheckFailure("length", err))
        _, _, err = _prefix(news)
        if err:
            failures.append(p.CheckFailure("prefix", err))
        for key in news:
            if key not in INPUTS:
                failures.append(p.CheckFailure(key, f"unknown property `{key}`; Random takes `length` and `prefix`"))
        return p.CheckResponse(inputs=news, failures=failures)

    async def diff(self, request):
        self._require_type(request.urn)
        olds, news = request.old_state, request.new_inputs
        ignored = set(request.ignore_changes or [])
        diffs, replaces, detailed = [], [], {}
        for key in INPUTS:
            if key in ignored or _same(olds.get(key), news.get(key)):
                continue
            diffs.append(key)
            if olds.get(key) is None:
                kind = p.PropertyDiffKind.ADD
            elif news.get(key) is None:
                kind = p.PropertyDiffKind.DELETE
            else:
                kind = p.PropertyDiffKind.UPDATE
            if key == "length":
                replaces.append(key)
                kind = p.PropertyDiffKind(kind.value + 1)
            detailed[key] = p.PropertyDiff(kind, True)
        return p.DiffResponse(changes=bool(diffs), replaces=replaces, diffs=diffs, detailed_diff=detailed)

    async def create(self, request):
        self._require_type(request.urn)
        marker = os.environ.get("PYRANDOM_FAIL_CREATE_WHILE")
        if marker and not request.preview and os.path.exists(marker):
            # A test hook: Create raises while this file exists, as a provider whose cloud
            # call fails does (the SDK answers the Create with an error status).
            raise RuntimeError(f"create refused while {marker} exists")
        n, err = _length(request.properties)
        if err:
            raise ValueError(err)
        if n is None or request.preview:
            out = _outputs(request.properties, "")
            out["result"] = PropertyValue(UNKNOWN)
            return p.CreateResponse(resource_id="", properties=out)
        random_part = "".join(secrets.choice(ALPHABET) for _ in range(n))
        rid = "pyrandom-" + "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(12))
        return p.CreateResponse(resource_id=rid, properties=_outputs(request.properties, random_part))

    async def read(self, request):
        self._require_type(request.urn)
        # A random string lives only in state: what was recorded is what exists.
        props = request.properties
        inputs = {k: v for k, v in props.items() if k in INPUTS}
        return p.ReadResponse(resource_id=request.resource_id, properties=props, inputs=inputs)

    async def update(self, request):
        self._require_type(request.urn)
        old_prefix, _, _ = _prefix(request.olds)
        result = request.olds.get("result")
        if result is None or not isinstance(result.value, str) or not result.value.startswith(old_prefix):
            raise ValueError("the recorded state has no `result` matching its `prefix`; refresh or replace the resource")
        random_part = result.value[len(old_prefix):]
        if request.preview and any(isinstance(v.value, Computed) for v in request.news.values()):
            out = _outputs(request.news, "")
            out["result"] = PropertyValue(UNKNOWN)
            return p.UpdateResponse(properties=out)
        return p.UpdateResponse(properties=_outputs(request.news, random_part))

    async def delete(self, request):
        self._require_type(request.urn)


if __name__ == "__main__":
    main(sys.argv[1:], VERSION, PyRandomProvider())
