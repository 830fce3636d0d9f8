#!/usr/bin/env python3
"""Writes proto/proto/pulumi/**/*.proto from the descriptors of a Pulumi Python SDK release.

Usage: render_protos.py OUT_DIR   (run with the python of a virtualenv holding `pulumi`,
e.g. the one tests/python/setup-venv.sh prints).

Only facts travel: package, imports, message, enum, field and RPC names, numbers, types and
labels. The published modules carry no comments and no source text. Options (go_package,
deprecated, ...) are left out: they do not change the wire. The result is the starting point
of an update; `proto/tests/testsuite/descriptors.rs` then checks the compiled files against the release.
"""

import importlib
import os
import sys

from google.protobuf import descriptor_pb2

import pulumi.runtime.proto as proto_pkg

SCALARS = {
    descriptor_pb2.FieldDescriptorProto.TYPE_DOUBLE: "double",
    descriptor_pb2.FieldDescriptorProto.TYPE_FLOAT: "float",
    descriptor_pb2.FieldDescriptorProto.TYPE_INT64: "int64",
    descriptor_pb2.FieldDescriptorProto.TYPE_UINT64: "uint64",
    descriptor_pb2.FieldDescriptorProto.TYPE_INT32: "int32",
    descriptor_pb2.FieldDescriptorProto.TYPE_FIXED64: "fixed64",
    descriptor_pb2.FieldDescriptorProto.TYPE_FIXED32: "fixed32",
    descriptor_pb2.FieldDescriptorProto.TYPE_BOOL: "bool",
    descriptor_pb2.FieldDescriptorProto.TYPE_STRING: "string",
    descriptor_pb2.FieldDescriptorProto.TYPE_BYTES: "bytes",
    descriptor_pb2.FieldDescriptorProto.TYPE_UINT32: "uint32",
    descriptor_pb2.FieldDescriptorProto.TYPE_SFIXED32: "sfixed32",
    descriptor_pb2.FieldDescriptorProto.TYPE_SFIXED64: "sfixed64",
    descriptor_pb2.FieldDescriptorProto.TYPE_SINT32: "sint32",
    descriptor_pb2.FieldDescriptorProto.TYPE_SINT64: "sint64",
}
REPEATED = descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED


def files():
    """Every FileDescriptorProto the SDK ships, by file name (google's own copies excluded)."""
    base = os.path.dirname(proto_pkg.__file__)
    out = {}
    for root, _, names in os.walk(base):
        for name in names:
            if not name.endswith("_pb2.py"):
                continue
            rel = os.path.relpath(os.path.join(root, name), base)[:-3].replace(os.sep, ".")
            module = importlib.import_module("pulumi.runtime.proto." + rel)
            fd = descriptor_pb2.FileDescriptorProto()
            module.DESCRIPTOR.CopyToProto(fd)
            if fd.name.startswith("pulumi/"):
                out[fd.name] = fd
    return out


def type_ref(type_name, package):
    """A type name as written inside `package`: relative when it lives there."""
    name = type_name.lstrip(".")
    if name.startswith(package + ".") and package:
        return name[len(package) + 1 :]
    return "." + name if not name.startswith("google.") else name


def field_type(field, package, maps):
    if field.type_name:
        entry = maps.get(field.type_name)
        if entry is not None:
            key, value = entry.field
            return "map<%s, %s>" % (field_type(key, package, maps), field_type(value, package, maps))
        return type_ref(field.type_name, package)
    return SCALARS[field.type]


def collect_maps(fd):
    maps = {}

    def walk(prefix, messages):
        for m in messages:
            full = prefix + "." + m.name
            if m.options.map_entry:
                maps[full] = m
            walk(full, m.nested_type)

    walk("." + fd.package if fd.package else "", fd.message_type)
    return maps


def render_enum(e, indent):
    pad = "    " * indent
    lines = [pad + "enum %s {" % e.name]
    for v in e.value:
        lines.append(pad + "    %s = %d;" % (v.name, v.number))
    lines.append(pad + "}")
    return lines


def render_field(f, package, maps, pad):
    label = ""
    if f.label == REPEATED and f.type_name not in maps:
        label = "repeated "
    elif f.proto3_optional:
        label = "optional "
    return pad + "%s%s %s = %d;" % (label, field_type(f, package, maps), f.name, f.number)


def render_message(m, package, maps, indent):
    pad = "    " * indent
    lines = [pad + "message %s {" % m.name]
    for e in m.enum_type:
        lines += render_enum(e, indent + 1)
    for nested in m.nested_type:
        if not nested.options.map_entry:
            lines += render_message(nested, package, maps, indent + 1)
    real_oneofs = {}
    for f in m.field:
        if f.HasField("oneof_index") and not f.proto3_optional:
            real_oneofs.setdefault(f.oneof_index, []).append(f)
    emitted = set()
    for f in m.field:
        if f.HasField("oneof_index") and not f.proto3_optional:
            if f.oneof_index in emitted:
                continue
            emitted.add(f.oneof_index)
            lines.append(pad + "    oneof %s {" % m.oneof_decl[f.oneof_index].name)
            for member in real_oneofs[f.oneof_index]:
                lines.append(render_field(member, package, maps, pad + "        "))
            lines.append(pad + "    }")
        else:
            lines.append(render_field(f, package, maps, pad + "    "))
    for r in m.reserved_range:
        end = r.end - 1
        lines.append(pad + "    reserved %s;" % (str(r.start) if end == r.start else "%d to %d" % (r.start, end)))
    for name in m.reserved_name:
        lines.append(pad + '    reserved "%s";' % name)
    lines.append(pad + "}")
    return lines


def render_service(s, package):
    lines = ["service %s {" % s.name]
    for method in s.method:
        arg = ("stream " if method.client_streaming else "") + type_ref(method.input_type, package)
        ret = ("stream " if method.server_streaming else "") + type_ref(method.output_type, package)
        lines.append("    rpc %s(%s) returns (%s) {}" % (method.name, arg, ret))
    lines.append("}")
    return lines


def render(fd, version):
    maps = collect_maps(fd)
    lines = [
        "// %s of the pulumirpc protocol: names, numbers and types as Pulumi %s publishes them" % (fd.name, version),
        "// (checked by proto/tests/testsuite/descriptors.rs; differences are listed in proto/DIFFERENCES.md).",
        'syntax = "proto3";',
        "",
        "package %s;" % fd.package,
        "",
    ]
    for dep in fd.dependency:
        lines.append('import "%s";' % dep)
    if fd.dependency:
        lines.append("")
    for s in fd.service:
        lines += render_service(s, fd.package) + [""]
    for e in fd.enum_type:
        lines += render_enum(e, 0) + [""]
    for m in fd.message_type:
        lines += render_message(m, fd.package, maps, 0) + [""]
    return "\n".join(lines).rstrip() + "\n"


def main():
    out_dir = sys.argv[1]
    from importlib.metadata import version

    v = version("pulumi")
    for name, fd in sorted(files().items()):
        path = os.path.join(out_dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(render(fd, v))
        print(name)


if __name__ == "__main__":
    main()
