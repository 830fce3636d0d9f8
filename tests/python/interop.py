#!/usr/bin/env python3
"""Interop: Pulumi's own generated gRPC stubs drive providers built with this project's SDK.

The client here is not ours: it is `pulumi.runtime.proto` (provider_pb2, provider_pb2_grpc,
engine_pb2_grpc) from the PyPI package `pulumi`. Each provider is launched exactly as the Pulumi
engine launches a plugin: the address of an engine (a small Python `Engine` servicer that records
`Log` calls) as the only argument, stdout piped, the first line read byte by byte as the port.

Cases (each assertion is reported; the exit status is non-zero if any failed):
  local    pulumi-resource-local: Handshake, GetPluginInfo, Configure, Check, Diff, Create, Read,
           Update, Delete of local:index:Random, a secret prefix, a preview with an unknown
           `length`, Log tagged with the URN, stdout clean, SIGINT exits 0.
  partial  a partial-initialization error decoded from the `grpc-status-details-bin` trailer:
           against pulumi-resource-local's `local:index:Service` (a process that never becomes
           ready; Delete then stops it), and against pulumi-resource-fixture's
           `fixture:index:InitFails` (fixed id, properties and reasons); and a Service that
           opens its port late, finished by the retry (an Update with no diff).

Usage: interop.py --local PATH --fixture PATH [--expect-version X.Y.Z]
"""

import argparse
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from concurrent import futures

import grpc
from google.protobuf import empty_pb2, struct_pb2
from google.rpc import status_pb2
from pulumi.runtime.proto import engine_pb2_grpc, provider_pb2, provider_pb2_grpc

SIG_KEY = "4dabf18193072939515e22adb298388d"
SIG_SECRET = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN_NUMBER = "3eeb2bf0-c639-47a8-9e75-3b44932eb421"
UNKNOWNS = {
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
    UNKNOWN_NUMBER,
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
    "030794c1-ac77-496b-92df-f27374a8bd58",
    "e48ece36-62e2-4504-bad9-02848725956a",
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
}
INIT_FAILED_TYPE_URL = "type.googleapis.com/pulumirpc.ErrorResourceInitFailed"
RANDOM = "local:index:Random"
CALL_TIMEOUT = 60  # seconds per RPC: generous, for a loaded CI machine
PORT_TIMEOUT = 30


