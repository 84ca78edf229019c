# A user's own sitecustomize (on PYTHONPATH): it must still run in every process, as it does
# without the probe.
import sys

sys.stderr.write("own sitecustomize\n")
