"""The LLaDA model, registered with transformers' Auto classes for offline save/load."""

from transformers import AutoConfig, AutoModel, AutoModelForCausalLM

from pipeline.model.configuration_llada import LLaDAConfig
from pipeline.model.modeling_llada import LLaDAModelLM

AutoConfig.register("llada", LLaDAConfig)
AutoModel.register(LLaDAConfig, LLaDAModelLM)
# LLaDA-8B's auto_map offers AutoModelForCausalLM too (the model is bidirectional all the same)
AutoModelForCausalLM.register(LLaDAConfig, LLaDAModelLM)

__all__ = ["LLaDAConfig", "LLaDAModelLM"]
