// One stack written three times (see stack-yaml/Pulumi.yaml): the same resources, options and
// outputs as the YAML and Python programs, plus the `local:index:hash` invoke.
import * as pulumi from "@pulumi/pulumi";

class Random extends pulumi.CustomResource {
    public readonly result!: pulumi.Output<string>;

    constructor(name: string, args: { length: number; prefix: pulumi.Input<string> }) {
        super("local:index:Random", name, { ...args, result: undefined });
    }
}

class Directory extends pulumi.CustomResource {
    constructor(name: string, args: { path: string }) {
        super("local:index:Directory", name, args);
    }
}

interface FileArgs {
    path: string;
    content: pulumi.Input<string>;
    permissions?: string;
}

class File extends pulumi.CustomResource {
    public readonly content!: pulumi.Output<string>;
    public readonly sha256!: pulumi.Output<string>;
    public readonly size!: pulumi.Output<number>;

    constructor(name: string, args: FileArgs, opts?: pulumi.CustomResourceOptions) {
        super("local:index:File", name, { ...args, sha256: undefined, size: undefined }, opts);
    }
}

const config = new pulumi.Config();
const prefix = config.require("prefix");
const token = config.requireSecret("token");

const random = new Random("suffix", { length: 6, prefix });
const outdir = new Directory("outdir", { path: "out" });
const greeting = new File(
    "greeting",
    { path: "out/greeting.txt", content: pulumi.interpolate`hello ${random.result}` },
    { dependsOn: [outdir] },
);
const secretFile = new File(
    "secret",
    { path: "out/secret.txt", content: token, permissions: "0600" },
    { dependsOn: [outdir] },
);
const digest = pulumi.runtime.invokeOutput<{ sha256: string }>("local:index:hash", {
    content: greeting.content,
});

export const suffix = random.result;
export const greetingSize = greeting.size;
export const secretSha = secretFile.sha256;
export const greetingHash = digest.sha256;
