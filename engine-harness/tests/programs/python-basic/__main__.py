"""A custom resource, a component with a child, a dependency through an output, a secret from
config and stack outputs: what tests/testsuite/monitor_programs.rs checks the monitor receives."""
import pulumi
from pulumi import ComponentResource, CustomResource, ResourceOptions


class Random(CustomResource):
    def __init__(self, name, length, seed=None, opts=None):
        super().__init__(
            "local:index:Random",
            name,
            {"length": length, "seed": seed, "result": None},
            opts,
        )


class Pair(ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("test:index:Pair", name, None, opts)
        self.child = Random(f"{name}-child", 4, opts=ResourceOptions(parent=self))
        self.register_outputs({"childResult": self.child.result})


config = pulumi.Config()
password = config.require_secret("password")

first = Random("first", 8, seed=password, opts=ResourceOptions(protect=True))
pair = Pair("pair", opts=ResourceOptions(depends_on=[first]))
second = Random("second", first.length.apply(lambda n: n + 1))

pulumi.export("result", first.result)
pulumi.export("secondLength", second.length)
pulumi.export("password", password)
print("program finished registering")
