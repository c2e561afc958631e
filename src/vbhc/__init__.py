"""vbhc: value-based health care analytics for primary hip and knee replacement.

Data flows one way: raw registry extracts -> validated tables -> episode cohort
-> outcome and cost models -> per-patient scores -> provider value, bundled
prices and settlement simulations.  Each stage is a subpackage with a small
public face; transforms are pure functions on DataFrames and I/O happens only
at the edges (the ``vbhc`` command line and the pipeline runner).
"""

__version__ = "0.1.0"
