"""The model lifecycle: the collected history as a training channel, and training as a SageMaker training job.

`channel` is the channel's format and its reader (pyarrow, numpy), `dataset` exports a history into it,
`training_entry` is the job's script-mode entry point, `training_source` packs the code the job runs
(standard library only, so `cdk synth` may import it), `local_training` runs that code under the real
SageMaker training toolkit on this machine, and `commands` owns the `dataset` and `train-job` commands.
Nothing here is imported by `cdk synth` except `training_source`.
"""
