// A custom resource, a component with a child, a dependency through an output, a secret from
// config and stack outputs: what tests/testsuite/monitor_programs.rs checks the monitor receives.
import * as pulumi from "@pulumi/pulumi";

interface RandomArgs {
    length: pulumi.Input<number>;
    seed?: pulumi.Input<string>;
}

class Random extends pulumi.CustomResource {
    public readonly length!: pulumi.Output<number>;
    public readonly result!: pulumi.Output<string>;

    constructor(name: string, args: RandomArgs, opts?: pulumi.CustomResourceOptions) {
        super("local:index:Random", name, { ...args, result: undefined }, opts);
    }
}

class Pair extends pulumi.ComponentResource {
    public readonly child: Random;

    constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
        super("test:index:Pair", name, {}, opts);
        this.child = new Random(`${name}-child`, { length: 4 }, { parent: this });
        this.registerOutputs({ childResult: this.child.result });
    }
}

const config = new pulumi.Config();
const secretPassword = config.requireSecret("password");

const first = new Random("first", { length: 8, seed: secretPassword }, { protect: true });
new Pair("pair", { dependsOn: [first] });
const second = new Random("second", { length: first.length.apply((n) => n + 1) });

export const result = first.result;
export const secondLength = second.length;
export const password = secretPassword;
console.log("program finished registering");
