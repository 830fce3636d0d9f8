"""Transforms and resource hooks, driven by config (tests/engine_hooks.rs):
- a stack transform adds `stackMark` to every resource's ignoreChanges;
- `shaped` (a Random of length 4) has its own transform: length 12 and retainOnDelete;
- `hooked` (a File) has a before-create hook that writes `before-create.txt`: whether the file
  existed when the hook ran (it must not: the provider's Create writes it);
- `fail`: when true, `doomed` (a File) has a before-create hook that raises;
- `keep`: when true, `temp` (a File) exists; its after-delete hook writes `after-delete.txt`
  (whether `temp.txt` was still there). The hook is registered in every run.
- `invoke`: when true, an invoke transform sends `local:index:readFile` of `asked.txt` to
  `answered.txt`; the content read is the stack output `read`;
- `seen`: when true, `seen` (a File whose content comes from `source`, a Random) has a
  transform that writes `transform-saw.txt`: whether its content arrived as an Output;
- `component`: when true, the component `comp` exists, with before- and after-create hooks
  (`component-before.txt`, `component-after.txt` with its registered output) and an
  after-delete hook (`component-gone.txt`), registered in every run;
- `dry`: when true, `drytemp` (a File) exists; its after-delete hook runs on dry runs too and
  writes `dry-delete.txt` (`preview` or `up`), registered in every run;
- `flaky`: when true, `flaky` (a Command) fails its first Create; its error hook appends each
  call to `error-hook.txt` and asks for a retry while fewer than 3 errors were seen;
- `swap`: when set, `swapped` (a Random of that length: a new length replaces it) has a
  before-delete hook that runs on dry runs too and writes `swapped-delete.txt` (`preview` or
  `up`);
- `stuck`: when true, `stuck` (a File) exists; its after-delete hook writes the program's pid
  to `hanging.pid` and hangs for ten minutes."""
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


if config.get_bool("invoke"):
    def redirect(args):
        if args.token == "local:index:readFile":
            return pulumi.InvokeTransformResult({"path": "answered.txt"}, args.opts)
        return None

    pulumi.runtime.register_invoke_transform(redirect)
    pulumi.export("read", pulumi.runtime.invoke("local:index:readFile", {"path": "asked.txt"}).value["content"])

if config.get_bool("seen"):
    source = Random("source", 6)

    def look(args):
        with open("transform-saw.txt", "w") as f:
            f.write("output" if isinstance(args.props.get("content"), pulumi.Output) else "plain")
        return None

    File("seen", "seen.txt", source.result, opts=ResourceOptions(transforms=[look]))


class Comp(pulumi.ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("hooks:index:Comp", name, {}, opts)
        self.register_outputs({"answer": "forty-two"})


def component_before(args):
    with open("component-before.txt", "w") as f:
        f.write(args.name)


def component_after(args):
    with open("component-after.txt", "w") as f:
        f.write(str(args.new_outputs.get("answer")))


def component_gone(args):
    with open("component-gone.txt", "w") as f:
        f.write(args.name)


component_gone_hook = ResourceHook("note-component-gone", component_gone)

if config.get_bool("component"):
    Comp("comp", opts=ResourceOptions(hooks=ResourceHookBinding(
        before_create=[ResourceHook("note-component-before", component_before)],
        after_create=[ResourceHook("note-component-after", component_after)],
        after_delete=[component_gone_hook],
    )))


def dry_delete(args):
    with open("dry-delete.txt", "w") as f:
        f.write("preview" if pulumi.runtime.is_dry_run() else "up")


dry_hook = ResourceHook("note-dry-delete", dry_delete, opts=pulumi.ResourceHookOptions(on_dry_run=True))

if config.get_bool("dry"):
    File("drytemp", "drytemp.txt", "removed later\n",
         opts=ResourceOptions(hooks=ResourceHookBinding(after_delete=[dry_hook])))

if config.get_bool("flaky"):
    def retry(args):
        with open("error-hook.txt", "a") as f:
            f.write(f"{args.failed_operation} {len(args.errors)}\n")
        return len(args.errors) < 3

    CustomResource("local:index:Command", "flaky", {
        "create": "if [ -f flaky.marker ]; then echo ok; else touch flaky.marker; exit 1; fi",
        "stdout": None,
    }, opts=ResourceOptions(hooks=ResourceHookBinding(on_error=[pulumi.ErrorHook("retry-flaky", retry)])))


def hang(args):
    with open("hanging.pid", "w") as f:
        f.write(str(os.getpid()))
    import time
    time.sleep(600)


hang_hook = ResourceHook("hang-after-delete", hang)

if config.get_bool("stuck"):
    File("stuck", "stuck.txt", "its delete hook hangs\n",
         opts=ResourceOptions(hooks=ResourceHookBinding(after_delete=[hang_hook])))


def swapped_delete(args):
    with open("swapped-delete.txt", "w") as f:
        f.write("preview" if pulumi.runtime.is_dry_run() else "up")


if config.get_int("swap"):
    Random("swapped", config.get_int("swap"), opts=ResourceOptions(hooks=ResourceHookBinding(
        before_delete=[ResourceHook("note-swapped-delete", swapped_delete,
                                    opts=pulumi.ResourceHookOptions(on_dry_run=True))])))
