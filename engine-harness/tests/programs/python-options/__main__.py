"""Resource options from Python, in stages (config `stage`): 1: an explicit `local` provider with
its own root and a File under it, and a Random; 2: the Random renamed with an alias, and an
existing Directory read with `get`; 3: as 2, and an existing File adopted with `import_`."""
import pulumi
from pulumi import Alias, CustomResource, ProviderResource, ResourceOptions


class Random(CustomResource):
    def __init__(self, name, length, opts=None):
        super().__init__("local:index:Random", name, {"length": length, "result": None}, opts)


class File(CustomResource):
    def __init__(self, name, path, content, opts=None):
        props = {"path": path, "content": content, "sha256": None}
        super().__init__("local:index:File", name, props, opts)


class Directory(CustomResource):
    def __init__(self, name, path, opts=None):
        super().__init__("local:index:Directory", name, {"path": path}, opts)

    @staticmethod
    def get(name, id):
        return Directory(name, id, opts=ResourceOptions(id=id))


config = pulumi.Config()
stage = config.require_int("stage")
# Both absolute: the test makes them.
alt_root = config.require("altRoot")
existing = config.require("existing")

mine = ProviderResource("local", "mine", {"root": alt_root})
File("elsewhere", "elsewhere.txt", "written under the explicit provider's root\n",
     opts=ResourceOptions(provider=mine))

if stage == 1:
    kept = Random("old", 10)
else:
    kept = Random("renamed", 10, opts=ResourceOptions(aliases=[Alias(name="old")]))
    got = Directory.get("got", existing)
    pulumi.export("gotPath", got.path)
if stage == 3:
    adopted = File("adopted", f"{existing}/adopted.txt", "was here first\n",
                   opts=ResourceOptions(import_=f"{existing}/adopted.txt"))
    pulumi.export("adoptedSha", adopted.sha256)

pulumi.export("kept", kept.result)
