"""pycomp: a component provider written on Pulumi's own Python SDK (`pulumi.provider`).

It serves one component, `pycomp:index:Comp`, and one method, `pycomp:index:Comp/describe`,
for the end-to-end tests of components in `engine-harness/tests/testsuite/component_sdks.rs`. Its inputs
choose what it checks, each something Pulumi's engine gives a component provider:

- `token: true`: the stack's config `<project>:token` must reach it and be secret; output
  `tokenLength` (secret).
- `size`: recorded in `$COMP_RECORD/<name>.size` only once known (an unknown must stay unknown).
- `settings`: an object; it must arrive as a plain object (not an Output); outputs
  `settingsUser` and `settingsPassword` (secret when the `password` leaf arrived secret).
- `fail: true`: fails with an `InputPropertiesError` naming two properties.
- `file`: when given, a child `local:index:File` at that path (parent: the component), so the
  component's subtree holds a real resource.
- `providerUrn`: when given, the provider resource with that URN is rebuilt from the engine
  (`pulumi:pulumi:getResource`), as generated SDKs rebuild an explicit provider.
"""

import os
import sys

import pulumi
import pulumi.provider as provider
import pulumi.runtime
from pulumi.errors import InputPropertiesError

PACKAGE = "pycomp"
KIND = "py"


def _record(name, what, value):
    folder = os.environ.get("COMP_RECORD")
    if folder:
        with open(os.path.join(folder, f"{name}.{what}"), "w") as f:
            f.write(str(value))


class Comp(pulumi.ComponentResource):
    def __init__(self, name, inputs, opts):
        super().__init__(f"{PACKAGE}:index:Comp", name, {}, opts)
        outputs = {"kind": KIND}
        if inputs.get("fail"):
            raise InputPropertiesError(
                "the component's inputs are invalid",
                [
                    {"property_path": "fail", "reason": "must be false for a component to build"},
                    {"property_path": "size", "reason": "must be below 10"},
                ],
            )
        if inputs.get("token"):
            project = pulumi.get_project()
            key = f"{project}:token"
            if not pulumi.runtime.is_config_secret(key):
                raise Exception(f"expected config {key} to be secret")
            token = pulumi.Config(project).require_secret("token")
            outputs["tokenLength"] = token.apply(len)
        if "size" in inputs:
            pulumi.Output.from_input(inputs["size"]).apply(lambda v: _record(name, "size", v))
        if "settings" in inputs:
            settings = inputs["settings"]
            if isinstance(settings, pulumi.Output):
                raise Exception("expected args.settings not to be an instance of pulumi.Output")
            outputs["settingsPassword"] = settings.get("password")
            outputs["settingsUser"] = settings.get("user")
        if inputs.get("providerUrn"):
            urn = inputs["providerUrn"]
            pulumi.Output.from_input(urn).apply(lambda u: self._rebuild(name, u))
        if inputs.get("file"):
            pulumi.CustomResource(
                "local:index:File",
                f"{name}-file",
                {"path": inputs["file"], "content": "child of " + name},
                pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs(outputs)
        self.outputs = outputs

    def _rebuild(self, name, urn):
        if urn is None:
            return None
        p = pulumi.ProviderResource("local", "rebuilt", None, pulumi.ResourceOptions(urn=urn))
        p.urn.apply(lambda u: _record(name, "provider", u))
        return None


class CompProvider(provider.Provider):
    def __init__(self):
        super().__init__("0.1.0")

    def construct(self, name, resource_type, inputs, options=None):
        if resource_type != f"{PACKAGE}:index:Comp":
            raise Exception(f"unknown resource type {resource_type}")
        comp = Comp(name, inputs, options)
        return provider.ConstructResult(urn=comp.urn, state=comp.outputs)

    def call(self, token, args):
        if token != f"{PACKAGE}:index:Comp/describe":
            raise Exception(f"unknown method {token}")
        # A reference to a component of a package with no resource module arrives as its URN.
        comp = args["__self__"]
        urn = comp.urn if isinstance(comp, pulumi.Resource) else comp
        greeting = args.get("greeting", "hello")
        secret = pulumi.Output.secret(f"{greeting} from {KIND}")
        return provider.CallResult(
            outputs={"text": pulumi.Output.concat(greeting, " ", urn), "secret": secret}
        )


if __name__ == "__main__":
    provider.main(CompProvider(), sys.argv[1:])
