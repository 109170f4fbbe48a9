"""Names the git dependencies of uv.lock that an install's errors (the file given) mention, and the
option that leaves them out (install-naming-git-deps.sh)."""

import pathlib
import sys

import tomllib

err = pathlib.Path(sys.argv[1]).read_text()
git = [p["name"] for p in tomllib.loads(pathlib.Path("uv.lock").read_text()).get("package", []) if "git" in p.get("source", {})]
named = [name for name in git if name in err]
if named:
    flags = " ".join(f"--no-install-package {name}" for name in named)
    print(f"{', '.join(named)}: a git dependency that could not be fetched. Where its repository cannot be reached, leave it out with {flags}")
