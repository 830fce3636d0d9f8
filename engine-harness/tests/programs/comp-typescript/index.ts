// Uses the component `<package>:index:Comp` (package from config `package`: pycomp or
// nodecomp) as a program on Pulumi's Node.js SDK does without a generated SDK; config
// `scenario` picks what the run exercises (see engine-harness/tests/testsuite/component_sdks.rs).
import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();
const pkg = config.require("package");
const scenario = config.require("scenario");

class Comp extends pulumi.ComponentResource {
    public readonly kind!: pulumi.Output<string>;
    public readonly tokenLength!: pulumi.Output<number>;
    public readonly settingsUser!: pulumi.Output<string>;
    public readonly settingsPassword!: pulumi.Output<string>;
    constructor(name: string, props: pulumi.Inputs, opts?: pulumi.ComponentResourceOptions) {
        super(
            `${pkg}:index:Comp`,
            name,
            { kind: undefined, tokenLength: undefined, settingsUser: undefined, settingsPassword: undefined, ...props },
            opts,
            true,
        );
    }
    describe(greeting: string): pulumi.Output<any> {
        return pulumi.runtime.call(`${pkg}:index:Comp/describe`, { __self__: this, greeting }, this);
    }
}

// The SDK's base classes, made concrete for resources without a generated SDK.
class Provider extends pulumi.ProviderResource {
    constructor(pkg: string, name: string, props: pulumi.Inputs, opts?: pulumi.ResourceOptions) {
        super(pkg, name, props, opts);
    }
}
class Custom extends pulumi.CustomResource {
    constructor(t: string, name: string, props: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
        super(t, name, props, opts);
    }
}

const exported: Record<string, any> = {};
if (scenario === "config") {
    const c = new Comp("c", { token: true });
    exported.tokenLength = c.tokenLength;
} else if (scenario === "provider") {
    const p = new Provider("local", "p", { root: "." });
    const c = new Comp("c", { providerUrn: p.urn }, { providers: [p] });
    exported.kind = c.kind;
} else if (scenario === "unknown") {
    const r = new Custom("local:index:Random", "r", { length: 6, result: undefined });
    const c = new Comp("c", { size: (r as any).result });
    exported.kind = c.kind;
} else if (scenario === "settings") {
    const c = new Comp("c", { settings: { user: "u1", password: pulumi.secret("pw-in-settings") } });
    exported.user = c.settingsUser;
    exported.password = c.settingsPassword;
} else if (scenario === "method") {
    const c = new Comp("c", {});
    const result = c.describe("hi");
    exported.text = pulumi.unsecret(result.apply((r) => r.text));
    exported.secret = result.apply((r) => r.secret);
} else if (scenario === "fail") {
    new Comp("c", { fail: true, size: 12 });
} else if (scenario === "subtree") {
    const c = new Comp("c", { file: "child.txt" });
    new Custom("local:index:File", "after", { path: "after.txt", content: c.kind }, { dependsOn: [c] });
} else if (scenario === "reference") {
    const ref = new pulumi.StackReference(config.require("reference"));
    exported.otherLength = ref.getOutput("tokenLength");
    exported.otherLengthValue = pulumi.unsecret(ref.getOutput("tokenLength"));
} else {
    throw new Error(`unknown scenario ${scenario}`);
}

export = exported;
