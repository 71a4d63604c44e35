#!/usr/bin/env python3
"""The README's key table is the program's own: `qtriage --keys` prints the
rows from the command and key tables; the README must hold exactly them."""

import os
import subprocess
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
readme = open(os.path.join(root, "README.md"), encoding="utf-8").read()
start = readme.index("<!-- keys -->")
end = readme.index("<!-- /keys -->")
table = [l for l in readme[start:end].splitlines()[3:] if l.strip()]
keys = subprocess.run([os.environ["QTRIAGE"], "--no-config", "--keys"], stdout=subprocess.PIPE,
                      check=True).stdout.decode().splitlines()
if table != keys:
    print("README.md's key table differs from `qtriage --keys`; paste its output between "
          "the <!-- keys --> markers")
    for a, b in zip(table + [""] * len(keys), keys + [""] * len(table)):
        if a != b:
            print("  README: %s\n  qtriage: %s" % (a, b))
    sys.exit(1)
print("README key table matches qtriage --keys (%d rows)" % len(keys))