class Report:
    """Collects every assertion; a failure never stops the run."""

    def __init__(self):
        self.passed = 0
        self.failed = []

    def check(self, case, what, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok    {case}: {what}", flush=True)
        else:
            self.failed.append(f"{case}: {what}: {detail}")
            print(f"FAIL  {case}: {what}: {detail}", flush=True)
        return ok

    def equal(self, case, what, got, want):
        return self.check(case, what, got == want, f"got {got!r}, want {want!r}")

    def crashed(self, case, error):
        detail = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        self.check(case, "runs to the end without an unexpected error", False, detail)


class Engine(engine_pb2_grpc.EngineServicer):
    """The engine's Log service, recording what plugins send."""

    def __init__(self):
        self.logs = []
        self.lock = threading.Lock()

    def Log(self, request, context):
        with self.lock:
            self.logs.append(request)
        return empty_pb2.Empty()

    def wait_for(self, predicate, timeout=CALL_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for log in self.logs:
                    if predicate(log):
                        return log
            time.sleep(0.05)
        return None


def start_engine():
    engine = Engine()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    engine_pb2_grpc.add_EngineServicer_to_server(engine, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return engine, server, f"127.0.0.1:{port}"


class Plugin:
    """A plugin process launched as the engine launches one; killed and reaped by close()."""

    def __init__(self, path, engine_address, cwd=None):
        self.name = os.path.basename(path)
        self.proc = subprocess.Popen(
            [path, engine_address],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.stderr = bytearray()
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        self.port_line = self._read_port_line()
        self.port = int(self.port_line.strip())
        if not 1 <= self.port <= 65535:
            raise RuntimeError(f"{self.name}: port {self.port} out of range")
        self.channel = grpc.insecure_channel(
            f"127.0.0.1:{self.port}",
            options=[
                ("grpc.max_receive_message_length", 400 * 1024 * 1024),
                ("grpc.max_send_message_length", 400 * 1024 * 1024),
            ],
        )
        grpc.channel_ready_future(self.channel).result(timeout=PORT_TIMEOUT)
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)

    def _drain_stderr(self):
        for chunk in iter(lambda: self.proc.stderr.read1(4096), b""):
            self.stderr.extend(chunk)

    def _read_port_line(self):
        # Like the engine: byte by byte up to the first newline, within a timeout.
        lines = queue.Queue()

        def read():
            line = bytearray()
            while True:
                byte = os.read(self.proc.stdout.fileno(), 1)
                if not byte:
                    lines.put(None)
                    return
                if byte == b"\n":
                    lines.put(bytes(line))
                    return
                line.extend(byte)

        threading.Thread(target=read, daemon=True).start()
        try:
            line = lines.get(timeout=PORT_TIMEOUT)
        except queue.Empty:
            line = None
        if line is None:
            self.close()
            raise RuntimeError(f"{self.name}: no port line; stderr:\n{self.stderr.decode(errors='replace')}")
        return line.decode()

    def interrupt_and_wait(self, timeout):
        """SIGINT, then wait; returns (exit code or None, seconds taken, stdout after the port)."""
        self.channel.close()
        started = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        took = time.monotonic() - started
        rest = self.proc.stdout.read() if code is not None else b""
        return code, took, rest

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


def struct(values):
    s = struct_pb2.Struct()
    s.update(values)
    return s


def secret(value):
    return {SIG_KEY: SIG_SECRET, "value": value}


def urn(type_token, name):
    return f"urn:pulumi:interop::interop::{type_token}::{name}"


def result_of(properties):
    """The `result` output: (plain string, whether it was a secret)."""
    value = properties["result"]
    if isinstance(value, struct_pb2.Struct) and value[SIG_KEY] == SIG_SECRET:
        return value["value"], True
    return value, False


def grpc_error(call):
    """Runs `call`; returns the grpc.RpcError it raised, or None if it succeeded."""
    try:
        call()
    except grpc.RpcError as error:
        return error
    return None


def init_failure(report, case, error):
    """Checks that `error` is a partial-initialization error; returns the decoded detail or None."""
    if not report.check(case, "the call fails", error is not None, "it succeeded"):
        return None
    report.equal(case, "status code", error.code(), grpc.StatusCode.UNKNOWN)
    trailer = dict(error.trailing_metadata() or ()).get("grpc-status-details-bin")
    if not report.check(case, "grpc-status-details-bin trailer present", trailer is not None, error.trailing_metadata()):
        return None
    status = status_pb2.Status.FromString(trailer)
    report.equal(case, "google.rpc.Status code", status.code, grpc.StatusCode.UNKNOWN.value[0])
    urls = [d.type_url for d in status.details]
    if not report.check(case, "an ErrorResourceInitFailed detail", INIT_FAILED_TYPE_URL in urls, f"type URLs {urls}"):
        return None
    detail = next(d for d in status.details if d.type_url == INIT_FAILED_TYPE_URL)
    init = provider_pb2.ErrorResourceInitFailed()
    report.check(case, "the detail unpacks", detail.Unpack(init), detail)
    return init


def case_local(report, path, engine, engine_address, expect_version):
    case = "local"
    # The provider starts with no configuration at all: without `local:root`, relative paths
    # resolve against its working directory, which an engine sets to the program's directory.
    root = tempfile.mkdtemp(prefix="interop-root-")
    plugin = Plugin(path, engine_address, cwd=root)
    try:
        stub = plugin.stub
        report.check(case, "the port line is digits only", plugin.port_line.isdigit(), repr(plugin.port_line))
        cwd = os.getcwd()
        hs = stub.Handshake(
            provider_pb2.ProviderHandshakeRequest(
                engine_address=engine_address, root_directory=cwd, program_directory=cwd
            ),
            timeout=CALL_TIMEOUT,
        )
        report.check(case, "Handshake accepts secrets", hs.accept_secrets)
        report.check(case, "Handshake accepts resources", hs.accept_resources)

        info = stub.GetPluginInfo(empty_pb2.Empty(), timeout=CALL_TIMEOUT)
        if expect_version:
            report.equal(case, "GetPluginInfo version", info.version, expect_version)
        else:
            report.check(case, "GetPluginInfo has a version", bool(info.version))

        checked_config = stub.CheckConfig(
            provider_pb2.CheckRequest(urn=urn("pulumi:providers:local", "default"), olds=struct({}), news=struct({})),
            timeout=CALL_TIMEOUT,
        )
        report.equal(case, "CheckConfig of empty config has no failures", list(checked_config.failures), [])
        configured = stub.Configure(
            provider_pb2.ConfigureRequest(
                args=struct({}), acceptSecrets=True, acceptResources=True, sends_old_inputs=True
            ),
            timeout=CALL_TIMEOUT,
        )
        report.check(case, "Configure acceptSecrets", configured.acceptSecrets)
        report.check(case, "Configure supportsPreview", configured.supportsPreview)
        report.check(case, "Configure acceptResources", configured.acceptResources)

        r_urn = urn(RANDOM, "r")
        inputs = struct({"length": 8, "prefix": "p-"})
        checked = stub.Check(
            provider_pb2.CheckRequest(
                urn=r_urn, olds=struct({}), news=inputs, randomSeed=b"\x01" * 32, name="r", type=RANDOM
            ),
            timeout=CALL_TIMEOUT,
        )
        report.equal(case, "Check of valid inputs has no failures", list(checked.failures), [])
        bad = stub.Check(
            provider_pb2.CheckRequest(urn=r_urn, olds=struct({}), news=struct({"length": 0}), name="r", type=RANDOM),
            timeout=CALL_TIMEOUT,
        )
        report.check(
            case, "Check of length 0 fails on `length`", any(f.property == "length" for f in bad.failures), bad.failures
        )

        created = stub.Create(
            provider_pb2.CreateRequest(urn=r_urn, properties=checked.inputs, name="r", type=RANDOM, timeout=60),
            timeout=CALL_TIMEOUT,
        )
        report.check(case, "Create returns an id", bool(created.id))
        result, is_secret = result_of(created.properties)
        report.check(case, "result is the prefix and 8 characters", result.startswith("p-") and len(result) == 10, result)
        report.check(case, "result is not secret", not is_secret)
        log = engine.wait_for(lambda l: l.urn == r_urn)
        report.check(case, "the engine's Log received a message tagged with the URN", log is not None, engine.logs)

        read = stub.Read(
            provider_pb2.ReadRequest(
                id=created.id, urn=r_urn, properties=created.properties, inputs=checked.inputs, name="r", type=RANDOM
            ),
            timeout=CALL_TIMEOUT,
        )
        report.equal(case, "Read returns the id", read.id, created.id)
        report.equal(case, "Read returns the result", result_of(read.properties)[0], result)

        def diff(news):
            return stub.Diff(
                provider_pb2.DiffRequest(
                    id=created.id,
                    urn=r_urn,
                    olds=created.properties,
                    old_inputs=checked.inputs,
                    news=struct(news),
                    name="r",
                    type=RANDOM,
                ),
                timeout=CALL_TIMEOUT,
            )

        d = diff({"length": 8, "prefix": "q-"})
        report.equal(case, "Diff of a new prefix: changes", d.changes, provider_pb2.DiffResponse.DIFF_SOME)
        report.equal(case, "Diff of a new prefix: no replaces", list(d.replaces), [])
        report.equal(
            case, "Diff of a new prefix: prefix UPDATE", d.detailedDiff["prefix"].kind, provider_pb2.PropertyDiff.UPDATE
        )
        d = diff({"length": 9, "prefix": "p-"})
        report.equal(case, "Diff of a new length: replaces", list(d.replaces), ["length"])
        report.equal(
            case,
            "Diff of a new length: length UPDATE_REPLACE",
            d.detailedDiff["length"].kind,
            provider_pb2.PropertyDiff.UPDATE_REPLACE,
        )
        d = diff({"length": 8, "prefix": "p-"})
        report.equal(case, "Diff of the same inputs: no changes", d.changes, provider_pb2.DiffResponse.DIFF_NONE)

        new_inputs = struct({"length": 8, "prefix": "q-"})
        updated = stub.Update(
            provider_pb2.UpdateRequest(
                id=created.id,
                urn=r_urn,
                olds=created.properties,
                old_inputs=checked.inputs,
                news=new_inputs,
                name="r",
                type=RANDOM,
                timeout=60,
            ),
            timeout=CALL_TIMEOUT,
        )
        report.equal(case, "Update keeps the random part", result_of(updated.properties)[0], "q-" + result[2:])

        stub.Delete(
            provider_pb2.DeleteRequest(
                id=created.id, urn=r_urn, properties=updated.properties, old_inputs=new_inputs, name="r", type=RANDOM
            ),
            timeout=CALL_TIMEOUT,
        )
        report.check(case, "Delete answers", True)

        # A secret prefix gives a secret result.
        s_urn = urn(RANDOM, "s")
        made = stub.Create(
            provider_pb2.CreateRequest(
                urn=s_urn, properties=struct({"length": 4, "prefix": secret("hush-")}), name="s", type=RANDOM
            ),
            timeout=CALL_TIMEOUT,
        )
        value, is_secret = result_of(made.properties)
        report.check(case, "a secret prefix gives a secret result", is_secret, made.properties)
        report.check(case, "the secret result holds the prefix", str(value).startswith("hush-"), value)

        # Preview with an unknown length: the result is unknown.
        u_urn = urn(RANDOM, "u")
        unknown_inputs = struct({"length": UNKNOWN_NUMBER, "prefix": "p-"})
        checked = stub.Check(
            provider_pb2.CheckRequest(urn=u_urn, olds=struct({}), news=unknown_inputs, name="u", type=RANDOM),
            timeout=CALL_TIMEOUT,
        )
        report.equal(case, "Check of an unknown length has no failures", list(checked.failures), [])
        previewed = stub.Create(
            provider_pb2.CreateRequest(urn=u_urn, properties=unknown_inputs, name="u", type=RANDOM, preview=True),
            timeout=CALL_TIMEOUT,
        )
        report.check(
            case,
            "preview with an unknown length gives an unknown result",
            previewed.properties["result"] in UNKNOWNS,
            previewed.properties,
        )

        partial_local_service(report, stub, root)
        partial_local_service_retry(report, stub)

        code, took, rest = plugin.interrupt_and_wait(timeout=10)
        report.equal(case, "SIGINT: exit code", code, 0)
        report.check(case, "SIGINT: exits within a second", took < 1.0, f"{took:.3f} s")
        report.equal(case, "nothing on stdout after the port line", rest, b"")
    finally:
        plugin.close()
        if plugin.proc.returncode not in (0, None):
            print(f"--- {plugin.name} stderr ---\n{plugin.stderr.decode(errors='replace')}", flush=True)
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)


def case_partial_fixture(report, path, engine_address):
    case = "partial/fixture"
    plugin = Plugin(path, engine_address)
    try:
        ty = "fixture:index:InitFails"
        error = grpc_error(
            lambda: plugin.stub.Create(
                provider_pb2.CreateRequest(urn=urn(ty, "svc"), properties=struct({"port": 8080}), name="svc", type=ty),
                timeout=CALL_TIMEOUT,
            )
        )
        init = init_failure(report, case, error)
        if init is not None:
            report.equal(case, "id", init.id, "svc-id")
            report.equal(
                case,
                "reasons",
                list(init.reasons),
                ["the service did not become ready within 1s", "health check on port 8080 failed"],
            )
            report.equal(case, "properties.port", init.properties["port"], 8080)
            report.equal(case, "properties.state", init.properties["state"], "half-made")
        # The plugin keeps serving after the error.
        info = plugin.stub.GetPluginInfo(empty_pb2.Empty(), timeout=CALL_TIMEOUT)
        report.check(case, "the plugin keeps serving", bool(info.version))
    finally:
        plugin.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def partial_local_service(report, stub, root):
    """`local:index:Service` whose process never becomes ready: a partial initialization."""
    case = "partial/local-service"
    ty = "local:index:Service"
    svc_urn = urn(ty, "never-ready")
    inputs = struct({"command": "exec sleep 120", "readyPort": free_port(), "readyTimeout": 1})
    probe = grpc_error(
        lambda: stub.Check(
            provider_pb2.CheckRequest(urn=svc_urn, olds=struct({}), news=inputs, name="never-ready", type=ty),
            timeout=CALL_TIMEOUT,
        )
    )
    report.check(case, "Check answers", probe is None, probe)
    created = {}

    def create():
        created["response"] = stub.Create(
            provider_pb2.CreateRequest(urn=svc_urn, properties=inputs, name="never-ready", type=ty, timeout=60),
            timeout=CALL_TIMEOUT,
        )

    error = grpc_error(create)
    init = init_failure(report, case, error)
    if init is None:
        response = created.get("response")
        if response is not None:  # it became ready after all: clean up
            stub.Delete(
                provider_pb2.DeleteRequest(
                    id=response.id, urn=svc_urn, properties=response.properties, name="never-ready", type=ty
                ),
                timeout=CALL_TIMEOUT,
            )
        return
    report.check(case, "the id is the pid", init.id.isdigit(), init.id)
    report.check(case, "reasons say why", len(init.reasons) > 0 and init.id in init.reasons[0], list(init.reasons))
    report.equal(case, "properties.pid", init.properties["pid"], float(init.id) if init.id.isdigit() else None)
    # The half-made service exists: Delete stops it, so nothing is left running.
    stub.Delete(
        provider_pb2.DeleteRequest(
            id=init.id, urn=svc_urn, properties=init.properties, old_inputs=inputs, name="never-ready", type=ty
        ),
        timeout=CALL_TIMEOUT,
    )
    gone = False
    if init.id.isdigit():
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not gone:
            try:
                os.kill(int(init.id), 0)
                time.sleep(0.05)
            except ProcessLookupError:
                gone = True
    report.check(case, "Delete stops the half-made service", gone, f"process {init.id} still exists")


def process_alive(pid):
    """Whether `pid` runs (a zombie waiting for its parent to reap it does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def partial_local_service_retry(report, stub):
    """`local:index:Service` that opens its port late: the partial failure, then the engine's
    retry (an Update with no diff) re-runs the readiness check until it passes."""
    case = "partial/local-service-retry"
    ty = "local:index:Service"
    svc_urn = urn(ty, "late")
    port = free_port()
    inputs = struct(
        {
            "command": f"sleep 3; exec python3 -m http.server {port} --bind 127.0.0.1",
            "readyPort": port,
            "readyTimeout": 1,
        }
    )
    error = grpc_error(
        lambda: stub.Create(
            provider_pb2.CreateRequest(urn=svc_urn, properties=inputs, name="late", type=ty), timeout=CALL_TIMEOUT
        )
    )
    init = init_failure(report, case, error)
    if init is None:
        return
    state, updated, last = init.properties, None, None
    deadline = time.monotonic() + 60
    while updated is None and time.monotonic() < deadline:
        try:
            updated = stub.Update(
                provider_pb2.UpdateRequest(
                    id=init.id, urn=svc_urn, olds=state, news=inputs, old_inputs=inputs, name="late", type=ty
                ),
                timeout=CALL_TIMEOUT,
            )
        except grpc.RpcError as retry_error:
            last = retry_error
            if retry_error.code() != grpc.StatusCode.UNKNOWN:
                break
    report.check(case, "an Update with no diff retries the readiness check until it passes", updated is not None, last)
    if updated is not None:
        report.equal(case, "the retry keeps the same process", updated.properties["pid"], float(init.id))
        state = updated.properties
    stub.Delete(
        provider_pb2.DeleteRequest(id=init.id, urn=svc_urn, properties=state, old_inputs=inputs, name="late", type=ty),
        timeout=CALL_TIMEOUT,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and process_alive(int(init.id)):
        time.sleep(0.05)
    report.check(case, "Delete stops the service", not process_alive(int(init.id)), f"process {init.id} still runs")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--local", required=True, help="path of pulumi-resource-local")
    parser.add_argument("--fixture", required=True, help="path of pulumi-resource-fixture")
    parser.add_argument("--expect-version", help="the version GetPluginInfo must report for the example provider")
    args = parser.parse_args()

    report = Report()
    engine, server, engine_address = start_engine()
    try:
        for name, run in [
            ("local", lambda: case_local(report, args.local, engine, engine_address, args.expect_version)),
            ("partial/fixture", lambda: case_partial_fixture(report, args.fixture, engine_address)),
        ]:
            try:
                run()
            except Exception as error:  # report and go on with the next case
                report.crashed(name, error)
    finally:
        server.stop(grace=None)

    print(f"\n{report.passed} assertions passed, {len(report.failed)} failed", flush=True)
    for failure in report.failed:
        print(f"  FAIL {failure}", flush=True)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
