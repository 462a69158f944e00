"""`scalelaw schedule` (placeholder until its issue lands)."""
HELP = "schedule (not yet available)"


def add_arguments(p):
    p.add_argument("args", nargs="*")


def run(args):
    from ..errors import ScalelawError
    raise ScalelawError("scalelaw schedule is not implemented yet")
