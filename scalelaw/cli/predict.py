"""`scalelaw predict` (placeholder until its issue lands)."""
HELP = "predict (not yet available)"


def add_arguments(p):
    p.add_argument("args", nargs="*")


def run(args):
    from ..errors import ScalelawError
    raise ScalelawError("scalelaw predict is not implemented yet")
