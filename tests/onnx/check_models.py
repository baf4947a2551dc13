# The static half of tests/onnx/run.sh: each case's model.onnx passes
# onnx.checker with full_check (which also runs strict shape inference), is
# IR version 8 on opset 17 of the default domain only, and its graph has
# exactly the inputs and outputs its case.json names, in that order, with
# their element types, a symbolic batch dimension first and case.json's
# sizes after it. The numbers are run_models.cjs's part.
#
# Usage: /usr/bin/python3 check_models.py CASE_OR_FOLDER_OF_CASES...
# Prints `PASS onnx.checker <case>` or `FAIL onnx.checker <case>: <why>` per
# case and exits non-zero if any failed.
import json
import pathlib
import sys

import onnx

IR_VERSION = 8
OPSET = 17
ELEMENT_TYPES = {"float32": onnx.TensorProto.FLOAT, "uint8": onnx.TensorProto.UINT8,
                 "int64": onnx.TensorProto.INT64}


def case_folders(paths):
    for path in map(pathlib.Path, paths):
        if (path / "case.json").exists() or not path.is_dir():
            yield path  # a case, or a missing folder that fails as one
        else:
            yield from sorted(p for p in path.iterdir() if p.is_dir())


def signature_errors(kind, values, wanted):
    """What differs between the graph's inputs (or outputs) and case.json's."""
    names = [v.name for v in values]
    if names != [w["name"] for w in wanted]:
        return ["%s are %s, case.json says %s" % (kind, names, [w["name"] for w in wanted])]
    errors = []
    for value, want in zip(values, wanted):
        tensor = value.type.tensor_type
        if tensor.elem_type != ELEMENT_TYPES[want["dtype"]]:
            errors.append("%s %s is %s, want %s" % (kind[:-1], value.name,
                          onnx.TensorProto.DataType.Name(tensor.elem_type), want["dtype"]))
        dims = tensor.shape.dim
        if not dims or dims[0].WhichOneof("value") != "dim_param" or not dims[0].dim_param:
            errors.append("%s %s: the batch dimension is not symbolic" % (kind[:-1], value.name))
        rest = [d.dim_value if d.WhichOneof("value") == "dim_value" else d.dim_param or "?" for d in dims[1:]]
        if rest != want["shape"][1:]:
            errors.append("%s %s has shape [batch, %s], want [batch, %s]" % (
                kind[:-1], value.name, ", ".join(map(str, rest)), ", ".join(map(str, want["shape"][1:]))))
    return errors


def check(folder):
    case = json.loads((folder / "case.json").read_text())
    model = onnx.load(str(folder / "model.onnx"))
    onnx.checker.check_model(model, full_check=True)
    errors = []
    if model.ir_version != IR_VERSION:
        errors.append("IR version %d, want %d" % (model.ir_version, IR_VERSION))
    opsets = [(o.domain or "ai.onnx", o.version) for o in model.opset_import]
    if opsets != [("ai.onnx", OPSET)]:
        errors.append("opsets %s, want only the default domain's %d" % (opsets, OPSET))
    errors += signature_errors("inputs", model.graph.input, case["inputs"])
    errors += signature_errors("outputs", model.graph.output, case["outputs"])
    return errors


def main(paths):
    failed = 0
    folders = list(case_folders(paths))
    if not folders:
        print("FAIL onnx.checker: no case folder in %s" % " ".join(paths))
        return 1
    for folder in folders:
        try:
            errors = check(folder)
        except Exception as e:  # onnx.checker's ValidationError, a missing file, bad JSON
            errors = ["%s: %s" % (type(e).__name__, " ".join(str(e).split()))]
        if errors:
            failed += 1
            print("FAIL onnx.checker %s: %s" % (folder.name, "; ".join(errors)))
        else:
            print("PASS onnx.checker %s" % folder.name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
