"""Pipeline runner: run a sequence of vbhc commands defined in a YAML file.

Data managers schedule these definitions (``pipelines/*.yaml``), e.g. nightly
validate → prepare → predict → value.  Each step is one ``vbhc`` command with its
options; ``{out}`` and ``{param}`` placeholders are filled at run time.  The run
stops at the first failing step (earlier steps' outputs stay valid, every step writes
atomically) and records a run manifest ``<out>/run.json``.
"""

from vbhc.pipeline._runner import PipelineSpec, StepSpec, load_pipeline, plan_steps, run_pipeline

__all__ = ["PipelineSpec", "StepSpec", "load_pipeline", "plan_steps", "run_pipeline"]
