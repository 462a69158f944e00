"""`scalelaw allocate` (placeholder until its issue lands)."""
HELP = "allocate (not yet available)"


def add_arguments(p):
    p.add_argument("args", nargs="*")


def run(args):
    from ..errors import ScalelawError
    raise ScalelawError("scalelaw allocate is not implemented yet")
