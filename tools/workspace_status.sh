#!/bin/bash
# Bazel's --workspace_status_command (.bazelrc): the commit this build is
# made from, for `rill --version` and each run's summary (//cli:version).
# "-dirty" when the tree has changes not committed; "unknown" outside a git
# checkout (a copied tree, the image's build context). Never fails: a failing
# status command would fail every build.
commit=$(git rev-parse --short=12 HEAD 2>/dev/null) || commit=unknown
if [ "$commit" != unknown ] && ! git diff --quiet HEAD -- 2>/dev/null; then
  commit="$commit-dirty"
fi
echo "STABLE_RILL_COMMIT $commit"
exit 0
