"""Core layer: model configuration, the DCGAN models, latents, batched generation, hooks and modes.

Imports nothing from interp's other layers.
"""
