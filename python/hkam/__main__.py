"""`python3 -m hkam plot|summary|analyze ...`: the analysis command line (hkam.analysis.main),
what `hkam plot`, `hkam summary` and `hkam analyze` run.

Running the package rather than `python3 -m hkam.analysis` imports hkam.analysis once, as part
of the package, instead of a second time as __main__ (which made Python warn on every plot)."""
import sys

from .analysis import _main_or_message

sys.exit(_main_or_message(sys.argv[1:]))
