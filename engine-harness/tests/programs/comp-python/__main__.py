"""Uses the component `<package>:index:Comp` (package from config `package`: pycomp or
nodecomp) as a program on Pulumi's Python SDK does without a generated SDK; config `scenario`
picks what the run exercises (see engine-harness/tests/testsuite/component_sdks.rs)."""

import pulumi

config = pulumi.Config()
package = config.require("package")
scenario = config.require("scenario")


class Comp(pulumi.ComponentResource):
    def __init__(self, name, props, opts=None):
        props = dict(props)
        for out in ("kind", "tokenLength", "settingsUser", "settingsPassword"):
            props.setdefault(out, None)
        super().__init__(f"{package}:index:Comp", name, props, opts, remote=True)

    def describe(self, greeting):
        return pulumi.runtime.call(
            f"{package}:index:Comp/describe", {"__self__": self, "greeting": greeting}, self
        )


if scenario == "config":
    c = Comp("c", {"token": True})
    pulumi.export("tokenLength", c.tokenLength)
elif scenario == "provider":
    p = pulumi.ProviderResource("local", "p", {"root": "."})
    c = Comp("c", {"providerUrn": p.urn}, pulumi.ResourceOptions(providers=[p]))
    pulumi.export("kind", c.kind)
elif scenario == "unknown":
    r = pulumi.CustomResource("local:index:Random", "r", {"length": 6, "result": None})
    c = Comp("c", {"size": r.result})
    pulumi.export("kind", c.kind)
elif scenario == "settings":
    c = Comp("c", {"settings": {"user": "u1", "password": pulumi.Output.secret("pw-in-settings")}})
    pulumi.export("user", c.settingsUser)
    pulumi.export("password", c.settingsPassword)
elif scenario == "method":
    c = Comp("c", {})
    result = c.describe("hi")
    pulumi.export("text", pulumi.Output.unsecret(result.apply(lambda r: r["text"])))
    pulumi.export("secret", result.apply(lambda r: r["secret"]))
elif scenario == "fail":
    Comp("c", {"fail": True, "size": 12})
elif scenario == "subtree":
    c = Comp("c", {"file": "child.txt"})
    pulumi.CustomResource(
        "local:index:File",
        "after",
        {"path": "after.txt", "content": c.kind},
        pulumi.ResourceOptions(depends_on=[c]),
    )
elif scenario == "reference":
    ref = pulumi.StackReference(config.require("reference"))
    length = ref.get_output("tokenLength")
    pulumi.export("otherLength", length)
    pulumi.export("otherLengthValue", pulumi.Output.unsecret(length))
elif scenario == "transform":
    # The component's own transform reaches the children its provider registers.
    def child_content(args):
        if args.type_ == "local:index:File":
            props = dict(args.props)
            props["content"] = "set by the program's transform"
            return pulumi.ResourceTransformResult(props, args.opts)
        return None

    Comp("c", {"file": "child.txt"}, pulumi.ResourceOptions(transforms=[child_content]))
else:
    raise Exception(f"unknown scenario {scenario}")
