"""Robustness: how the network does when its inputs are attacked or changed, and how far its
confidence can be trusted.

Owns adversarial examples (FGSM, PGD), ordinary corruptions, and calibration.

May import: NumPy, the standard library, `nn.core`, `nn.explain`, and itself.
"""
