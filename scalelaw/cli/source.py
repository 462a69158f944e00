"""`scalelaw source` (placeholder until its issue lands)."""
HELP = "source (not yet available)"


def add_arguments(p):
    p.add_argument("args", nargs="*")


def run(args):
    from ..errors import ScalelawError
    raise ScalelawError("scalelaw source is not implemented yet")
