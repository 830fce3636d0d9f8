"""Pulumi's resource semantics, driven by config (tests/testsuite/engine_semantics.rs):
- `length`: the length of a protected Random (a change replaces it, which protect refuses);
- `t0`, `t1`: the triggers of a Command that ignores changes to `triggers[0]` only;
- `owned`: when true, a Random `owner` and a File `child` deleted with it (`deletedWith`);
- an `apply` on the Random's id writes `applied-id.txt`: it must not run in a preview of a
  Random not created yet, whose id is unknown."""
import pulumi
from pulumi import CustomResource, ResourceOptions


class Random(CustomResource):
    def __init__(self, name, length, opts=None):
        super().__init__("local:index:Random", name, {"length": length, "result": None}, opts)


class File(CustomResource):
    def __init__(self, name, path, content, opts=None):
        props = {"path": path, "content": content, "sha256": None}
        super().__init__("local:index:File", name, props, opts)


class Command(CustomResource):
    def __init__(self, name, create, triggers, opts=None):
        props = {"create": create, "triggers": triggers, "stdout": None}
        super().__init__("local:index:Command", name, props, opts)


config = pulumi.Config()
length = config.get_int("length") or 8

guarded = Random("guarded", length, opts=ResourceOptions(protect=True))


def note_id(i):
    with open("applied-id.txt", "w") as f:
        f.write(str(i))
    return i


pulumi.export("guardedId", guarded.id.apply(note_id))

Command("cmd", "echo ran", [config.get("t0") or "a", config.get("t1") or "b"],
        opts=ResourceOptions(ignore_changes=["triggers[0]"]))

if config.get_bool("owned"):
    owner = Random("owner", 4)
    File("child", "child.txt", "kept when its owner goes\n",
         opts=ResourceOptions(deleted_with=owner))
