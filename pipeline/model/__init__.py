"""The LLaDA model, registered with transformers' Auto classes for offline save/load."""

from transformers import AutoConfig, AutoModel

from pipeline.model.configuration_llada import LLaDAConfig
from pipeline.model.modeling_llada import LLaDAModelLM

AutoConfig.register("llada", LLaDAConfig)
AutoModel.register(LLaDAConfig, LLaDAModelLM)

__all__ = ["LLaDAConfig", "LLaDAModelLM"]
