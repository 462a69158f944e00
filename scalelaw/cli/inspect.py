"""`scalelaw inspect` (placeholder until its issue lands)."""
HELP = "inspect (not yet available)"


def add_arguments(p):
    p.add_argument("args", nargs="*")


def run(args):
    from ..errors import ScalelawError
    raise ScalelawError("scalelaw inspect is not implemented yet")
