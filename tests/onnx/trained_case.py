"""trained_case.py POLICY_PT CASE_DIR: completes a case folder for
run_models.cjs and check_models.py around CASE_DIR/model.onnx, which `rill
export` wrote from a trained checkpoint beside POLICY_PT (the same
checkpoint's TorchScript): 1,000 observations drawn N(0, 1) of the width
the model declares, and the TorchScript module's actions on them as the
reference ("torchscript"). Float policies only (a trained run's flat
observations); prints nothing on success."""

import json
import os
import sys

import numpy as np
import onnx
import torch

ROWS = 1000


def main(policy_pt, case_dir):
    model = onnx.load(os.path.join(case_dir, "model.onnx"))
    graph = model.graph
    if [i.name for i in graph.input] != ["obs"] or [o.name for o in graph.output] != ["action"]:
        sys.exit("trained_case.py: %s takes %s and gives %s, not obs -> action"
                 % (case_dir, [i.name for i in graph.input], [o.name for o in graph.output]))
    width = graph.input[0].type.tensor_type.shape.dim[1].dim_value
    obs = np.random.default_rng(3).normal(size=(ROWS, width)).astype(np.float32)
    with torch.no_grad():
        action = torch.jit.load(policy_pt)(torch.from_numpy(obs)).numpy().astype(np.float32)
    obs.tofile(os.path.join(case_dir, "obs.bin"))
    action.tofile(os.path.join(case_dir, "action.torchscript.bin"))
    case = {
        "name": os.path.basename(os.path.normpath(case_dir)),
        "rows": ROWS,
        "inputs": [{"name": "obs", "dtype": "float32", "shape": [ROWS, width], "file": "obs.bin"}],
        "outputs": [{"name": "action", "dtype": "float32", "shape": list(action.shape), "tolerance": 1e-4,
                     "expected": {"torchscript": "action.torchscript.bin"}}],
    }
    with open(os.path.join(case_dir, "case.json"), "w") as out:
        json.dump(case, out)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: trained_case.py POLICY_PT CASE_DIR")
    main(sys.argv[1], sys.argv[2])
