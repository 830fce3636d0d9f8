"""One stack written three times (see stack-yaml/Pulumi.yaml): the same resources, options and
outputs as the YAML and TypeScript programs, plus the `local:index:hash` invoke."""
import pulumi
from pulumi import CustomResource, ResourceOptions


class Random(CustomResource):
    def __init__(self, name, length, prefix, opts=None):
        props = {"length": length, "prefix": prefix, "result": None}
        super().__init__("local:index:Random", name, props, opts)


class Directory(CustomResource):
    def __init__(self, name, path, opts=None):
        super().__init__("local:index:Directory", name, {"path": path}, opts)


class File(CustomResource):
    def __init__(self, name, path, content, permissions=None, opts=None):
        props = {
            "path": path,
            "content": content,
            "permissions": permissions,
            "sha256": None,
            "size": None,
        }
        super().__init__("local:index:File", name, props, opts)


config = pulumi.Config()
prefix = config.require("prefix")
token = config.require_secret("token")

suffix = Random("suffix", 6, prefix)
outdir = Directory("outdir", "out")
greeting = File(
    "greeting",
    "out/greeting.txt",
    suffix.result.apply(lambda r: f"hello {r}"),
    opts=ResourceOptions(depends_on=[outdir]),
)
secret = File(
    "secret",
    "out/secret.txt",
    token,
    permissions="0600",
    opts=ResourceOptions(depends_on=[outdir]),
)
digest = pulumi.runtime.invoke_output("local:index:hash", {"content": greeting.content})

pulumi.export("suffix", suffix.result)
pulumi.export("greetingSize", greeting.size)
pulumi.export("secretSha", secret.sha256)
pulumi.export("greetingHash", digest.apply(lambda r: r["sha256"]))
