"""Shared helpers of the specialisation stages (BaseTraining, FailureAnalysis, ModifierTraining,
MetaLearning): model loading, LoRA training, teachers and their cascade, adapter compression,
clustering, meta-learning and the few-shot store."""
