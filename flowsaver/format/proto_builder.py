"""Build protobuf message classes from a compact field table, in a private pool.

flowsaver ships no generated `_pb2` modules and no `.proto` files: each message is
described here by rows of "NUMBER NAME [repeated] TYPE [oneof:GROUP]", with field
numbers as TensorFlow's wire format fixes them. The messages live in their own
DescriptorPool, so importing TensorFlow in the same process causes no clash.

A map field is written "NUMBER NAME map<KEY,VALUE>" (no spaces inside the brackets). It
becomes what protoc makes of a map: a repeated field of a nested ``NameEntry`` message
with ``options.map_entry`` set and fields ``1 key``, ``2 value``. Enum names may be dotted
("SaverDef.CheckpointFormatVersion") to nest the enum in a message of the same file. A
dependency under ``google/protobuf/`` is a well-known type, copied into the pool from the
protobuf runtime on first use.
"""
from __future__ import annotations

import importlib

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_SCALARS = {
    "double": _F.TYPE_DOUBLE, "float": _F.TYPE_FLOAT, "int64": _F.TYPE_INT64,
    "uint64": _F.TYPE_UINT64, "int32": _F.TYPE_INT32, "fixed64": _F.TYPE_FIXED64,
    "fixed32": _F.TYPE_FIXED32, "bool": _F.TYPE_BOOL, "string": _F.TYPE_STRING,
    "bytes": _F.TYPE_BYTES, "uint32": _F.TYPE_UINT32, "sint32": _F.TYPE_SINT32,
    "sint64": _F.TYPE_SINT64,
}
_WELL_KNOWN_PREFIX = "google/protobuf/"

POOL = descriptor_pool.DescriptorPool()


def _map_entry(msg: descriptor_pb2.DescriptorProto, scope: str, field_name: str, spec: str,
               enums: set, package: str) -> str:
    """Add the nested ``XxxEntry`` message for ``map<K,V>``; returns its dotted name."""
    key_type, _, value_type = spec[len("map<"):-1].partition(",")
    entry_name = "".join(part.capitalize() for part in field_name.split("_")) + "Entry"
    entry = msg.nested_type.add(name=entry_name)
    entry.options.map_entry = True
    _add_fields(entry, [f"1 key {key_type}", f"2 value {value_type}"], enums, package)
    return f"{scope}.{entry_name}"


def _add_fields(msg: descriptor_pb2.DescriptorProto, rows, enums: set, package: str,
                scope: str = ""):
    oneofs: dict[str, int] = {}
    for row in rows:
        parts = row.split()
        number, name, rest = int(parts[0]), parts[1], parts[2:]
        field = msg.field.add(name=name, number=number, json_name=name)
        field.label = _F.LABEL_REPEATED if "repeated" in rest else _F.LABEL_OPTIONAL
        rest = [p for p in rest if p != "repeated"]
        type_name = rest[0]
        if type_name.startswith("map<"):
            field.label = _F.LABEL_REPEATED
            type_name = _map_entry(msg, scope, name, type_name, enums, package)
        if type_name in _SCALARS:
            field.type = _SCALARS[type_name]
        else:
            full = type_name if type_name.startswith(".") else f".{package}.{type_name}"
            field.type_name = full
            field.type = _F.TYPE_ENUM if type_name.lstrip(".").split(".")[-1] in enums else _F.TYPE_MESSAGE
        for extra in rest[1:]:
            if extra.startswith("oneof:"):
                group = extra[len("oneof:"):]
                if group not in oneofs:
                    oneofs[group] = len(msg.oneof_decl)
                    msg.oneof_decl.add(name=group)
                field.oneof_index = oneofs[group]


def _ensure_well_known(file_name: str) -> None:
    """Copy a protobuf well-known type file (e.g. any.proto) into POOL once."""
    try:
        POOL.FindFileByName(file_name)
        return
    except KeyError:
        pass
    stem = file_name[len(_WELL_KNOWN_PREFIX):].removesuffix(".proto")
    module = importlib.import_module(f"google.protobuf.{stem}_pb2")
    fdp = descriptor_pb2.FileDescriptorProto()
    module.DESCRIPTOR.CopyToProto(fdp)
    POOL.Add(fdp)


def build(file_name: str, package: str, enums: dict, messages: dict, deps=()) -> dict:
    """Register one file of messages; returns ``{short name: message class}``.

    ``enums`` maps enum name (dotted to nest it in a message) to ``{value name: number}``;
    ``messages`` maps a message name (dotted for nested, parents first) to its field rows.
    ``deps`` names files already built, or well-known ``google/protobuf/*.proto`` files.
    """
    fdp = descriptor_pb2.FileDescriptorProto(name=file_name, package=package, syntax="proto3")
    fdp.dependency.extend(deps)
    dep_enums = set()
    for dep in deps:
        if dep.startswith(_WELL_KNOWN_PREFIX):
            _ensure_well_known(dep)
        dep_enums |= {e.name for e in POOL.FindFileByName(dep).enum_types_by_name.values()}
    enum_names = dep_enums | {name.rpartition(".")[2] for name in enums}
    protos: dict[str, descriptor_pb2.DescriptorProto] = {}
    for name, rows in messages.items():
        parent, _, short = name.rpartition(".")
        container = protos[parent].nested_type if parent else fdp.message_type
        protos[name] = container.add(name=short)
    for name, values in enums.items():
        parent, _, short = name.rpartition(".")
        e = (protos[parent].enum_type if parent else fdp.enum_type).add(name=short)
        for vname, vnum in values.items():
            e.value.add(name=vname, number=vnum)
    for name, rows in messages.items():
        _add_fields(protos[name], rows, enum_names, package, scope=name)
    POOL.Add(fdp)
    classes = {}
    for name in messages:
        desc = POOL.FindMessageTypeByName(f"{package}.{name}")
        classes[name] = message_factory.GetMessageClass(desc)
    return classes
