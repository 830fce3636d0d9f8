// nodecomp: a component provider written on Pulumi's own Node.js SDK (`pulumi.provider`), the
// twin of pycomp_provider.py (same component, same method, same checks; see its docstring).
"use strict";
const fs = require("fs");
const path = require("path");
const pulumi = require("@pulumi/pulumi");

const PACKAGE = "nodecomp";
const KIND = "node";

function record(name, what, value) {
    const folder = process.env.COMP_RECORD;
    if (folder) {
        fs.writeFileSync(path.join(folder, `${name}.${what}`), String(value));
    }
}

class Comp extends pulumi.ComponentResource {
    constructor(name, inputs, opts) {
        super(`${PACKAGE}:index:Comp`, name, {}, opts);
        const outputs = { kind: KIND };
        if (inputs.fail) {
            throw new pulumi.InputPropertiesError({
                message: "the component's inputs are invalid",
                errors: [
                    { propertyPath: "fail", reason: "must be false for a component to build" },
                    { propertyPath: "size", reason: "must be below 10" },
                ],
            });
        }
        if (inputs.token) {
            const project = pulumi.getProject();
            const key = `${project}:token`;
            if (!pulumi.runtime.isConfigSecret(key)) {
                throw new Error(`expected config ${key} to be secret`);
            }
            const token = new pulumi.Config(project).requireSecret("token");
            outputs.tokenLength = token.apply((t) => t.length);
        }
        if ("size" in inputs) {
            pulumi.output(inputs.size).apply((v) => record(name, "size", v));
        }
        if ("settings" in inputs) {
            const settings = inputs.settings;
            if (pulumi.Output.isInstance(settings)) {
                throw new Error("expected args.settings not to be an instance of pulumi.Output");
            }
            outputs.settingsPassword = settings.password;
            outputs.settingsUser = settings.user;
        }
        if (inputs.providerUrn) {
            pulumi.output(inputs.providerUrn).apply((urn) => {
                const p = new pulumi.ProviderResource("local", "rebuilt", {}, { urn });
                p.urn.apply((u) => record(name, "provider", u));
            });
        }
        if (inputs.file) {
            new pulumi.CustomResource(
                "local:index:File",
                `${name}-file`,
                { path: inputs.file, content: `child of ${name}` },
                { parent: this },
            );
        }
        this.registerOutputs(outputs);
        this.outputs = outputs;
    }
}

const provider = {
    version: "0.1.0",
    async construct(name, type, inputs, options) {
        if (type !== `${PACKAGE}:index:Comp`) {
            throw new Error(`unknown resource type ${type}`);
        }
        const comp = new Comp(name, inputs, options);
        return { urn: comp.urn, state: comp.outputs };
    },
    async call(token, inputs) {
        if (token !== `${PACKAGE}:index:Comp/describe`) {
            throw new Error(`unknown method ${token}`);
        }
        // A reference to a component of a package with no resource module arrives as its URN.
        const comp = inputs.__self__;
        const urn = pulumi.Resource.isInstance(comp) ? comp.urn : comp;
        const greeting = inputs.greeting || "hello";
        return {
            outputs: {
                text: pulumi.interpolate`${greeting} ${urn}`,
                secret: pulumi.secret(`${greeting} from ${KIND}`),
            },
        };
    },
};

pulumi.provider.main(provider, process.argv.slice(2));
