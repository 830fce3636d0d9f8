# engine-harness's starter for Python programs: sets up the Pulumi SDK with the engine's
# settings (as Pulumi's own language host does) and runs the program. Passed to `python -c`.
import argparse
import asyncio
import concurrent.futures
import logging
import os
import runpy
import sys
import traceback


def main():
    parser = argparse.ArgumentParser(prog="engine-harness-python")
    for flag in ("monitor", "engine", "project", "stack", "organization",
                 "root-directory", "pwd", "dry-run", "parallel"):
        parser.add_argument("--" + flag)
    parser.add_argument("program")
    parser.add_argument("args", nargs="*")
    opts = parser.parse_args()

    try:
        import pulumi
        import pulumi.runtime as rt
    except ImportError:
        traceback.print_exc()
        print("the Pulumi SDK is not installed in this Python environment: add `pulumi` to "
              "requirements.txt and install it into the program's virtualenv", file=sys.stderr)
        return 1

    config = rt.get_config_env()
    if hasattr(rt, "set_all_config") and hasattr(rt, "get_config_secret_keys_env"):
        rt.set_all_config(config, rt.get_config_secret_keys_env())
    else:
        for key, value in config.items():
            rt.set_config(key, value)

    settings = dict(monitor=opts.monitor, engine=opts.engine, project=opts.project,
                    stack=opts.stack, parallel=int(opts.parallel),
                    dry_run=opts.dry_run == "true")
    try:
        rt.configure(rt.Settings(organization=opts.organization,
                                 root_directory=opts.root_directory, **settings))
    except TypeError:
        # An SDK older than organization/root_directory support.
        rt.configure(rt.Settings(**settings))

    sys.argv = [opts.program] + opts.args
    os.chdir(opts.pwd)
    # A failing program leaves SDK futures unobserved on purpose; asyncio's complaints about
    # them would bury the real error.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # The SDK makes each resource call a blocking gRPC call on the loop's default executor, so
    # its size bounds the registrations in flight. Sized as Pulumi's own starter
    # (pulumi-language-python-exec) sizes it: four threads per `--parallel` step. asyncio's
    # default (CPUs + 4, at most 32: six on two cores) makes a program wait for the engine's
    # answers a few registrations at a time.
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=max(int(opts.parallel), 1) * 4)
    loop.set_default_executor(executor)
    ok = False
    try:
        loop.run_until_complete(
            rt.run_in_stack(lambda: runpy.run_path(opts.program, run_name="__main__")))
        ok = True
    except pulumi.RunError as e:
        pulumi.log.error(str(e))
    except Exception:
        pulumi.log.error("the program raised an exception:\n" + traceback.format_exc())
    finally:
        executor.shutdown(wait=True)
        loop.close()
        sys.stdout.flush()
        sys.stderr.flush()
    return 0 if ok else 1


sys.exit(main())
