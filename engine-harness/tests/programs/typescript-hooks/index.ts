// Transforms and resource hooks, driven by config, as python-hooks does:
// - a stack transform adds `stackMark` to every resource's ignoreChanges;
// - `shaped` (a Random of length 4) has its own transform: length 12 and retainOnDelete;
// - `hooked` (a File) has a before-create hook that writes `before-create.txt`: whether the
//   file existed when the hook ran (it must not: the provider's Create writes it);
// - `fail`: when true, `doomed` (a File) has a before-create hook that throws;
// - `keep`: when true, `temp` (a File) exists; its after-delete hook writes `after-delete.txt`
//   (whether `temp.txt` was still there). The hook is registered in every run.
// - `dry`: when true, `drytemp` (a File) exists; its after-delete hook runs on dry runs too
//   and writes `dry-delete.txt` (`preview` or `up`), registered in every run;
// - `flaky`: when true, `flaky` (a Command) fails its first Create; its error hook appends
//   each call to `error-hook.txt` and asks for a retry while fewer than 3 errors were seen.
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";

class Random extends pulumi.CustomResource {
    public readonly result!: pulumi.Output<string>;

    constructor(name: string, args: { length: number }, opts?: pulumi.CustomResourceOptions) {
        super("local:index:Random", name, { ...args, result: undefined }, opts);
    }
}

class File extends pulumi.CustomResource {
    public readonly sha256!: pulumi.Output<string>;

    constructor(
        name: string,
        args: { path: string; content: string },
        opts?: pulumi.CustomResourceOptions,
    ) {
        super("local:index:File", name, { ...args, sha256: undefined }, opts);
    }
}

class Command extends pulumi.CustomResource {
    public readonly stdout!: pulumi.Output<string>;

    constructor(name: string, args: { create: string }, opts?: pulumi.CustomResourceOptions) {
        super("local:index:Command", name, { ...args, stdout: undefined }, opts);
    }
}

const config = new pulumi.Config();

pulumi.runtime.registerResourceTransform((args) => ({
    props: args.props,
    opts: { ...args.opts, ignoreChanges: [...(args.opts.ignoreChanges ?? []), "stackMark"] },
}));

new Random("shaped", { length: 4 }, {
    transforms: [
        (args) => ({
            props: { ...args.props, length: 12 },
            opts: { ...args.opts, retainOnDelete: true },
        }),
    ],
});

const noteBeforeCreate = new pulumi.ResourceHook("note-before-create", () => {
    fs.writeFileSync("before-create.txt", fs.existsSync("hooked.txt") ? "present" : "absent");
});
new File(
    "hooked",
    { path: "hooked.txt", content: "made after its hook\n" },
    { hooks: { beforeCreate: [noteBeforeCreate] } },
);

if (config.getBoolean("fail")) {
    const refuse = new pulumi.ResourceHook("refuse", (args) => {
        throw new Error("the before-create hook refuses " + args.name);
    });
    new File(
        "doomed",
        { path: "doomed.txt", content: "never written\n" },
        { hooks: { beforeCreate: [refuse] } },
    );
}

const goneHook = new pulumi.ResourceHook("note-after-delete", (args) => {
    const where = fs.existsSync("temp.txt") ? "present " : "gone ";
    fs.writeFileSync("after-delete.txt", where + args.name + " " + args.oldInputs?.path);
});

if (config.getBoolean("keep")) {
    new File(
        "temp",
        { path: "temp.txt", content: "removed later\n" },
        { hooks: { afterDelete: [goneHook] } },
    );
}

const dryHook = new pulumi.ResourceHook(
    "note-dry-delete",
    () => {
        fs.writeFileSync("dry-delete.txt", pulumi.runtime.isDryRun() ? "preview" : "up");
    },
    { onDryRun: true },
);

if (config.getBoolean("dry")) {
    new File(
        "drytemp",
        { path: "drytemp.txt", content: "removed later\n" },
        { hooks: { afterDelete: [dryHook] } },
    );
}

if (config.getBoolean("flaky")) {
    const retry = new pulumi.ErrorHook("retry-flaky", (args) => {
        fs.appendFileSync("error-hook.txt", `${args.failedOperation} ${args.errors.length}\n`);
        return args.errors.length < 3;
    });
    new Command(
        "flaky",
        { create: "if [ -f flaky.marker ]; then echo ok; else touch flaky.marker; exit 1; fi" },
        { hooks: { onError: [retry] } },
    );
}
