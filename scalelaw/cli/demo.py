"""`scalelaw demo` (placeholder until its issue lands)."""
HELP = "demo (not yet available)"


def add_arguments(p):
    p.add_argument("args", nargs="*")


def run(args):
    from ..errors import ScalelawError
    raise ScalelawError("scalelaw demo is not implemented yet")
