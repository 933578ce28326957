#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes the ONNX test fixtures of tests/io/data/ (valid models) and tests/io/data/hostile/ (the
hostile corpus and its expectations in hostile/expected.tsv).

Run with Debian's system Python (it sees python3-onnx and python3-numpy):
    /usr/bin/python3 tests/io/make_onnx_fixtures.py
The output is deterministic; the files are committed so the tests need no Python.

expected.tsv has one line per hostile file: <file> TAB <outcome> TAB <substring>, where <outcome> is
"ok" (the file must load) or the ohq::errc spelling of to_string() ("parse error", "invalid model",
"unsupported", "limit exceeded"), and <substring> must occur in the error message.
"""
import os
import random
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
HOSTILE = os.path.join(DATA, "hostile")


# ----------------------------------------------------------------------------------------------
# Valid models built with onnx.helper.

def pattern(shape, modulus, offset, scale):
    """Deterministic values exactly representable in float32: ((i % modulus) - offset) * scale."""
    n = int(np.prod(shape)) if shape else 1
    v = ((np.arange(n) % modulus) - offset).astype(np.float32) * np.float32(scale)
    return v.reshape(shape)


def make_initializer(name, array, raw):
    if raw:
        return numpy_helper.from_array(array, name)
    if array.dtype == np.int64:
        return helper.make_tensor(name, TensorProto.INT64, array.shape, array.flatten().tolist(), raw=False)
    return helper.make_tensor(name, TensorProto.FLOAT, array.shape, array.flatten().tolist(), raw=False)


def conv_bn_relu_gemm(opset, raw, reshape_with_constant=False):
    """input[N,1,8,8] -> Conv(4,3x3,s2,p1) -> BatchNormalization -> Relu -> Flatten -> Gemm(10)."""
    inits = [
        make_initializer("conv.weight", pattern([4, 1, 3, 3], 7, 3, 0.125), raw),
        make_initializer("conv.bias", pattern([4], 5, 2, 0.25), raw),
        make_initializer("bn.scale", pattern([4], 3, -1, 0.5), raw),  # 0.5, 1.0, 1.5, 0.5
        make_initializer("bn.bias", pattern([4], 4, 2, 0.0625), raw),
        make_initializer("bn.mean", pattern([4], 4, 1, 0.25), raw),
        make_initializer("bn.var", pattern([4], 2, -1, 1.0), raw),  # 1, 2, 1, 2
        make_initializer("fc.weight", pattern([10, 64], 11, 5, 0.0625), raw),
        make_initializer("fc.bias", pattern([10], 10, 5, 0.5), raw),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "conv.weight", "conv.bias"], ["conv_out"], name="Conv_0",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2], dilations=[1, 1], group=1),
        helper.make_node("BatchNormalization", ["conv_out", "bn.scale", "bn.bias", "bn.mean", "bn.var"],
                         ["bn_out"], name="BatchNormalization_1", epsilon=1e-5, momentum=0.9),
        helper.make_node("Relu", ["bn_out"], ["relu_out"], name="Relu_2"),
    ]
    if reshape_with_constant:
        shape = helper.make_tensor("shape_value", TensorProto.INT64, [2], [1, 64])
        nodes.append(helper.make_node("Constant", [], ["shape"], name="Constant_3", value=shape))
        nodes.append(helper.make_node("Reshape", ["relu_out", "shape"], ["flat"], name="Reshape_4"))
    else:
        nodes.append(helper.make_node("Flatten", ["relu_out"], ["flat"], name="Flatten_3", axis=1))
    nodes.append(helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], name="Gemm_5",
                                  alpha=1.0, beta=1.0, transB=1))
    graph = helper.make_graph(
        nodes, "conv_bn_relu_gemm",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        initializer=inits,
        value_info=[helper.make_tensor_value_info("conv_out", TensorProto.FLOAT, ["N", 4, 4, 4])])
    model = helper.make_model(graph, producer_name="ohq-fixtures", producer_version="1",
                              opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8 if opset >= 15 else 7
    return model


def identity_aliases():
    """Two convs whose biases reach them through Identity nodes sharing one initializer (as torch
    1.13 emits for identical folded biases), one of them through a chain of two Identities."""
    inits = [
        numpy_helper.from_array(pattern([2, 1, 1, 1], 3, 1, 0.5), "conv1.weight"),
        numpy_helper.from_array(pattern([2, 2, 1, 1], 5, 2, 0.25), "conv2.weight"),
        numpy_helper.from_array(np.array([0.5, -0.25], dtype=np.float32), "shared.bias"),
    ]
    nodes = [
        helper.make_node("Identity", ["shared.bias"], ["onnx::Conv_10"], name="Identity_0"),
        helper.make_node("Identity", ["shared.bias"], ["onnx::Conv_11"], name="Identity_1"),
        helper.make_node("Identity", ["onnx::Conv_11"], ["onnx::Conv_12"], name="Identity_2"),
        helper.make_node("Conv", ["input", "conv1.weight", "onnx::Conv_10"], ["c1"], name="Conv_3",
                         kernel_shape=[1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="Relu_4"),
        helper.make_node("Conv", ["r1", "conv2.weight", "onnx::Conv_12"], ["output"], name="Conv_5",
                         kernel_shape=[1, 1]),
    ]
    graph = helper.make_graph(
        nodes, "identity_aliases",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 4, 4])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 2, 4, 4])],
        initializer=inits)
    model = helper.make_model(graph, producer_name="pytorch", producer_version="1.13.1",
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    return model


# ----------------------------------------------------------------------------------------------
# A tiny protobuf encoder for the hand-made (malformed) files.

def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def tag(number, wire):
    return varint((number << 3) | wire)


def ld(number, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return tag(number, 2) + varint(len(payload)) + payload


def vint(number, value):
    return tag(number, 0) + varint(value)


def f32(number, value):
    return tag(number, 5) + np.float32(value).tobytes()


def f64(number, value):
    return tag(number, 1) + np.uint64(value).tobytes()


UNKNOWN = vint(900, 7) + f64(901, 12345) + ld(902, b"\x08\x01unknown") + tag(903, 5) + b"\x01\x02\x03\x04"


def value_info_bytes(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape).SerializeToString()


def node_bytes(op, inputs, outputs, name="", **attrs):
    return helper.make_node(op, inputs, outputs, name=name or None, **attrs).SerializeToString()


def minimal_graph_parts(extra=b"", x="x", y="y"):
    """Graph fields of: input x[1,4] -> Relu -> output y, plus `extra` fields."""
    return (ld(1, node_bytes("Relu", [x], [y], name="Relu_0")) + ld(2, "g") + extra +
            ld(11, value_info_bytes(x, [1, 4])) + ld(12, value_info_bytes(y, [1, 4])))


def opset_bytes(version, domain=""):
    return (ld(1, domain) if domain else b"") + vint(2, version)


def model_bytes(graph_parts, opset=13, ir=7, extra=b"", opsets=None):
    out = vint(1, ir) + ld(2, "ohq-hostile") + ld(7, graph_parts)
    for o in (opsets if opsets is not None else [opset_bytes(opset)]):
        out += ld(8, o)
    return out + extra


def initializer(tensor_fields):
    return ld(5, tensor_fields)


def tensor_fields(name="w", dtype=TensorProto.FLOAT, dims=(), extra=b""):
    out = b"".join(vint(1, d) for d in dims) + vint(2, dtype) + ld(8, name)
    return out + extra


def packed_floats(values):
    return ld(4, np.asarray(values, dtype=np.float32).tobytes())


# ----------------------------------------------------------------------------------------------

def hostile_corpus(base):
    """Returns a list of (file name, bytes, outcome, substring)."""
    cases = []

    def add(name, data, outcome, substring):
        cases.append((name, bytes(data), outcome, substring))

    # Byte-level damage.
    add("empty.onnx", b"", "parse error", "empty")
    rng = random.Random(20240917)
    for k in range(6):
        n = rng.choice([1, 7, 64, 300, 1024, 4096])
        add(f"random_{k}.onnx", bytes(rng.getrandbits(8) for _ in range(n)), "*", "onnx:")
    offsets = sorted(set([1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144] +
                         [len(base) * q // 24 for q in range(1, 24)] + [len(base) - 1, len(base) - 2]))
    for off in offsets:
        add(f"truncated_at_{off}.onnx", base[:off], "*", "onnx:")
    add("zip_archive.onnx", b"PK\x03\x04" + b"\x00" * 60, "parse error", "zip archive")

    # Wire-level damage.
    add("length_past_end_model.onnx", vint(1, 7) + tag(7, 2) + varint(1000) + b"\x0a\x00",
        "parse error", "past the end")
    add("length_huge.onnx", vint(1, 7) + tag(7, 2) + varint(1 << 62) + b"\x0a\x00", "parse error", "past the end")
    # A node whose length runs past the end of its graph (but not past the end of the file).
    graph = ld(2, "g") + tag(1, 2) + varint(40) + ld(4, "Relu")
    add("length_past_end_of_parent.onnx", vint(1, 7) + ld(7, graph) + ld(8, opset_bytes(13)) + b"\x00" * 40,
        "parse error", "past the end")
    add("varint_11_bytes.onnx", b"\x08" + b"\xff" * 10 + b"\x01", "parse error", "varint")
    add("varint_overflow_10th_byte.onnx", b"\x08" + b"\xff" * 9 + b"\x7f", "parse error", "overflows 64 bits")
    add("varint_truncated.onnx", b"\x08\xff\xff", "parse error", "varint runs past the end")
    add("tag_over_32_bits.onnx", varint(1 << 35) + b"\x00", "parse error", "does not fit in 32 bits")
    add("field_number_zero.onnx", b"\x00\x01" + base, "parse error", "field number 0")
    add("wrong_wire_type_ir_version.onnx", ld(1, "abc") + base[2:], "parse error", "wire type")
    add("wrong_wire_type_graph.onnx", vint(1, 7) + vint(7, 5) + ld(8, opset_bytes(13)), "parse error", "wire type")
    add("group_wire_type.onnx", vint(1, 7) + tag(5, 3) + tag(5, 4), "parse error", "group wire type")
    add("group_in_node.onnx", model_bytes(ld(1, ld(4, "Relu") + tag(9, 3)) + minimal_graph_parts()),
        "parse error", "group wire type")
    add("invalid_wire_type_6.onnx", vint(1, 7) + tag(9, 6) + b"\x00", "parse error", "invalid wire type 6")
    add("invalid_wire_type_7.onnx", model_bytes(minimal_graph_parts(tag(9, 7))), "parse error", "invalid wire type 7")
    add("wrong_wire_type_dims.onnx",
        model_bytes(minimal_graph_parts(initializer(f32(1, 1.0) + vint(2, 1) + ld(8, "w") + packed_floats([1])))),
        "parse error", "wire type")
    add("packed_varint_unterminated.onnx",
        model_bytes(minimal_graph_parts(initializer(ld(1, b"\x02\x83") + vint(2, 1) + packed_floats([1, 2])))),
        "parse error", "inside a varint")

    # Tensors.
    def bad_tensor(name, fields, outcome, substring):
        add(name, model_bytes(minimal_graph_parts(initializer(fields))), outcome, substring)

    bad_tensor("dims_product_overflow.onnx", tensor_fields(dims=(1 << 62, 1 << 62), extra=packed_floats([1])),
               "invalid model", "overflows 64 bits")
    bad_tensor("dims_2e62.onnx", tensor_fields(dims=(1 << 62,), extra=packed_floats([1])),
               "limit exceeded", "max_tensor_elements")
    bad_tensor("dims_2e62_raw.onnx", tensor_fields(dims=(1 << 62,), extra=ld(9, b"\x00" * 8)),
               "limit exceeded", "max_tensor_elements")
    bad_tensor("dims_negative.onnx", tensor_fields(dims=(-1, 4), extra=packed_floats([1, 2, 3, 4])),
               "invalid model", "negative dimension")
    bad_tensor("count_mismatch_float_data.onnx", tensor_fields(dims=(2, 3), extra=packed_floats([1, 2, 3, 4, 5])),
               "invalid model", "holds 5 elements")
    bad_tensor("count_mismatch_raw_data.onnx", tensor_fields(dims=(4,), extra=ld(9, b"\x00" * 12)),
               "invalid model", "holds 3 elements")
    bad_tensor("raw_data_not_multiple.onnx", tensor_fields(dims=(4,), extra=ld(9, b"\x00" * 13)),
               "invalid model", "not a multiple of 4")
    bad_tensor("int64_raw_count_mismatch.onnx",
               tensor_fields(dtype=TensorProto.INT64, dims=(3,), extra=ld(9, b"\x00" * 16)),
               "invalid model", "holds 2 elements")
    bad_tensor("no_data.onnx", tensor_fields(dims=(4,)), "invalid model", "no data")
    bad_tensor("two_data_fields.onnx", tensor_fields(dims=(1,), extra=packed_floats([1]) + ld(9, b"\x00" * 4)),
               "invalid model", "more than one field")
    bad_tensor("float_data_bad_length.onnx", tensor_fields(dims=(1,), extra=ld(4, b"\x00" * 5)),
               "parse error", "multiple of 4")
    bad_tensor("float_data_length_past_end.onnx", tensor_fields(dims=(1,), extra=tag(4, 2) + varint(1 << 40)),
               "parse error", "past the end")
    bad_tensor("int64_tensor_with_float_data.onnx",
               tensor_fields(dtype=TensorProto.INT64, dims=(1,), extra=packed_floats([1])),
               "invalid model", "carries float_data")
    bad_tensor("int32_data_out_of_range.onnx",
               tensor_fields(dtype=TensorProto.INT32, dims=(1,), extra=vint(5, 1 << 40)),
               "parse error", "does not fit in int32")
    bad_tensor("external_data.onnx",
               tensor_fields(dims=(4,), extra=ld(13, ld(1, "location") + ld(2, "weights.bin")) + vint(14, 1)),
               "unsupported", "external")
    bad_tensor("data_location_external.onnx", tensor_fields(dims=(4,), extra=vint(14, 1)), "unsupported", "external")
    bad_tensor("double_tensor.onnx",
               tensor_fields(dtype=TensorProto.DOUBLE, dims=(1,), extra=ld(10, np.float64(1).tobytes())),
               "unsupported", "double_data")
    bad_tensor("float16_tensor.onnx", tensor_fields(dtype=TensorProto.FLOAT16, dims=(1,), extra=ld(9, b"\x00\x3c")),
               "unsupported", "FLOAT16")
    bad_tensor("string_tensor.onnx", tensor_fields(dtype=TensorProto.STRING, dims=(1,), extra=ld(6, "hello")),
               "unsupported", "string")
    bad_tensor("segmented_tensor.onnx", tensor_fields(dims=(1,), extra=ld(3, vint(1, 0) + vint(2, 1))),
               "unsupported", "segment")
    bad_tensor("unnamed_initializer.onnx", vint(1, 1) + vint(2, 1) + packed_floats([1]), "invalid model", "no name")
    dup = initializer(tensor_fields(dims=(1,), extra=packed_floats([1])))
    add("duplicate_initializer.onnx", model_bytes(minimal_graph_parts(dup + dup)), "invalid model",
        "duplicate initializer")
    add("sparse_initializer.onnx", model_bytes(minimal_graph_parts(ld(15, b""))), "unsupported", "sparse")

    # Attributes.
    def bad_node(name, node, outcome, substring, extra_graph=b""):
        add(name, model_bytes(minimal_graph_parts(ld(1, node) + extra_graph)), outcome, substring)

    then_graph = helper.make_graph([helper.make_node("Relu", ["x"], ["t"])], "then", [],
                                   [helper.make_tensor_value_info("t", TensorProto.FLOAT, [1, 4])])
    if_node = helper.make_node("If", ["x"], ["z"], name="If_7", then_branch=then_graph, else_branch=then_graph)
    add("subgraph_if.onnx",
        model_bytes(minimal_graph_parts(ld(1, if_node.SerializeToString()))), "unsupported", "subgraph")
    bad_node("subgraph_graphs_type.onnx", ld(4, "Loop") + ld(5, ld(1, "bodies") + vint(20, 10)),
             "unsupported", "subgraph")
    # If inside If inside If ... 500 levels: rejected at the first level, no recursion.
    inner = ld(4, "Relu")
    for _ in range(500):
        graph = ld(1, inner)
        attr = ld(1, "then_branch") + vint(20, 5) + ld(6, graph)
        inner = ld(4, "If") + ld(5, attr)
    bad_node("deep_nested_subgraphs.onnx", inner, "unsupported", "subgraph")
    bad_node("attribute_no_name.onnx", ld(4, "Relu") + ld(5, vint(3, 1) + vint(20, 2)), "invalid model", "no name")
    bad_node("attribute_unknown_type.onnx", ld(4, "Relu") + ld(5, ld(1, "a") + vint(20, 99)),
             "invalid model", "unknown attribute type 99")
    bad_node("attribute_tensors.onnx", ld(4, "Relu") + ld(5, ld(1, "a") + vint(20, 9)), "unsupported", "TENSORS")
    bad_node("attribute_no_type_no_value.onnx", ld(4, "Relu") + ld(5, ld(1, "a")), "invalid model", "no type")
    bad_node("attribute_sparse.onnx", ld(4, "Relu") + ld(5, ld(1, "a") + ld(22, b"")), "unsupported", "sparse")
    bad_node("attribute_ref.onnx", ld(4, "Relu") + ld(5, ld(1, "a") + ld(21, "b")), "unsupported", "ref_attr_name")
    bad_node("attribute_bad_tensor.onnx",
             ld(1, "x") + ld(2, "c") + ld(4, "Constant") +
             ld(5, ld(1, "value") + vint(20, 4) + ld(5, tensor_fields(dims=(3,), extra=packed_floats([1, 2])))),
             "invalid model", "holds 2 elements")
    bad_node("attribute_twice.onnx",
             ld(1, "x") + ld(2, "z") + ld(4, "Relu") + ld(5, ld(1, "a") + vint(3, 1) + vint(20, 2)) * 2,
             "invalid model", "given twice")
    bad_node("node_no_op_type.onnx", ld(1, "x") + ld(2, "z"), "invalid model", "no op_type")
    bad_node("node_unknown_domain.onnx", ld(1, "x") + ld(2, "z") + ld(4, "Foo") + ld(7, "com.example"),
             "invalid model", "no opset_import entry")

    # Value infos.
    nested = ld(1, vint(1, 1))  # tensor_type { elem_type: FLOAT }
    for _ in range(1000):
        nested = ld(4, ld(1, nested))  # sequence_type { elem_type: ... }
    add("deep_nested_sequence_type.onnx",
        model_bytes(minimal_graph_parts(ld(13, ld(1, "seq") + ld(2, nested)))), "unsupported", "sequence")
    add("value_info_negative_dim.onnx",
        model_bytes(minimal_graph_parts(ld(13, ld(1, "v") + ld(2, ld(1, vint(1, 1) + ld(2, ld(1, vint(1, -3)))))))),
        "invalid model", "negative dimension")
    add("value_info_no_name.onnx", model_bytes(minimal_graph_parts(ld(13, ld(2, ld(1, vint(1, 1)))))),
        "invalid model", "no name")

    # Model level.
    add("opset_9.onnx", model_bytes(minimal_graph_parts(), opset=9), "unsupported", "opset 9")
    add("opset_10.onnx", model_bytes(minimal_graph_parts(), opset=10), "unsupported", "opset 10")
    add("opset_18.onnx", model_bytes(minimal_graph_parts(), opset=18), "unsupported", "opset 18")
    add("opset_missing.onnx", model_bytes(minimal_graph_parts(), opsets=[opset_bytes(3, "ai.onnx.ml")]),
        "invalid model", "no opset_import for the default")
    add("opset_twice.onnx", model_bytes(minimal_graph_parts(), opsets=[opset_bytes(13), opset_bytes(13, "ai.onnx")]),
        "invalid model", "imported twice")
    add("ir_version_missing.onnx", ld(7, minimal_graph_parts()) + ld(8, opset_bytes(13)), "invalid model",
        "ir_version")
    add("no_graph.onnx", vint(1, 7) + ld(8, opset_bytes(13)), "invalid model", "no graph")
    add("two_graphs.onnx", model_bytes(minimal_graph_parts()) + ld(7, minimal_graph_parts()), "invalid model",
        "more than one graph")

    # Graph structure.
    vi_x = ld(11, value_info_bytes("x", [1, 4]))
    out_y = ld(12, value_info_bytes("y", [1, 4]))

    def graph_of(*nodes, inputs=vi_x, outputs=out_y):
        return model_bytes(b"".join(ld(1, n) for n in nodes) + inputs + outputs)

    add("cycle.onnx", graph_of(node_bytes("Add", ["x", "b"], ["a"], "A"), node_bytes("Relu", ["a"], ["b"], "B"),
                               node_bytes("Relu", ["b"], ["y"], "C")), "invalid model", "cycle")
    add("self_loop.onnx", graph_of(node_bytes("Add", ["x", "y"], ["y"], "A")), "invalid model", "cycle")
    add("not_sorted.onnx", graph_of(node_bytes("Relu", ["a"], ["y"], "B"), node_bytes("Relu", ["x"], ["a"], "A")),
        "invalid model", "not topologically sorted")
    add("unknown_input.onnx", graph_of(node_bytes("Add", ["x", "ghost"], ["y"], "A")), "invalid model",
        "'ghost' is not a graph input")
    add("duplicate_output.onnx", graph_of(node_bytes("Relu", ["x"], ["y"], "A"), node_bytes("Relu", ["x"], ["y"], "B")),
        "invalid model", "duplicate output name 'y'")
    add("output_shadows_input.onnx", graph_of(node_bytes("Relu", ["x"], ["x"], "A"), node_bytes("Relu", ["x"], ["y"])),
        "invalid model", "duplicate output name 'x'")
    add("graph_output_not_produced.onnx", graph_of(node_bytes("Relu", ["x"], ["z"], "A")), "invalid model",
        "not produced")
    add("graph_no_outputs.onnx", graph_of(node_bytes("Relu", ["x"], ["y"], "A"), outputs=b""), "invalid model",
        "no outputs")
    add("duplicate_graph_input.onnx", graph_of(node_bytes("Relu", ["x"], ["y"], "A"), inputs=vi_x + vi_x),
        "invalid model", "duplicate graph input")

    # Accepted: unknown fields of every wire type at every level, and a deep unknown message.
    attr_bytes = helper.make_attribute("alpha", 0.5).SerializeToString() + UNKNOWN
    node = helper.make_node("LeakyRelu", ["x"], ["y"], name="LeakyRelu_0").SerializeToString()
    node = node + ld(5, attr_bytes) + UNKNOWN
    tensor = numpy_helper.from_array(np.array([1.5, -2.0], dtype=np.float32), "w").SerializeToString() + UNKNOWN
    vi = value_info_bytes("x", [1, 4]) + UNKNOWN
    graph = ld(1, node) + ld(2, "g") + ld(5, tensor) + ld(11, vi) + ld(12, value_info_bytes("y", [1, 4])) + UNKNOWN
    add("unknown_fields_everywhere.onnx",
        vint(1, 7) + UNKNOWN + ld(7, graph) + ld(8, opset_bytes(13) + UNKNOWN) + UNKNOWN, "ok", "")
    deep = b""
    for _ in range(2000):
        deep = ld(1, deep)
    add("unknown_deeply_nested.onnx", model_bytes(minimal_graph_parts(ld(99, deep))), "ok", "")
    add("unpacked_float_data.onnx",
        model_bytes(minimal_graph_parts(initializer(tensor_fields(dims=(3,), extra=f32(4, 1) + f32(4, 2) + f32(4, 3))))),
        "ok", "")
    return cases


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main():
    os.makedirs(HOSTILE, exist_ok=True)
    models = {
        "conv_bn_relu_gemm_op13_raw.onnx": conv_bn_relu_gemm(13, raw=True),
        "conv_bn_relu_gemm_op13_float_data.onnx": conv_bn_relu_gemm(13, raw=False),
        "conv_bn_relu_gemm_op11.onnx": conv_bn_relu_gemm(11, raw=True),
        "conv_bn_relu_gemm_op17.onnx": conv_bn_relu_gemm(17, raw=True, reshape_with_constant=True),
        "identity_aliases_op13.onnx": identity_aliases(),
    }
    for name, model in models.items():
        onnx.checker.check_model(model)
        write(os.path.join(DATA, name), model.SerializeToString())
    base = models["conv_bn_relu_gemm_op13_raw.onnx"].SerializeToString()
    for old in os.listdir(HOSTILE):
        os.remove(os.path.join(HOSTILE, old))
    lines = []
    for name, data, outcome, substring in hostile_corpus(base):
        write(os.path.join(HOSTILE, name), data)
        lines.append(f"{name}\t{outcome}\t{substring}\n")
    with open(os.path.join(HOSTILE, "expected.tsv"), "w") as f:
        f.write("# file\toutcome (ok | * for any error | errc spelling)\tsubstring of the message\n")
        f.writelines(lines)
    print(f"wrote {len(models)} models and {len(lines)} hostile files", file=sys.stderr)


if __name__ == "__main__":
    main()
