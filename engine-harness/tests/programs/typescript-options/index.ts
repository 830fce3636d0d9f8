// Resource options from TypeScript, in stages (config `stage`), as python-options does:
// 1: an explicit `local` provider with its own root and a File under it, and a Random;
// 2: the Random renamed with an alias, and an existing Directory read with `get`;
// 3: as 2, and an existing File adopted with `import`.
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

class Directory extends pulumi.CustomResource {
    public readonly path!: pulumi.Output<string>;

    constructor(name: string, args: { path: string }, opts?: pulumi.CustomResourceOptions) {
        super("local:index:Directory", name, args, opts);
    }

    static get(name: string, id: string): Directory {
        return new Directory(name, { path: id }, { id });
    }
}

class LocalProvider extends pulumi.ProviderResource {
    constructor(name: string, args: { root: string }) {
        super("local", name, args);
    }
}

const config = new pulumi.Config();
const stage = config.requireNumber("stage");
// Both absolute: the test makes them.
const altRoot = config.require("altRoot");
const existing = config.require("existing");

const mine = new LocalProvider("mine", { root: altRoot });
new File(
    "elsewhere",
    { path: "elsewhere.txt", content: "written under the explicit provider's root\n" },
    { provider: mine },
);

const keptRandom =
    stage === 1
        ? new Random("old", { length: 10 })
        : new Random("renamed", { length: 10 }, { aliases: [{ name: "old" }] });
export const kept = keptRandom.result;
export const gotPath = stage >= 2 ? Directory.get("got", existing).path : undefined;
export const adoptedSha =
    stage === 3
        ? new File(
              "adopted",
              { path: `${existing}/adopted.txt`, content: "was here first\n" },
              { import: `${existing}/adopted.txt` },
          ).sha256
        : undefined;
