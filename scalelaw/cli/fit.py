"""`scalelaw fit` (placeholder until its issue lands)."""
HELP = "fit (not yet available)"


def add_arguments(p):
    p.add_argument("args", nargs="*")


def run(args):
    from ..errors import ScalelawError
    raise ScalelawError("scalelaw fit is not implemented yet")
