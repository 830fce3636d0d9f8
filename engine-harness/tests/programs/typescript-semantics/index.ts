// Pulumi's resource semantics, driven by config, as python-semantics does:
// - `length`: the length of a protected Random (a change replaces it, which protect refuses);
// - `t0`, `t1`: the triggers of a Command that ignores changes to `triggers[0]` only;
// - `owned`: when true, a Random `owner` and a File `child` deleted with it (`deletedWith`);
// - an `apply` on the Random's id writes `applied-id.txt`: it must not run in a preview of a
//   Random not created yet, whose id is unknown.
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

    constructor(
        name: string,
        args: { create: string; triggers: string[] },
        opts?: pulumi.CustomResourceOptions,
    ) {
        super("local:index:Command", name, { ...args, stdout: undefined }, opts);
    }
}

const config = new pulumi.Config();
const length = config.getNumber("length") ?? 8;

const guarded = new Random("guarded", { length }, { protect: true });

export const guardedId = guarded.id.apply((id) => {
    fs.writeFileSync("applied-id.txt", String(id));
    return id;
});

new Command(
    "cmd",
    { create: "echo ran", triggers: [config.get("t0") ?? "a", config.get("t1") ?? "b"] },
    { ignoreChanges: ["triggers[0]"] },
);

if (config.getBoolean("owned")) {
    const owner = new Random("owner", { length: 4 });
    new File(
        "child",
        { path: "child.txt", content: "kept when its owner goes\n" },
        { deletedWith: owner },
    );
}
