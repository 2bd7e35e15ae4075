"""File layer: atomic writes, safetensors files, checkpoints (ours and foreign formats), images."""
