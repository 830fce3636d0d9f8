"""Writes the FileDescriptorSet of every pulumi/*.proto module the installed `pulumi` Python
SDK ships (its generated *_pb2.py modules) to the file named by argv[1]."""

import importlib
import os
import sys

from google.protobuf import descriptor_pb2

import pulumi.runtime.proto as proto_pkg

base = os.path.dirname(proto_pkg.__file__)
out = descriptor_pb2.FileDescriptorSet()
for root, _, names in sorted(os.walk(base)):
    for name in sorted(names):
        if name.endswith("_pb2.py"):
            rel = os.path.relpath(os.path.join(root, name), base)[:-3].replace(os.sep, ".")
            module = importlib.import_module("pulumi.runtime.proto." + rel)
            if module.DESCRIPTOR.name.startswith("pulumi/"):
                module.DESCRIPTOR.CopyToProto(out.file.add())
with open(sys.argv[1], "wb") as f:
    f.write(out.SerializeToString())
