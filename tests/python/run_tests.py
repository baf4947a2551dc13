"""Runs every tests/python/*_test.py, printing `PASS <test>` or
`FAIL <test>: <why>` per test case (subtests included in their case); exits 1
when any failed."""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


class Lines(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.failed_ids = {}

    def _fail(self, test, err):
        reason = self._exc_info_to_string(err, test).strip().splitlines()[-1]
        self.failed_ids.setdefault(test.id(), reason)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._fail(test, err)

    def addError(self, test, err):
        super().addError(test, err)
        self._fail(test, err)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._fail(test, err)

    def stopTest(self, test):
        super().stopTest(test)
        name = test.id().split(".", 1)[-1]
        if test.id() in self.failed_ids:
            print("FAIL %s: %s" % (name, self.failed_ids[test.id()]), flush=True)
        else:
            print("PASS %s" % name, flush=True)


def main():
    suite = unittest.defaultTestLoader.discover(HERE, pattern="*_test.py", top_level_dir=HERE)
    runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=0, resultclass=Lines)
    result = runner.run(suite)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
