"""Transforms and resource hooks, driven by config (tests/engine_hooks.rs):
- a stack transform adds `stackMark` to every resource's ignoreChanges;
- `shaped` (a Random of length 4) has its own transform: length 12 and retainOnDelete;
- `hooked` (a File) has a before-create hook that writes `before-create.txt`: whether the file
  existed when the hook ran (it must not: the provider's Create writes it);
- `fail`: when true, `doomed` (a File) has a before-create hook that raises;
- `keep`: when true, `temp` (a File) exists; its after-delete hook writes `after-delete.txt`
  (whether `temp.txt` was still there). The hook is registered in every run."""
import os

import pulumi
from pulumi import CustomResource, ResourceOptions, ResourceHook, ResourceHookBinding


class Random(CustomResource):
    def __init__(self, name, length, opts=None):
        super().__init__("local:index:Random", name, {"length": length, "result": None}, opts)


class File(CustomResource):
    def __init__(self, name, path, content, opts=None):
        props = {"path": path, "content": content, "sha256": None}
        super().__init__("local:index:File", name, props, opts)


config = pulumi.Config()


def mark(args):
    opts = args.opts
    opts.ignore_changes = (opts.ignore_changes or []) + ["stackMark"]
    return pulumi.ResourceTransformResult(args.props, opts)


pulumi.runtime.register_resource_transform(mark)


def reshape(args):
    props = dict(args.props)
    props["length"] = 12
    return pulumi.ResourceTransformResult(props, ResourceOptions.merge(args.opts, ResourceOptions(retain_on_delete=True)))


Random("shaped", 4, opts=ResourceOptions(transforms=[reshape]))


def before_create(args):
    with open("before-create.txt", "w") as f:
        f.write("present" if os.path.exists("hooked.txt") else "absent")


File("hooked", "hooked.txt", "made after its hook\n",
     opts=ResourceOptions(hooks=ResourceHookBinding(before_create=[ResourceHook("note-before-create", before_create)])))

if config.get_bool("fail"):
    def refuse(args):
        raise Exception("the before-create hook refuses " + args.name)

    File("doomed", "doomed.txt", "never written\n",
         opts=ResourceOptions(hooks=ResourceHookBinding(before_create=[ResourceHook("refuse", refuse)])))


def after_delete(args):
    with open("after-delete.txt", "w") as f:
        f.write(("present " if os.path.exists("temp.txt") else "gone ") + args.name + " " + str(args.old_inputs.get("path")))


gone_hook = ResourceHook("note-after-delete", after_delete)

if config.get_bool("keep"):
    File("temp", "temp.txt", "removed later\n",
         opts=ResourceOptions(hooks=ResourceHookBinding(after_delete=[gone_hook])))
