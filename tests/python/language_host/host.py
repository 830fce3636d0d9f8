"""A language plugin for engine-harness's tests, written on the `LanguageRuntime` stubs that
Pulumi publishes in its Python SDK (`pulumi.runtime.proto.language_pb2_grpc`).

Started as Pulumi starts `pulumi-language-<runtime>`: the engine's address is the last
argument; the plugin serves LanguageRuntime on a loopback port and prints that port as its first
line of stdout. `Run` starts the program with engine-harness's own Python starter
(engine-harness/src/language/python_runner.py, the same flags as Pulumi's Python host) and the
configuration the engine sent. Every request it receives is appended, as JSON, to the file named
by PULUMI_TEST_LANGUAGE_LOG, so that a test can check what the engine sent.
"""

import json
import os
import subprocess
import sys
from concurrent import futures

import grpc
from google.protobuf import json_format

from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "..", "..", "..", "engine-harness", "src", "language", "python_runner.py")


def record(method, request, **extra):
    path = os.environ.get("PULUMI_TEST_LANGUAGE_LOG")
    if not path:
        return
    entry = {"method": method, "request": json_format.MessageToDict(request), **extra}
    with open(path, "a") as f:
        f.write(json.dumps(entry) + "\n")


class Host(language_pb2_grpc.LanguageRuntimeServicer):
    def __init__(self, engine_address):
        self.engine_address = engine_address

    def Handshake(self, request, context):
        record("Handshake", request)
        return language_pb2.LanguageHandshakeResponse()

    def GetPluginInfo(self, request, context):
        return plugin_pb2.PluginInfo(version="0.0.1")

    def GetRequiredPlugins(self, request, context):
        record("GetRequiredPlugins", request)
        return language_pb2.GetRequiredPluginsResponse(plugins=[])

    def Run(self, request, context):
        record("Run", request, argv_engine=self.engine_address)
        with open(RUNNER) as f:
            runner = f.read()
        env = dict(os.environ)
        env["PULUMI_CONFIG"] = json.dumps(dict(request.config))
        env["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(list(request.configSecretKeys))
        args = [
            sys.executable, "-u", "-c", runner,
            "--monitor", request.monitor_address,
            "--engine", self.engine_address,
            "--project", request.project,
            "--stack", request.stack,
            "--organization", request.organization,
            "--root-directory", request.info.root_directory,
            "--pwd", request.pwd,
            "--dry-run", "true" if request.dryRun else "false",
            "--parallel", str(request.parallel),
            request.program,
        ]
        proc = subprocess.run(args, env=env, cwd=request.pwd, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            # The program logged its error through the engine already.
            return language_pb2.RunResponse(bail=True)
        return language_pb2.RunResponse()


def main():
    engine_address = sys.argv[-1]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(Host(engine_address), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
