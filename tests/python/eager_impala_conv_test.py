"""tools/gpu/eager_impala_conv.py, the eager PyTorch peer of `rill bench
learner --algo=impala --torso=...`, run as a user runs it (/usr/bin/python3,
Debian's PyTorch on the CPU) at tiny sizes: it exits 0 and its last line is
the JSON its docstring promises, with a rate it measured."""

import json
import os
import subprocess
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(ROOT, "tools", "gpu", "eager_impala_conv.py")
FIELDS = {"peer", "torch", "device", "threads", "torso", "obs_shape", "act_dim", "hidden", "batch", "unroll",
          "optimizer", "updates_per_second", "env_steps_per_second", "seconds"}


def run(*flags):
    return subprocess.run(["/usr/bin/python3", SCRIPT, "--device=cpu", "--threads=1", "--seconds=0.2",
                           "--warmup=1", *flags], capture_output=True, text=True, timeout=300)


class EagerImpalaConvTest(unittest.TestCase):
    def test_each_torso_prints_its_shapes_and_a_positive_rate(self):
        for torso, shape in (("MINATAR_CNN", "4,10,10"), ("NATURE_CNN", "4,84,84"), ("IMPALA_RESNET", "3,16,16")):
            with self.subTest(torso=torso):
                done = run(f"--torso={torso}", f"--obs_shape={shape}", "--batch=2", "--unroll=2", "--hidden=16",
                           "--act_dim=3")
                self.assertEqual(done.returncode, 0, done.stderr)
                result = json.loads(done.stdout.strip().splitlines()[-1])
                self.assertEqual(set(result), FIELDS)
                self.assertEqual((result["torso"], result["obs_shape"], result["batch"], result["unroll"],
                                  result["hidden"], result["act_dim"], result["device"]),
                                 (torso, shape, 2, 2, "16", 3, "cpu"))
                self.assertGreater(result["updates_per_second"], 0)
                self.assertAlmostEqual(result["env_steps_per_second"], result["updates_per_second"] * 4, delta=0.5)

    def test_an_image_too_small_for_the_torso_is_named(self):
        done = run("--torso=NATURE_CNN", "--obs_shape=4,10,10")
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("--torso NATURE_CNN on --obs_shape", done.stderr)


if __name__ == "__main__":
    unittest.main()
