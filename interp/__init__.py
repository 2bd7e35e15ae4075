"""interp: train DCGANs and take them apart the way the DCGAN paper did, with numbers."""

__version__ = "0.1.0"
